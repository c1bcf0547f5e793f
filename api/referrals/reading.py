"""Reading referrals: only those the caller may see (policy.referral_scope), and every read
recorded in the audit log (one event per referral returned)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, orm, select

from api import paging
from api.access import policy
from api.access.tokens import Principal
from api.audit.log import record, record_many
from api.referrals.enums import ReferralStatus
from api.referrals.models import Referral
from api.referrals.nhs_number import InvalidNhsNumber, normalise_nhs_number
from api.referrals.protection import Protector


@dataclass(frozen=True)
class ReferralQuery:
    statuses: tuple[ReferralStatus, ...] = ()
    practice_id: int | None = None
    link_worker_id: int | None = None
    nhs_number: str | None = None
    received_from: dt.date | None = None
    received_to: dt.date | None = None
    # Not yet contacted and past the contact target date.
    overdue_for_contact: bool | None = None
    today: dt.date | None = None


@dataclass
class ReferralPage:
    items: list[Referral] = field(default_factory=list)
    total: int = 0
    # Whether more referrals follow this page.
    more: bool = False


def _conditions(q: ReferralQuery, protector: Protector) -> list:
    where = []
    if q.statuses:
        where.append(Referral.status.in_(q.statuses))
    if q.practice_id is not None:
        where.append(Referral.practice_id == q.practice_id)
    if q.link_worker_id is not None:
        where.append(Referral.link_worker_id == q.link_worker_id)
    if q.nhs_number is not None:
        # The keyed hash finds it without decrypting anything (InvalidNhsNumber if bad).
        where.append(
            Referral.nhs_number_hash.in_(protector.nhs_hashes(normalise_nhs_number(q.nhs_number)))
        )
    if q.received_from is not None:
        start = dt.datetime.combine(q.received_from, dt.time(), tzinfo=dt.UTC)
        where.append(Referral.received_at >= start)
    if q.received_to is not None:
        end = dt.datetime.combine(q.received_to + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        where.append(Referral.received_at < end)
    if q.overdue_for_contact is not None:
        today = q.today or dt.date.today()
        overdue = (Referral.status == ReferralStatus.RECEIVED) & (Referral.contact_due_on < today)
        where.append(overdue if q.overdue_for_contact else ~overdue)
    return where


def list_referrals(
    db: orm.Session,
    principal: Principal,
    query: ReferralQuery,
    protector: Protector,
    *,
    offset: int = 0,
    limit: int,
    after: paging.Key | None = None,
) -> ReferralPage:
    """A page of the referrals ``principal`` may see, newest first (then by id, highest
    first). ``after``: continue after this (received_at, id) key instead of skipping
    ``offset`` rows."""
    where = [policy.referral_scope(principal), *_conditions(query, protector)]
    total = db.scalar(select(func.count()).select_from(Referral).where(*where)) or 0
    if after is not None:
        where.append(paging.after([(Referral.received_at, True), (Referral.id, True)], after))
        offset = 0
    items = list(
        db.scalars(
            select(Referral)
            .where(*where)
            .order_by(Referral.received_at.desc(), Referral.id.desc())
            .offset(offset)
            .limit(limit + 1)
        )
    )
    more = len(items) > limit
    items = items[:limit]
    record_many(db, principal, "referral.read", "referral", [r.id for r in items])
    return ReferralPage(items, total, more)


def get_referral(db: orm.Session, principal: Principal, referral_id: int) -> Referral | None:
    """The referral, or None when it does not exist or is not the caller's to see."""
    referral = db.scalars(
        select(Referral).where(Referral.id == referral_id, policy.referral_scope(principal))
    ).first()
    if referral is not None:
        record(db, principal, "referral.read", "referral", referral.id)
    return referral


__all__ = ["InvalidNhsNumber", "ReferralPage", "ReferralQuery", "get_referral", "list_referrals"]
