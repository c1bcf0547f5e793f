"""The link worker's pages over the referral domain: the caseload (first contact first, with
working days left), a referral's page with only the allowed next steps, the assessment,
signposting from a directory search, ending with a reason after a confirmation, the message
back as the practice receives it, and a coordinator's reassignment. Role tests: each page
shows no more than the policy lets the role read through GraphQL, and every view is audited
with the person."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from api.access.models import Role
from api.audit.models import AuditEvent
from api.referrals.models import Referral
from tests.conftest import client_for
from tests.mailbox import Mailbox, running_mailbox
from tests.referral_support import ENCRYPTION_KEY, CareWorld, make_world, new_referral
from tests.staff_support import PUBLIC, csrf_in, staff_sign_in


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


def pk(global_id: str) -> int:
    import base64

    return int(base64.b64decode(global_id).decode().split(":")[1])


def browser_for(world: CareWorld, mailbox: Mailbox, email: str, role: Role, **binding: object):  # type: ignore[no-untyped-def]
    client = client_for(
        world.db,
        public_url=PUBLIC,
        encryption_key=ENCRYPTION_KEY,
        data_dir=world.http.app.state.settings.data_dir,
        **mailbox.settings(),
    )
    client.__enter__()
    me = staff_sign_in(client, world.db, mailbox, email, role, **binding)
    return client, me


def test_the_link_worker_works_a_referral_from_the_caseload(world, mailbox) -> None:
    first = pk(new_referral(world))
    second = pk(new_referral(world, person={"givenName": "Bea", "familyName": "Second"}))
    app, me = browser_for(
        world, mailbox, "priya@better.example", Role.LEAD_PROVIDER,
        provider="better-services", link_worker="priya-shah",
    )  # fmt: skip
    try:
        home = app.get("/staff")
        assert "My caseload" in home.text
        load = app.get("/staff/caseload")
        assert load.status_code == 200
        assert "Ada Testperson" in load.text and "Bea Second" in load.text
        assert (
            "working days left" in load.text and "Waiting for first contact: <strong>" in load.text
        )

        page = app.get(f"/staff/referrals/{first}")
        assert page.status_code == 200
        assert "Ada Testperson" in page.text and "999" in page.text
        assert "Lonely since her husband died" in page.text
        assert "<dd>English" in page.text  # the language as people say it, not "en"
        # Only the allowed next steps: contact, decline, close (not "assessed" or "active").
        buttons = re.findall(r'name="status" value="([A-Z_]+)"', page.text)
        assert buttons == ["CONTACTED", "DECLINED", "CLOSED"]

        done = app.post(
            f"/staff/referrals/{first}/status", data={"csrf": me.csrf, "status": "CONTACTED"}
        )
        assert "The referral is now: Contacted" in done.text
        assert "First successful contact" in done.text and "after 0 working days" in done.text
        # A step not allowed now is refused by the domain, whatever is posted.
        wrong = app.post(
            f"/staff/referrals/{first}/status",
            data={"csrf": me.csrf, "status": "COMPLETED", "confirmed": "yes"},
        )
        assert wrong.status_code == 400 and "cannot become COMPLETED" in wrong.text

        empty = app.post(f"/staff/referrals/{first}/assessment", data={"csrf": me.csrf})
        assert empty.status_code == 400 and "Choose the support level" in empty.text
        no_goals = app.post(
            f"/staff/referrals/{first}/assessment",
            data={"csrf": me.csrf, "support_level": "MEDIUM", "action_plan": "Walk"},
        )
        assert no_goals.status_code == 400 and "give at least one goal" in no_goals.text
        assessed = app.post(
            f"/staff/referrals/{first}/assessment",
            data={
                "csrf": me.csrf, "support_level": "MEDIUM", "co_morbidities": "2",
                "needs": "mental_health", "goals": "Walk to the shops\nMeet people",
                "action_plan": "Tuesday walking group with a buddy.",
            },
        )  # fmt: skip
        assert "The assessment is recorded" in assessed.text and "Meet people" in assessed.text
        for status in ("ASSESSED", "ACTIVE"):
            app.post(f"/staff/referrals/{first}/status", data={"csrf": me.csrf, "status": status})

        found = app.get(f"/staff/referrals/{first}/signpost", params={"q": "walk"})
        choices = re.findall(r'name="session" type="checkbox" value="(\d+)"', found.text)
        assert len(choices) >= 2, found.text
        signposted = app.post(
            f"/staff/referrals/{first}/signpost",
            data={"csrf": me.csrf, "session": choices[:2]},
        )
        assert "Signposted to 2 session(s)" in signposted.text

        # Attendance, then outcomes through the instrument's own questions.
        came = app.post(
            f"/staff/referrals/{first}/attendance",
            data={"csrf": me.csrf, "session": choices[0], "on": "2026-01-05", "attended": "yes"},
        )
        assert "Attendance is recorded" in came.text
        assert "Record ONS4" in came.text or "Record ONS" in came.text, came.text
        form = app.get(f"/staff/referrals/{first}/outcomes", params={"instrument": "ons4"})
        assert form.status_code == 200
        items = sorted(set(re.findall(r'name="(score_[a-z_]+)"', form.text)))
        assert len(items) == 4
        half = app.post(
            f"/staff/referrals/{first}/outcomes",
            data={"csrf": me.csrf, "instrument": "ons4", "time_point": "BASELINE", items[0]: "3"},
        )
        assert half.status_code == 400 and "There is a problem" in half.text
        for point, score in (("BASELINE", "3"), ("END", "7")):
            done = app.post(
                f"/staff/referrals/{first}/outcomes",
                data={"csrf": me.csrf, "instrument": "ons4", "time_point": point}
                | {item: score for item in items},
            )
            assert "is recorded" in done.text, done.text
        assert "of 40" in done.text
        need = app.post(
            f"/staff/referrals/{first}/unmet-need",
            data={"csrf": me.csrf, "domain": "BEFRIENDING", "description": "No men's group"},
        )
        assert "The unmet need is recorded" in need.text

        # Ending asks first, and a reason for closing.
        ask = app.post(
            f"/staff/referrals/{first}/status", data={"csrf": me.csrf, "status": "CLOSED"}
        )
        assert "Are you sure you want to close this referral?" in ask.text
        no_reason = app.post(
            f"/staff/referrals/{first}/status",
            data={"csrf": me.csrf, "status": "CLOSED", "confirmed": "yes", "note": " "},
        )
        assert no_reason.status_code == 400 and "Say why the referral ends" in no_reason.text
        completed = app.post(
            f"/staff/referrals/{first}/status",
            data={"csrf": me.csrf, "status": "COMPLETED", "confirmed": "yes"},
        )
        assert "The referral is now: Completed" in completed.text
        assert "The message back to the practice" in completed.text
        assert "attended 1, missed 0" in completed.text
        assert "to 7" in completed.text  # outcomes in the message back (consent given)
        assert 'name="status"' not in completed.text  # no next step after the end

        # The caseload keeps the open one; the filter shows the completed one.
        load = app.get("/staff/caseload")
        assert "Bea Second" in load.text and "Ada Testperson" not in load.text
        assert "Ada Testperson" in app.get("/staff/caseload", params={"status": "COMPLETED"}).text
        assert f"/staff/referrals/{second}" in load.text
    finally:
        app.__exit__(None, None, None)

    # Every view of the person's data is audited with the person.
    with world.db.session() as s:
        reads = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "referral.read", AuditEvent.record_id == first
            )
        ).all()
    assert reads and all(e.staff_account_id is not None for e in reads)
    assert {e.actor for e in reads} == {"LEAD_PROVIDER:Priya"}


def test_a_coordinator_sees_every_caseload_and_reassigns(world, mailbox) -> None:
    referral = pk(new_referral(world, person={"givenName": "Cy", "familyName": "Third"}))
    app, me = browser_for(
        world, mailbox, "lead@better.example", Role.LEAD_PROVIDER,
        provider="better-services", coordinator=True,
    )  # fmt: skip
    try:
        load = app.get("/staff/caseload")
        assert "Caseloads" in load.text and "Priya Shah" in load.text and "Tom Hughes" in load.text
        page = app.get(f"/staff/referrals/{referral}")
        tom = re.search(r'<option value="(\d+)"[^>]*>Tom Hughes', page.text).group(1)
        done = app.post(
            f"/staff/referrals/{referral}/reassign", data={"csrf": me.csrf, "link_worker": tom}
        )
        assert "The referral is reassigned" in done.text
        assert "Reassigned from Priya Shah to Tom Hughes" in done.text
        with world.db.session() as s:
            assert s.get(Referral, referral).link_worker_id == int(tom)
        # Tom's caseload (as the coordinator filters it) now has it.
        assert "Cy Third" in app.get("/staff/caseload", params={"worker": tom}).text
    finally:
        app.__exit__(None, None, None)


def test_each_role_sees_no_more_than_the_policy_allows(world, mailbox) -> None:
    referral = pk(new_referral(world, person={"givenName": "Dee", "familyName": "Private"}))
    with world.db.session() as s:
        from api.directory.models import Provider, Session

        session_id = s.scalars(
            select(Session.id)
            .join(Provider, Provider.id == Session.provider_id)
            .where(Provider.key == "anytown-carers-centre")
        ).first()
    # The lead signposts it to a provider's session (through GraphQL, as a machine would).
    from api.graphql.relay import to_global_id
    from tests.referral_support import move

    move(world, to_global_id("Referral", referral), "CONTACTED")
    world.api("lead").data(
        "mutation($id: ID!, $s: [ID!]!) { signpostReferral(referralId: $id, sessionIds: $s) "
        "{ errors { message } } }",
        id=to_global_id("Referral", referral),
        s=[to_global_id("Session", session_id)],
    )

    provider, _me = browser_for(
        world, mailbox, "carers@centre.example", Role.PROVIDER, provider="anytown-carers-centre"
    )
    try:
        page = provider.get(f"/staff/referrals/{referral}")
        assert page.status_code == 200 and "Dee" in page.text
        for secret in ("Private", "999", "Lonely since", "Getting out of the house", "07700"):
            assert secret not in page.text, secret
        assert 'name="status"' not in page.text and "Assessment and plan" in page.text
        assert provider.get("/staff/caseload").status_code == 403
    finally:
        provider.__exit__(None, None, None)

    other_gp, _me = browser_for(
        world, mailbox, "gp@east.example", Role.GP_PRACTICE, practice="C81004"
    )
    try:
        assert other_gp.get(f"/staff/referrals/{referral}").status_code == 404
    finally:
        other_gp.__exit__(None, None, None)

    commissioner, _me = browser_for(world, mailbox, "comm@icb.example", Role.COMMISSIONER)
    try:
        assert commissioner.get(f"/staff/referrals/{referral}").status_code == 403
    finally:
        commissioner.__exit__(None, None, None)

    gp, me = browser_for(world, mailbox, "gp@north.example", Role.GP_PRACTICE, practice="C81001")
    try:
        page = gp.get(f"/staff/referrals/{referral}")
        assert "Dee Private" in page.text and "The message back to the practice" in page.text
        assert 'name="status"' not in page.text  # the practice does not change the status
        assert (
            gp.post(
                f"/staff/referrals/{referral}/status", data={"csrf": me.csrf, "status": "CLOSED"}
            ).status_code
            == 403
        )
    finally:
        gp.__exit__(None, None, None)


def test_a_practice_refers_once_and_reads_the_message_back(world, mailbox) -> None:
    from sqlalchemy import func

    from tests.referral_support import nhs_number

    gp, me = browser_for(world, mailbox, "refer@north.example", Role.GP_PRACTICE, practice="C81001")
    try:
        assert "Refer someone" in gp.get("/staff").text
        form = gp.get("/staff/refer")
        key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', form.text).group(1)
        empty = gp.post("/staff/refer", data={"csrf": me.csrf, "idempotency_key": key})
        assert empty.status_code == 400 and "There is a problem" in empty.text
        for message in (
            "Enter a real date of birth",
            "Choose how they prefer to be contacted",
            "Say whether they agree to outcomes",
        ):
            assert message in empty.text
        answers = {
            "csrf": me.csrf,
            "idempotency_key": key,
            "nhs_number": "123 456 7890",
            "given_name": "Eve",
            "family_name": "Formfill",
            "dob_day": "14",
            "dob_month": "3",
            "dob_year": "1950",
            "contact_method": "PHONE",
            "phone": "07700 900321",
            "language": "en",
            "reason": "Isolated after a fall.",
            "domains": ["BEFRIENDING"],
            "urgency": "ROUTINE",
            "share_outcomes": "yes",
        }
        # The domain's own checks, at the form's fields (same as createReferral).
        bad = gp.post("/staff/refer", data=answers)
        assert bad.status_code == 400 and 'href="#f-nhs_number"' in bad.text
        assert 'href="#f-consent"' in bad.text  # consent to be referred is required
        answers |= {"nhs_number": nhs_number(), "consent": "yes"}
        sent = gp.post("/staff/refer", data=answers)
        assert sent.status_code == 200 and "The referral is sent to the link worker" in sent.text
        again = gp.post("/staff/refer", data=answers)  # a double submit
        assert again.status_code == 200 and again.url == sent.url
        with world.db.session() as s:
            made = s.scalar(
                select(func.count()).select_from(Referral).where(Referral.idempotency_key == key)
            )
        assert made == 1
        assert "The message back to the practice" in sent.text and "Eve Formfill" in sent.text
        listed = gp.get("/staff/referrals")
        assert "Eve Formfill" in listed.text and "Waiting for first contact" in listed.text
    finally:
        gp.__exit__(None, None, None)


REPORT = """
query($p: ReportPeriodInput!) {
  commissioningReport(period: $p) {
    tables { key rows { label cells { column display suppressed } } }
  }
}"""


def test_the_commissioner_reads_and_downloads_the_report(world, mailbox) -> None:
    import csv
    import datetime as dt
    import io

    from api.web.report_pages import this_financial_year

    # Perturbed reports cover fixed periods only (api/reports/report.py): the year's.
    start, today = this_financial_year(dt.date.today())
    app, me = browser_for(world, mailbox, "commissioner@icb.example", Role.COMMISSIONER)
    try:
        assert "Commissioning report" in app.get("/staff").text
        page = app.get("/staff/report")
        assert page.status_code == 200 and f'value="{start.isoformat()}"' in page.text
        sliding = app.post(
            "/staff/report",
            data={
                "csrf": me.csrf,
                "from": (start.replace(day=2)).isoformat(),
                "to": today.isoformat(),
            },
        )
        assert sliding.status_code == 400 and "a calendar month, a quarter" in sliding.text
        backwards = app.post(
            "/staff/report",
            data={"csrf": me.csrf, "from": today.isoformat(), "to": start.isoformat()},
        )
        assert backwards.status_code == 400 and "The period ends before it starts" in backwards.text
        shown = app.post(
            "/staff/report",
            data={"csrf": me.csrf, "from": start.isoformat(), "to": today.isoformat()},
        )
        assert shown.status_code == 200 and "Read the report" in shown.text
        html = app.get("/staff/report/report.html")
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert "style-src 'unsafe-inline'" in html.headers["content-security-policy"]
        assert "script" not in html.headers["content-security-policy"]
        download = app.get("/staff/report/report.html", params={"download": "1"})
        assert download.headers["content-disposition"] == 'attachment; filename="report.html"'

        # The same figures and suppression as commissioningReport.
        body = world.api("commissioner").data(
            REPORT, p={"from": start.isoformat(), "to": today.isoformat()}
        )["commissioningReport"]["tables"]
        for table in body:
            got = app.get(f"/staff/report/{table['key']}.csv")
            assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
            rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))[1:]
            assert len(rows) == len(table["rows"])
            for row, expected in zip(rows, table["rows"], strict=True):
                for value, cell in zip(
                    row[-len(expected["cells"]) :], expected["cells"], strict=True
                ):
                    if cell["suppressed"]:
                        assert value == cell["display"]
        with world.db.session() as s:
            reads = s.scalars(select(AuditEvent).where(AuditEvent.action == "report.read")).all()
        assert any(e.staff_account_id is not None for e in reads)
    finally:
        app.__exit__(None, None, None)

    worker, _me = browser_for(
        world, mailbox, "tom@better.example", Role.LEAD_PROVIDER,
        provider="better-services", link_worker="tom-hughes",
    )  # fmt: skip
    try:
        assert worker.get("/staff/report").status_code == 403
        assert worker.get("/staff/report/report.html").status_code == 403
    finally:
        worker.__exit__(None, None, None)


def test_contact_attempts_until_the_first_successful_contact(world, mailbox) -> None:
    import datetime as dt

    from api.graphql.relay import to_global_id

    referral = pk(new_referral(world, person={"givenName": "Fay", "familyName": "Tries"}))
    app, me = browser_for(
        world, mailbox, "alex@better.example", Role.LEAD_PROVIDER, provider="better-services"
    )
    today = dt.date.today()
    try:
        tried = app.post(
            f"/staff/referrals/{referral}/contact",
            data={
                "csrf": me.csrf,
                "on": today.isoformat(),
                "method": "PHONE",
                "outcome": "NO_ANSWER",
            },
        )
        assert "The attempt is recorded" in tried.text and "No answer" in tried.text
        assert "Waiting for first contact" in tried.text
        future = app.post(
            f"/staff/referrals/{referral}/contact",
            data={
                "csrf": me.csrf,
                "on": (today + dt.timedelta(days=2)).isoformat(),
                "method": "PHONE",
                "outcome": "REACHED",
            },
        )
        assert future.status_code == 400 and "cannot be in the future" in future.text
        reached = app.post(
            f"/staff/referrals/{referral}/contact",
            data={
                "csrf": me.csrf,
                "on": today.isoformat(),
                "method": "TEXT_MESSAGE",
                "outcome": "REACHED",
            },
        )
        assert "First contact is recorded" in reached.text
        assert "after 0 working days" in reached.text and "Reached them" in reached.text
        assert "Record a contact attempt" not in reached.text
        late = app.post(
            f"/staff/referrals/{referral}/contact",
            data={
                "csrf": me.csrf,
                "on": today.isoformat(),
                "method": "PHONE",
                "outcome": "NO_ANSWER",
            },
        )
        assert late.status_code == 400 and "until the person is reached" in late.text
    finally:
        app.__exit__(None, None, None)
    query = "query($id: ID!) { referral(id: $id) { status contactAttempts { outcome method } } }"
    gid = to_global_id("Referral", referral)
    lead = world.api("lead").data(query, id=gid)["referral"]
    assert lead["status"] == "CONTACTED"
    assert lead["contactAttempts"] == [
        {"outcome": "NO_ANSWER", "method": "PHONE"},
        {"outcome": "REACHED", "method": "TEXT_MESSAGE"},
    ]
    assert world.api("gp").data(query, id=gid)["referral"]["contactAttempts"] is None


def test_a_provider_marks_attendance_through_its_register_link(world, mailbox) -> None:
    import datetime as dt

    referral = pk(new_referral(world, person={"givenName": "Gil", "familyName": "Register"}))
    session_id = world.session_id("anytown-carers-centre")
    app, me = browser_for(
        world, mailbox, "reg@better.example", Role.LEAD_PROVIDER, provider="better-services"
    )
    try:
        app.post(
            f"/staff/referrals/{referral}/status", data={"csrf": me.csrf, "status": "CONTACTED"}
        )
        before = len(mailbox.messages)
        done = app.post(
            f"/staff/referrals/{referral}/signpost",
            data={"csrf": me.csrf, "session": [str(session_id)]},
        )
        assert "1 provider(s) were sent a register link" in done.text
        sent = [m for m in mailbox.messages[before:] if "register link" in m["Subject"]]
        assert len(sent) == 1
        link = mailbox.link(sent[0], "/attendance/").removeprefix(PUBLIC)

        # The provider, with no account: the register shows the given name and nothing else.
        with TestClient(app.app) as provider:
            page = provider.get(link)
            assert page.status_code == 200 and "Gil" in page.text
            for secret in ("Register", "999", "Lonely since", "07700"):
                assert secret not in page.text.replace("Register:", ""), secret
            today = dt.date.today().isoformat()
            # Gil's own row (others signposted to the same session are on it too).
            gil = page.text[page.text.index("<h2>Gil</h2>") :]
            signpost = re.search(r'name="signpost" value="(\d+)"', gil).group(1)
            marked = provider.post(
                link,
                data={"csrf": csrf_in(page.text), "signpost": signpost, "on": today,
                      "attended": "yes"},
            )  # fmt: skip
            assert "Saved. Thank you." in marked.text and "came" in marked.text
            shown = app.get(f"/staff/referrals/{referral}")
            assert "Works until" in shown.text
            link_id = re.search(r'name="link" value="(\d+)"', shown.text).group(1)
            stopped = app.post(
                f"/staff/referrals/{referral}/register-link/stop",
                data={"csrf": me.csrf, "link": link_id},
            )
            assert "The register link no longer works" in stopped.text
            assert provider.get(link).status_code == 404
        with world.db.session() as s:
            from api.referrals.models import Attendance, Signpost

            came = s.scalars(
                select(Attendance.attended)
                .join(Signpost, Signpost.id == Attendance.signpost_id)
                .where(Signpost.referral_id == referral)
            ).all()
        assert came == [True]
        renewed = app.post(
            f"/staff/referrals/{referral}/register-link",
            data={"csrf": me.csrf, "session": str(session_id)},
        )
        assert "A new register link is sent" in renewed.text
    finally:
        app.__exit__(None, None, None)


def test_the_practice_records_nhs_use(world, mailbox) -> None:
    referral = pk(new_referral(world, person={"givenName": "Hal", "familyName": "Nhs"}))
    gp, me = browser_for(world, mailbox, "nhs@north.example", Role.GP_PRACTICE, practice="C81001")
    try:
        page = gp.get(f"/staff/referrals/{referral}")
        assert "Record NHS use" in page.text
        bad = gp.post(
            f"/staff/referrals/{referral}/nhs-use",
            data={"csrf": me.csrf, "period": "BEFORE", "gp": "x", "ae": "0"},
        )
        assert bad.status_code == 400 and "Enter the number of gp appointments" in bad.text
        done = gp.post(
            f"/staff/referrals/{referral}/nhs-use",
            data={"csrf": me.csrf, "period": "BEFORE", "gp": "6", "ae": "1",
                  "admissions": "0", "prescriptions": "12"},
        )  # fmt: skip
        assert "NHS use is recorded" in done.text and "6 months before" in done.text
    finally:
        gp.__exit__(None, None, None)
    lead, me = browser_for(
        world, mailbox, "nolead@better.example", Role.LEAD_PROVIDER, provider="better-services"
    )
    try:
        page = lead.get(f"/staff/referrals/{referral}")
        assert "6 months before" in page.text and "Record NHS use" not in page.text
        refused = lead.post(
            f"/staff/referrals/{referral}/nhs-use",
            data={"csrf": me.csrf, "period": "AFTER", "gp": "1", "ae": "1",
                  "admissions": "1", "prescriptions": "1"},
        )  # fmt: skip
        assert refused.status_code == 403
    finally:
        lead.__exit__(None, None, None)


def test_a_need_that_fits_no_domain_is_recorded_as_something_else(world, mailbox) -> None:
    from api.outcomes.models import UnmetNeed

    referral = pk(new_referral(world, person={"givenName": "Ola", "familyName": "Other"}))
    gp, me = browser_for(world, mailbox, "other@north.example", Role.GP_PRACTICE, practice="C81001")
    try:
        page = gp.get(f"/staff/referrals/{referral}")
        assert 'value="OTHER"' in page.text and "Something else" in page.text
        long = gp.post(
            f"/staff/referrals/{referral}/unmet-need",
            data={"csrf": me.csrf, "domain": "OTHER", "description": "x" * 201},
        )
        assert long.status_code == 400 and "at most 200 characters" in long.text
        done = gp.post(
            f"/staff/referrals/{referral}/unmet-need",
            data={"csrf": me.csrf, "domain": "OTHER", "description": "A carers' group in Welsh"},
        )
        assert "The unmet need is recorded" in done.text
    finally:
        gp.__exit__(None, None, None)
    with world.db.session() as s:
        need = s.scalars(
            select(UnmetNeed).where(UnmetNeed.description == "A carers' group in Welsh")
        ).one()
        assert need.domain is None
