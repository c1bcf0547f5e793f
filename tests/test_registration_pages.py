"""The public pages and moderation pages, case by case: nothing typed is ever lost, abuse is
turned away, and every step's email arrives (a real SMTP server)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from markupsafe import escape
from sqlalchemy import func, select, text
from starlette.testclient import TestClient

from api.access.models import Role
from api.access.tokens import Principal
from api.db import Database
from api.directory.models import Provider, Schedule, Session
from api.registration import flow
from api.registration.models import ProblemReport, Registration, RegistrationStatus, ReportStatus
from tests.conftest import client_for
from tests.mailbox import Mailbox
from tests.staff_support import staff_sign_in
from tests.test_registration_flow import SHELTER, key_of, path_of, register


def make_app(db: Database, mailbox: Mailbox, tmp_path, **settings: object) -> TestClient:
    return client_for(
        db,
        data_dir=tmp_path,
        public_url="http://petunia.test",
        **{"form_rate_limit": 20, **mailbox.settings(), **settings},
    )


@pytest.fixture()
def app(db: Database, mailbox: Mailbox, tmp_path) -> Iterator[TestClient]:
    with make_app(db, mailbox, tmp_path) as client:
        yield client


def count(db: Database, model: type = Registration) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def sign_in(app: TestClient, db: Database, mailbox: Mailbox) -> str:
    """A lead provider's coordinator, signed in as staff (email link, authenticator app)."""
    return staff_sign_in(app, db, mailbox, "mod@lead.example", coordinator=True).csrf


def confirm_latest(app: TestClient, mailbox: Mailbox, email: str) -> None:
    link = mailbox.link(mailbox.last(email), "/register/confirm/")
    assert app.get(path_of(link)).status_code == 200


def test_errors_redisplay_everything_typed_with_a_message_at_each_field(app, db) -> None:
    typed = {
        "organisation": '<script>alert("x")</script> Rescue',
        "description": "x" * 2001,
        "where": "VENUE",
        "postcode": "not a postcode",
        "when": "TIMES",
        "days": ["TU", "TH"],
        "starts": "teatime",
        "email": "nobody",
        "languages": "Klingon",
        "who_for": "Anyone who likes dogs",
    }
    page = register(app, typed)
    assert page.status_code == 400
    body = page.text
    assert "There is a problem" in body and body.count('class="error-message"') >= 6
    for field in (
        "title",
        "description",
        "postcode",
        "starts",
        "email",
        "languages",
    ):
        assert f'href="#f-{field}"' in body, field
        assert f'id="f-{field}"' in body, field
    assert "must be 2000 characters or fewer (it has 2001)" in body
    assert "x" * 2001 in body  # kept, not cut
    assert "Anyone who likes dogs" in body and 'value="not a postcode"' in body
    assert "<script>alert" not in body and str(escape('<script>alert("x")</script>')) in body
    assert re.search(r'value="TU"\s+checked', body) and re.search(r'value="TH"\s+checked', body)
    assert "<title>Error: " in body
    assert count(db) == 0


def test_the_honeypot_stores_nothing_and_says_nothing(app, db, mailbox) -> None:
    page = register(app, {**SHELTER, "nickname": "buy cheap pills"})
    assert page.status_code == 200 and "Check your email" in page.text
    assert count(db) == 0 and mailbox.messages == []


def test_rate_limit_per_address_keeps_the_answers(db, mailbox, tmp_path) -> None:
    with make_app(db, mailbox, tmp_path, form_rate_limit=2) as app:
        for n in range(2):
            ok = register(app, {**SHELTER, "organisation": f"Group {n}"})
            assert ok.status_code == 200, ok.text
        limited = register(app, {**SHELTER, "organisation": "Group 3"})
        assert limited.status_code == 429
        assert "Too many forms" in limited.text and 'value="Group 3"' in limited.text
        # Another address is not affected (behind a proxy, uvicorn fills request.client).
    assert count(db) == 2


