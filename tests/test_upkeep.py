"""Keeping listings fresh: reminders (real SMTP), the "still right" link, the prize draw."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from api.audit.models import AuditEvent
from api.cli import app
from api.config import get_settings
from api.db import Database
from api.directory.models import Provider, utcnow
from api.mail.queue import deliver_due
from api.registration.models import (
    ListingEvent,
    ListingEventKind,
    PrizeDraw,
    Registration,
    RegistrationKind,
    RegistrationStatus,
    Reminder,
)
from api.registration.upkeep import (
    DrawError,
    pick,
    prize_draw,
    purge_unconfirmed,
    send_reminders,
)
from tests.conftest import client_for
from tests.mailbox import Mailbox

runner = CliRunner()
TODAY = dt.date(2026, 11, 22)


def test_remind_emails_stale_listings_once_a_period(
    db: Database,
    mailbox: Mailbox,
    tmp_path,
) -> None:
    settings = get_settings(
        data_dir=tmp_path,
        public_url="http://petunia.test",
        remind_after_days=300,
        **mailbox.settings(),
    )
    with db.session() as s:
        # The shelter was last confirmed 2025-06-01 (stale); the lead on 2026-10-01 (fresh);
        # the knitters never, and have no email address.
        s.scalars(
            select(Provider).where(Provider.key == "shelter")
        ).one().email = "dogs@shelter.example"
    report = send_reminders(db, settings, today=TODAY)
    assert report.sent == ["Testtown Cat and Dog Shelter"]
    assert report.no_address == ["Knitters United"]
    assert deliver_due(db, settings).sent == 1
    message = mailbox.last("dogs@shelter.example")
    assert "still right" in message["Subject"]
    still_right = mailbox.link(message, "/still-right")
    assert mailbox.link(message, "/listing/")

    again = send_reminders(db, settings, today=TODAY + dt.timedelta(days=10))
    assert again.sent == [] and again.skipped_recent == 1
    assert len(mailbox.to("dogs@shelter.example")) == 1
    with db.session() as s:
        assert len(s.scalars(select(Reminder)).all()) == 1
        assert "listing.remind" in s.scalars(select(AuditEvent.action)).all()

    # One click on the link confirms the listing.
    with client_for(db, data_dir=tmp_path, public_url="http://petunia.test") as client:
        page = client.get(still_right.removeprefix("http://petunia.test"))
    assert page.status_code == 200 and "still right" in page.text
    # No background rebuild here: it says when the site will show it.
    assert "on the public site when the site is next built" in page.text
    with db.session() as s:
        shelter = s.scalars(select(Provider).where(Provider.key == "shelter")).one()
        assert shelter.last_confirmed_at is not None and shelter.last_confirmed_at >= TODAY
        events = s.scalars(select(ListingEvent.kind)).all()
    assert events == [ListingEventKind.CONFIRMED]
    # Confirmed now: no longer due, even after the period.
    later = send_reminders(db, settings, today=TODAY + dt.timedelta(days=40))
    assert "Testtown Cat and Dog Shelter" not in later.sent


def test_a_reminder_that_cannot_be_sent_now_stays_queued_and_goes_once(
    db: Database, tmp_path
) -> None:
    with db.session() as s:
        s.scalars(
            select(Provider).where(Provider.key == "shelter")
        ).one().email = "dogs@shelter.example"
    # Nothing listens on this port: SMTP fails.
    broken = get_settings(data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=9)
    report = send_reminders(db, broken, today=TODAY)
    assert report.sent == ["Testtown Cat and Dog Shelter"] and len(report.mail) == 1
    now = utcnow()
    failed = deliver_due(db, broken, now=now)
    assert (failed.sent, failed.retrying) == (0, 1)
    # Recorded once with its queued email: the next run does not queue it again.
    assert send_reminders(db, broken, today=TODAY).skipped_recent == 1
    with db.session() as s:
        assert len(s.scalars(select(Reminder)).all()) == 1
    outbox = get_settings(data_dir=tmp_path)
    assert deliver_due(db, outbox, now=now).sent == 0  # not due yet: back-off
    assert deliver_due(db, outbox, now=now + dt.timedelta(minutes=1)).sent == 1
    assert deliver_due(db, outbox, now=now + dt.timedelta(hours=1)).sent == 0
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def add_events(db: Database, month_day: dt.datetime, keys: list[str]) -> None:
    with db.session() as s:
        for key in keys:
            provider = s.scalars(select(Provider).where(Provider.key == key)).one()
            s.add(
                ListingEvent(provider_id=provider.id, kind=ListingEventKind.UPDATED, at=month_day)
            )


def test_prize_draw_is_once_reproducible_and_audited(db: Database, monkeypatch) -> None:
    add_events(db, dt.datetime(2026, 10, 5, 12, tzinfo=dt.UTC), ["shelter", "knitters"])
    add_events(db, dt.datetime(2026, 10, 31, 23, 59, tzinfo=dt.UTC), ["knitters"])
    add_events(db, dt.datetime(2026, 11, 1, 0, 1, tzinfo=dt.UTC), ["lead-north"])  # November
    with pytest.raises(DrawError, match="not over yet"), db.session() as s:
        prize_draw(s, "2026-11", now=dt.datetime(2026, 11, 22, tzinfo=dt.UTC))
    with pytest.raises(DrawError, match="YYYY-MM"), db.session() as s:
        prize_draw(s, "October")
    with db.session() as s:
        first = prize_draw(s, "2026-10")
        ids = {p.key: p.id for p in s.scalars(select(Provider))}
    assert first.new and first.entrants == sorted([ids["shelter"], ids["knitters"]])
    assert first.winner_id in first.entrants
    assert pick(first.seed, first.entrants) == first.winner_id
    with db.session() as s:
        second = prize_draw(s, "2026-10")
        assert len(s.scalars(select(PrizeDraw)).all()) == 1
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "prize_draw")).one()
    assert not second.new and second.reproduced and second.winner_id == first.winner_id
    assert audit.detail["winner_provider_id"] == first.winner_id

    # A tampered record is caught when shown again.
    with db.session() as s:
        draw = s.scalars(select(PrizeDraw)).one()
        other = next(i for i in draw.entrants if i != draw.winner_provider_id)
        draw.winner_provider_id = other
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    shown = runner.invoke(app, ["prize-draw", "--month", "2026-10"])
    assert shown.exit_code == 1 and "record was changed" in shown.output


def test_prize_draw_cli(db: Database, monkeypatch) -> None:
    add_events(db, dt.datetime(2026, 9, 15, tzinfo=dt.UTC), ["shelter"])
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    result = runner.invoke(app, ["prize-draw", "--month", "2026-09"])
    assert result.exit_code == 0, result.output
    assert "Winner: Testtown Cat and Dog Shelter" in result.output and "Seed:" in result.output
    again = runner.invoke(app, ["prize-draw", "--month", "2026-09"])
    assert "Checked: the recorded seed" in again.output
    empty = runner.invoke(app, ["prize-draw", "--month", "2026-08"])
    assert empty.exit_code == 0 and "No entrants" in empty.output


def add_registration(
    db: Database, key: str, status: RegistrationStatus, created: dt.datetime
) -> int:
    with db.session() as s:
        registration = Registration(
            submission_key=key,
            kind=RegistrationKind.NEW,
            status=status,
            organisation=f"Group {key}",
            name_key=f"group {key}",
            email=f"{key}@example.org",
            answers={"organisation": f"Group {key}"},
            created_at=created,
        )
        s.add(registration)
        s.flush()
        return registration.id


def test_purge_deletes_registrations_nobody_confirmed(db: Database, monkeypatch) -> None:
    now = dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)
    old, recent = now - dt.timedelta(days=31), now - dt.timedelta(days=29)
    waiting = RegistrationStatus.AWAITING_CONFIRMATION
    stale = add_registration(db, "stale", waiting, old)
    fresh = add_registration(db, "fresh", waiting, recent)
    reviewed = add_registration(db, "reviewed", RegistrationStatus.PENDING_REVIEW, old)
    with db.session() as s:
        assert purge_unconfirmed(s, days=30, now=now) == 1
    with db.session() as s:
        assert purge_unconfirmed(s, days=30, now=now) == 0  # nothing more
        left = set(s.scalars(select(Registration.id)))
        assert stale not in left and {fresh, reviewed} <= left
        audited = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "registration.purge_unconfirmed")
        ).all()
        assert [e.record_id for e in audited] == [stale]
        assert "stale@example.org" not in repr([e.detail for e in audited])

    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    bad = runner.invoke(app, ["purge", "--unconfirmed-days", "-1"])
    assert bad.exit_code == 1 and "cannot be negative" in bad.output
    done = runner.invoke(app, ["purge", "--unconfirmed-days", "0"])
    assert done.exit_code == 0, done.output
    assert "Deleted 1 registration(s) not confirmed within 0 days" in done.output
    with db.session() as s:
        assert set(s.scalars(select(Registration.id))) == {reviewed}
