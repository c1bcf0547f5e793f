"""A link worker's caseload and a coordinator's view of its link workers: the referrals in
reach (policy.referral_scope), those needing first contact first (with the working days left
against the target), then by what comes next; counts by status; and reassignment."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import case, func, orm, select

from api.access import policy
from api.access.tokens import Principal
from api.audit.log import record, record_many
from api.directory.models import GpPractice, LinkWorker
from api.referrals.enums import ReferralStatus as S
from api.referrals.enums import Urgency
from api.referrals.errors import ErrorCode, not_found, reject
from api.referrals.intake import actor_of
from api.referrals.lifecycle import FINAL
from api.referrals.models import Referral, ReferralEvent
from api.referrals.protection import Protector
from api.referrals.working_days import local_date, working_days_between

# What comes next, most pressing first: contact (RECEIVED), re-engage (DID_NOT_ATTEND),
# assess (CONTACTED), plan and signpost (ASSESSED), keep in touch (ACTIVE).
NEXT_ACTION = [S.RECEIVED, S.DID_NOT_ATTEND, S.CONTACTED, S.ASSESSED, S.ACTIVE]
OPEN = tuple(NEXT_ACTION)
LIMIT = 500


@dataclass(frozen=True)
class CaseRow:
    referral_id: int
    # "Given Family" when the role may read the person (policy.referral_view), else None.
    name: str | None
    status: S
    urgency: Urgency
    received_on: dt.date
    contact_due_on: dt.date
    # Working days left to make first contact (negative: overdue); None once contacted.
    days_left: int | None
    practice: str
    link_worker: str | None


@dataclass(frozen=True)
class WorkerLoad:
    link_worker_id: int
    name: str
    open: int
    overdue: int


@dataclass
class Caseload:
    rows: list[CaseRow]
    counts: dict[S, int]
    workers: list[WorkerLoad]
    # How many more referrals matched than LIMIT let the list show (the least pressing).
    not_shown: int = 0


def display_name(principal: Principal, referral: Referral, guard: Protector) -> str | None:
    """How a list names the person: the full name, the given name only, or None, as the
    role may read them (policy.referral_view)."""
    view = policy.referral_view(
        principal, consent_share_outcomes=referral.consent_share_outcomes_at is not None
    )
    if view.person is None or referral.person_enc is None:
        return None
    key = guard.data_key(referral.key_id)  # the referral's own key (api/referrals/keys.py)
    person = guard.decrypt_json("person", referral.person_enc, key) or {}
    name = person.get("givenName", "")
    if view.person is policy.PersonDetail.FULL:
        name = f"{name} {person.get('familyName', '')}".strip()
    return name


def days_left(referral: Referral, today: dt.date) -> int | None:
    if referral.status is not S.RECEIVED or referral.contacted_at is not None:
        return None
    if today <= referral.contact_due_on:
        return working_days_between(today, referral.contact_due_on)
    return -working_days_between(referral.contact_due_on, today)


def _pressing_first() -> list:
    """The caseload's order: first contact by its due date, then by what comes next
    (NEXT_ACTION) and how long the referral has waited in it, urgent before routine."""
    received = Referral.status == S.RECEIVED
    rank = case(
        *[(Referral.status == s, i) for i, s in enumerate(NEXT_ACTION)], else_=len(NEXT_ACTION)
    )
    return [
        rank,
        case((received, Referral.contact_due_on), else_=None),
        case((received, None), else_=Referral.status_changed_at),
        case((Referral.urgency == Urgency.URGENT, 0), else_=1),
        Referral.id,
    ]


def caseload(
    db: orm.Session,
    principal: Principal,
    guard: Protector,
    *,
    link_worker_id: int | None,
    status: S | None = None,
    today: dt.date | None = None,
) -> Caseload:
    """Referrals in ``principal``'s reach (of one link worker when ``link_worker_id``):
    the open ones, or those of ``status``. Every listed referral's read is audited."""
    today = today or local_date(dt.datetime.now(dt.UTC))
    where = [policy.referral_scope(principal)]
    if link_worker_id is not None:
        where.append(Referral.link_worker_id == link_worker_id)
    counts = Counter(
        {
            row.status: row.n
            for row in db.execute(
                select(Referral.status, func.count().label("n"))
                .where(*where)
                .group_by(Referral.status)
            )
        }
    )
    where.append(Referral.status == status if status else Referral.status.in_(OPEN))
    # Ordered in the query, so that a caseload longer than LIMIT keeps its most pressing
    # referrals (first contact due soonest), not merely its oldest.
    referrals = list(
        db.scalars(select(Referral).where(*where).order_by(*_pressing_first()).limit(LIMIT))
    )
    practices = {p.id: p.name for p in db.scalars(select(GpPractice))}
    workers = {w.id: w.name for w in db.scalars(select(LinkWorker))}
    rows = []
    for r in referrals:
        name = display_name(principal, r, guard)
        rows.append(
            CaseRow(
                r.id,
                name,
                r.status,
                r.urgency,
                local_date(r.received_at),
                r.contact_due_on,
                days_left(r, today),
                practices.get(r.practice_id, ""),
                workers.get(r.link_worker_id) if r.link_worker_id else None,
            )
        )
    if any(row.name for row in rows):
        record_many(db, principal, "referral.read", "referral", [r.referral_id for r in rows])
    matched = counts[status] if status else sum(counts[s] for s in OPEN)
    return Caseload(
        rows, dict(counts), _worker_loads(db, principal, today), max(matched - len(rows), 0)
    )


