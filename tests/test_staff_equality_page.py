"""The staff referral page's equality data: a summary list with "Change" links to a form
(radios for sex, the ethnic groups as the NHS groups them, checkboxes for long term
conditions; "Prefer not to say" and "Not asked" kept apart), CSRF as every staff form, an
error summary on bad input with nothing lost, untrusted text escaped, and only for those who
read the person's full details."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from api.access.models import Role
from api.config import get_settings
from api.referrals import equality
from api.referrals.models import Referral
from api.referrals.protection import protector
from tests.conftest import client_for
from tests.mailbox import Mailbox, running_mailbox
from tests.referral_support import ENCRYPTION_KEY, CareWorld, make_world, new_referral
from tests.staff_support import PUBLIC, SignedIn, staff_sign_in

GUARD = protector(get_settings(encryption_key=ENCRYPTION_KEY))


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    yield from running_mailbox()


@pytest.fixture(scope="module")
def world(
    new_database_url: Callable[[], str], mailbox: Mailbox, tmp_path_factory
) -> Iterator[CareWorld]:
    yield from make_world(
        new_database_url(),
        public_url=PUBLIC,
        data_dir=tmp_path_factory.mktemp("var"),
        **mailbox.settings(),
    )


def _pk(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":")[1])


def _browser(
    world: CareWorld, mailbox: Mailbox, email: str, role: Role, **binding: object
) -> tuple[TestClient, SignedIn]:
    client = client_for(
        world.db,
        public_url=PUBLIC,
        encryption_key=ENCRYPTION_KEY,
        data_dir=world.http.app.state.settings.data_dir,
        **mailbox.settings(),
    )
    client.__enter__()
    return client, staff_sign_in(client, world.db, mailbox, email, role, **binding)


@pytest.fixture(scope="module")
def worker(world: CareWorld, mailbox: Mailbox) -> Iterator[tuple[TestClient, SignedIn]]:
    app, me = _browser(
        world, mailbox, "priya@better.example", Role.LEAD_PROVIDER,
        provider="better-services", link_worker="priya-shah",
    )  # fmt: skip
    yield app, me
    app.__exit__(None, None, None)


def _stored(world: CareWorld, referral_id: int) -> dict | None:
    with world.db.session() as s:
        row = s.get(Referral, referral_id)
        assert row is not None
        return equality.read(GUARD, row.key_id, row.equality_enc)


def _row(page: str, label: str) -> str:
    """The value shown in the equality summary list's row ``label``."""
    match = re.search(
        rf"<dt>{re.escape(label)}</dt>\s*<dd class=\"summary-list__value\">(.*?)</dd>",
        page,
        re.S,
    )
    assert match, page
    return match.group(1)


def test_the_form_round_trip_shows_and_changes_it(world, mailbox, worker) -> None:
    app, me = worker
    r = _pk(new_referral(world, equality={"sex": "2", "longTermConditions": ["asthma"]}))
    page = app.get(f"/staff/referrals/{r}")
    assert page.status_code == 200
    assert _row(page.text, "Sex") == "Female"
    assert _row(page.text, "Ethnic group") == "Not asked"
    assert _row(page.text, "Long-term conditions") == "Asthma"
    assert f'href="/staff/referrals/{r}/equality">Change<span class="visually-hidden"> sex' in (
        page.text
    )

    form = app.get(f"/staff/referrals/{r}/equality")
    assert form.status_code == 200 and "Answering is optional" in form.text
    # What is recorded is chosen already; the groups are the Data Dictionary's.
    assert re.search(r'name="sex" type="radio" value="2" checked', form.text)
    assert re.search(r'name="conditions" type="checkbox" value="asthma" checked', form.text)
    assert '<optgroup label="Asian or Asian British">' in form.text
    assert re.search(r'name="ethnic_category" type="radio"', form.text) is None
    assert re.search(r'<option value="" selected>Not asked</option>', form.text)

    saved = app.post(
        f"/staff/referrals/{r}/equality",
        data={
            "csrf": me.csrf, "sex": "declined", "ethnic_category": "K",
            "conditions": ["diabetes", "copd"],
        },
    )  # fmt: skip
    assert saved.status_code == 200 and "The equality data is saved" in saved.text
    assert _row(saved.text, "Sex") == "Prefer not to say"
    assert _row(saved.text, "Ethnic group") == "Asian or Asian British: Bangladeshi"
    assert "Diabetes" in _row(saved.text, "Long-term conditions")
    assert _stored(world, r) == {
        "sex": None, "ethnicCategory": "K", "longTermConditions": ["diabetes", "copd"],
        "imdDecile": None, "declined": ["sex"],
    }  # fmt: skip

    # "Prefer not to say" for an ethnic group is the Data Dictionary's "Not stated" (Z).
    again = app.post(
        f"/staff/referrals/{r}/equality",
        data={"csrf": me.csrf, "sex": "", "ethnic_category": "declined",
              "conditions": "declined"},
    )  # fmt: skip
    assert _row(again.text, "Sex") == "Not asked"
    assert _row(again.text, "Ethnic group") == "Prefer not to say (Not stated)"
    assert _row(again.text, "Long-term conditions") == "Prefer not to say"
    form = app.get(f"/staff/referrals/{r}/equality")
    assert re.search(r'<option value="declined" selected>Prefer not to say', form.text)
    assert re.search(r'id="f-sex-not-asked" name="sex" type="radio" value="" checked', form.text)

    removed = app.post(f"/staff/referrals/{r}/equality/clear", data={"csrf": me.csrf})
    assert "The equality data is removed" in removed.text
    assert _stored(world, r) is None
    assert _row(removed.text, "Sex") == "Not asked"


