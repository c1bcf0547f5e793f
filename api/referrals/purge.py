"""`petunia purge`: remove personal data from referrals closed (COMPLETED, DECLINED or
CLOSED) longer ago than the retention period, keeping the anonymous facts reports need:
practice, locality, dates, statuses, domains, urgency, age at referral, language, support
level and its history, signposts, attendance, reviews held, outcome scores and NHS use
(the plan's revisions lose their text).

Clearing the columns is not enough: copies of the ciphertext stay behind in database pages,
the WAL, statistics and backups. So each referral's own data key is destroyed in the key store
(crypto-shredding): every copy left anywhere is then unreadable."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import orm, select, update

from api.audit.log import record
from api.directory.models import utcnow
from api.referrals.keys import KeyStore
from api.referrals.models import Referral, ReferralEvent
from api.referrals.plan_models import PlanRevision

# A key made for a referral that was never written (a failed or raced request) is destroyed
# once it is older than this.
ORPHAN_AFTER = dt.timedelta(days=1)


def purge(
    db: orm.Session, *, retention_days: int, keys: KeyStore, now: dt.datetime | None = None
) -> int:
    """Purge what is due; returns how many referrals were purged. Running it again purges
    nothing more. The keys are destroyed first (their own commit): if the rest then fails,
    the data is already unreadable, and the next run finishes the purge."""
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
    keys.destroy(r.key_id for r in due if r.key_id is not None)
    for referral in due:
        referral.key_id = None
        referral.nhs_number_enc = None
        referral.nhs_number_hash = None
        referral.person_enc = None
        referral.plan_enc = None
        referral.equality_enc = None  # special category data goes with the rest
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
        db.execute(
            update(PlanRevision)
            .where(PlanRevision.referral_id.in_([r.id for r in due]))
            .values(plan_enc=None)
        )
    destroy_orphan_keys(db, keys)
    return len(due)


def destroy_orphan_keys(db: orm.Session, keys: KeyStore) -> int:
    """Destroy keys no referral uses, older than a day by the clock (so none is still being
    written). The key store belongs to this one database."""
    used = set(db.scalars(select(Referral.key_id).where(Referral.key_id.is_not(None))))
    orphans = [k for k in keys.key_ids(created_before=utcnow() - ORPHAN_AFTER) if k not in used]
    return keys.destroy(orphans)
