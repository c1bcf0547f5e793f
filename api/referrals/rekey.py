"""`petunia rekey`: the one-off move of referrals written before data keys existed (their
personal data under the master key) onto a data key of their own, so that purging them can
destroy it. Run once after upgrading; running it again changes nothing."""

from __future__ import annotations

from sqlalchemy import orm, select

from api.audit.log import record
from api.referrals.models import Referral, ReferralEvent
from api.referrals.protection import Protector


def _reseal(guard: Protector, field: str, token: str | None, key: bytes) -> str | None:
    return None if token is None else guard.encrypt(field, guard.decrypt(field, token), key)


def rekey(db: orm.Session, guard: Protector, *, batch: int = 200) -> int:
    """Give every unpurged referral without a data key its own, re-encrypting its data with
    it; how many were moved. Each batch commits on its own, after its keys are stored."""
    moved = 0
    while True:
        todo = db.scalars(
            select(Referral)
            .where(Referral.key_id.is_(None), Referral.purged_at.is_(None))
            .order_by(Referral.id)
            .limit(batch)
        ).all()
        if not todo:
            return moved
        events = db.scalars(
            select(ReferralEvent).where(
                ReferralEvent.referral_id.in_([r.id for r in todo]),
                ReferralEvent.note_enc.is_not(None),
            )
        ).all()
        notes: dict[int, list[ReferralEvent]] = {}
        for event in events:
            notes.setdefault(event.referral_id, []).append(event)
        for referral in todo:
            key_id, key = guard.keys.create()
            referral.nhs_number_enc = _reseal(guard, "nhs_number", referral.nhs_number_enc, key)
            referral.person_enc = _reseal(guard, "person", referral.person_enc, key)
            referral.plan_enc = _reseal(guard, "plan", referral.plan_enc, key)
            for event in notes.get(referral.id, []):
                event.note_enc = _reseal(guard, "note", event.note_enc, key)
            referral.key_id = key_id
            record(db, None, "referral.rekey", "referral", referral.id)
        db.commit()
        moved += len(todo)
