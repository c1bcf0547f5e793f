"""The report's raw figures, each computed in SQL (GROUP BY and aggregates) on SQLite and
PostgreSQL: no query returns more rows than it has groups, whatever the number of referrals.

Everything here is a plain count, sum or sum of squares, each with ``keys``: the sum of the
record keys of the records it counts (the cell key of api/reports/noise.py), and for sums the
largest single contribution (the scale of their noise). What may be published is decided
afterwards (api/reports/report.py with api/reports/disclosure.py and noise.py). Purged
referrals keep every column read here, so they count like any other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    distinct,
    exists,
    func,
    literal,
    or_,
    orm,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import FunctionElement

from api.directory.enums import Domain, ListedBy, ListingStatus, Relationship
from api.directory.models import Provider, Session, SessionDomain, Venue
from api.outcomes.enums import Direction, NhsUsePeriod, TimePoint
from api.outcomes.models import NhsUse, OutcomeInstrument, OutcomeMeasurement, UnmetNeed
from api.referrals import levels as levels_sql
from api.referrals.engagement import engaged_since
from api.referrals.enums import ReferralStatus as S
from api.referrals.enums import SupportLevel
from api.referrals.levels import YEAR_DAYS
from api.referrals.models import Attendance, Referral, ReferralDomain, ReferralEvent, Signpost
from api.referrals.plan_models import LevelChange
from api.referrals.working_days import LONDON
from api.reports.costs import NHS_CATEGORIES, UnitCosts

# The stages a referral moves through, in order; a referral's "furthest stage" is the last
# one it ever reached (its history says, whatever its status is now).
STAGES = ("RECEIVED", "CONTACTED", "ASSESSED", "ACTIVE", "COMPLETED")


@dataclass(frozen=True)
class Scope:
    """Which referrals a report covers: received from ``start`` to ``end`` (dates in England,
    both included), in ``locality_ids`` (None: every locality)."""

    start: dt.date
    end: dt.date
    locality_ids: tuple[int, ...] | None = None

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The period as UTC instants [from, to): midnight in England at each end."""
        return _utc(self.start), _utc(self.end + dt.timedelta(days=1))

    def months(self) -> list[tuple[str, dt.datetime, dt.datetime]]:
        """(YYYY-MM, from, to) for each calendar month the period touches, cut to it."""
        out = []
        month = self.start.replace(day=1)
        while month <= self.end:
            following = month + relativedelta(months=1)
            lo, hi = max(month, self.start), min(following - dt.timedelta(days=1), self.end)
            out.append((f"{month:%Y-%m}", _utc(lo), _utc(hi + dt.timedelta(days=1))))
            month = following
        return out

    def referrals(self) -> ColumnElement[bool]:
        lo, hi = self.bounds()
        where = and_(Referral.received_at >= lo, Referral.received_at < hi)
        if self.locality_ids is not None:
            where = and_(where, Referral.locality_id.in_(self.locality_ids))
        return where

    def localities(self, column: ColumnElement) -> ColumnElement[bool]:
        if self.locality_ids is None:
            return literal(True)
        return column.in_(self.locality_ids)


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), LONDON).astimezone(dt.UTC)


class date_after_days(FunctionElement):  # noqa: N801 (an SQL function's name)
    """The date (UTC) ``days`` days after a timestamp, on SQLite and PostgreSQL."""

    type = Date()
    inherit_cache = True


@compiles(date_after_days, "sqlite")
def _date_after_days_sqlite(element: date_after_days, compiler: object, **kw: object) -> str:
    moment, days = list(element.clauses)
    return (
        f"date({compiler.process(moment, **kw)}, '+' || {compiler.process(days, **kw)} || ' days')"  # type: ignore[attr-defined]
    )


@compiles(date_after_days, "postgresql")
def _date_after_days_pg(element: date_after_days, compiler: object, **kw: object) -> str:
    moment, days = list(element.clauses)
    return (
        f"(CAST(({compiler.process(moment, **kw)}) AT TIME ZONE 'UTC' AS DATE) "  # type: ignore[attr-defined]
        f"+ CAST({compiler.process(days, **kw)} AS INTEGER))"  # type: ignore[attr-defined]
    )