def test_duplicates_are_offered_an_update_instead(app, db, mailbox) -> None:
    assert register(app, SHELTER).status_code == 200
    same = register(
        app,
        {
            **SHELTER,
            "organisation": "The Northfield cat and dog rescue",
            "email": "new@rescue.example",
        },
    )
    assert same.status_code == 400
    assert "is already in the directory or waiting to be checked" in same.text
    assert "email a link to update the existing listing" in same.text
    # The link goes to the address the first registration gave, never to the new one.
    linked = app.post(
        "/register/update-existing",
        data={
            **SHELTER,
            "organisation": "The Northfield cat and dog rescue",
            "email": "new@rescue.example",
        },
    )
    assert linked.status_code == 200 and "w***@rescue.example" in linked.text
    assert mailbox.to("new@rescue.example") == []
    assert len(mailbox.to("walks@rescue.example")) == 2
    different = register(
        app, {**SHELTER, "email": "new@rescue.example", "confirm_different": "yes"}
    )
    assert different.status_code == 200
    assert count(db) == 2
    # An existing listing counts too: the mini directory's shelter has a session at AT2 1AA.
    listed = register(
        app, {**SHELTER, "organisation": "Testtown Cat and Dog Shelter", "postcode": "AT2 1AA"}
    )
    assert listed.status_code == 400 and "Testtown Cat and Dog Shelter at AT2 1AA" in listed.text


def test_a_server_error_loses_nothing(app, db) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE registrations"))
    page = register(app, SHELTER)
    assert page.status_code == 500
    assert "something went wrong on our side" in page.text
    assert 'value="Northfield Cat &amp; Dog Rescue"' in page.text
    assert (
        "Walk one of our rescue dogs" in page.text and 'value="walks@rescue.example"' in page.text
    )


