"""Reviews and follow-ups: a plan review on the date set with the plan; at the end of
support, and 6 and 12 months after it, a follow-up with the outcome instruments due then.
Every date falls on a working day (api/referrals/working_days.py). Completing a review
reassesses the support level (api/referrals/levels.py) and, while support goes on, sets the
next one, never more than a year after the level was last assessed."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import orm, select

from api.access import policy
from api.access.tokens import Principal
from api.audit.log import record
from api.directory.models import Locality, utcnow
from api.outcomes.enums import TimePoint
from api.outcomes.models import OutcomeInstrument, OutcomeMeasurement
from api.outcomes.recording import instruments_for
from api.referrals import levels
from api.referrals.enums import ReferralStatus as S
from api.referrals.enums import SupportLevel
from api.referrals.errors import ErrorCode, reject
from api.referrals.intake import actor_of
from api.referrals.lifecycle import find_for_change
from api.referrals.models import Referral
from api.referrals.plan_models import Review, ReviewKind, ReviewState
from api.referrals.working_days import local_date, on_working_day

FOLLOW_UPS = ((ReviewKind.FOLLOW_UP_6_MONTHS, 6), (ReviewKind.FOLLOW_UP_12_MONTHS, 12))
# The states in which support goes on, so plan reviews are held.
SUPPORTED = frozenset({S.CONTACTED, S.ASSESSED, S.ACTIVE})
KIND_LABELS = {
    ReviewKind.REVIEW: "Plan review",
    ReviewKind.END_OF_SUPPORT: "End of support",
    ReviewKind.FOLLOW_UP_6_MONTHS: "6-month follow-up",
    ReviewKind.FOLLOW_UP_12_MONTHS: "12-month follow-up",
}


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def _instruments(db: orm.Session, referral: Referral) -> list[str]:
    """The instruments to score at the end and follow-ups: those with a baseline for this
    person (so there is a before and after), else those the locality uses."""
    keys = list(
        db.scalars(
            select(OutcomeInstrument.key)
            .join(OutcomeMeasurement, OutcomeMeasurement.instrument_id == OutcomeInstrument.id)
            .where(
                OutcomeMeasurement.referral_id == referral.id,
                OutcomeMeasurement.time_point == TimePoint.BASELINE,
            )
            .order_by(OutcomeInstrument.key)
        )
    )
    if keys:
        return keys
    locality = db.get(Locality, referral.locality_id)
    return [i.key for i in instruments_for(db, locality.lead_provider_id if locality else None)]


def _due(db: orm.Session, referral_id: int, kind: ReviewKind | None = None) -> list[Review]:
    where = [Review.referral_id == referral_id, Review.state == ReviewState.DUE]
    if kind is not None:
        where.append(Review.kind == kind)
    return list(db.scalars(select(Review).where(*where).order_by(Review.due_on, Review.id)))


def schedule_review(db: orm.Session, referral: Referral, due_on: dt.date) -> Review:
    """The plan's next review on ``due_on`` (a working day, at most a year after the level
    was last assessed): moves the one already due, if any."""
    last = levels.history(db, referral.id)
    if last:
        due_on = min(due_on, on_working_day(last[-1].from_on + levels.REASSESS_WITHIN))
    due_on = on_working_day(due_on)
    pending = _due(db, referral.id, ReviewKind.REVIEW)
    if pending:
        pending[0].due_on = due_on
        for extra in pending[1:]:
            extra.state = ReviewState.CANCELLED
        return pending[0]
    row = Review(referral_id=referral.id, kind=ReviewKind.REVIEW, due_on=due_on, instruments=[])
    db.add(row)
    db.flush()
    return row


def at_end(db: orm.Session, referral: Referral, to: S, ended_on: dt.date) -> list[Review]:
    """A referral ends: plan reviews still due are cancelled; support that was completed gets
    its end-of-support follow-up and those 6 and 12 months later."""
    for row in _due(db, referral.id, ReviewKind.REVIEW):
        row.state = ReviewState.CANCELLED
    if to is not S.COMPLETED:
        return []
    keys = _instruments(db, referral)
    rows = [
        Review(
            referral_id=referral.id,
            kind=ReviewKind.END_OF_SUPPORT,
            due_on=on_working_day(ended_on),
            instruments=keys,
        )
    ]
    for kind, months in FOLLOW_UPS:
        rows.append(
            Review(
                referral_id=referral.id,
                kind=kind,
                due_on=on_working_day(add_months(ended_on, months)),
                instruments=keys,
            )
        )
    db.add_all(rows)
    db.flush()
    return rows


def reviews_of(db: orm.Session, referral_id: int) -> list[Review]:
    return list(
        db.scalars(
            select(Review)
            .where(Review.referral_id == referral_id)
            .order_by(Review.due_on, Review.id)
        )
    )


@dataclass(frozen=True)
class DueItem:
    review_id: int
    referral_id: int
    kind: ReviewKind
    due_on: dt.date
    instruments: list[str]
    overdue: bool
    link_worker_id: int | None


def week_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of the week ``day`` is in."""
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=6)


