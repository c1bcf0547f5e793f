"""The person's own copy of their plan: only with their consent (the domain's gate, so the
page, the email and GraphQL all stop without it), what it says (what matters, goals and
actions, sessions with when, where, how to join, contact and next dates, scores before and
after in words, who to contact), an email with nothing clinical in its subject or preview,
every copy audited; and in real Chromium: one A4 page for realistic content, a large-print
version, and axe-core's WCAG 2.2 AA checks. The staff referral page shows the plan's history
to the care team and not to the practice."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from api.access import tokens
from api.access.models import Role
from api.audit.models import AuditEvent
from api.config import get_settings
from api.mail.queue import deliver_due as deliver_mail
from api.referrals import person_copy
from api.referrals.errors import ErrorCode, Rejected
from api.referrals.protection import protector
from tests.mailbox import Mailbox, running_mailbox
from tests.referral_support import (
    ASSESS,
    ENCRYPTION_KEY,
    SET_STATUS,
    CareWorld,
    make_world,
    move,
    new_referral,
)
from tests.staff_support import PUBLIC
from tests.test_staff_referral_pages import browser_for, pk

GUARD = protector(get_settings(encryption_key=ENCRYPTION_KEY))
CSS = Path(__file__).resolve().parent.parent / "api" / "web" / "static" / "person-copy.css"
SIGNPOST = """mutation($r: ID!, $s: [ID!]!) { signpostReferral(referralId: $r, sessionIds: $s) {
  errors { code } } }"""
OUTCOME = """mutation($i: RecordOutcomeInput!) { recordOutcome(input: $i) { errors { code } } }"""
CONSENT = """mutation($i: PlanConsentInput!) { recordPlanConsent(input: $i) { errors { code } } }"""


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


def gid(type_name: str, key: int) -> str:
    import base64

    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def realistic(world: CareWorld, *, consent: bool = True) -> str:
    """A plan as a link worker writes one: three goals, actions, barriers, three sessions,
    two instruments scored at the start and the end."""
    r = new_referral(
        world,
        person={"givenName": "Margaret", "familyName": "Example",
                "contact": {"preferredMethod": "EMAIL", "email": "margaret@example.org"}},
        whatMatters="Seeing people again since my husband died, and getting back into the "
        "garden. I want to feel less tired and to be able to walk to the shops on my own.",
    )  # fmt: skip
    move(world, r, "CONTACTED")
    body = world.api("lead").data(
        ASSESS,
        input={
            "referralId": r,
            "supportLevel": "MEDIUM",
            "goals": [
                "Walk to the shops on my own by the spring",
                "Meet people at least twice a week",
                "Grow tomatoes again this summer",
            ],
            "actionPlan": "Margaret will try the Tuesday walk with her neighbour for the first "
            "two weeks, then go on her own. She will call the carers' centre about the coffee "
            "morning, and ask her son to help her get the raised bed ready in March. Priya "
            "rings her after the first walk to hear how it went.",
            "barriers": "Her knee is painful on hills: the walk leader knows and there is a "
            "shorter route. Buses are rare on Sundays.",
        },
    )["recordAssessment"]
    assert body["errors"] == []
    sessions = [
        gid("Session", world.session_id(key))
        for key in ("anytown-ramblers", "anytown-carers-centre", "anytown-cat-and-dog-shelter")
    ]
    assert world.api("lead").data(SIGNPOST, r=r, s=sessions)["signpostReferral"]["errors"] == []
    for status in ("ASSESSED", "ACTIVE"):  # (not `move`: it would assess again)
        world.api("lead").data(SET_STATUS, id=r, status=status)
    start = end = dt.date.today()  # (a baseline cannot predate the referral)
    for key, points, first, last in (
        ("ons4", ("life_satisfaction", "worthwhile", "happiness", "anxiety"), 3, 7),
        ("ltc6", ("information", "confidence", "support", "involvement", "care_plan",
                  "living_well"), 1, 2),
    ):  # fmt: skip
        for time_point, on, value in (("BASELINE", start, first), ("END", end, last)):
            out = world.api("lead").data(
                OUTCOME,
                i={"referralId": r, "instrumentKey": key, "timePoint": time_point,
                   "takenOn": on.isoformat(),
                   "scores": [{"item": k, "score": value} for k in points]},
            )  # fmt: skip
            assert out["recordOutcome"]["errors"] == []
    if consent:
        agreed = world.api("lead").data(
            CONSENT,
            i={"referralId": r, "toShareGoalsWithPractice": False, "toReceiveOwnCopy": True},
        )
        assert agreed["recordPlanConsent"]["errors"] == []
    return r


def lead_principal(world: CareWorld) -> tokens.Principal:
    with world.db.session() as s:
        return tokens.authenticate(s, world.tokens["lead"])  # type: ignore[return-value]


def test_no_copy_without_the_person_s_consent(world: CareWorld, mailbox: Mailbox) -> None:
    r = realistic(world, consent=False)
    lead = lead_principal(world)
    with pytest.raises(Rejected) as refused:
        world.db.write(
            lambda s: person_copy.person_copy(s, lead, GUARD, pk(r), today=dt.date.today())
        )
    assert refused.value.problems[0].code is ErrorCode.CONSENT_REQUIRED
    sent = world.api("lead").data(
        "mutation($r: ID!) { emailPersonCopy(referralId: $r) { sent errors { code } } }", r=r
    )["emailPersonCopy"]
    assert sent == {"sent": False, "errors": [{"code": "CONSENT_REQUIRED"}]}
    app, _me = browser_for(
        world, mailbox, "nocopy@better.example", Role.LEAD_PROVIDER, provider="better-services"
    )
    try:
        page = app.get(f"/staff/referrals/{pk(r)}/copy")
        assert page.status_code == 409 and "has not agreed" in page.text
    finally:
        app.__exit__(None, None, None)


def test_the_copy_says_what_was_agreed_in_plain_english(world: CareWorld) -> None:
    r = realistic(world)
    lead = lead_principal(world)
    copy = world.db.write(
        lambda s: person_copy.person_copy(s, lead, GUARD, pk(r), today=dt.date.today())
    )
    assert copy.given_name == "Margaret" and copy.what_matters.startswith("Seeing people")
    assert copy.goals[0] == "Walk to the shops on my own by the spring"
    assert "Tuesday walk" in copy.actions and "knee" in copy.barriers
    assert len(copy.sessions) == 3
    for s in copy.sessions:
        assert s.where and s.how_to_join and s.contact
    assert any(s.when and s.next_dates for s in copy.sessions)
    by_name = {s.instrument: s for s in copy.scores}
    ons4 = by_name["ONS4 personal wellbeing"]
    # Anxiety is lower-is-better: 3 -> 7 on it is worse, so the total turned is 3+3+3+7 = 16
    # at the start and 7+7+7+3 = 24 at the end.
    assert (ons4.before, ons4.after, ons4.most) == (16, 24, 40)
    assert ons4.meaning.startswith("Better than when you started: up 8 points")
    assert copy.review_on is not None and copy.link_worker == "Priya Shah"
    with world.db.session() as s:
        audited = s.scalars(select(AuditEvent.action).where(AuditEvent.record_id == pk(r))).all()
    assert "referral.person_copy" in audited
    assert person_copy.meaning(20, 20, 40) == "About the same as when you started."
    assert person_copy.meaning(20, 12, 40).startswith("Lower than when you started")


def test_the_email_carries_nothing_clinical_in_its_subject_or_preview(
    world: CareWorld, mailbox: Mailbox
) -> None:
    r = realistic(world)
    sent = world.api("lead").data(
        "mutation($r: ID!) { emailPersonCopy(referralId: $r) { sent errors { code } } }", r=r
    )["emailPersonCopy"]
    assert sent == {"sent": True, "errors": []}
    deliver_mail(world.db, get_settings(encryption_key=ENCRYPTION_KEY, **mailbox.settings()))
    message = mailbox.last("margaret@example.org")
    text = Mailbox.text(message)
    preview = text.strip().splitlines()[0]
    clinical = re.compile(r"knee|tired|husband|wellbeing|ONS4|LTC6|score|Margaret", re.I)
    assert not clinical.search(message["Subject"]) and not clinical.search(preview)
    assert "Walk to the shops on my own" in text and "Anytown Ramblers" in text


def test_the_staff_page_shows_the_plan_history_to_the_care_team_not_the_practice(
    world: CareWorld, mailbox: Mailbox
) -> None:
    r = realistic(world)
    world.api("lead").data(
        ASSESS,
        input={"referralId": r, "supportLevel": "HIGH", "goals": ["Walk to the shops"],
               "actionPlan": "Shorter walk first"},
    )  # fmt: skip
    lead, _ = browser_for(
        world, mailbox, "history@better.example", Role.LEAD_PROVIDER, provider="better-services"
    )
    gp, _ = browser_for(world, mailbox, "gp@practice.example", Role.GP_PRACTICE,
                        practice="C81001")  # fmt: skip
    try:
        page = lead.get(f"/staff/referrals/{pk(r)}")
        assert page.status_code == 200
        assert "history" in page.text and "Version 1" in page.text
        assert "Current plan" in page.text and "Support level over time" in page.text
        assert "Reviews and follow-ups" in page.text and "Print their copy" in page.text
        practice = gp.get(f"/staff/referrals/{pk(r)}")
        assert practice.status_code == 200
        assert "Version 1" not in practice.text and "Grow tomatoes" not in practice.text
        # The message back withholds the goals: the person did not agree to share them.
        assert "Goals of the plan" in practice.text and "did not agree to share them" in (
            practice.text
        )
        load = lead.get("/staff/caseload")
        assert "Reviews and follow-ups due this week" in load.text
    finally:
        lead.__exit__(None, None, None)
        gp.__exit__(None, None, None)


def copy_html(world: CareWorld, mailbox: Mailbox, r: str, large: bool) -> str:
    app, _me = browser_for(
        world, mailbox, f"print{int(large)}-{pk(r)}@better.example", Role.LEAD_PROVIDER,
        provider="better-services",
    )  # fmt: skip
    try:
        page = app.get(f"/staff/referrals/{pk(r)}/copy" + ("?size=large" if large else ""))
        assert page.status_code == 200, page.text
        return page.text
    finally:
        app.__exit__(None, None, None)


def _serving(html: str):  # type: ignore[no-untyped-def]
    """The copy's page and its stylesheet, as the app serves them."""

    def serve(route, _request) -> None:  # type: ignore[no-untyped-def]
        if route.request.url.endswith("/forms/assets/person-copy.css"):
            route.fulfill(body=CSS.read_text(), content_type="text/css")
        else:
            route.fulfill(body=html, content_type="text/html")

    return serve


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


