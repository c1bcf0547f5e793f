"""`petunia purge`: remove personal data from referrals closed (COMPLETED, DECLINED or
CLOSED) longer ago than the retention period, keeping the anonymous facts reports need:
practice, locality, dates, statuses, domains, urgency, age at referral, language, support
level, signposts, attendance, outcome scores and NHS use."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import orm, select, update

from api.audit.log import record
from api.directory.models import utcnow
from api.referrals.models import Referral, ReferralEvent


def purge(db: orm.Session, *, retention_days: int, now: dt.datetime | None = None) -> int:
    """Purge what is due; returns how many referrals were purged. Running it again purges
    nothing more."""
    if retention_days < 0:
        raise ValueError("the retention period cannot be negative")
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=retention_days)
    due = db.scalars(
        select(Referral).where(
            Referral.closed_at.is_not(None),
            Referral.closed_at < cutoff,
            Referral.purged_at.is_(None),
        )
    ).all()
    for referral in due:
        referral.nhs_number_enc = None
        referral.nhs_number_hash = None
        referral.person_enc = None
        referral.plan_enc = None
        # A practice may have used something personal as its key.
        referral.idempotency_key = f"purged:{referral.id}"
        referral.purged_at = now
        record(db, None, "referral.purge", "referral", referral.id)
    if due:
        db.execute(
            update(ReferralEvent)
            .where(ReferralEvent.referral_id.in_([r.id for r in due]))
            .values(note_enc=None)
        )
    return len(due)