# ---------------------------------------------------------------------------------------------
# Referrals


KEYS = func.coalesce(func.sum(Referral.record_key), 0)


def release_keys(db: orm.Session, scope: Scope) -> int:
    """The record keys of every referral and unmet need in the report, added up."""
    lo, hi = scope.bounds()
    referrals = db.scalar(select(KEYS).where(scope.referrals()))
    needs = db.scalar(
        select(func.coalesce(func.sum(UnmetNeed.record_key), 0)).where(
            UnmetNeed.recorded_at >= lo,
            UnmetNeed.recorded_at < hi,
            scope.localities(UnmetNeed.locality_id),
        )
    )
    return int(referrals or 0) + int(needs or 0)


def referral_counts(db: orm.Session, scope: Scope) -> list[tuple[str, int, int, int, int]]:
    """(month, locality id, practice id, referrals, keys) for every group that has any."""
    month = case(*[(Referral.received_at < hi, label) for label, _lo, hi in scope.months()])
    rows = db.execute(
        select(month, Referral.locality_id, Referral.practice_id, func.count(), KEYS)
        .where(scope.referrals())
        .group_by(month, Referral.locality_id, Referral.practice_id)
    ).all()
    return [(m, loc, practice, n, int(k)) for m, loc, practice, n, k in rows]


@dataclass(frozen=True)
class LifecycleCell:
    furthest: str  # one of STAGES
    status: S
    within_target: bool | None  # None: never contacted
    did_not_attend: bool  # ever DID_NOT_ATTEND
    assessed: bool  # has a support level (an assessment was recorded)
    count: int
    keys: int = 0


def lifecycle_cells(db: orm.Session, scope: Scope, target_days: int) -> list[LifecycleCell]:
    """Referrals grouped by furthest stage, current status, first contact within the target,
    ever did-not-attend and assessed: every lifecycle figure is a sum of these cells."""
    rank = case(
        *[(ReferralEvent.to_status == S(stage), n) for n, stage in enumerate(STAGES) if n],
        else_=0,
    )
    dna = case((ReferralEvent.to_status == S.DID_NOT_ATTEND, 1), else_=0)
    history = (
        select(
            ReferralEvent.referral_id.label("rid"),
            func.max(rank).label("furthest"),
            func.max(dna).label("dna"),
        )
        .join(Referral, Referral.id == ReferralEvent.referral_id)
        .where(scope.referrals())
        .group_by(ReferralEvent.referral_id)
        .subquery()
    )
    furthest = func.coalesce(history.c.furthest, 0)
    ever_dna = func.coalesce(history.c.dna, 0)
    within = case(
        (Referral.contact_working_days.is_(None), None),
        (Referral.contact_working_days <= target_days, 1),
        else_=0,
    )
    assessed = case((Referral.support_level.is_(None), 0), else_=1)
    rows = db.execute(
        select(furthest, Referral.status, within, ever_dna, assessed, func.count(), KEYS)
        .select_from(Referral)
        .outerjoin(history, history.c.rid == Referral.id)
        .where(scope.referrals())
        .group_by(furthest, Referral.status, within, ever_dna, assessed)
    ).all()
    return [
        LifecycleCell(STAGES[f], S(s), None if w is None else bool(w), bool(d), bool(a), n, int(k))
        for f, s, w, d, a, n, k in rows
    ]


def contact_days(db: orm.Session, scope: Scope) -> dict[int, tuple[int, int]]:
    """How many referrals (and their keys) were first contacted after each number of
    working days."""
    rows = db.execute(
        select(Referral.contact_working_days, func.count(), KEYS)
        .where(scope.referrals(), Referral.contact_working_days.is_not(None))
        .group_by(Referral.contact_working_days)
    ).all()
    return {days: (n, int(k)) for days, n, k in rows}


def domain_counts(db: orm.Session, scope: Scope) -> dict[Domain, tuple[int, int]]:
    """Referrals naming each domain of interest (a referral may name several), with keys."""
    rows = db.execute(
        select(ReferralDomain.domain, func.count(), KEYS)
        .join(Referral, Referral.id == ReferralDomain.referral_id)
        .where(scope.referrals())
        .group_by(ReferralDomain.domain)
    ).all()
    return {Domain(d): (n, int(k)) for d, n, k in rows}