def _worker_loads(db: orm.Session, principal: Principal, today: dt.date) -> list[WorkerLoad]:
    """Each link worker's open caseload and overdue first contacts, for those who may
    reassign (a coordinator, an admin)."""
    if not policy.may_reassign(principal):
        return []
    in_reach = (
        select(Referral)
        .where(policy.referral_scope(principal), Referral.status.in_(OPEN))
        .subquery()
    )
    rows = db.execute(
        select(
            LinkWorker.id,
            LinkWorker.name,
            func.count(in_reach.c.id),
            func.count(in_reach.c.id).filter(
                in_reach.c.status == S.RECEIVED, in_reach.c.contact_due_on < today
            ),
        )
        .outerjoin(in_reach, in_reach.c.link_worker_id == LinkWorker.id)
        .where(policy.link_worker_scope(principal))
        .group_by(LinkWorker.id, LinkWorker.name)
        .order_by(LinkWorker.name)
    )
    return [WorkerLoad(i, name, n, overdue) for i, name, n, overdue in rows]


def reassign(
    db: orm.Session,
    principal: Principal,
    referral_id: int,
    link_worker_id: int,
    guard: Protector,
) -> Referral:
    """Give the referral to another link worker of its lead provider, recorded in its
    history (an event with the status unchanged and a note) and the audit log."""
    if not policy.may_reassign(principal):
        raise reject("linkWorkerId", "only a coordinator can reassign referrals")
    referral = db.scalars(
        select(Referral).where(Referral.id == referral_id, policy.change_scope(principal))
    ).first()
    if referral is None:
        raise not_found("id")
    if referral.status in FINAL:
        raise reject("id", "this referral has ended", ErrorCode.INVALID_STATE)
    worker = db.scalars(
        select(LinkWorker).where(
            LinkWorker.id == link_worker_id, policy.link_worker_scope(principal)
        )
    ).first()
    if worker is None:
        raise reject("linkWorkerId", "choose one of your link workers", ErrorCode.NOT_FOUND)
    if referral.link_worker_id == worker.id:
        return referral
    before = db.get(LinkWorker, referral.link_worker_id) if referral.link_worker_id else None
    referral.link_worker_id = worker.id
    note = f"Reassigned from {before.name if before else 'nobody'} to {worker.name}"
    db.add(
        ReferralEvent(
            referral_id=referral.id,
            from_status=referral.status,
            to_status=referral.status,
            client_id=principal.client_id,
            actor=actor_of(principal),
            note_enc=guard.encrypt("note", note, guard.data_key(referral.key_id)),
        )
    )
    record(db, principal, "referral.reassign", "referral", referral.id, link_worker_id=worker.id)
    return referral
