"""Trying to reach a referred person: each attempt (date, method, outcome) is recorded; the
first one that reaches them is the first successful contact, which moves a RECEIVED (or
DID_NOT_ATTEND) referral to CONTACTED and so stops the target clock (api/referrals/lifecycle.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import orm, select

from api.access.tokens import Principal
from api.audit.log import record
from api.directory.models import utcnow
from api.referrals import lifecycle
from api.referrals.enums import ContactMethod, ContactOutcome
from api.referrals.enums import ReferralStatus as S
from api.referrals.errors import ErrorCode, reject
from api.referrals.intake import actor_of
from api.referrals.models import ContactAttempt, Referral
from api.referrals.protection import Protector
from api.referrals.working_days import LONDON, local_date

# Before first contact, and when re-engaging someone who did not attend.
TRYING = frozenset({S.RECEIVED, S.DID_NOT_ATTEND})


def record_attempt(
    db: orm.Session,
    principal: Principal,
    referral_id: int,
    on_date: dt.date,
    method: ContactMethod,
    outcome: ContactOutcome,
    guard: Protector,
    *,
    now: dt.datetime | None = None,
) -> ContactAttempt:
    now = now or utcnow()
    referral = lifecycle.find_for_change(db, principal, referral_id)
    if referral.status not in TRYING:
        raise reject(
            "status",
            f"contact attempts are recorded until the person is reached; this referral is "
            f"{referral.status.value}",
            ErrorCode.INVALID_STATE,
        )
    if on_date > local_date(now):
        raise reject("date", "an attempt cannot be in the future")
    if on_date < local_date(referral.received_at):
        raise reject("date", "an attempt cannot be before the referral arrived")
    attempt = ContactAttempt(
        referral_id=referral.id,
        on_date=on_date,
        method=method,
        outcome=outcome,
        recorded_at=now,
        actor=actor_of(principal),
    )
    db.add(attempt)
    db.flush()
    record(
        db, principal, "referral.contact_attempt", "referral", referral.id, outcome=outcome.value
    )
    if outcome is ContactOutcome.REACHED:
        # Contacted on the day of the attempt (recorded later, it still counts then).
        moment = now
        if on_date < local_date(now):
            moment = dt.datetime.combine(on_date, dt.time(12), tzinfo=LONDON)
            moment = max(moment, _aware(referral.received_at))
        lifecycle.change_status(db, principal, referral, S.CONTACTED, guard, now=moment)
    return attempt


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def attempts(db: orm.Session, referral_ids: list[int]) -> dict[int, list[ContactAttempt]]:
    found: dict[int, list[ContactAttempt]] = {i: [] for i in referral_ids}
    for row in db.scalars(
        select(ContactAttempt)
        .where(ContactAttempt.referral_id.in_(referral_ids))
        .order_by(ContactAttempt.on_date, ContactAttempt.id)
    ):
        found[row.referral_id].append(row)
    return found


__all__ = ["Referral", "attempts", "record_attempt"]