# ---------------------------------------------------------------------------------------------
# Uptake and attendance by session and provider; did-not-attend by practice


@dataclass(frozen=True)
class UptakeCell:
    """People (referrals in the scope) signposted to one session, or to any session of one
    provider, by whether they attended at least once and missed at least once."""

    unit: int  # session id or provider id
    attended: bool
    missed: bool
    count: int
    keys: int = 0


def uptake_cells(db: orm.Session, scope: Scope, *, by: str) -> list[UptakeCell]:
    """``by`` "session" or "provider": one row per (unit, attended, missed) that has anyone;
    a person counts once per unit however many of its sessions they were signposted to."""
    unit = Signpost.session_id if by == "session" else Signpost.provider_id
    came = func.max(case((Attendance.attended.is_(True), 1), else_=0))
    missed = func.max(case((Attendance.attended.is_(False), 1), else_=0))
    per_person = (
        select(
            unit.label("unit"),
            Referral.id.label("rid"),
            Referral.record_key.label("record_key"),
            func.coalesce(came, 0).label("came"),
            func.coalesce(missed, 0).label("missed"),
        )
        .select_from(Signpost)
        .join(Referral, Referral.id == Signpost.referral_id)
        .outerjoin(Attendance, Attendance.signpost_id == Signpost.id)
        .where(scope.referrals())
        .group_by(unit, Referral.id, Referral.record_key)
        .subquery()
    )
    rows = db.execute(
        select(
            per_person.c.unit,
            per_person.c.came,
            per_person.c.missed,
            func.count(),
            func.coalesce(func.sum(per_person.c.record_key), 0),
        ).group_by(per_person.c.unit, per_person.c.came, per_person.c.missed)
    ).all()
    return [UptakeCell(u, bool(c), bool(m), n, int(k)) for u, c, m, n, k in rows]


def uptake_units(db: orm.Session) -> tuple[list[tuple[int, str, int]], list[tuple[int, str]]]:
    """The rows of the uptake tables, whoever was referred: every session of a published
    provider and every session anyone was ever signposted to, (id, name, provider id); and
    their providers (id, name). A row never appears because of the people in the period."""
    signposted = select(Signpost.session_id).distinct()
    sessions = db.execute(
        select(Session.id, Session.title, Session.provider_id)
        .join(Provider, Provider.id == Session.provider_id)
        .where((Provider.status == ListingStatus.PUBLISHED) | Session.id.in_(signposted))
        .order_by(Session.title, Session.id)
    ).all()
    ids = {p for _s, _n, p in sessions}
    providers = db.execute(
        select(Provider.id, Provider.name).where(Provider.id.in_(ids)).order_by(Provider.name)
    ).all()
    return [(s, n, p) for s, n, p in sessions], [(p, n) for p, n in providers]


def dna_by_practice(db: orm.Session, scope: Scope) -> dict[tuple[int, int, bool], tuple[int, int]]:
    """Referrals by (locality, practice, ever did-not-attend): (count, keys)."""
    ever = exists(
        select(ReferralEvent.id).where(
            ReferralEvent.referral_id == Referral.id,
            ReferralEvent.to_status == S.DID_NOT_ATTEND,
        )
    )
    flag = case((ever, 1), else_=0)
    rows = db.execute(
        select(Referral.locality_id, Referral.practice_id, flag, func.count(), KEYS)
        .where(scope.referrals())
        .group_by(Referral.locality_id, Referral.practice_id, flag)
    ).all()
    return {(loc, p, bool(d)): (n, int(k)) for loc, p, d, n, k in rows}


# ---------------------------------------------------------------------------------------------
# Support levels and tariff


@dataclass(frozen=True)
class SupportCell:
    level: SupportLevel  # in force at the period's end (see level_of_need)
    engaged: bool  # attended a session at least ``after_days`` after their support began
    providers: int  # distinct providers signposted to
    subcontracted: int  # of which sub-contracted to the lead provider
    count: int
    keys: int = 0
    # Some day of the person's tariff year (as far as the period's end) was at another level.
    changed: bool = False
    # Person-days of the tariff years, up to the period's end, at each level in force then;
    # the rest of the 365 days of each year is at ``level``.
    days: dict[SupportLevel, int] = field(default_factory=dict)

    def tariff(self, annual: dict[SupportLevel, Fraction]) -> Fraction:
        """The tariff due for these people: a year each, each day at the level in force that
        day (pro rata, 365 days to the year), exact (rounded only when shown)."""
        known = sum(self.days.values())
        total = sum((annual[lv] * d for lv, d in self.days.items()), Fraction(0))
        return (total + annual[self.level] * (YEAR_DAYS * self.count - known)) / YEAR_DAYS


