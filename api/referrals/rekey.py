"""Moving referrals onto new keys. `petunia rekey`: the one-off move of referrals written
before data keys existed (their personal data under the master key) onto a data key of their
own, so that purging them can destroy it. ``rotate_lookup_key`` (run by `petunia purge`):
a new NHS-number lookup key, the live referrals re-hashed under it, the old key destroyed, so
the hashes of purged referrals left in old row versions and backups cannot be tested against
guessed NHS numbers any more."""

from __future__ import annotations

from sqlalchemy import func, orm, select

from api.audit.log import record
from api.referrals.models import Referral, ReferralEvent
from api.referrals.protection import Protector, keyed_hash


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
            if referral.nhs_number_enc is not None:
                number = guard.decrypt("nhs_number", referral.nhs_number_enc, key)
                referral.nhs_number_hash = guard.nhs_hash(number)
            record(db, None, "referral.rekey", "referral", referral.id)
        db.commit()
        moved += len(todo)


def _rehash(db: orm.Session, guard: Protector, key: bytes, *, after_id: int, batch: int) -> int:
    changed, last_id = 0, after_id
    while True:
        rows = db.scalars(
            select(Referral)
            .where(Referral.id > last_id, Referral.nhs_number_enc.is_not(None))
            .order_by(Referral.id)
            .limit(batch)
        ).all()
        if not rows:
            return changed
        data_keys = guard.keys.get_many(r.key_id for r in rows if r.key_id is not None)
        for referral in rows:
            if referral.key_id is not None and referral.key_id not in data_keys:
                continue  # its key is destroyed: the purge is finishing it
            data_key = data_keys.get(referral.key_id) if referral.key_id else None
            number = guard.decrypt("nhs_number", referral.nhs_number_enc, data_key)
            referral.nhs_number_hash = keyed_hash(key, number)
            changed += 1
        db.commit()
        last_id = rows[-1].id


def rotate_lookup_key(db: orm.Session, guard: Protector, *, batch: int = 500) -> int:
    """Replace the NHS-number lookup key; how many referrals were re-hashed. Searches try every
    live lookup key, so they keep finding referrals while this runs; the old keys are destroyed
    only once every referral is committed under the new one."""
    old = [key_id for key_id, _key in guard.keys.lookup_keys()]
    start = db.scalar(select(func.max(Referral.id))) or 0
    _new_id, key = guard.keys.new_lookup_key()
    # Everything, then again what arrived meanwhile (written with a key read just before).
    changed = _rehash(db, guard, key, after_id=0, batch=batch)
    _rehash(db, guard, key, after_id=start, batch=batch)
    guard.keys.destroy_lookup_keys(old)
    return changed