def test_bad_input_is_named_and_nothing_is_lost(world, mailbox, worker) -> None:
    app, me = worker
    r = _pk(new_referral(world, equality={"sex": "1"}))
    posted = {
        "csrf": me.csrf, "sex": "2", "ethnic_category": "Q<b>",
        "conditions": ["gout", "asthma"],
    }  # fmt: skip
    bad = app.post(f"/staff/referrals/{r}/equality", data=posted)
    assert bad.status_code == 400
    assert "There is a problem" in bad.text and "<title>Error:" in bad.text
    assert 'href="#f-ethnic_category"' in bad.text and 'href="#f-conditions"' in bad.text
    assert "Choose an ethnic group from the list" in bad.text
    assert "Tick only conditions from the list" in bad.text
    # Nothing the person gave is lost: the other answers are still chosen.
    assert re.search(r'name="sex" type="radio" value="2" checked', bad.text)
    assert re.search(r'name="conditions" type="checkbox" value="asthma" checked', bad.text)
    assert "Q<b>" not in bad.text  # (not echoed unescaped anywhere)
    assert _stored(world, r)["sex"] == "1"  # type: ignore[index]

    both = app.post(
        f"/staff/referrals/{r}/equality",
        data={"csrf": me.csrf, "conditions": ["asthma", "declined"]},
    )
    assert both.status_code == 400 and "not both" in both.text
    assert re.search(r'value="asthma" checked', both.text)

    # Without the CSRF token nothing is saved.
    forged = app.post(f"/staff/referrals/{r}/equality", data={"sex": "2"})
    assert forged.status_code in (400, 403) and _stored(world, r)["sex"] == "1"  # type: ignore[index]


def test_untrusted_text_is_escaped(world, mailbox, worker) -> None:
    app, _me = worker
    r = _pk(
        new_referral(
            world,
            person={"givenName": "<script>alert(1)</script>", "familyName": "O'Brien & Co"},
            equality={"sex": "2"},
        )
    )
    form = app.get(f"/staff/referrals/{r}/equality")
    assert form.status_code == 200
    assert "<script>alert(1)</script>" not in form.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in form.text and "&amp; Co" in form.text


def test_only_those_who_read_full_details_see_or_change_it(world, mailbox) -> None:
    r = _pk(new_referral(world, equality={"sex": "2"}))
    gp, gp_me = _browser(world, mailbox, "gp@practice.example", Role.GP_PRACTICE,
                         practice="C81001")  # fmt: skip
    try:
        page = gp.get(f"/staff/referrals/{r}")
        assert "Equality monitoring" in page.text and _row(page.text, "Sex") == "Female"
        done = gp.post(f"/staff/referrals/{r}/equality", data={"csrf": gp_me.csrf, "sex": "1"})
        assert done.status_code == 200 and _stored(world, r)["sex"] == "1"  # type: ignore[index]
    finally:
        gp.__exit__(None, None, None)
    other, other_me = _browser(world, mailbox, "gp@other.example", Role.GP_PRACTICE,
                               practice="C81004")  # fmt: skip
    try:
        assert other.get(f"/staff/referrals/{r}/equality").status_code == 404
        refused = other.post(
            f"/staff/referrals/{r}/equality", data={"csrf": other_me.csrf, "sex": "2"}
        )
        assert refused.status_code == 404 and _stored(world, r)["sex"] == "1"  # type: ignore[index]
    finally:
        other.__exit__(None, None, None)
    icb, _icb_me = _browser(world, mailbox, "icb@icb.example", Role.COMMISSIONER)
    try:
        assert icb.get(f"/staff/referrals/{r}/equality").status_code == 403
    finally:
        icb.__exit__(None, None, None)