class day_number(FunctionElement):  # noqa: N801 (an SQL function's name)
    """A date as a whole number of days (differences are days), on SQLite and PostgreSQL."""

    type = Integer()
    inherit_cache = True


@compiles(day_number, "sqlite")
def _day_number_sqlite(element: day_number, compiler: object, **kw: object) -> str:
    (day,) = list(element.clauses)
    return f"CAST(julianday({compiler.process(day, **kw)}) AS INTEGER)"  # type: ignore[attr-defined]


@compiles(day_number, "postgresql")
def _day_number_pg(element: day_number, compiler: object, **kw: object) -> str:
    (day,) = list(element.clauses)
    return f"(CAST({compiler.process(day, **kw)} AS DATE) - DATE '2000-01-01')"  # type: ignore[attr-defined]


def _least(*values: ColumnElement[int]) -> ColumnElement[int]:
    out = values[0]
    for value in values[1:]:
        out = case((value < out, value), else_=out)
    return out


def tariff_days(scope: Scope) -> Any:
    """Per referral of the scope with level history: the days of its tariff year (365 days
    from the day its first level applies) up to the period's end, at each level in force
    then (api/referrals/levels.py: the last change recorded for a day wins). Columns: rid,
    and one per level (its value) with the days at it."""
    lc = LevelChange
    start = day_number(lc.from_on)
    rows = (
        select(
            lc.referral_id.label("rid"),
            lc.level.label("level"),
            start.label("start"),
            func.min(start).over(partition_by=lc.referral_id).label("first"),
            func.lead(start)
            .over(partition_by=lc.referral_id, order_by=(lc.from_on, lc.id))
            .label("following"),
            # 1 for the change that wins its day (the last recorded)
            func.row_number()
            .over(partition_by=(lc.referral_id, lc.from_on), order_by=lc.id.desc())
            .label("rank"),
        )
        .join(Referral, Referral.id == lc.referral_id)
        .where(scope.referrals())
        .subquery()
    )
    # The winner of a day is its last change, so the next row starts a later day.
    year_end = rows.c.first + YEAR_DAYS
    stop = _least(
        func.coalesce(rows.c.following, year_end),
        year_end,
        day_number(literal(scope.end + dt.timedelta(days=1), Date)),
    )
    days = case((stop > rows.c.start, stop - rows.c.start), else_=0)
    parts = select(rows.c.rid, rows.c.level, days.label("days")).where(rows.c.rank == 1).subquery()
    per_level = [
        func.sum(case((parts.c.level == lv.value, parts.c.days), else_=0)).label(lv.value)
        for lv in SupportLevel
    ]
    return select(parts.c.rid, *per_level).group_by(parts.c.rid).subquery()


