"""Batch reads of a referral's related rows, keyed by owner id: one statement per call
whatever the number of ids (the GraphQL DataLoaders build on these)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import orm, select

from api.directory.enums import Domain
from api.directory.models import GpPractice, LinkWorker
from api.outcomes.models import NhsUse, OutcomeInstrument, OutcomeMeasurement
from api.referrals.models import Attendance, ReferralDomain, ReferralEvent, Signpost


def _by_id(db: orm.Session, model: Any, ids: Sequence[int]) -> dict[int, Any]:
    return {row.id: row for row in db.scalars(select(model).where(model.id.in_(set(ids))))}


def _grouped(db: orm.Session, model: Any, column: Any, ids: Sequence[int], *order: Any) -> dict:
    found: dict[int, list[Any]] = defaultdict(list)
    for row in db.scalars(select(model).where(column.in_(set(ids))).order_by(column, *order)):
        found[getattr(row, column.key)].append(row)
    return found


def practices(db: orm.Session, ids: Sequence[int]) -> dict[int, GpPractice]:
    return _by_id(db, GpPractice, ids)


def link_workers(db: orm.Session, ids: Sequence[int]) -> dict[int, LinkWorker]:
    return _by_id(db, LinkWorker, ids)


def instruments(db: orm.Session, ids: Sequence[int]) -> dict[int, OutcomeInstrument]:
    return _by_id(db, OutcomeInstrument, ids)


def events(db: orm.Session, referral_ids: Sequence[int]) -> dict[int, list[ReferralEvent]]:
    return _grouped(db, ReferralEvent, ReferralEvent.referral_id, referral_ids, ReferralEvent.id)


def signposts(db: orm.Session, referral_ids: Sequence[int]) -> dict[int, list[Signpost]]:
    return _grouped(db, Signpost, Signpost.referral_id, referral_ids, Signpost.id)


def attendance(db: orm.Session, signpost_ids: Sequence[int]) -> dict[int, list[Attendance]]:
    return _grouped(db, Attendance, Attendance.signpost_id, signpost_ids, Attendance.on_date)


def outcomes(db: orm.Session, referral_ids: Sequence[int]) -> dict[int, list[OutcomeMeasurement]]:
    return _grouped(
        db,
        OutcomeMeasurement,
        OutcomeMeasurement.referral_id,
        referral_ids,
        OutcomeMeasurement.taken_on,
        OutcomeMeasurement.id,
    )


def nhs_use(db: orm.Session, referral_ids: Sequence[int]) -> dict[int, list[NhsUse]]:
    return _grouped(db, NhsUse, NhsUse.referral_id, referral_ids, NhsUse.period)


def contact_attempts(db: orm.Session, referral_ids: Sequence[int]) -> dict[int, list]:
    from api.referrals.models import ContactAttempt

    return _grouped(
        db,
        ContactAttempt,
        ContactAttempt.referral_id,
        referral_ids,
        ContactAttempt.on_date,
        ContactAttempt.id,
    )


def domains(db: orm.Session, referral_ids: Sequence[int]) -> dict[int, list[Domain]]:
    found: dict[int, list[Domain]] = defaultdict(list)
    order = {d: i for i, d in enumerate(Domain)}
    for rid, domain in db.execute(
        select(ReferralDomain.referral_id, ReferralDomain.domain).where(
            ReferralDomain.referral_id.in_(set(referral_ids))
        )
    ):
        found[rid].append(domain)
    for values in found.values():
        values.sort(key=order.__getitem__)
    return found
