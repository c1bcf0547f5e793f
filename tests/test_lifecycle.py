"""Listings that stop (api/directory/lifecycle.py) and the durable "site out of date" marker
(api/directory/publishing.py), on SQLite and PostgreSQL: a stopped, withdrawn or suspended
listing leaves the public directory (what the site, GraphQL and /oruk read), a break goes
into next dates, closed-problem reports cannot be resolved with the listing still up, every
action is audited, and every committed directory change queues a rebuild."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from api.access.models import Role
from api.access.tokens import Principal
from api.audit.models import AuditEvent
from api.db import Database
from api.directory import lifecycle, publishing
from api.directory.enums import ListingStatus
from api.directory.models import Locality, Provider, Session, SessionBreak, SiteChange
from api.directory.public import FreshnessPolicy, read_public_directory
from api.registration import flow
from api.registration import reports as reporting
from api.registration.models import ProblemReport, ReportKind, ReportStatus
from tests.conftest import GraphQLClient, client_for
from tests.mailbox import Mailbox

TODAY = dt.date(2026, 11, 16)


def ids(db: Database) -> tuple[Provider, Session, Principal]:
    with db.session() as s:
        shelter = s.scalars(select(Provider).where(Provider.key == "shelter")).one()
        walking = s.scalars(select(Session).where(Session.key == "dog-walking")).one()
        lead = s.scalars(select(Provider).where(Provider.key == "lead-north")).one()
        localities = frozenset(s.scalars(select(Locality.id)))
    moderator = Principal(
        None,  # type: ignore[arg-type]
        "north",
        Role.LEAD_PROVIDER,
        provider_id=lead.id,
        locality_ids=localities,
    )
    return shelter, walking, moderator


def public_titles(db: Database) -> set[str]:
    with db.session() as s:
        d = read_public_directory(s, today=TODAY, policy=FreshnessPolicy(365, 100000))
        return {x.title for x in d.sessions.values()}


def audited(db: Database, action: str) -> list[AuditEvent]:
    with db.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def clear_changes(db: Database) -> None:
    with db.session() as s:
        publishing.built(s, publishing.last_change_id(s))


# ---------------------------------------------------------------------------------------------
# The marker


def test_a_committed_directory_change_queues_a_rebuild_and_a_rolled_back_one_does_not(
    db: Database,
) -> None:
    shelter, _walking, _mod = ids(db)
    clear_changes(db)
    with pytest.raises(RuntimeError), db.session() as s:
        s.get(Provider, shelter.id).name = "Renamed then rolled back"
        s.flush()
        raise RuntimeError("the change fails")
    with db.session() as s:
        assert publishing.pending(s) is None
    with db.session() as s:
        flow.still_right(s, s.get(Provider, shelter.id))
    with db.session() as s:
        changes = publishing.pending(s)
        assert changes is not None and changes.count == 1
        publishing.built(s, changes.last_id)
    with db.session() as s:
        assert publishing.pending(s) is None
        # Reading, or writing what the site does not show, queues nothing.
        s.scalars(select(Session)).all()
        s.add(
            ProblemReport(
                provider_id=shelter.id, kind=ReportKind.OTHER, details="x", status=ReportStatus.OPEN
            )
        )
    with db.session() as s:
        assert s.scalars(select(SiteChange)).all() == []


def test_changes_are_debounced() -> None:
    t0 = dt.datetime(2026, 11, 16, 12, tzinfo=dt.UTC)
    quiet, most = dt.timedelta(seconds=5), dt.timedelta(seconds=30)
    one = publishing.Pending(1, t0, t0, 1)
    assert not publishing.is_due(one, t0 + dt.timedelta(seconds=4), quiet=quiet, max_wait=most)
    assert publishing.is_due(one, t0 + dt.timedelta(seconds=5), quiet=quiet, max_wait=most)
    # Changes every few seconds: built at most 30 s after the first.
    busy = publishing.Pending(9, t0, t0 + dt.timedelta(seconds=29), 9)
    assert not publishing.is_due(busy, t0 + dt.timedelta(seconds=29), quiet=quiet, max_wait=most)
    assert publishing.is_due(busy, t0 + dt.timedelta(seconds=30), quiet=quiet, max_wait=most)


# ---------------------------------------------------------------------------------------------
# From the edit link


def test_a_provider_stops_an_activity_and_it_leaves_the_public_directory(db: Database) -> None:
    shelter, walking, _mod = ids(db)
    client = GraphQLClient(client_for(db))
    query = '{ sessions(filter: {text: "dog walking"}) { totalCount } }'
    assert client.data(query)["sessions"]["totalCount"] == 1
    assert "Dog walking" in public_titles(db)
    with db.session() as s:
        changed = lifecycle.stop(s, s.get(Provider, shelter.id), walking.id)
    assert changed.ok and changed.about == "Dog walking"
    assert "Dog walking" not in public_titles(db)
    assert client.data(query)["sessions"]["totalCount"] == 0
    oruk = client_for(db).get("/oruk/services", params={"search": "dog walking"}).json()
    assert not [x for x in oruk["contents"] if x["name"] == "Dog walking"]
    [event] = audited(db, "listing.stop")
    assert event.record_type == "session" and event.record_id == walking.id
    with db.session() as s:  # once is enough
        again = lifecycle.stop(s, s.get(Provider, shelter.id), walking.id)
    assert again.errors[0].field == "session"


def test_a_provider_stops_the_whole_organisation(db: Database) -> None:
    shelter, _walking, _mod = ids(db)
    with db.session() as s:
        assert lifecycle.stop(s, s.get(Provider, shelter.id), None).ok
    with db.session() as s:
        assert s.get(Provider, shelter.id).status is ListingStatus.STOPPED
    assert "Dog walking" not in public_titles(db)


def test_a_break_is_checked_recorded_and_left_out_of_next_dates(db: Database) -> None:
    shelter, walking, _mod = ids(db)
    with db.session() as s:
        provider = s.get(Provider, shelter.id)
        for until, message in [
            (None, "Enter the date"),
            (TODAY, "after today"),
            (TODAY + dt.timedelta(days=400), "up to a year"),
        ]:
            refused = lifecycle.take_break(s, provider, walking.id, until, today=TODAY)
            assert message in refused.errors[0].message
        ok = lifecycle.take_break(s, provider, walking.id, dt.date(2027, 1, 5), today=TODAY)
        assert ok.ok
    with db.session() as s:
        breaks = s.scalars(select(SessionBreak).where(SessionBreak.session_id == walking.id))
        assert (TODAY, dt.date(2027, 1, 4)) in [(b.starts_on, b.ends_on) for b in breaks]
    # Still listed, with no date inside the break.
    from sitegen.pages import SiteConfig, SiteModel

    with db.session() as s:
        d = read_public_directory(s, today=TODAY, policy=FreshnessPolicy(365, 100000))
    model = SiteModel(d, SiteConfig("x", "https://x.example/", "https://x.example", TODAY, None))
    dates = [o.date for o in model.next_dates(walking.id, 3)]
    assert dates and all(day >= dt.date(2027, 1, 5) for day in dates)
    page = model.session_page(d.sessions[walking.id])
    assert "On a break until 5 January 2027" in str(page.context)
    assert len(audited(db, "listing.break")) == 1


# ---------------------------------------------------------------------------------------------
# From moderation


def test_withdraw_and_suspend_need_a_reason_and_suspension_is_undone(db: Database) -> None:
    shelter, walking, mod = ids(db)
    with db.session() as s:
        refused = lifecycle.take_down(s, mod, shelter.id, walking.id, "suspend", "  ")
        assert refused.errors[0].field == "reason"
        assert lifecycle.take_down(s, mod, shelter.id, walking.id, "suspend", "Checking").ok
    assert "Dog walking" not in public_titles(db)
    with db.session() as s:
        assert s.get(Session, walking.id).status_reason == "Checking"
        assert lifecycle.reinstate(s, mod, shelter.id, walking.id).ok
    assert "Dog walking" in public_titles(db)
    with db.session() as s:
        assert lifecycle.take_down(s, mod, shelter.id, None, "withdraw", "Closed for good").ok
        # Only a suspension is undone here.
        assert not lifecycle.reinstate(s, mod, shelter.id, None).ok
    assert "Dog walking" not in public_titles(db)
    assert [len(audited(db, f"listing.{a}")) for a in ("suspend", "reinstate", "withdraw")] == [
        1,
        1,
        1,
    ]


def test_only_the_listings_own_lead_provider_or_an_admin_takes_it_down(db: Database) -> None:
    shelter, walking, mod = ids(db)
    elsewhere = Principal(
        None,  # type: ignore[arg-type]
        "elsewhere",
        Role.LEAD_PROVIDER,
        provider_id=mod.provider_id,
        locality_ids=frozenset({999}),
    )
    gp = Principal(None, "gp", Role.GP_PRACTICE, practice_id=1)  # type: ignore[arg-type]
    with db.session() as s:
        for who in (elsewhere, gp):
            refused = lifecycle.take_down(s, who, shelter.id, walking.id, "withdraw", "No")
            assert refused.errors[0].code.value == "NOT_FOUND"
    assert "Dog walking" in public_titles(db)


def test_a_closed_report_is_not_resolved_while_the_listing_stays_up_without_saying_so(
    db: Database,
) -> None:
    shelter, walking, mod = ids(db)
    with db.session() as s:
        report = ProblemReport(
            provider_id=shelter.id,
            session_id=walking.id,
            kind=ReportKind.CLOSED,
            details="",
            status=ReportStatus.OPEN,
        )
        s.add(report)
        s.flush()
        report_id = report.id
    with db.session() as s:
        _r, errors = reporting.resolve(s, mod, report_id, "Looked at it")
        assert errors and errors[0].field == "withdraw"
        _r, errors = reporting.resolve(s, mod, report_id, "", stays_up=True)
        assert errors and errors[0].field == "note"
    with db.session() as s:
        assert s.get(ProblemReport, report_id).status is ReportStatus.OPEN
        _r, errors = reporting.resolve(s, mod, report_id, "They confirmed", withdraw=True)
        assert errors == []
    with db.session() as s:
        assert s.get(ProblemReport, report_id).status is ReportStatus.RESOLVED
        assert s.get(Session, walking.id).status is ListingStatus.WITHDRAWN
    assert "Dog walking" not in public_titles(db)
    assert len(audited(db, "listing.withdraw")) == 1


def test_graphql_resolves_a_closed_report_by_withdrawing_the_listing(db: Database) -> None:
    from api.access import tokens
    from api.graphql.relay import to_global_id

    shelter, walking, _mod = ids(db)
    with db.session() as s:
        report = ProblemReport(
            provider_id=shelter.id,
            session_id=walking.id,
            kind=ReportKind.CLOSED,
            details="",
            status=ReportStatus.OPEN,
        )
        s.add(report)
        s.flush()
        report_id = to_global_id("ProblemReport", report.id)
        _client, token = tokens.create_client(s, role=Role.LEAD_PROVIDER, provider="lead-north")
    app = client_for(db)
    mutation = (
        'mutation($id: ID!, $w: Boolean!) { resolveProblemReport(id: $id, note: "Gone", '
        "withdrawListing: $w) { report { status } errors { field code } } }"
    )

    def resolve(withdraw: bool) -> dict:
        answer = app.post(
            "/graphql",
            json={"query": mutation, "variables": {"id": report_id, "w": withdraw}},
            headers={"Authorization": f"Bearer {token}"},
        )
        return answer.json()["data"]["resolveProblemReport"]

    assert resolve(False)["errors"] == [{"field": "withdraw", "code": "INVALID_STATE"}]
    assert "Dog walking" in public_titles(db)
    assert resolve(True) == {"report": {"status": "RESOLVED"}, "errors": []}
    assert "Dog walking" not in public_titles(db)


def test_the_moderation_pages_withdraw_suspend_and_resolve_a_closed_report(
    db: Database, tmp_path: Path, mailbox: Mailbox
) -> None:
    from tests.staff_support import staff_sign_in

    shelter, walking, _mod = ids(db)
    with db.session() as s:
        s.add(
            ProblemReport(
                provider_id=shelter.id,
                session_id=walking.id,
                kind=ReportKind.CLOSED,
                details="",
                status=ReportStatus.OPEN,
            )
        )
    with client_for(
        db, data_dir=tmp_path, public_url="http://petunia.test", **mailbox.settings()
    ) as app:
        csrf = staff_sign_in(app, db, mailbox, "mod@lead.example", coordinator=True).csrf
        queue = app.get("/moderation").text
        assert 'value="withdraw"' in queue and f"/moderation/listings/{shelter.id}" in queue
        page = app.get(f"/moderation/listings/{shelter.id}")
        assert page.status_code == 200 and "Dog walking" in page.text
        url = f"/moderation/listings/{shelter.id}"
        form = {"csrf": csrf, "session": str(walking.id), "action": "suspend"}
        refused = app.post(url, data={**form, "reason": ""})
        assert refused.status_code == 400 and "Say why" in refused.text
        done = app.post(url, data={**form, "reason": "Checking the venue"})
        assert "is suspended" in done.text and "when the site is next built" in done.text
        assert "Dog walking" not in public_titles(db)
        back = app.post(url, data={**form, "action": "reinstate"})
        assert "is back" in back.text and "Dog walking" in public_titles(db)
        # The closed report: resolved by withdrawing the listing.
        report_form = re_search(r'action="(/moderation/reports/\d+/resolve)"', queue)
        resolved = app.post(
            report_form, data={"csrf": csrf, "note": "Closed", "listing": "withdraw"}
        )
        assert "The listing is withdrawn" in resolved.text
    assert "Dog walking" not in public_titles(db)


def re_search(pattern: str, text: str) -> str:
    import re

    match = re.search(pattern, text)
    assert match, text
    return match.group(1)
