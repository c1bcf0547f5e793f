"""Keeping listings fresh: `petunia remind` (a "still right?" email to listings nobody has
confirmed for a while, never twice in one period), the monthly prize draw among the
providers that confirmed or updated their entry that month, and forgetting registrations
nobody confirmed (part of `petunia purge`)."""

from __future__ import annotations

import datetime as dt
import random
import re
import secrets
from dataclasses import dataclass, field

from sqlalchemy import delete, or_, orm, select

from api.audit.log import record
from api.config import Settings
from api.db import Database
from api.directory.enums import ListingStatus
from api.directory.models import Provider, utcnow
from api.registration import links, mails
from api.registration.flow import listing_email
from api.registration.models import (
    ListingEvent,
    PrizeDraw,
    Registration,
    RegistrationStatus,
    Reminder,
)

# ---------------------------------------------------------------------------------------------
# Registrations nobody confirmed


def purge_unconfirmed(db: orm.Session, *, days: int, now: dt.datetime | None = None) -> int:
    """Delete registrations whose emailed link was not followed within ``days``, and the
    email address and answers with them: nobody confirmed that address wanted a listing.
    Returns how many were deleted; running it again deletes nothing more."""
    if days < 0:
        raise ValueError("the number of days cannot be negative")
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    due = db.scalars(
        select(Registration.id).where(
            Registration.status == RegistrationStatus.AWAITING_CONFIRMATION,
            Registration.created_at < cutoff,
        )
    ).all()
    for registration_id in due:
        record(db, None, "registration.purge_unconfirmed", "registration", registration_id)
    if due:
        db.execute(delete(Registration).where(Registration.id.in_(due)))
    return len(due)


# ---------------------------------------------------------------------------------------------
# Reminders


@dataclass
class RemindReport:
    sent: list[str] = field(default_factory=list)  # provider names, their email queued
    skipped_recent: int = 0  # already reminded in this period
    no_address: list[str] = field(default_factory=list)
    mail: list[int] = field(default_factory=list)  # the queued emails


def due_for_reminder(
    db: orm.Session, settings: Settings, today: dt.date
) -> tuple[list[Provider], int]:
    """Published providers not confirmed for ``remind_after_days``, less those reminded in
    the last ``remind_every_days``: (due, how many were left out as recently reminded)."""
    stale_before = today - dt.timedelta(days=settings.remind_after_days)
    stale = list(
        db.scalars(
            select(Provider)
            .where(
                Provider.status == ListingStatus.PUBLISHED,
                or_(
                    Provider.last_confirmed_at.is_(None), Provider.last_confirmed_at < stale_before
                ),
            )
            .order_by(Provider.name, Provider.id)
        )
    )
    period_start = dt.datetime.combine(
        today - dt.timedelta(days=settings.remind_every_days - 1), dt.time(), tzinfo=dt.UTC
    )
    recent = set(
        db.scalars(select(Reminder.provider_id).where(Reminder.sent_at >= period_start).distinct())
    )
    due = [p for p in stale if p.id not in recent]
    return due, len(stale) - len(due)


def send_reminders(
    db: Database,
    settings: Settings,
    *,
    today: dt.date,
    dry_run: bool = False,
) -> RemindReport:
    """Queue a reminder for each provider due one, each recorded in the same transaction as
    its email (api/mail/queue.py sends it): a run that stops half way never emails anyone
    twice, and a mail server that is down delays a reminder without losing it."""
    report = RemindReport()
    with db.session() as session:
        due, report.skipped_recent = due_for_reminder(session, settings, today)
        targets = [
            (p.id, p.name, listing_email(session, p), p.last_confirmed_at, p.edit_link_version)
            for p in due
        ]
    for provider_id, name, email, last, version in targets:
        if not email:
            report.no_address.append(name)
            continue
        if dry_run:
            report.sent.append(name)
            continue
        message = mails.reminder(
            email,
            name,
            f"on {last.day} {last:%B %Y}" if last else "never",
            links.still_right_url(settings, provider_id, email, version),
            links.edit_url(settings, "p", provider_id, email, version),
        )
        with db.session() as session:
            queued = mails.queue(session, [message])
            session.add(Reminder(provider_id=provider_id, delivered_to=f"mail queue {queued[0]}"))
            record(session, None, "listing.remind", "provider", provider_id)
        report.mail += queued
        report.sent.append(name)
    return report


# ---------------------------------------------------------------------------------------------
# The monthly prize draw


class DrawError(ValueError):
    pass


@dataclass
class DrawResult:
    month: str
    seed: str
    entrants: list[int]
    winner_id: int | None
    winner_name: str | None
    drawn_at: dt.datetime
    new: bool  # drawn by this call (False: the recorded draw, shown again)
    reproduced: bool  # the recorded seed and entrants give the recorded winner


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise DrawError(f"'{month}' is not a month: write it as YYYY-MM, e.g. 2026-10")
    year, number = int(month[:4]), int(month[5:])
    start = dt.datetime(year, number, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=dt.UTC)
    return start, end


def entrants_of(db: orm.Session, month: str) -> list[int]:
    """Providers that confirmed or updated their entry in the month, by id."""
    start, end = month_bounds(month)
    return sorted(
        db.scalars(
            select(ListingEvent.provider_id)
            .where(ListingEvent.at >= start, ListingEvent.at < end)
            .distinct()
        )
    )


def pick(seed: str, entrants: list[int]) -> int | None:
    """The draw itself: reproducible from the seed and the ordered entrants."""
    if not entrants:
        return None
    return entrants[random.Random(seed).randrange(len(entrants))]


def prize_draw(db: orm.Session, month: str, *, now: dt.datetime | None = None) -> DrawResult:
    """Draw the month's winner once, after the month is over; later calls show the recorded
    draw and check that its seed still gives the same winner."""
    start, end = month_bounds(month)
    now = now or utcnow()
    existing = db.scalars(select(PrizeDraw).where(PrizeDraw.month == month)).first()
    if existing is not None:
        winner = (
            db.get(Provider, existing.winner_provider_id) if existing.winner_provider_id else None
        )
        return DrawResult(
            month,
            existing.seed,
            list(existing.entrants),
            existing.winner_provider_id,
            winner.name if winner else None,
            existing.drawn_at,
            new=False,
            reproduced=pick(existing.seed, list(existing.entrants)) == existing.winner_provider_id,
        )
    if now < end:
        raise DrawError(f"{month} is not over yet: draw it from {end:%Y-%m-%d}")
    entrants = entrants_of(db, month)
    seed = secrets.token_hex(16)
    winner_id = pick(seed, entrants)
    draw = PrizeDraw(
        month=month, seed=seed, entrants=entrants, winner_provider_id=winner_id, drawn_at=now
    )
    db.add(draw)
    db.flush()
    record(
        db,
        None,
        "prize_draw",
        "prize_draw",
        draw.id,
        month=month,
        entrants=len(entrants),
        winner_provider_id=winner_id,
    )
    winner = db.get(Provider, winner_id) if winner_id else None
    return DrawResult(
        month, seed, entrants, winner_id, winner.name if winner else None, now, True, True
    )