@pytest.mark.skipif(
    not Path(__import__("os").environ.get("PETUNIA_CHROMIUM", "/usr/bin/chromium")).exists(),
    reason="no Chromium",
)
def test_in_chromium_one_a4_page_a_large_print_version_and_axe(
    world: CareWorld, mailbox: Mailbox
) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    from tests.test_cat_and_dog_shelter import CHROMIUM
    from tests.test_staff_browser import WCAG_22_AA

    r = realistic(world)
    standard, large = copy_html(world, mailbox, r, False), copy_html(world, mailbox, r, True)
    base = "http://petunia.test"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            results = {}
            for name, html in (("standard", standard), ("large", large)):
                page = browser.new_page()

                page.route("**/*", _serving(html))
                page.goto(f"{base}/staff/referrals/{pk(r)}/copy")
                axe = Axe().run(page, options=WCAG_22_AA)
                assert axe.violations_count == 0, (name, axe.generate_report())
                page.emulate_media(media="print")
                size = page.evaluate("getComputedStyle(document.body).fontSize")
                results[name] = (pdf_pages(page.pdf(format="A4", prefer_css_page_size=True)),
                                 float(size.removesuffix("px")))  # fmt: skip
                page.close()
        finally:
            browser.close()
    assert results["standard"][0] == 1, results
    # Large print: 16 pt (21.3 px) or more in print.
    assert results["large"][1] >= 21.3 and results["large"][0] >= 1, results