def test_a_too_large_form_is_refused_unread(app) -> None:
    page = app.post(
        "/register",
        content=b"organisation=" + b"x" * 300_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert page.status_code == 413 and "too long" in page.text


def test_request_changes_then_edit_then_reject(app, db, mailbox) -> None:
    register(app, SHELTER)
    confirm_latest(app, mailbox, "walks@rescue.example")
    csrf = sign_in(app, db, mailbox)
    with db.session() as s:
        reg_id = s.scalars(select(Registration.id)).one()
    empty = app.post(
        f"/moderation/registrations/{reg_id}", data={"csrf": csrf, "action": "changes", "note": " "}
    )
    assert empty.status_code == 400 and "Write what should change" in empty.text
    forged = app.post(
        f"/moderation/registrations/{reg_id}", data={"csrf": "wrong", "action": "approve"}
    )
    assert forged.status_code == 403
    sent = app.post(
        f"/moderation/registrations/{reg_id}",
        data={"csrf": csrf, "action": "changes", "note": "Please add <b>an end time</b>."},
    )
    assert sent.status_code == 200 and "sent back with your note" in sent.text
    email = mailbox.last("walks@rescue.example")
    assert "Please change your listing" in email["Subject"]
    assert "Please add <b>an end time</b>." in Mailbox.text(email)
    assert "Please add &lt;b&gt;an end time&lt;/b&gt;." in Mailbox.html(email)
    edit = path_of(mailbox.link(email, "/listing/"))
    form = app.get(edit)
    assert (
        "Your lead provider asks for a change: Please add &lt;b&gt;an end time&lt;/b&gt;."
        in form.text
    )
    assert 'value="Northfield Cat &amp; Dog Rescue"' in form.text
    bad = app.post(edit, data={**SHELTER, "ends": "9am", "submission_key": key_of(form.text)})
    assert bad.status_code == 400 and "The end time must be after the start time" in bad.text
    saved = app.post(edit, data={**SHELTER, "ends": "1pm", "submission_key": key_of(form.text)})
    assert saved.status_code == 200 and "Your changes are saved" in saved.text
    with db.session() as s:
        reg = s.get(Registration, reg_id)
        assert reg.status is RegistrationStatus.PENDING_REVIEW and reg.answers["ends"] == "1pm"
    # Rejecting asks "are you sure?" first, and nothing is decided until the answer is yes.
    asked = app.post(
        f"/moderation/registrations/{reg_id}",
        data={"csrf": csrf, "action": "reject", "reason": "Not a community group."},
    )
    assert asked.status_code == 200
    assert "Are you sure you want to reject Northfield Cat &amp; Dog Rescue?" in asked.text
    assert 'name="confirmed" value="yes"' in asked.text
    with db.session() as s:
        assert s.get(Registration, reg_id).status is RegistrationStatus.PENDING_REVIEW
    rejected = app.post(
        f"/moderation/registrations/{reg_id}",
        data={
            "csrf": csrf,
            "action": "reject",
            "reason": "Not a community group.",
            "confirmed": "yes",
        },
    )
    assert "is rejected" in rejected.text
    assert "Not a community group." in Mailbox.text(mailbox.last("walks@rescue.example"))
    assert "was not accepted" in app.get(edit).text
    assert count(db, Provider) == 3  # nothing was published


def test_a_listed_provider_changes_an_offer_and_confirms_it(app, db, mailbox) -> None:
    register(app, SHELTER)
    confirm_latest(app, mailbox, "walks@rescue.example")
    csrf = sign_in(app, db, mailbox)
    with db.session() as s:
        reg_id = s.scalars(select(Registration.id)).one()
    app.post(f"/moderation/registrations/{reg_id}", data={"csrf": csrf, "action": "approve"})
    listing = path_of(mailbox.link(mailbox.last("walks@rescue.example"), "/listing/"))
    page = app.get(listing)
    assert page.status_code == 200 and "Your listing: Northfield Cat &amp; Dog Rescue" in page.text
    assert "Listed by the organisation; checked by Better Services Testtown on" in page.text
    offer = re.search(r'href="(/listing/[^"]+/offer/\d+)"', page.text).group(1)
    form = app.get(offer)
    assert re.search(r'value="SA"\s+checked', form.text) and 'value="10:00"' in form.text
    assert 'id="f-languages" name="languages" type="text" value="English"' in form.text  # not "en"
    changed = app.post(
        offer,
        data={
            **SHELTER,
            "days": ["SU"],
            "starts": "9am",
            "ends": "11am",
            "submission_key": key_of(form.text),
        },
    )
    assert changed.status_code == 200 and "your changes are with your lead provider" in changed.text
    with db.session() as s:
        update = s.scalars(select(Registration).where(Registration.kind == "UPDATE")).one()
        assert update.status is RegistrationStatus.PENDING_REVIEW
        session = s.scalars(
            select(Session).where(
                Session.title == "Dog walking", Session.provider_id == update.provider_id
            )
        ).one()
        assert s.scalars(select(Schedule.byday).where(Schedule.session_id == session.id)).all() == [
            "SA,SU"
        ]
    app.post(f"/moderation/registrations/{update.id}", data={"csrf": csrf, "action": "approve"})
    with db.session() as s:
        assert s.scalars(select(Schedule.byday).where(Schedule.session_id == session.id)).all() == [
            "SU"
        ]
        assert (
            s.scalar(
                select(func.count())
                .select_from(Session)
                .where(Session.provider_id == update.provider_id)
            )
            == 1
        )
    thanks = app.post(f"{listing}/still-right")
    assert thanks.status_code == 200 and "still right" in thanks.text


def test_edit_links_can_be_asked_for_again(app, db, mailbox) -> None:
    register(app, SHELTER)
    page = app.post("/listing/edit-link", data={"email": "WALKS@rescue.example"})
    assert page.status_code == 200 and "If WALKS@rescue.example has a listing" in page.text
    message = mailbox.last("walks@rescue.example")
    assert "Your link to edit your listing" in message["Subject"]
    assert mailbox.link(message, "/register/confirm/")  # not confirmed yet: a fresh link too
    unknown = app.post("/listing/edit-link", data={"email": "stranger@example.org"})
    assert unknown.status_code == 200 and "If stranger@example.org has a listing" in unknown.text
    assert mailbox.to("stranger@example.org") == []
    broken = app.get("/listing/not-a-real-token")
    assert broken.status_code == 400 and "not complete" in broken.text


def test_report_a_problem_reaches_the_provider_and_the_lead(app, db, mailbox) -> None:
    with db.session() as s:
        s.scalars(
            select(Provider).where(Provider.key == "shelter")
        ).one().email = "dogs@shelter.example"
        s.scalars(
            select(Provider).where(Provider.key == "lead-north")
        ).one().email = "team@lead.example"
    page = app.get("/report-a-problem?provider=shelter&session=dog-walking")
    assert page.status_code == 200 and "Dog walking, Testtown Cat and Dog Shelter" in page.text
    assert app.get("/report-a-problem?provider=nobody").status_code == 404
    missing = app.post(
        "/report-a-problem",
        data={"provider": "shelter", "session": "dog-walking", "kind": "OTHER", "details": ""},
    )
    assert missing.status_code == 400 and "Tell us what is wrong" in missing.text
    sent = app.post(
        "/report-a-problem",
        data={
            "provider": "shelter",
            "session": "dog-walking",
            "kind": "WRONG_TIME",
            "details": "It is <i>Sundays</i> only now",
        },
    )
    assert sent.status_code == 200 and "Thank you for telling us" in sent.text
    assert "to Better Services Testtown, who keeps the directory up to date" in sent.text
    to_provider = mailbox.last("dogs@shelter.example")
    assert "the day or time is wrong" in Mailbox.text(to_provider)
    assert mailbox.link(to_provider, "/listing/")
    assert "&lt;i&gt;Sundays&lt;/i&gt;" in Mailbox.html(mailbox.last("team@lead.example"))
    csrf = sign_in(app, db, mailbox)
    queue = app.get("/moderation")
    assert "It is &lt;i&gt;Sundays&lt;/i&gt; only now" in queue.text
    report_id = re.search(r"/moderation/reports/(\d+)/resolve", queue.text).group(1)
    # The report links to the listing on the site and to the provider's contact.
    assert 'href="http://petunia.test/providers/shelter/dog-walking/"' in queue.text
    assert 'href="mailto:dogs@shelter.example"' in queue.text
    # A note is required: an empty one is refused with an error summary, and stays open.
    empty = app.post(f"/moderation/reports/{report_id}/resolve", data={"csrf": csrf, "note": " "})
    assert empty.status_code == 400 and "There is a problem" in empty.text
    assert f'href="#f-note-{report_id}"' in empty.text and "Write what was done" in empty.text
    with db.session() as s:
        assert s.get(ProblemReport, int(report_id)).status is ReportStatus.OPEN
    app.post(f"/moderation/reports/{report_id}/resolve", data={"csrf": csrf, "note": "Updated"})
    with db.session() as s:
        assert s.scalars(select(ProblemReport.status)).one() is ReportStatus.RESOLVED


def test_moderators_see_only_their_localities(db: Database) -> None:
    with db.session() as s:
        s.add(
            Registration(
                submission_key="a",
                kind="NEW",
                status="PENDING_REVIEW",
                locality_id=1,
                organisation="In north",
                name_key="in north",
                email="a@x.example",
                answers={},
            )
        )
        s.add(
            Registration(
                submission_key="b",
                kind="NEW",
                status="PENDING_REVIEW",
                locality_id=None,
                organisation="Unknown place",
                name_key="unknown place",
                email="b@x.example",
                answers={},
            )
        )
    north = Principal(1, "north", Role.LEAD_PROVIDER, provider_id=1, locality_ids=frozenset({1}))
    elsewhere = Principal(
        2, "east", Role.LEAD_PROVIDER, provider_id=2, locality_ids=frozenset({99})
    )
    gp = Principal(3, "gp", Role.GP_PRACTICE, practice_id=1)
    admin = Principal(4, "admin", Role.ADMIN)
    with db.session() as s:

        def names(p: Principal) -> list[str]:
            return [r.organisation for r in flow.moderation_queue(s, p)]

        assert names(north) == ["In north", "Unknown place"]
        assert names(elsewhere) == ["Unknown place"]
        assert names(gp) == []
        assert names(admin) == ["In north", "Unknown place"]
        in_north = s.scalars(
            select(Registration.id).where(Registration.submission_key == "a")
        ).one()
        assert flow.approve(s, None, elsewhere, in_north).errors[0].code.value == "NOT_FOUND"  # type: ignore[arg-type]