def due_this_week(
    db: orm.Session,
    principal: Principal,
    *,
    today: dt.date,
    link_worker_id: int | None = None,
) -> list[DueItem]:
    """Reviews and follow-ups due by the end of this week (overdue ones included) on the
    referrals ``principal`` may change; one link worker's only when given."""
    _monday, sunday = week_of(today)
    where = [
        Review.state == ReviewState.DUE,
        Review.due_on <= sunday,
        Referral.purged_at.is_(None),
        policy.change_scope(principal),
    ]
    if link_worker_id is not None:
        where.append(Referral.link_worker_id == link_worker_id)
    rows = db.execute(
        select(Review, Referral.link_worker_id)
        .join(Referral, Referral.id == Review.referral_id)
        .where(*where)
        .order_by(Review.due_on, Review.id)
    ).all()
    return [
        DueItem(r.id, r.referral_id, r.kind, r.due_on, list(r.instruments), r.due_on < today, lw)
        for r, lw in rows
    ]


def complete_review(
    db: orm.Session,
    principal: Principal,
    referral_id: int,
    review_id: int,
    *,
    done_on: dt.date,
    reached: bool,
    support_level: SupportLevel | None = None,
    next_review_on: dt.date | None = None,
    review_weeks: int = 6,
    now: dt.datetime | None = None,
) -> Review:
    """Record a review or follow-up as held. A plan review reassesses the support level
    (required when the person was reached) and sets the next review while support goes on."""
    referral = find_for_change(db, principal, referral_id)
    row = db.get(Review, review_id)
    if row is None or row.referral_id != referral.id:
        raise reject("input.reviewId", "this referral has no such review", ErrorCode.NOT_FOUND)
    if row.state is not ReviewState.DUE:
        raise reject(
            "input.reviewId",
            f"this review is already {row.state.value.lower()}",
            ErrorCode.INVALID_STATE,
        )
    now = now or utcnow()
    if done_on > local_date(now):
        raise reject("input.doneOn", "a review cannot be recorded for a future date")
    plan_review = row.kind is ReviewKind.REVIEW
    if plan_review and reached and support_level is None:
        raise reject(
            "input.supportLevel",
            "reassess the support level at a review: choose LOW, MEDIUM or HIGH",
            ErrorCode.REQUIRED,
        )
    row.state = ReviewState.DONE
    row.done_on = done_on
    row.reached = reached
    row.actor = actor_of(principal)
    if support_level is not None and reached:
        levels.record_level(db, referral, support_level, done_on, actor_of(principal))
    if plan_review and referral.status in SUPPORTED:
        schedule_review(db, referral, next_review_on or done_on + dt.timedelta(weeks=review_weeks))
    db.flush()
    record(
        db,
        principal,
        "referral.review",
        "referral",
        referral.id,
        kind=row.kind.value,
        reached=reached,
        support_level=support_level.value if support_level else None,
    )
    return row
