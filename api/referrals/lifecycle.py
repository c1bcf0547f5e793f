"""The one place a referral's status is changed.

    RECEIVED -> CONTACTED -> ASSESSED -> ACTIVE -> COMPLETED

with DID_NOT_ATTEND, DECLINED and CLOSED from the states where they make sense (below).
Every change records who, when and an optional note, writes the audit log, and queues the
practice's webhooks in the same transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import orm, select

from api.access import policy
from api.access.tokens import Principal
from api.audit.log import record
from api.directory.models import utcnow
from api.referrals.enums import ReferralStatus as S
from api.referrals.errors import ErrorCode, not_found, reject
from api.referrals.intake import actor_of
from api.referrals.models import Referral, ReferralEvent
from api.referrals.protection import Protector
from api.referrals.working_days import local_date, working_days_between

TRANSITIONS: dict[S, frozenset[S]] = {
    # Not reachable, or says no before any contact.
    S.RECEIVED: frozenset({S.CONTACTED, S.DECLINED, S.CLOSED}),
    # Missed the assessment appointment, or declines once contacted.
    S.CONTACTED: frozenset({S.ASSESSED, S.DID_NOT_ATTEND, S.DECLINED, S.CLOSED}),
    S.ASSESSED: frozenset({S.ACTIVE, S.DID_NOT_ATTEND, S.DECLINED, S.CLOSED}),
    S.ACTIVE: frozenset({S.COMPLETED, S.DID_NOT_ATTEND, S.DECLINED, S.CLOSED}),
    # Re-engaged (contacted again), or closed.
    S.DID_NOT_ATTEND: frozenset({S.CONTACTED, S.CLOSED}),
    S.COMPLETED: frozenset(),
    S.DECLINED: frozenset(),
    S.CLOSED: frozenset(),
}
# Ends of a referral: personal data is purged a retention period after reaching one.
FINAL = frozenset({S.COMPLETED, S.DECLINED, S.CLOSED})
MAX_NOTE = 2000


def next_steps(referral: Referral) -> list[S]:
    """The statuses ``referral`` may move to now, in the order of the work (ASSESSED only
    once the assessment is recorded): the page offers exactly these."""
    order = [S.CONTACTED, S.ASSESSED, S.ACTIVE, S.COMPLETED, S.DID_NOT_ATTEND, S.DECLINED, S.CLOSED]
    allowed = TRANSITIONS[referral.status]
    return [
        s for s in order if s in allowed and not (s is S.ASSESSED and referral.assessed_at is None)
    ]


def find_for_change(db: orm.Session, principal: Principal, referral_id: int) -> Referral:
    """A referral ``principal`` may change, or NOT_FOUND (also when it is not theirs)."""
    referral = db.scalars(
        select(Referral).where(Referral.id == referral_id, policy.change_scope(principal))
    ).first()
    if referral is None:
        raise not_found("id")
    return referral


def change_status(
    db: orm.Session,
    principal: Principal | None,
    referral: Referral,
    to: S,
    protector: Protector,
    *,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> ReferralEvent:
    """Move ``referral`` to ``to``; Rejected (INVALID_TRANSITION...) when it may not."""
    now = now or utcnow()
    current = referral.status
    if to not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none: it has ended"
        raise reject(
            "status",
            f"a {current.value} referral cannot become {to.value}; allowed next: {allowed}",
            ErrorCode.INVALID_TRANSITION,
        )
    if to is S.ASSESSED and referral.assessed_at is None:
        raise reject(
            "status",
            "record the assessment (recordAssessment) before marking the referral ASSESSED",
            ErrorCode.INVALID_STATE,
        )
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise reject("note", f"keep the note under {MAX_NOTE} characters")
    referral.status = to
    referral.status_changed_at = now
    if to is S.CONTACTED and referral.contacted_at is None:
        referral.contacted_at = now
        referral.contact_working_days = working_days_between(
            local_date(referral.received_at), local_date(now)
        )
    if to in FINAL:
        referral.closed_at = now
        from api.referrals.reviews import at_end  # (reviews needs this module)

        at_end(db, referral, to, local_date(now))
    event = ReferralEvent(
        referral_id=referral.id,
        from_status=current,
        to_status=to,
        at=now,
        client_id=principal.client_id if principal else None,
        actor=actor_of(principal),
        note_enc=protector.encrypt("note", note, protector.data_key(referral.key_id))
        if note
        else None,
    )
    db.add(event)
    record(
        db,
        principal,
        "referral.status",
        "referral",
        referral.id,
        status=to.value,
        was=current.value,
    )
    from api.referrals.webhooks import enqueue

    enqueue(db, referral, now=now)
    return event


# Ending a referral says why (the message back and the history carry it).
NEEDS_REASON = frozenset({S.DECLINED, S.CLOSED})


def end_with_reason(
    db: orm.Session,
    principal: Principal,
    referral: Referral,
    to: S,
    protector: Protector,
    reason: str,
) -> ReferralEvent:
    """Move to an end state (COMPLETED, DECLINED, CLOSED); DECLINED and CLOSED need a reason."""
    if to not in FINAL:
        raise reject("status", f"{to.value} does not end a referral", ErrorCode.INVALID)
    if to in NEEDS_REASON and not (reason or "").strip():
        raise reject("note", "Say why the referral ends", ErrorCode.REQUIRED)
    return change_status(db, principal, referral, to, protector, note=reason)