def support_cells(db: orm.Session, scope: Scope, after_days: int) -> list[SupportCell]:
    began = (
        select(ReferralEvent.referral_id.label("rid"), func.min(ReferralEvent.at).label("at"))
        .join(Referral, Referral.id == ReferralEvent.referral_id)
        .where(scope.referrals(), ReferralEvent.to_status == S.ACTIVE)
        .group_by(ReferralEvent.referral_id)
        .subquery()
    )
    # Attendance, a follow-up contact or a measurement (api/referrals/engagement.py).
    engaged = engaged_since(Referral.id, date_after_days(began.c.at, after_days))
    providers = (
        select(
            Signpost.referral_id.label("rid"),
            func.count(distinct(Signpost.provider_id)).label("n"),
            func.count(
                distinct(
                    case(
                        (Provider.relationship == Relationship.SUB_CONTRACTED, Provider.id),
                        else_=None,
                    )
                )
            ).label("sub"),
        )
        .join(Provider, Provider.id == Signpost.provider_id)
        .join(Referral, Referral.id == Signpost.referral_id)
        .where(scope.referrals())
        .group_by(Signpost.referral_id)
        .subquery()
    )
    engaged_flag = case((began.c.at.is_not(None) & engaged, 1), else_=0)
    # The level in force at the period's end (api/referrals/levels.py), not a later one;
    # assessed only after the period: the level it has now.
    level = level_of_need(scope)
    n = func.coalesce(providers.c.n, 0)
    sub = func.coalesce(providers.c.sub, 0)
    known = tariff_days(scope)
    days = {lv: func.coalesce(known.c[lv.value], 0) for lv in SupportLevel}
    changed = case(
        (or_(*[and_(cast(level, String(40)) != lv.value, d > 0) for lv, d in days.items()]), 1),
        else_=0,
    )
    rows = db.execute(
        select(level, engaged_flag, n, sub, changed, func.count(), KEYS,
               *[func.sum(d) for d in days.values()])
        .select_from(Referral)
        .outerjoin(began, began.c.rid == Referral.id)
        .outerjoin(providers, providers.c.rid == Referral.id)
        .outerjoin(known, known.c.rid == Referral.id)
        .where(scope.referrals(), Referral.support_level.is_not(None))
        .group_by(level, engaged_flag, n, sub, changed)
    ).all()  # fmt: skip
    return [
        SupportCell(SupportLevel(lv), bool(e), p, s, c, int(k), bool(ch),
                    {x: int(d or 0) for x, d in zip(SupportLevel, d_, strict=True) if d})
        for lv, e, p, s, ch, c, k, *d_ in rows
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Outcomes

BANDS = ("LOW", "MIDDLE", "HIGH")  # thirds of the instrument's scale, by baseline score


@dataclass(frozen=True)
class InstrumentInfo:
    id: int
    key: str
    name: str
    items: int
    scale_min: int
    scale_max: int


@dataclass(frozen=True)
class ChangeGroup:
    """People with a baseline and an end score in one baseline band. Scores are the sum over
    the instrument's items, each turned so that higher is better; a change of 1 in this sum
    is 1/items of a point on the instrument's scale."""

    band: str
    n: int
    sum_change: int
    sum_square: int
    improved: int
    same: int
    worse: int
    # Cell keys of the people improved, unchanged and worse; the largest |change|.
    keys: dict[str, int] = field(default_factory=dict)
    largest: int = 0

    @property
    def all_keys(self) -> int:
        return sum(self.keys.values())


@dataclass(frozen=True)
class InstrumentOutcomes:
    instrument: InstrumentInfo
    with_baseline: int
    groups: dict[str, ChangeGroup]  # by band
    baseline_keys: int = 0


def instruments(db: orm.Session, scope: Scope, *, every: bool = False) -> list[OutcomeInstrument]:
    """The instruments with a baseline score among the referrals, by name; ``every``: all of
    them (whether a row is there must not say whether someone has a score)."""
    if every:
        ordered = select(OutcomeInstrument).order_by(OutcomeInstrument.name, OutcomeInstrument.id)
        return list(db.scalars(ordered))
    used = (
        select(OutcomeMeasurement.instrument_id)
        .join(Referral, Referral.id == OutcomeMeasurement.referral_id)
        .where(scope.referrals(), OutcomeMeasurement.time_point == TimePoint.BASELINE)
        .distinct()
    )
    return list(
        db.scalars(
            select(OutcomeInstrument)
            .where(OutcomeInstrument.id.in_(used))
            .order_by(OutcomeInstrument.name, OutcomeInstrument.id)
        )
    )


def score_total(m: type[OutcomeMeasurement], instrument: OutcomeInstrument) -> ColumnElement[int]:
    """A measurement's score: the sum of the instrument's items, each turned so that higher
    is better."""
    parts = []
    for item in instrument.items:
        score = m.scores[item["key"]].as_integer()
        lower_better = (item.get("direction") or instrument.direction) == (
            Direction.LOWER_IS_BETTER
        )
        if lower_better:
            score = instrument.scale_min + instrument.scale_max - score
        parts.append(score)
    out = parts[0]
    for part in parts[1:]:
        out = out + part
    return out


def level_of_need(scope: Scope) -> ColumnElement[str]:
    """A referral's level of need (support level) for the outcome tables: the level in force
    at the period's end (api/referrals/levels.py), as in the support table; assessed only
    after the period, the level it has now."""
    return func.coalesce(levels_sql.in_force_on(Referral.id, scope.end), Referral.support_level)


def outcomes(
    db: orm.Session, scope: Scope, instrument: OutcomeInstrument, *, by_level: bool = False
) -> InstrumentOutcomes:
    """Changes in score for the people with a baseline and an end score, grouped by baseline
    band (or, ``by_level``, by level of need) and direction."""
    info = InstrumentInfo(
        instrument.id,
        instrument.key,
        instrument.name,
        len(instrument.items),
        instrument.scale_min,
        instrument.scale_max,
    )
    base = aliased(OutcomeMeasurement)
    end = aliased(OutcomeMeasurement)

    def total(m: type[OutcomeMeasurement]) -> ColumnElement[int]:
        return score_total(m, instrument)

    k, lo, width = info.items, info.scale_min, info.scale_max - info.scale_min
    # Thirds of the scale in whole numbers: mean = sum / k, so 3 * (sum - k*lo) against k*width.
    offset = 3 * (total(base) - k * lo)
    band = case((offset < k * width, "LOW"), (offset < 2 * k * width, "MIDDLE"), else_="HIGH")
    if by_level:
        # The groups are levels of need instead of baseline bands ("NONE": not assessed).
        band = func.coalesce(cast(level_of_need(scope), String(40)), "NONE")
    change = total(end) - total(base)
    direction = case((change > 0, "improved"), (change == 0, "same"), else_="worse")
    rows = db.execute(
        select(
            band,
            direction,
            func.count(),
            func.sum(change),
            func.sum(change * change),
            KEYS,
            func.max(case((change < 0, -change), else_=change)),
        )
        .select_from(Referral)
        .join(
            base,
            and_(
                base.referral_id == Referral.id,
                base.instrument_id == instrument.id,
                base.time_point == TimePoint.BASELINE,
            ),
        )
        .join(
            end,
            and_(
                end.referral_id == Referral.id,
                end.instrument_id == instrument.id,
                end.time_point == TimePoint.END,
            ),
        )
        .where(scope.referrals())
        .group_by(band, direction)
    ).all()
    parts: dict[str, list] = {}
    for b, d, n, s, q, k, largest in rows:
        parts.setdefault(b, []).append((d, int(n), int(s), int(q), int(k), int(largest)))
    groups = {}
    for b, found in parts.items():
        count = {d: n for d, n, *_ in found}
        groups[b] = ChangeGroup(
            b,
            sum(n for _d, n, *_ in found),
            sum(s for _d, _n, s, *_ in found),
            sum(q for *_, q, _k, _m in found),
            count.get("improved", 0),
            count.get("same", 0),
            count.get("worse", 0),
            {d: k for d, *_, k, _m in found},
            max(m for *_, m in found),
        )
    with_baseline, baseline_keys = db.execute(
        select(func.count(), KEYS)
        .select_from(OutcomeMeasurement)
        .join(Referral, Referral.id == OutcomeMeasurement.referral_id)
        .where(
            scope.referrals(),
            OutcomeMeasurement.instrument_id == instrument.id,
            OutcomeMeasurement.time_point == TimePoint.BASELINE,
        )
    ).one()
    return InstrumentOutcomes(info, int(with_baseline or 0), groups, int(baseline_keys or 0))


# ---------------------------------------------------------------------------------------------
# NHS use


@dataclass(frozen=True)
class NhsUseTotals:
    """People with NHS use recorded for both the 6 months before and after, and their totals.
    ``sum_saving`` is in pence: per person, sum over categories of unit cost x (before -
    after); ``sum_square`` is the sum of its squares (for the confidence interval)."""

    n: int
    before: dict[str, int]
    after: dict[str, int]
    sum_saving: int
    sum_square: float
    keys: int = 0
    # The largest single person's figure: per "before:<category>" / "after:<category>", and
    # "saving" (pence, absolute).
    largest: dict[str, int] = field(default_factory=dict)


def nhs_use(db: orm.Session, scope: Scope, costs: UnitCosts) -> NhsUseTotals:
    before = aliased(NhsUse)
    after = aliased(NhsUse)
    saving: ColumnElement[int] = literal(0, Integer)
    for c in NHS_CATEGORIES:
        saving = saving + costs.pence(c) * (getattr(before, c) - getattr(after, c))
    columns = [func.count(), func.sum(saving), func.sum(cast(saving, Float) * cast(saving, Float))]
    columns += [KEYS, func.max(case((saving < 0, -saving), else_=saving))]
    for c in NHS_CATEGORIES:
        columns += [func.sum(getattr(before, c)), func.sum(getattr(after, c))]
        columns += [func.max(getattr(before, c)), func.max(getattr(after, c))]
    row = db.execute(
        select(*columns)
        .select_from(Referral)
        .join(before, and_(before.referral_id == Referral.id, before.period == NhsUsePeriod.BEFORE))
        .join(after, and_(after.referral_id == Referral.id, after.period == NhsUsePeriod.AFTER))
        .where(scope.referrals())
    ).one()
    n, total, square, keys, largest, *sums = row
    return NhsUseTotals(
        n=int(n),
        before={c: int(sums[4 * i] or 0) for i, c in enumerate(NHS_CATEGORIES)},
        after={c: int(sums[4 * i + 1] or 0) for i, c in enumerate(NHS_CATEGORIES)},
        sum_saving=int(total or 0),
        sum_square=float(square or 0),
        keys=int(keys or 0),
        largest={
            "saving": int(largest or 0),
            **{f"before:{c}": int(sums[4 * i + 2] or 0) for i, c in enumerate(NHS_CATEGORIES)},
            **{f"after:{c}": int(sums[4 * i + 3] or 0) for i, c in enumerate(NHS_CATEGORIES)},
        },
    )


# ---------------------------------------------------------------------------------------------
# Unmet need and supply; directory health


def unmet_needs(db: orm.Session, scope: Scope) -> dict[tuple[Domain | None, int], tuple[int, int]]:
    """Unmet needs recorded in the period, by domain (None: fits none of the six) and
    locality, with their keys. Descriptions are never read: free text stays out of reports."""
    lo, hi = scope.bounds()
    rows = db.execute(
        select(
            UnmetNeed.domain, UnmetNeed.locality_id, func.count(), func.sum(UnmetNeed.record_key)
        )
        .where(
            UnmetNeed.recorded_at >= lo,
            UnmetNeed.recorded_at < hi,
            scope.localities(UnmetNeed.locality_id),
        )
        .group_by(UnmetNeed.domain, UnmetNeed.locality_id)
    ).all()
    return {(None if d is None else Domain(d), loc): (n, int(k)) for d, loc, n, k in rows}


def supply(
    db: orm.Session, scope: Scope
) -> tuple[dict[tuple[Domain, int | None], int], dict[tuple[Domain, int | None], int]]:
    """Published sessions by domain and the session's locality (its venue's, or its
    provider's when it has no venue, as search does); and published providers with a
    session in each domain, by the provider's own locality."""
    where = Provider.status == ListingStatus.PUBLISHED
    place = func.coalesce(Venue.locality_id, Provider.locality_id)
    sessions = db.execute(
        select(SessionDomain.domain, place, func.count())
        .select_from(Session)
        .join(Provider, Provider.id == Session.provider_id)
        .outerjoin(Venue, Venue.id == Session.venue_id)
        .join(SessionDomain, SessionDomain.session_id == Session.id)
        .where(where, scope.localities(place))
        .group_by(SessionDomain.domain, place)
    ).all()
    providers = db.execute(
        select(SessionDomain.domain, Provider.locality_id, func.count(distinct(Provider.id)))
        .select_from(Session)
        .join(Provider, Provider.id == Session.provider_id)
        .join(SessionDomain, SessionDomain.session_id == Session.id)
        .where(where, scope.localities(Provider.locality_id))
        .group_by(SessionDomain.domain, Provider.locality_id)
    ).all()
    return (
        {(Domain(d), loc): n for d, loc, n in sessions},
        {(Domain(d), loc): n for d, loc, n in providers},
    )


@dataclass(frozen=True)
class ProviderGroup:
    locality_id: int | None
    status: ListingStatus
    listed_by: ListedBy
    confirmed: str  # "6" (within 6 months of the as-of date), "12", "OLDER" or "NEVER"
    count: int


def provider_groups(db: orm.Session, scope: Scope, as_of: dt.date) -> list[ProviderGroup]:
    six, twelve = as_of - relativedelta(months=6), as_of - relativedelta(months=12)
    confirmed = case(
        (Provider.last_confirmed_at.is_(None), "NEVER"),
        (Provider.last_confirmed_at >= six, "6"),
        (Provider.last_confirmed_at >= twelve, "12"),
        else_="OLDER",
    )
    rows = db.execute(
        select(Provider.locality_id, Provider.status, Provider.listed_by, confirmed, func.count())
        .where(scope.localities(Provider.locality_id))
        .group_by(Provider.locality_id, Provider.status, Provider.listed_by, confirmed)
    ).all()
    return [ProviderGroup(loc, ListingStatus(s), ListedBy(lb), c, n) for loc, s, lb, c, n in rows]


# ---------------------------------------------------------------------------------------------
# Small statistics helpers on aggregates (never on rows).


def median_of_counts(counts: dict[int, int]) -> Fraction | None:
    """The median of a distribution given as {value: how many}."""
    n = sum(counts.values())
    if n == 0:
        return None
    ordered = sorted(counts.items())

    def at(position: int) -> int:  # 0-based position in the sorted values
        seen = 0
        for value, many in ordered:
            seen += many
            if position < seen:
                return value
        raise IndexError(position)

    if n % 2:
        return Fraction(at(n // 2))
    return Fraction(at(n // 2 - 1) + at(n // 2), 2)


def mean_interval(
    n: int, total: float, square: float, *, level: float = 0.95
) -> tuple[float, float, float] | None:
    """Mean and a ``level`` confidence interval (Student's t) from n, sum and sum of squares."""
    from scipy import stats

    if n < 2:
        return None
    mean = total / n
    variance = max((square - total * total / n) / (n - 1), 0.0)
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * (variance / n) ** 0.5
    return mean, mean - half, mean + half


# ---------------------------------------------------------------------------------------------
# Who is reached: equality data (encrypted: decrypted here to be counted, never kept)


@dataclass(frozen=True)
class ReachedRow:
    """One referral in the scope, for the equality tables: its record key, its equality data
    (None: not recorded, or purged), whether it started support, and its outcome: None (no
    baseline and end score), True (improved on at least one instrument), False."""

    record_key: int
    equality: dict | None
    started: bool
    improved: bool | None


def reached_rows(db: orm.Session, scope: Scope, protector: object) -> list[ReachedRow]:
    """Every referral of the scope (one row each: equality data is encrypted per referral,
    so it is counted here, after decrypting, rather than grouped in SQL)."""
    from api.referrals import equality

    started = exists(
        select(ReferralEvent.id).where(
            ReferralEvent.referral_id == Referral.id, ReferralEvent.to_status == S.ACTIVE
        )
    )
    outcome: dict[int, bool] = {}
    for instrument in instruments(db, scope):
        base, end = aliased(OutcomeMeasurement), aliased(OutcomeMeasurement)
        change = score_total(end, instrument) - score_total(base, instrument)
        rows = db.execute(
            select(Referral.id, change)
            .join(base, and_(base.referral_id == Referral.id,
                             base.instrument_id == instrument.id,
                             base.time_point == TimePoint.BASELINE))
            .join(end, and_(end.referral_id == Referral.id,
                            end.instrument_id == instrument.id,
                            end.time_point == TimePoint.END))
            .where(scope.referrals())
        ).all()  # fmt: skip
        for rid, delta in rows:
            outcome[rid] = outcome.get(rid, False) or delta > 0
    rows = db.execute(
        select(Referral.id, Referral.record_key, Referral.key_id, Referral.equality_enc,
               started).where(scope.referrals())
    ).all()  # fmt: skip
    return [
        ReachedRow(
            int(key),
            equality.read(protector, key_id, token),  # type: ignore[arg-type]
            bool(began),
            outcome.get(rid),
        )
        for rid, key, key_id, token, began in rows
    ]
