"""The support level over time: set at assessment, reassessed at reviews (and so at least
yearly), each change kept with the date it applies from and who set it. The tariff for a
period uses the level in force in each part of it: the period is split at level changes.

``level_in_force(referral, on_date)`` is the plain function reports use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import orm, select

from api.referrals.enums import SupportLevel
from api.referrals.models import Referral
from api.referrals.plan_models import LevelChange
from api.referrals.working_days import local_date

# A level is reassessed at least this often (the Year of Care model bands people yearly).
REASSESS_WITHIN = dt.timedelta(days=365)
YEAR_DAYS = 365


def record_level(
    db: orm.Session, referral: Referral, level: SupportLevel, from_on: dt.date, actor: str
) -> LevelChange:
    """The level in force from ``from_on``; the referral's ``support_level`` is the latest."""
    row = LevelChange(referral_id=referral.id, level=level, from_on=from_on, actor=actor)
    db.add(row)
    db.flush()
    latest = history(db, referral.id)[-1]
    referral.support_level = latest.level
    return row


def history(db: orm.Session, referral_id: int) -> list[LevelChange]:
    """The level changes of a referral, in the order they apply (oldest first)."""
    return list(
        db.scalars(
            select(LevelChange)
            .where(LevelChange.referral_id == referral_id)
            .order_by(LevelChange.from_on, LevelChange.id)
        )
    )


def _in_force(rows: Sequence[LevelChange], on_date: dt.date) -> SupportLevel | None:
    level = None
    for row in rows:  # oldest first: the last one that has started wins
        if row.from_on <= on_date:
            level = row.level
    return level


def level_in_force(
    referral: Referral, on_date: dt.date, db: orm.Session | None = None
) -> SupportLevel | None:
    """The support level in force for ``referral`` on ``on_date``; None before its first
    assessment. A referral assessed before level history was kept has its one level from
    the day it was assessed."""
    session = db or orm.object_session(referral)
    assert session is not None, "level_in_force needs a referral read from a session"
    rows = history(session, referral.id)
    if rows:
        return _in_force(rows, on_date)
    if referral.support_level is not None and referral.assessed_at is not None:
        return referral.support_level if local_date(referral.assessed_at) <= on_date else None
    return None


def levels_in_force(
    db: orm.Session, referral_ids: Sequence[int], on_date: dt.date
) -> dict[int, SupportLevel]:
    """``level_in_force`` for many referrals in one statement (those with a level then)."""
    rows: dict[int, list[LevelChange]] = {}
    for row in db.scalars(
        select(LevelChange)
        .where(LevelChange.referral_id.in_(set(referral_ids)), LevelChange.from_on <= on_date)
        .order_by(LevelChange.from_on, LevelChange.id)
    ):
        rows.setdefault(row.referral_id, []).append(row)
    found = {rid: _in_force(changes, on_date) for rid, changes in rows.items()}
    return {rid: level for rid, level in found.items() if level is not None}


def in_force_on(referral_id: Any, on_date: Any) -> Any:
    """SQL: ``level_in_force`` as a scalar subquery (null before the first level change), for
    reports that group by the level in force on a date."""
    return (
        select(LevelChange.level)
        .where(LevelChange.referral_id == referral_id, LevelChange.from_on <= on_date)
        .order_by(LevelChange.from_on.desc(), LevelChange.id.desc())
        .limit(1)
        .scalar_subquery()
    )


@dataclass(frozen=True)
class LevelPeriod:
    level: SupportLevel
    start: dt.date
    end: dt.date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def periods(db: orm.Session, referral: Referral, start: dt.date, end: dt.date) -> list[LevelPeriod]:
    """``start``..``end`` (inclusive) split where the level changes; days before the first
    assessment are left out."""
    if end < start:
        raise ValueError("the period ends before it starts")
    rows = history(db, referral.id)
    changes = sorted({r.from_on for r in rows if start < r.from_on <= end})
    bounds = [start, *changes, end + dt.timedelta(days=1)]
    found: list[LevelPeriod] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        level = level_in_force(referral, a, db)
        if level is None:
            continue
        last = b - dt.timedelta(days=1)
        if found and found[-1].level is level and found[-1].end + dt.timedelta(days=1) == a:
            found[-1] = LevelPeriod(level, found[-1].start, last)  # reassessed, same level
        else:
            found.append(LevelPeriod(level, a, last))
    return found


@dataclass(frozen=True)
class TariffPart:
    period: LevelPeriod
    annual: Decimal  # the year's payment at this level
    amount: Decimal  # its share for the days of the period, to the penny


def tariff_for_period(
    db: orm.Session,
    referral: Referral,
    annual: dict[SupportLevel, Decimal],
    start: dt.date,
    end: dt.date,
) -> list[TariffPart]:
    """The tariff due for ``referral`` over ``start``..``end``: each part at the year's
    payment of the level then in force, pro rata by days (365 to the year). ``annual`` is
    ``Tariff.levels`` (api/reports/costs.py)."""
    parts = []
    for period in periods(db, referral, start, end):
        rate = annual[period.level]
        amount = (rate * period.days / YEAR_DAYS).quantize(Decimal("0.01"), ROUND_HALF_UP)
        parts.append(TariffPart(period, rate, amount))
    return parts
