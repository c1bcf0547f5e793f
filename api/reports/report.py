"""A commissioning report: every table of figures, computed in SQL (figures.py), protected
together (disclosure.py: Release) and ready to render (render.py) or to serve (GraphQL).

Each table cell is one of: a published figure of the release (a count or an amount, hidden
when disclosure control says so), a value derived from published figures (a rate, a mean, a
median: hidden when any figure it rests on is hidden), or a plain value that is not about
people (a tariff, a number of sessions in the directory).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from itertools import combinations

from dateutil.relativedelta import relativedelta
from sqlalchemy import orm, select

from api.directory.enums import Domain, ListedBy, ListingStatus
from api.directory.models import DomainLabel, GpPractice, Locality, utcnow
from api.referrals.enums import ReferralStatus, SupportLevel
from api.reports import figures
from api.reports.charts import bar_chart
from api.reports.costs import NHS_CATEGORIES, NHS_LABELS, Tariff, UnitCosts
from api.reports.disclosure import CONFIDENTIAL, HIDDEN, RULE, THRESHOLD, Release, Released
from api.reports.noise import CellKey, Exact, Noise

# The exact release (ADMIN only): today's rule, with secondary suppression.
RULE_TEXT = (
    f"{RULE} In the tables, {HIDDEN} marks a count from 1 to 4 and {CONFIDENTIAL} a figure "
    "hidden so that a small count cannot be worked out from it. Zeros are shown."
)
# The release everyone else gets: cell key perturbation (api/reports/noise.py).
PERTURBED_RULE_TEXT = (
    "Figures are perturbed by the cell key method (as in the ABS TableBuilder and the ONS "
    "census flexible tables), so that no two reports can be compared to find out about a "
    "person: each count of people has a small random change added, fixed by the people it "
    "counts and the report it is in (the same report asked for again gives the same "
    "figures). A count is the true one in 43 of 100 figures, within 1 in 77 and within 2 in "
    "91 of 100; sums of scores, NHS use and money carry noise of about the size of one "
    "person's share. Rates, means, intervals, the median and the tariff due are worked out "
    "from the perturbed figures. Totals need not equal the sum of their rows. A perturbed "
    f'count from 0 to 4 is shown as "{HIDDEN}", and a figure that rests on one as '
    f'"{CONFIDENTIAL}". A report covers a calendar month, a quarter or a financial year, '
    "counting referrals up to the end of the last month that has ended."
)
MAX_DAYS = 5 * 366 + 1  # the longest period a report may cover


class Unit(StrEnum):
    COUNT = "COUNT"
    PERCENT = "PERCENT"
    MONEY = "MONEY"
    NUMBER = "NUMBER"
    DAYS = "DAYS"


class Section(StrEnum):
    REFERRALS = "REFERRALS"
    SUPPORT_AND_TARIFF = "SUPPORT_AND_TARIFF"
    UPTAKE = "UPTAKE"
    REACHED = "REACHED"
    OUTCOMES = "OUTCOMES"
    NHS_USE = "NHS_USE"
    UNMET_NEED = "UNMET_NEED"
    DIRECTORY = "DIRECTORY"


SECTION_TITLES = {
    Section.REFERRALS: "Referrals",
    Section.SUPPORT_AND_TARIFF: "Support levels and tariff",
    Section.UPTAKE: "Uptake and attendance by session, provider and practice",
    Section.REACHED: "Who is reached",
    Section.OUTCOMES: "Outcomes",
    Section.NHS_USE: "NHS use before and after",
    Section.UNMET_NEED: "Unmet need against supply",
    Section.DIRECTORY: "Directory health",
}

STAGE_LABELS = {
    "RECEIVED": "Received",
    "CONTACTED": "Contacted",
    "ASSESSED": "Assessed",
    "ACTIVE": "Started support (active)",
    "COMPLETED": "Completed",
}
STATUS_LABELS = {
    ReferralStatus.RECEIVED: "Waiting for first contact",
    ReferralStatus.CONTACTED: "Contacted",
    ReferralStatus.ASSESSED: "Assessed",
    ReferralStatus.ACTIVE: "Active",
    ReferralStatus.COMPLETED: "Completed",
    ReferralStatus.DID_NOT_ATTEND: "Did not attend",
    ReferralStatus.DECLINED: "Declined",
    ReferralStatus.CLOSED: "Closed",
}
BAND_LABELS = {
    "LOW": "Started in the lowest third",
    "MIDDLE": "Started in the middle third",
    "HIGH": "Started in the top third",
}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    unit: Unit
    decimals: int = 0
    signed: bool = False  # show "+" on positive values (changes)


@dataclass(frozen=True)
class Cell:
    value: float | None  # None: hidden, or nothing to show
    display: str
    suppressed: bool
    # Under disclosure control (a figure about people, or derived from one); False for
    # figures about organisations or settings (sessions listed, a tariff).
    controlled: bool = True


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    cells: tuple[Cell, ...]
    group: str | None = None
    total: bool = False


@dataclass(frozen=True)
class Chart:
    title: str
    svg: str


@dataclass(frozen=True)
class Table:
    key: str
    section: Section
    title: str
    description: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()
    charts: tuple[Chart, ...] = ()

    def row(self, key: str) -> Row:
        return next(r for r in self.rows if r.key == key)

    def cell(self, row: str, column: str) -> Cell:
        index = [c.key for c in self.columns].index(column)
        return self.row(row).cells[index]


@dataclass(frozen=True)
class Report:
    start: dt.date
    end: dt.date
    as_of: dt.date
    localities: tuple[tuple[int, str], ...]  # (id, name) covered
    all_localities: bool
    generated_at: dt.datetime
    target_days: int
    tariff: Tariff
    unit_costs: UnitCosts
    tables: tuple[Table, ...]
    rule: str = RULE_TEXT
    exact: bool = True  # False: perturbed (the release for everyone but ADMIN)
    # The previous period of the same length, for the summary's comparison (None: not asked).
    previous: Report | None = None

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)

    def sections(self) -> list[tuple[Section, str, list[Table]]]:
        return [
            (s, SECTION_TITLES[s], [t for t in self.tables if t.section is s])
            for s in Section
            if any(t.section is s for t in self.tables)
        ]


class ReportError(ValueError):
    """A request a person can correct (a period the wrong way round, an unknown locality)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


# ---------------------------------------------------------------------------------------------
# Cells before disclosure control: what each cell will show once the release is solved.


@dataclass(frozen=True)
class _Fig:
    key: Hashable


@dataclass(frozen=True)
class _Derived:
    value: float | Fraction | None
    rests_on: tuple[Hashable, ...]


@dataclass(frozen=True)
class _Plain:
    value: float | int | Decimal | Fraction | None


_Spec = _Fig | _Derived | _Plain
BLANK = _Plain(None)


@dataclass
class _Draft:
    key: str
    section: Section
    title: str
    description: str
    columns: list[Column]
    rows: list[tuple[str, str, list[_Spec], str | None, bool, str | None]] = field(
        default_factory=list
    )
    notes: list[str] = field(default_factory=list)
    # (title, column key, unit sign, decimals, include total rows?)
    charts: list[tuple[str, str, str, int]] = field(default_factory=list)
    # Order the rows (not the totals) by this column's published value, smallest first:
    # published values only, so the order says nothing the table does not.
    sort_by: str | None = None

    def add(
        self,
        key: str,
        label: str,
        *cells: _Spec,
        group: str | None = None,
        total: bool = False,
        short: str | None = None,  # the label in charts, when the full one is long
    ) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.key}: row {key} has {len(cells)} cells")
        self.rows.append((key, label, list(cells), group, total, short))


def _ratio(a: Fraction | int, b: Fraction | int, scale: int = 1) -> Fraction | None:
    return None if not b else Fraction(a) * scale / Fraction(b)


def _format(value: float, column: Column) -> str:
    d = column.decimals
    sign = "+" if column.signed and value > 0 else ""
    if column.unit is Unit.COUNT:
        return f"{sign}{value:,.0f}"
    if column.unit is Unit.PERCENT:
        return f"{sign}{value:,.{d}f}%"
    if column.unit is Unit.MONEY:
        neg = "-" if value < 0 else sign
        return f"{neg}£{abs(value):,.{d}f}"
    return f"{sign}{value:,.{d}f}"


def _finish(draft: _Draft, released: Released) -> Table:
    def cell(spec: _Spec, column: Column) -> Cell:
        if isinstance(spec, _Fig):
            value = released[spec.key]
            if value is None:
                return Cell(None, released.mark(spec.key), True)
            return Cell(float(value), _format(float(value), column), False)
        if isinstance(spec, _Derived):
            if any(not released.shown(k) for k in spec.rests_on):
                return Cell(None, CONFIDENTIAL, True)
            if spec.value is None:
                return Cell(None, "–", False)
            return Cell(float(spec.value), _format(float(spec.value), column), False)
        if spec.value is None:
            return Cell(None, "–", False, controlled=False)
        return Cell(float(spec.value), _format(float(spec.value), column), False, controlled=False)

    rows = tuple(
        Row(key, label, tuple(cell(s, c) for s, c in zip(specs, draft.columns, strict=True)),
            group, total)
        for key, label, specs, group, total, _short in draft.rows
    )  # fmt: skip
    if draft.sort_by is not None:
        rows = _sorted(rows, [c.key for c in draft.columns].index(draft.sort_by))
    shorts = {key: short for key, _l, _s, _g, _t, short in draft.rows}
    del shorts  # charts wrap full labels now (api/reports/charts.py)
    charts = []
    for title, column_key, unit, decimals in draft.charts:
        index = [c.key for c in draft.columns].index(column_key)
        column = draft.columns[index]
        shown = [r for r in rows if not r.total]
        if not shown:
            continue
        labels = [f"{r.group}: {r.label}" if r.group else r.label for r in shown]
        values = [r.cells[index].value for r in shown]
        axis = column.label + (" (%)" if unit == "%" and "%" not in column.label else "")
        axis += " (£)" if unit == "£" else ""
        chart = bar_chart(title, labels, values, unit=unit, decimals=decimals, axis_title=axis)
        charts.append(Chart(title, chart))
    return Table(
        draft.key,
        draft.section,
        draft.title,
        draft.description,
        tuple(draft.columns),
        rows,
        tuple(draft.notes),
        tuple(charts),
    )


def _sorted(rows: tuple[Row, ...], index: int) -> tuple[Row, ...]:
    """Rows by a published column, smallest first: "<5" between 0 and 5, a figure hidden to
    protect another ("[c]") last, as its size is not published; totals stay at the end."""

    def rank(row: Row) -> tuple:
        cell = row.cells[index]
        if cell.value is not None:
            value = cell.value
        elif cell.display == HIDDEN:
            value = THRESHOLD - 0.5
        else:
            value = float("inf")
        return (value, row.label)

    body = sorted((r for r in rows if not r.total), key=rank)
    return (*body, *(r for r in rows if r.total))


class _Grid:
    """A cross-classification of people by several attributes (one latent figure per cell
    that has anyone), and published counts defined as sums of its cells. Nested published
    counts also define groups (their difference is a number of people). ``cells`` are
    (people, their record keys) by attributes."""

    def __init__(
        self, release: Release, noise: Noise, name: Hashable, cells: dict[tuple, tuple[int, int]]
    ) -> None:
        self.release, self.noise = release, noise
        self.cells = {attrs: n for attrs, (n, _k) in cells.items() if n}
        self.keys = {attrs: k for attrs, (n, k) in cells.items() if n}
        self.members: dict[Hashable, frozenset[tuple]] = {}
        for attrs, n in self.cells.items():
            release.latent((name, "cell", *attrs), n)
        self.name = name

    def count(
        self,
        key: Hashable,
        where: Callable[[tuple], bool],
        *,
        new: bool = True,
        is_total: bool = False,
    ) -> int:
        """A published count (perturbed unless exact): the people in the cells ``where`` holds
        for. ``is_total``: the total of a table, hidden only when nothing else will do."""
        members = frozenset(a for a in self.cells if where(a))
        value = self.noise.count(
            sum(self.cells[a] for a in members), sum(self.keys[a] for a in members)
        )
        if new:
            self.release.count(key, value)
        self.release.sum([(self.name, "cell", *a) for a in members], key, is_total=is_total)
        self.members[key] = members
        return value

    def differences(self) -> None:
        for (a, ma), (b, mb) in combinations(self.members.items(), 2):
            for big, small, mbig, msmall in ((a, b, ma, mb), (b, a, mb, ma)):
                if msmall < mbig:
                    self.release.group(("difference", big, small), {big: 1, small: -1})


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRequest:
    start: dt.date
    end: dt.date
    locality_ids: tuple[int, ...] | None = None  # None: every locality
    as_of: dt.date | None = None  # directory health "as at"; default: today
    # The true figures (ADMIN only): any period, secondary suppression instead of noise.
    exact: bool = False


def fixed_period(start: dt.date, end: dt.date) -> bool:
    """A calendar month, a calendar quarter or a financial year (1 April to 31 March): the
    only periods of a perturbed report, so that few reports share people (fewer to
    compare) and they nest instead of sliding by a day."""
    if start.day != 1 or (end + dt.timedelta(days=1)).day != 1:
        return False
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    return (
        months == 1
        or (months == 3 and start.month in (1, 4, 7, 10))
        or (months == 12 and start.month == 4)
    )


def counted_to(start: dt.date, end: dt.date, today: dt.date | None = None) -> dt.date:
    """The last day a perturbed report counts: ``end``, or the end of last month (dates in
    England) if that is earlier. Referrals then join a report a whole month at a time, not
    one by one as they arrive, so asking again each day shows no one person arriving."""
    today = today or dt.datetime.now(figures.LONDON).date()
    last = today.replace(day=1) - dt.timedelta(days=1)
    if start > last:
        raise ReportError(
            "period",
            "a report counts referrals up to the end of last month, and no month of this "
            f"period has ended yet: ask for a period that starts by {last.replace(day=1)}",
        )
    return min(end, last)


def previous_period(start: dt.date, end: dt.date, counted_end: dt.date) -> tuple[dt.date, dt.date]:
    """The period before ``start`` to ``end`` of the same length, counted as far into it as
    the report is counted (``counted_end``): the previous month, quarter or financial year
    (its first months, when this one counts only its first months so far)."""
    if start.day == 1 and (end + dt.timedelta(days=1)).day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        counted = (counted_end.year - start.year) * 12 + counted_end.month - start.month + 1
        before = start - relativedelta(months=months)
        return before, before + relativedelta(months=counted) - dt.timedelta(days=1)
    length = end - start + dt.timedelta(days=1)
    before = start - length
    return before, before + (counted_end - start)


def check_request(
    db: orm.Session, request: ReportRequest, *, fixed: bool = True
) -> list[tuple[int, str]]:
    """The localities the report covers, (id, name) by name; ReportError when the request
    cannot be met. ``fixed=False``: a previous period for comparison (see build_report)."""
    if request.end < request.start:
        raise ReportError("period.to", "the period ends before it starts: swap the dates")
    if (request.end - request.start).days > MAX_DAYS:
        raise ReportError("period", "a report covers at most 5 years: choose a shorter period")
    if fixed and not request.exact and not fixed_period(request.start, request.end):
        raise ReportError(
            "period",
            "a report covers a calendar month, a quarter (January to March, April to June, "
            "July to September, October to December) or a financial year (1 April to "
            "31 March): for example from 2025-04-01 to 2026-03-31",
        )
    query = select(Locality.id, Locality.name).order_by(Locality.name, Locality.id)
    found = [(i, n) for i, n in db.execute(query).all()]
    if request.locality_ids is None:
        return found
    wanted = set(request.locality_ids)
    chosen = [(i, n) for i, n in found if i in wanted]
    if len(chosen) != len(wanted):
        raise ReportError("localityId", "no such locality: see `localities` for their IDs")
    return chosen


def build_report(
    db: orm.Session,
    request: ReportRequest,
    *,
    tariff: Tariff,
    unit_costs: UnitCosts,
    target_days: int = 5,
    on_step: Callable[[str], None] | None = None,
    compare: bool = False,
    protector: object | None = None,
    population: dict | None = None,
    _previous: bool = False,
) -> Report:
    """Compute, protect and lay out every table of the report. ``compare``: also the
    previous period of the same length (``Report.previous``), for the summary page. That
    period is the previous month, quarter or financial year, or its first months as far as
    this one is counted: a report anyone could have asked for once those months ended."""
    _snapshot(db)
    localities = check_request(db, request, fixed=not _previous)
    step = on_step or (lambda _name: None)
    end = request.end if request.exact or _previous else counted_to(request.start, request.end)
    scope = figures.Scope(
        request.start,
        end,
        None if request.locality_ids is None else tuple(i for i, _ in localities),
    )
    as_of = request.as_of or dt.date.today()
    noise: Noise = Exact() if request.exact else CellKey(figures.release_keys(db, scope))
    build = _Builder(db, scope, localities, tariff, unit_costs, target_days, as_of, noise,
                     protector, population)  # fmt: skip
    for name, part in build.parts():
        step(name)
        part()
    step("Disclosure control")
    released = build.release.solve()
    tables = tuple(_finish(d, released) for d in build.drafts)
    previous = None
    if compare:
        step("Previous period")
        before = previous_period(request.start, request.end, end)
        previous = build_report(
            db,
            ReportRequest(*before, request.locality_ids, as_of=as_of, exact=request.exact),
            tariff=tariff,
            unit_costs=unit_costs,
            target_days=target_days,
            protector=protector,
            population=population,
            _previous=True,
        )
    return Report(
        start=request.start,
        end=end,
        as_of=as_of,
        localities=tuple(localities),
        all_localities=request.locality_ids is None,
        generated_at=utcnow(),
        target_days=target_days,
        tariff=tariff,
        unit_costs=unit_costs,
        tables=tables,
        rule=RULE_TEXT if request.exact else PERTURBED_RULE_TEXT,
        exact=request.exact,
        previous=previous,
    )


def _snapshot(db: orm.Session) -> None:
    """Read every figure from one consistent snapshot, so the same people add up the same
    way in every table (the disclosure equations are checked against the true values).
    Only possible before the session's first query: callers pass a fresh session."""
    connection = db.connection()
    driver = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        import psycopg

        if driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:  # type: ignore[union-attr]
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    elif connection.dialect.name == "sqlite" and not driver.in_transaction:  # type: ignore[union-attr]
        # pysqlite starts a transaction only before a write; reads need an explicit one.
        connection.exec_driver_sql("BEGIN")


STEPS = (
    "Referrals",
    "Lifecycle and first contact",
    "Support levels and tariff",
    "Uptake and attendance",
    "Who is reached",
    "Outcomes",
    "NHS use",
    "Unmet need and supply",
    "Directory health",
)

ALL = ("referrals",)  # the release key of "referrals received in the period"
# Unmet needs by domain, then those that fit none of the six ("other", domain None).
NEED_DOMAINS: tuple[Domain | None, ...] = (*Domain, None)
OTHER_NEED = "Other (fits none of the six domains)"


def _need_code(domain: Domain | None) -> str:
    return "OTHER" if domain is None else domain.value


class _Builder:
    def __init__(
        self,
        db: orm.Session,
        scope: figures.Scope,
        localities: list[tuple[int, str]],
        tariff: Tariff,
        unit_costs: UnitCosts,
        target_days: int,
        as_of: dt.date,
        noise: Noise,
        protector: object | None = None,
        population: dict | None = None,
    ) -> None:
        # The key to the referrals' equality data (None: it cannot be read, and every
        # referral counts as "not recorded"), and the area's population by each dimension.
        self.protector, self.population = protector, population
        self.db, self.scope, self.localities = db, scope, localities
        self.tariff, self.unit_costs = tariff, unit_costs
        self.target_days, self.as_of = target_days, as_of
        self.noise = noise
        self.release = Release(perturbed=not noise.exact)
        self.drafts: list[_Draft] = []
        self.domain_labels = {
            Domain(d): label
            for d, label in db.execute(select(DomainLabel.domain, DomainLabel.label))
        }

    def parts(self) -> list[tuple[str, Callable[[], None]]]:
        return list(
            zip(
                STEPS,
                [
                    self.referrals,
                    self.lifecycle,
                    self.support,
                    self.uptake,
                    self.reached,
                    self.outcomes,
                    self.nhs_use,
                    self.unmet_need,
                    self.directory,
                ],
                strict=True,
            )
        )

    def draft(self, key: str, section: Section, title: str, description: str,
              *columns: Column) -> _Draft:  # fmt: skip
        d = _Draft(key, section, title, description, list(columns))
        self.drafts.append(d)
        return d

    def need_label(self, domain: Domain | None) -> str:
        return OTHER_NEED if domain is None else self.label(domain)

    def label(self, domain: Domain) -> str:
        return self.domain_labels.get(domain, domain.value.replace("_", " ").capitalize())

    # -- referrals received ----------------------------------------------------------------------

    def referrals(self) -> None:
        rel = self.release
        counts = figures.referral_counts(self.db, self.scope)
        noisy = self.noise.count
        total = noisy(sum(n for *_x, n, _k in counts), sum(k for *_x, k in counts))
        rel.count(ALL, total)
        referrals = Column("referrals", "Referrals", Unit.COUNT)

        def add(into: dict, at: Hashable, n: int, k: int) -> None:
            had = into.get(at, (0, 0))
            into[at] = (had[0] + n, had[1] + k)

        by_month: dict[str, tuple[int, int]] = {}
        for month, _loc, _p, n, k in counts:
            add(by_month, month, n, k)
        t = self.draft(
            "referrals_by_month",
            Section.REFERRALS,
            "Referrals received by month",
            "Referrals received in each calendar month of the period (dates in England).",
            referrals,
        )
        keys = []
        for month, lo, _hi in self.scope.months():
            key = rel.count(("referrals", "month", month), noisy(*by_month.get(month, (0, 0))))
            keys.append(key)
            first = dt.date.fromisoformat(month + "-01")
            label = f"{first:%B %Y}"
            if lo.astimezone(figures.LONDON).date() != first or (
                month == f"{self.scope.end:%Y-%m}"
                and (self.scope.end + dt.timedelta(days=1)).day != 1
            ):
                label += " (part)"
            t.add(month, label, _Fig(key))
        rel.sum(keys, ALL)
        t.add("total", "Total", _Fig(ALL), total=True)
        t.charts.append(("Referrals by month", "referrals", "", 0))

        by_loc: dict[int, tuple[int, int]] = {}
        by_practice: dict[tuple[int, int], tuple[int, int]] = {}
        for _m, loc, practice, n, k in counts:
            add(by_loc, loc, n, k)
            add(by_practice, (loc, practice), n, k)
        t = self.draft(
            "referrals_by_locality",
            Section.REFERRALS,
            "Referrals by locality",
            "Referrals received in the period, by the locality of the referring practice.",
            referrals,
        )
        loc_keys = []
        for loc, name in self.localities:
            key = rel.count(("referrals", "locality", loc), noisy(*by_loc.get(loc, (0, 0))))
            loc_keys.append(key)
            t.add(str(loc), name, _Fig(key))
        rel.sum(loc_keys, ALL)
        t.add("total", "Total", _Fig(ALL), total=True)
        t.charts.append(("Referrals by locality", "referrals", "", 0))

        practices = self.db.execute(
            select(GpPractice.id, GpPractice.name, GpPractice.ods_code, GpPractice.locality_id)
            .where(self.scope.localities(GpPractice.locality_id))
            .order_by(GpPractice.name)
        ).all()
        info = {p: (name, ods) for p, name, ods, _loc in practices}
        listed = {(loc, p) for p, _n, _o, loc in practices} | set(by_practice)
        t = self.draft(
            "referrals_by_practice",
            Section.REFERRALS,
            "Referrals by GP practice",
            "Referrals received in the period from each practice, within its locality.",
            referrals,
        )
        for loc, loc_name in self.localities:
            keys = []
            rows = sorted((p for lo, p in listed if lo == loc), key=lambda p: info[p][0])
            for p in rows:
                key = rel.count(
                    ("referrals", "practice", loc, p), noisy(*by_practice.get((loc, p), (0, 0)))
                )
                keys.append(key)
                t.add(f"{loc}:{p}", f"{info[p][0]} ({info[p][1]})", _Fig(key), group=loc_name)
            rel.sum(keys, ("referrals", "locality", loc))
        t.add("total", "Total", _Fig(ALL), total=True)

        domains = figures.domain_counts(self.db, self.scope)
        t = self.draft(
            "referrals_by_domain",
            Section.REFERRALS,
            "Referrals by domain of interest",
            "Referrals naming each domain. A referral may name more than one, so these do not "
            "add up to the total.",
            referrals,
            Column("share", "% of referrals", Unit.PERCENT, 1),
        )
        for domain in Domain:
            n = noisy(*domains.get(domain, (0, 0)))
            key = rel.count(("referrals", "domain", domain.value), n)
            rel.group(("referrals", "not naming", domain.value), {ALL: 1, key: -1})
            t.add(domain.value, self.label(domain), _Fig(key),
                  _Derived(_ratio(n, total, 100), (key, ALL)))  # fmt: skip
        t.charts.append(("Referrals by domain of interest", "referrals", "", 0))

    # -- lifecycle, did not attend, decline, first contact --------------------------------------

    def lifecycle(self) -> None:
        rel = self.release
        raw = figures.lifecycle_cells(self.db, self.scope, self.target_days)
        cells: dict[tuple, tuple[int, int]] = {}
        for c in raw:
            attrs = (c.furthest, c.status.value, c.within_target, c.did_not_attend, c.assessed)
            had = cells.get(attrs, (0, 0))
            cells[attrs] = (had[0] + c.count, had[1] + c.keys)
        grid = _Grid(rel, self.noise, "lifecycle", cells)
        self.lifecycle_grid = grid
        stages = figures.STAGES
        total = grid.count(ALL, lambda a: True, new=False, is_total=True)
        reached = {"RECEIVED": total}
        for i, stage in enumerate(stages[1:], start=1):
            reached[stage] = grid.count(
                ("lifecycle", "reached", stage), lambda a, i=i: stages.index(a[0]) >= i
            )
        status = {}
        for s in ReferralStatus:
            status[s] = grid.count(("lifecycle", "status", s.value), lambda a, s=s: a[1] == s.value)
        within = grid.count(("lifecycle", "within target"), lambda a: a[2] is True)
        over = grid.count(("lifecycle", "after target"), lambda a: a[2] is False)
        dna = grid.count(("lifecycle", "did not attend"), lambda a: a[3])
        grid.count(("lifecycle", "assessed"), lambda a: a[4])
        grid.differences()

        def reached_key(stage: str) -> Hashable:
            return ALL if stage == "RECEIVED" else ("lifecycle", "reached", stage)

        t = self.draft(
            "lifecycle_conversion",
            Section.REFERRALS,
            "Conversion through the lifecycle",
            "Referrals received in the period that ever reached each stage (from their "
            "history, whatever their status is now).",
            Column("referrals", "Referrals", Unit.COUNT),
            Column("of_received", "% of received", Unit.PERCENT, 1),
            Column("of_previous", "% of the stage before", Unit.PERCENT, 1),
        )
        for i, stage in enumerate(stages):
            key = reached_key(stage)
            before = reached_key(stages[i - 1]) if i else None
            t.add(
                stage,
                STAGE_LABELS[stage],
                _Fig(key),
                _Derived(_ratio(reached[stage], total, 100), (key, ALL)),
                BLANK
                if before is None
                else _Derived(_ratio(reached[stage], reached[stages[i - 1]], 100), (key, before)),
            )
        t.charts.append(("Referrals reaching each stage", "referrals", "", 0))

        t = self.draft(
            "referral_status",
            Section.REFERRALS,
            "Where the referrals are now",
            "Referrals received in the period, by their status today.",
            Column("referrals", "Referrals", Unit.COUNT),
            Column("share", "% of received", Unit.PERCENT, 1),
        )
        for s in ReferralStatus:
            key = ("lifecycle", "status", s.value)
            t.add(s.value, STATUS_LABELS[s], _Fig(key),
                  _Derived(_ratio(status[s], total, 100), (key, ALL)))  # fmt: skip
        t.add("total", "Total", _Fig(ALL), BLANK, total=True)

        contacted = reached_key("CONTACTED")
        t = self.draft(
            "dna_and_decline",
            Section.REFERRALS,
            "Did not attend and declined",
            "Did-not-attend rate: referrals that missed an appointment at least once, of those "
            "contacted. Decline rate: referrals declined, of all received.",
            Column("referrals", "Referrals", Unit.COUNT),
            Column("rate", "Rate", Unit.PERCENT, 1),
        )
        dna_key = ("lifecycle", "did not attend")
        declined = ("lifecycle", "status", ReferralStatus.DECLINED.value)
        t.add("did_not_attend", "Did not attend (at least once)", _Fig(dna_key),
              _Derived(_ratio(dna, reached["CONTACTED"], 100), (dna_key, contacted)))  # fmt: skip
        declined_rate = _ratio(status[ReferralStatus.DECLINED], total, 100)
        t.add("declined", "Declined", _Fig(declined), _Derived(declined_rate, (declined, ALL)))

        days = figures.contact_days(self.db, self.scope)
        # The median of the perturbed distribution: it rests on perturbed counts too.
        median = figures.median_of_counts(
            {d: self.noise.count(n, k, "days") for d, (n, k) in days.items()}
        )
        target = self.target_days
        t = self.draft(
            "first_contact",
            Section.REFERRALS,
            "Time to first contact",
            f"Working days (Monday to Friday, not bank holidays in England and Wales) from "
            f"receipt to first contact, against the target of {target} working days.",
            Column("contacted", "Contacted", Unit.COUNT),
            Column("median_days", "Median working days", Unit.DAYS, 1),
            Column("within", f"Within {target} working days", Unit.COUNT),
            Column("within_share", "% within target", Unit.PERCENT, 1),
            Column("after", "After the target", Unit.COUNT),
        )
        within_key, after_key = ("lifecycle", "within target"), ("lifecycle", "after target")
        t.add(
            "all",
            "Referrals received in the period",
            _Fig(contacted),
            _Derived(median, (contacted,)),
            _Fig(within_key),
            _Derived(_ratio(within, within + over, 100), (within_key, after_key)),
            _Fig(after_key),
        )
        if self.noise.exact and within + over != reached["CONTACTED"]:
            t.notes.append(
                "Some referrals were contacted without a recorded time to first contact: "
                "they count as contacted but not in the time columns."
            )

        self.dna_by_practice()

    def dna_by_practice(self) -> None:
        """Did-not-attend by referring practice: feedback on referrals that did not suit."""
        rel = self.release
        raw = figures.dna_by_practice(self.db, self.scope)
        grid = _Grid(rel, self.noise, "dna_practice", raw)
        grid.count(ALL, lambda a: True, new=False, is_total=True)
        dna_total = ("lifecycle", "did not attend")
        grid.count(dna_total, lambda a: a[2], new=False)
        t = self.draft(
            "dna_by_practice",
            Section.UPTAKE,
            "Did not attend, by referring practice",
            "Referrals received in the period from each practice, and those that missed an "
            "appointment at least once (did not attend). A high rate may mean referrals that "
            "did not suit the person: feedback for the practice, not a judgement of it.",
            Column("referrals", "Referrals", Unit.COUNT),
            Column("did_not_attend", "Did not attend (at least once)", Unit.COUNT),
            Column("rate", "% did not attend", Unit.PERCENT, 1),
        )
        practices = self.db.execute(
            select(GpPractice.id, GpPractice.name, GpPractice.ods_code, GpPractice.locality_id)
            .where(self.scope.localities(GpPractice.locality_id))
            .order_by(GpPractice.name)
        ).all()
        listed = {(loc, p): (name, ods) for p, name, ods, loc in practices}
        for loc, p, _d in raw:
            listed.setdefault((loc, p), ("", ""))
        info = dict(self.db.execute(select(GpPractice.id, GpPractice.name)).all())
        ods = dict(self.db.execute(select(GpPractice.id, GpPractice.ods_code)).all())
        for loc, loc_name in self.localities:
            for p in sorted((p for lo, p in listed if lo == loc), key=lambda p: info[p]):
                referred = ("referrals", "practice", loc, p)
                key = ("dna", "practice", loc, p)
                dna = grid.count(key, lambda a, here=(loc, p, True): a == here)
                grid.count(referred, lambda a, here=(loc, p): a[:2] == here, new=False)
                t.add(f"{loc}:{p}", f"{info[p]} ({ods[p]})", _Fig(referred), _Fig(key),
                      _Derived(_ratio(dna, rel.value(referred), 100), (key, referred)),
                      group=loc_name)  # fmt: skip
        grid.differences()
        t.add("total", "Total", _Fig(ALL), _Fig(dna_total),
              _Derived(_ratio(rel.value(dna_total), rel.value(ALL), 100), (dna_total, ALL)),
              total=True)  # fmt: skip

    def reached(self) -> None:
        from api.reports import reached  # it builds on this module's pieces

        reached.build(self)

    # -- uptake and attendance by session and provider -------------------------------------------

    def uptake(self) -> None:
        sessions, providers = figures.uptake_units(self.db)
        provider_name = dict(providers)
        columns = (
            Column("signposted", "Signposted", Unit.COUNT),
            Column("attended", "Attended at least once", Unit.COUNT),
            Column("uptake", "% attended", Unit.PERCENT, 1),
            Column("missed", "Missed a date", Unit.COUNT),
            Column("missed_share", "% missed a date", Unit.PERCENT, 1),
        )
        for by, units, title, what in (
            ("provider", [(p, n, None) for p, n in providers], "Uptake by provider",
             "any of the provider's sessions"),
            ("session", sessions, "Uptake by session, least used first", "the session"),
        ):  # fmt: skip
            raw = figures.uptake_cells(self.db, self.scope, by=by)
            t = self.draft(
                f"uptake_by_{by}",
                Section.UPTAKE,
                title,
                f"People referred in the period who were signposted to {what}, how many "
                "attended at least once (uptake), and how many missed a date they were "
                "expected (as the provider's register records it). A person counts once per "
                "row, and may count in several rows.",
                *columns,
            )
            t.sort_by = "signposted"
            t.notes.append(
                "Rows are in order of people signposted, fewest first: the least used are the "
                "first to review when deciding what to recommission or decommission. A row "
                "with few people rests on too few to judge by itself."
            )
            for unit, name, owner in units:
                cells = {(c.attended, c.missed): (c.count, c.keys) for c in raw if c.unit == unit}
                grid = _Grid(self.release, self.noise, ("uptake", by, unit), cells)
                keys = {part: ("uptake", by, unit, part) for part in
                        ("signposted", "attended", "missed")}  # fmt: skip
                n = grid.count(keys["signposted"], lambda a: True, is_total=True)
                came = grid.count(keys["attended"], lambda a: a[0])
                missed = grid.count(keys["missed"], lambda a: a[1])
                grid.differences()
                label = name if owner is None else f"{name} ({provider_name[owner]})"
                t.add(
                    str(unit),
                    label,
                    _Fig(keys["signposted"]),
                    _Fig(keys["attended"]),
                    _Derived(_ratio(came, n, 100), (keys["attended"], keys["signposted"])),
                    _Fig(keys["missed"]),
                    _Derived(_ratio(missed, n, 100), (keys["missed"], keys["signposted"])),
                )
            t.charts.append((f"% attended, {by}s with a shown figure", "uptake", "%", 0))

    # -- support levels and tariff ---------------------------------------------------------------

    def support(self) -> None:
        rel, tariff, noise = self.release, self.tariff, self.noise
        raw = figures.support_cells(self.db, self.scope, tariff.maintenance_after_days)
        annual = {lv: Fraction(v) for lv, v in tariff.levels.items()}
        cells: dict[tuple, tuple[int, int]] = {}
        due_of: dict[tuple, Fraction] = {}  # the tariff due for each cell's people
        for c in raw:
            attrs = (c.level.value, c.engaged, c.providers, c.subcontracted, c.changed)
            had = cells.get(attrs, (0, 0))
            cells[attrs] = (had[0] + c.count, had[1] + c.keys)
            due_of[attrs] = due_of.get(attrs, Fraction(0)) + c.tariff(annual)
        grid = _Grid(rel, noise, "support", cells)
        assessed = ("lifecycle", "assessed")
        grid.count(assessed, lambda a: True, new=False, is_total=True)
        level_keys, changed_keys, people = {}, {}, {}
        for level in SupportLevel:
            level_keys[level] = ("support", "level", level.value)
            people[level] = grid.count(level_keys[level], lambda a, lv=level: a[0] == lv.value)
            changed_keys[level] = ("support", "changed", level.value)
            grid.count(changed_keys[level], lambda a, lv=level: a[0] == lv.value and a[4])
        changed_all = ("support", "changed")
        grid.count(changed_all, lambda a: a[4])
        # People whose level changed and who have a sub-contracted provider: their pro rata
        # tariff is in the money passed on (never printed: it only hides what rests on it).
        shared_key = ("support", "changed", "shared")
        grid.count(shared_key, lambda a: a[4] and a[3] > 0)
        engaged_key = ("support", "engaged")
        engaged = grid.count(engaged_key, lambda a: a[1])
        grid.differences()

        # The amount due for a level's people. Exact: the sum of their pro rata tariffs; it
        # is rate x people only when nobody's level changed (so the equation only then),
        # and it tells the tariff of those who changed: it follows their count too.
        # Perturbed: rate x the perturbed count, plus noise of the most one person's
        # change of level can move it, whether or not anyone's did (a change must not show
        # as the noise appearing).
        spread = max(annual.values()) - min(annual.values())
        due_keys = []
        for level in SupportLevel:
            rate = annual[level]
            true_n = sum(n for a, n in grid.cells.items() if a[0] == level.value)
            true_due = sum((v for a, v in due_of.items() if a[0] == level.value), Fraction(0))
            key = ("support", "due", level.value)
            if noise.exact:
                rel.amount(key, true_due, follows=[level_keys[level], changed_keys[level]])
                if not rel.value(changed_keys[level]):
                    rel.equation({key: 1, level_keys[level]: -rate})
            else:
                keys = sum(k for a, k in grid.keys.items() if a[0] == level.value)
                change = noise.amount(true_due - rate * true_n, keys, spread, "due" + level)
                rel.amount(key, rate * people[level] + change, follows=[level_keys[level]])
            due_keys.append(key)
        maintenance = Fraction(tariff.maintenance)
        due_m = rel.amount(("support", "due", "maintenance"), maintenance * engaged,
                           follows=[engaged_key])  # fmt: skip
        rel.equation({due_m: 1, engaged_key: -maintenance})
        due_keys.append(due_m)
        due_total = sum((rel.value(k) for k in due_keys), Fraction(0))
        # An amount follows the counts it is made of: the total is hidden with them.
        rel.amount(("support", "due"), due_total, follows=[assessed, engaged_key])
        rel.sum(due_keys, ("support", "due"))

        # Money passed on: a person's tariff is shared equally between the providers they
        # were signposted to; the sub-contracted providers' shares are passed to them.
        passed, passed_keys = Fraction(0), 0
        terms: dict[Hashable, Fraction] = {}
        for attrs, n in grid.cells.items():
            _level, _engaged, providers, sub, _changed = attrs
            if providers and sub:
                passed += due_of[attrs] * sub / providers
                passed_keys += grid.keys[attrs]
                terms[("support", "cell", *attrs)] = due_of[attrs] * sub / providers / n
        # No one person's share is more than the highest level's tariff.
        largest = max(annual.values())
        passed = min(max(noise.amount(passed, passed_keys, largest, "passed"), Fraction(0)),
                     due_total)  # fmt: skip
        passed_key = ("support", "passed")
        # Exact, it holds the pro rata tariffs of those whose level changed: hidden with
        # their count. (Perturbed, its noise covers one person's share.)
        follows = [("support", "due"), *([shared_key] if noise.exact else [])]
        rel.amount(passed_key, passed, follows=follows)
        if not rel.value(shared_key):  # else it is no multiple of people a reader can name
            rel.equation({**terms, passed_key: -1})
        rel.amount(("support", "kept"), due_total - passed, follows=[("support", "due")])
        rel.sum([passed_key, ("support", "kept")], ("support", "due"))

        days = tariff.maintenance_after_days
        t = self.draft(
            "support_levels",
            Section.SUPPORT_AND_TARIFF,
            "People by support level and the tariff due",
            "People referred in the period whose support level was assessed, by the level in "
            "force at the period's end, and a year's tariff for each: the year from the day "
            "their first level applied, each day at the year's tariff of the level in force "
            "that day (pro rata, 365 days to the year), so a level reassessed within the year "
            "is paid at each level for its days. Plus the long-term maintenance incentive for "
            f"each person still engaged {days} days or more after their support began "
            "(attending a session, reached at a follow-up, or an outcome measured).",
            Column("people", "People", Unit.COUNT),
            Column("changed", "Of whom at another level for part of the year", Unit.COUNT),
            Column("rate", "Tariff for a year", Unit.MONEY, 2),
            Column("due", "Amount due", Unit.MONEY, 0),
        )
        for level in SupportLevel:
            t.add(level.value, level.value.capitalize(), _Fig(level_keys[level]),
                  _Fig(changed_keys[level]), _Plain(tariff.levels[level]),
                  _Fig(("support", "due", level.value)))  # fmt: skip
        t.add("maintenance", "Maintenance incentive (still engaged)", _Fig(engaged_key), BLANK,
              _Plain(tariff.maintenance), _Fig(due_m))  # fmt: skip
        t.add("total", "Total", _Fig(assessed), _Fig(changed_all), BLANK,
              _Fig(("support", "due")), total=True)  # fmt: skip
        t.notes.append(
            "People still engaged are also counted in their support level; the total counts "
            "each person once."
        )
        t.notes.append(
            "The days of a tariff year after the period's end are at the level in force at its "
            "end: a reassessment after the period is in no report of this period. A person "
            "assessed only after the period is counted at their level now, for the whole "
            "year. A report charges one year per person, however long its period."
        )
        if not noise.exact:
            t.notes.append(
                "The amount due is the tariff times the (perturbed) people, plus noise of "
                "about one person's change of level, added whether or not anyone's changed."
            )
        t.charts.append(("People by support level", "people", "", 0))

        t = self.draft(
            "subcontracting",
            Section.SUPPORT_AND_TARIFF,
            "Money passed to sub-contracted providers",
            "Each person's tariff is shared equally between the providers of the sessions "
            "they were signposted to; the shares of sub-contracted providers are passed to "
            "them, the rest (and the maintenance incentive) stays with the lead provider.",
            Column("amount", "Amount", Unit.MONEY, 0),
            Column("share", "Share of the amount due", Unit.PERCENT, 1),
        )
        due = ("support", "due")
        for key, label in ((("support", "passed"), "Passed to sub-contracted providers"),
                           (("support", "kept"), "Kept by the lead providers")):  # fmt: skip
            t.add(key[1], label, _Fig(key),
                  _Derived(_ratio(rel.value(key), due_total, 100), (key, due)))  # fmt: skip
        t.add("total", "Amount due", _Fig(due), BLANK, total=True)

    # -- outcomes --------------------------------------------------------------------------------

    def outcomes(self) -> None:
        rel = self.release
        t = self.draft(
            "outcomes",
            Section.OUTCOMES,
            "Change in outcome scores",
            "People referred in the period with a baseline and an end score on each "
            "instrument. A person's score is the mean of the instrument's items, each turned "
            "so that higher is better (ONS4 anxiety is reversed); the change is end minus "
            "baseline, in points of the instrument's scale, with a 95% confidence interval "
            "(Student's t).",
            Column("baseline", "With a baseline", Unit.COUNT),
            Column("people", "With baseline and end", Unit.COUNT),
            Column("mean_change", "Mean change", Unit.NUMBER, 2, signed=True),
            Column("ci_low", "95% CI from", Unit.NUMBER, 2, signed=True),
            Column("ci_high", "95% CI to", Unit.NUMBER, 2, signed=True),
            Column("improved", "Improved", Unit.COUNT),
            Column("improved_share", "% improved", Unit.PERCENT, 1),
            Column("same", "No change", Unit.COUNT),
            Column("same_share", "% no change", Unit.PERCENT, 1),
            Column("worse", "Worse", Unit.COUNT),
            Column("worse_share", "% worse", Unit.PERCENT, 1),
            Column("kept", "Improved or kept their score", Unit.COUNT),
            Column("kept_share", "% improved or kept", Unit.PERCENT, 1),
        )
        bands = self.draft(
            "outcomes_by_baseline",
            Section.OUTCOMES,
            "Change by baseline score",
            "The same people by where they started: the lowest, middle or top third of the "
            "instrument's scale. People who start lowest usually gain most.",
            Column("people", "People", Unit.COUNT),
            Column("mean_change", "Mean change", Unit.NUMBER, 2, signed=True),
        )
        levels = self.draft(
            "outcomes_by_level",
            Section.OUTCOMES,
            "Change by level of need",
            "The same people by their level of need (the support level in force at the "
            "period's end), with the share who improved or kept their score, as the Year of "
            "Care measures ask. A level with few people says little on its own.",
            Column("people", "People", Unit.COUNT),
            Column("kept", "Improved or kept their score", Unit.COUNT),
            Column("kept_share", "% improved or kept", Unit.PERCENT, 1),
            Column("mean_change", "Mean change", Unit.NUMBER, 2, signed=True),
        )
        every = not self.noise.exact  # a row must not say someone has a score
        for instrument in figures.instruments(self.db, self.scope, every=every):
            o = figures.outcomes(self.db, self.scope, instrument)
            i, k = o.instrument.key, o.instrument.items
            noise = self.noise
            cells = {}
            for band, g in o.groups.items():
                for direction, n in (("improved", g.improved), ("same", g.same),
                                     ("worse", g.worse)):  # fmt: skip
                    cells[band, direction] = (n, g.keys.get(direction, 0))
            grid = _Grid(rel, noise, ("outcomes", i), cells)
            n_key = ("outcomes", i, "people")
            n = grid.count(n_key, lambda a: True, is_total=True)
            base_key = rel.count(
                ("outcomes", i, "baseline"), noise.count(o.with_baseline, o.baseline_keys)
            )
            rel.group(("outcomes", i, "no end score"), {base_key: 1, n_key: -1})
            direction_keys = {}
            for d in ("improved", "same", "worse"):
                direction_keys[d] = ("outcomes", i, d)
                grid.count(direction_keys[d], lambda a, d=d: a[1] == d)
            kept_key = ("outcomes", i, "kept")
            kept = grid.count(kept_key, lambda a: a[1] != "worse")
            band_keys, band_n = {}, {}
            for b in figures.BANDS:
                band_keys[b] = ("outcomes", i, "band", b)
                band_n[b] = grid.count(band_keys[b], lambda a, b=b: a[0] == b)
            grid.differences()
            # Sums of changes: no one person adds more than the largest change in them.
            sums, band_sum = {}, {}
            for b in figures.BANDS:
                g = o.groups.get(b)
                band_sum[b] = (noise.amount(g.sum_change, g.all_keys, g.largest, "change")
                               if g else Fraction(0))  # fmt: skip
                sums[b] = rel.amount(("outcomes", i, "sum", b), band_sum[b],
                                     follows=[band_keys[b]])  # fmt: skip
            groups = o.groups.values()
            all_keys = sum(g.all_keys for g in groups)
            largest = max((g.largest for g in groups), default=0)
            total_change = noise.amount(sum(g.sum_change for g in groups), all_keys, largest,
                                        "change")  # fmt: skip
            sum_key = rel.amount(("outcomes", i, "sum"), total_change, follows=[n_key])
            rel.sum(sums.values(), sum_key)
            square = noise.amount(sum(g.sum_square for g in groups), all_keys, largest**2,
                                  "square")  # fmt: skip
            interval = figures.mean_interval(n, float(total_change), float(square))
            mean = _ratio(total_change, n * k)
            low = high = None
            if interval is not None:
                low, high = interval[1] / k, interval[2] / k
            counts = {d: rel.value(key) for d, key in direction_keys.items()}
            t.add(
                i,
                o.instrument.name,
                _Fig(base_key),
                _Fig(n_key),
                _Derived(mean, (n_key, sum_key)),
                _Derived(low, (n_key, sum_key)),
                _Derived(high, (n_key, sum_key)),
                *[
                    spec
                    for d in ("improved", "same", "worse")
                    for spec in (
                        _Fig(direction_keys[d]),
                        _Derived(_ratio(counts[d], n, 100), (direction_keys[d], n_key)),
                    )
                ],
                _Fig(kept_key),
                _Derived(_ratio(kept, n, 100), (kept_key, n_key)),
            )
            self.outcomes_by_level(levels, instrument, n_key, sum_key)
            low_point, width = (
                o.instrument.scale_min,
                o.instrument.scale_max - o.instrument.scale_min,
            )
            for j, b in enumerate(figures.BANDS):
                g = o.groups.get(b)
                lo = low_point + Fraction(width * j, 3)
                hi = low_point + Fraction(width * (j + 1), 3)
                bands.add(
                    f"{i}:{b}",
                    f"{BAND_LABELS[b]} ({float(lo):.3g} to {'under ' if j < 2 else ''}"
                    f"{float(hi):.3g})",
                    _Fig(band_keys[b]),
                    _Derived(
                        _ratio(band_sum[b], band_n[b] * k) if g else None, (band_keys[b], sums[b])
                    ),  # fmt: skip
                    group=o.instrument.name,
                    short=f"{o.instrument.name[:18]}: {b.lower()}",
                )
        if not t.rows:
            t.notes.append("No baseline scores were recorded for these referrals.")
            bands.notes.append("No baseline scores were recorded for these referrals.")
        if not levels.rows:
            levels.notes.append("No baseline scores were recorded for these referrals.")
        t.charts.append(("% of people improved, by instrument", "improved_share", "%", 0))
        levels.charts.append(("% improved or kept their score, by level of need",
                              "kept_share", "%", 0))  # fmt: skip
        bands.charts.append(("Mean change by baseline score", "mean_change", "", 2))

    def outcomes_by_level(
        self, t: _Draft, instrument: object, n_key: Hashable, sum_key_all: Hashable
    ) -> None:
        """One instrument's rows of "Change by level of need": the same people as its row
        in "Change in outcome scores" (``n_key``), by level."""
        rel, noise = self.release, self.noise
        o = figures.outcomes(self.db, self.scope, instrument, by_level=True)  # type: ignore[arg-type]
        i, k = o.instrument.key, o.instrument.items
        cells = {}
        for level, g in o.groups.items():
            for direction, n in (("improved", g.improved), ("same", g.same),
                                 ("worse", g.worse)):  # fmt: skip
                cells[level, direction] = (n, g.keys.get(direction, 0))
        grid = _Grid(rel, noise, ("outcomes_level", i), cells)
        grid.count(n_key, lambda a: True, new=False, is_total=True)
        # Every level, and "not assessed", whoever has a score: a row must not appear with
        # the first person it counts.
        sum_keys = []
        for level in [*(lv.value for lv in SupportLevel), "NONE"]:
            people_key = ("outcomes", i, "level", level)
            kept_key = ("outcomes", i, "level", level, "kept")
            n = grid.count(people_key, lambda a, lv=level: a[0] == lv)
            kept = grid.count(kept_key, lambda a, lv=level: a[0] == lv and a[1] != "worse")
            g = o.groups.get(level)
            change = (noise.amount(g.sum_change, g.all_keys, g.largest, "change")
                      if g else Fraction(0))  # fmt: skip
            sum_key = rel.amount(("outcomes", i, "level", level, "sum"), change,
                                 follows=[people_key])  # fmt: skip
            sum_keys.append(sum_key)
            label = "Not assessed" if level == "NONE" else level.capitalize()
            t.add(
                f"{i}:{level}",
                label,
                _Fig(people_key),
                _Fig(kept_key),
                _Derived(_ratio(kept, n, 100), (kept_key, people_key)),
                _Derived(_ratio(change, n * k) if g else None, (people_key, sum_key)),
                group=o.instrument.name,
                short=f"{o.instrument.name[:18]}: {label.lower()}",
            )
        rel.sum(sum_keys, sum_key_all)
        grid.differences()

    # -- NHS use ---------------------------------------------------------------------------------

    def nhs_use(self) -> None:
        rel, costs = self.release, self.unit_costs
        use = figures.nhs_use(self.db, self.scope, costs)
        noise = self.noise
        people = noise.count(use.n, use.keys)
        n_key = rel.count(("nhs", "people"), people)

        def events(when: str, c: str, total: int) -> int:
            # A total of events: no one person adds more than the most any one person had.
            noisy = noise.amount(total, use.keys, use.largest.get(f"{when}:{c}", 0), when + c)
            return max(0, round(noisy))

        before_n = {c: events("before", c, use.before[c]) for c in NHS_CATEGORIES}
        after_n = {c: events("after", c, use.after[c]) for c in NHS_CATEGORIES}
        saving_terms: dict[Hashable, Fraction] = {}
        t = self.draft(
            "nhs_use",
            Section.NHS_USE,
            "NHS use in the 6 months before and after, per person",
            "People referred in the period whose practice recorded their NHS use for the 6 "
            "months before and the 6 months after their support; means per person, and the "
            "cost of the difference at the unit costs shown (positive: less use after).",
            Column("unit_cost", "Unit cost", Unit.MONEY, 2),
            Column("total_before", "Total before", Unit.COUNT),
            Column("total_after", "Total after", Unit.COUNT),
            Column("before", "Mean before", Unit.NUMBER, 2),
            Column("after", "Mean after", Unit.NUMBER, 2),
            Column("change", "Change", Unit.NUMBER, 2, signed=True),
            Column("saving", "Cost avoided per person", Unit.MONEY, 2),
        )
        saving = Fraction(0)
        for c in NHS_CATEGORIES:
            before = rel.count(("nhs", "before", c), before_n[c])
            after = rel.count(("nhs", "after", c), after_n[c])
            unit = Fraction(costs.costs[c])
            saving_terms[before] = saving_terms.get(before, Fraction(0)) + unit
            saving_terms[after] = saving_terms.get(after, Fraction(0)) - unit
            diff = before_n[c] - after_n[c]
            saving += unit * diff
            t.add(
                c,
                NHS_LABELS[c],
                _Plain(costs.costs[c]),
                _Fig(before),
                _Fig(after),
                _Derived(_ratio(before_n[c], people), (n_key, before)),
                _Derived(_ratio(after_n[c], people), (n_key, after)),
                _Derived(_ratio(-diff, people), (n_key, before, after)),
                _Derived(_ratio(unit * diff, people), (n_key, before, after)),
            )
        # The total follows from the totals shown (exactly so when the figures are exact).
        total_key = rel.amount(("nhs", "cost avoided"), saving)
        rel.equation({**saving_terms, total_key: -1})

        largest = Fraction(use.largest.get("saving", 0), 100)
        square = noise.amount(Fraction(use.sum_square) / 10_000, use.keys, largest**2, "square")
        interval = figures.mean_interval(people, float(saving), float(square))
        mean = _ratio(saving, people)
        low = high = None
        if interval is not None:
            low, high = interval[1], interval[2]
        t = self.draft(
            "cost_avoided",
            Section.NHS_USE,
            "Estimated NHS cost avoided",
            "Per person: the cost of their NHS use in the 6 months before minus the 6 months "
            "after. The total is the sum over the people it rests on; the 95% confidence "
            "interval (Student's t) shows how uncertain the estimate is. It is a before and "
            "after comparison with no control group: other things change too.",
            Column("people", "People it rests on", Unit.COUNT),
            Column("per_person", "Mean per person", Unit.MONEY, 2),
            Column("per_person_low", "95% CI from", Unit.MONEY, 2),
            Column("per_person_high", "95% CI to", Unit.MONEY, 2),
            Column("total", "Total", Unit.MONEY, 0),
            Column("total_low", "Total, 95% CI from", Unit.MONEY, 0),
            Column("total_high", "Total, 95% CI to", Unit.MONEY, 0),
        )
        rests = (n_key, total_key)
        t.add(
            "all",
            "Cost avoided",
            _Fig(n_key),
            _Derived(mean, rests),
            _Derived(low, rests),
            _Derived(high, rests),
            _Fig(total_key),
            _Derived(None if low is None else low * people, rests),
            _Derived(None if high is None else high * people, rests),
        )

    # -- unmet need against supply ---------------------------------------------------------------

    def unmet_need(self) -> None:
        rel = self.release
        needs = figures.unmet_needs(self.db, self.scope)
        sessions, _providers = figures.supply(self.db, self.scope)
        self.sessions, self.providers = sessions, _providers
        locs = self.localities
        t = self.draft(
            "unmet_need_vs_supply",
            Section.UNMET_NEED,
            "Unmet need against supply",
            "Needs recorded in care planning in the period that nothing in the directory met, "
            "against the sessions the directory lists today, by domain and locality: where "
            "needs are many and sessions few is where to commission next.",
            Column("unmet", "Unmet needs", Unit.COUNT),
            Column("sessions", "Sessions listed", Unit.COUNT),
            Column("per_session", "Unmet needs per session", Unit.NUMBER, 2),
        )

        def count(where: Callable[[Domain, int], bool]) -> int:
            chosen = [v for (d, lo), v in needs.items() if where(d, lo)]
            return self.noise.count(sum(n for n, _k in chosen), sum(k for _n, k in chosen))

        grand = count(lambda d, lo: True)
        grand_key = rel.count(("unmet", "all"), grand)
        loc_n = {loc: count(lambda d, lo, loc=loc: lo == loc) for loc, _name in locs}
        loc_keys = {}
        for loc, _name in locs:
            loc_keys[loc] = rel.count(("unmet", "locality", loc), loc_n[loc])
        rel.sum(loc_keys.values(), grand_key)
        domain_keys = []
        per_loc: dict[int, list[Hashable]] = {loc: [] for loc, _ in locs}
        for domain in NEED_DOMAINS:
            code, group = _need_code(domain), self.need_label(domain)
            cell_keys = []
            for loc, name in locs:
                n = count(lambda d, lo, domain=domain, loc=loc: (d, lo) == (domain, loc))
                key = rel.count(("unmet", code, loc), n)
                cell_keys.append(key)
                per_loc[loc].append(key)
                s = sessions.get((domain, loc), 0)
                t.add(f"{code}:{loc}", name, _Fig(key), _Plain(s),
                      _Derived(_ratio(n, s), (key,)), group=group)  # fmt: skip
            n = count(lambda d, lo, domain=domain: d is domain)
            key = rel.count(("unmet", code), n)
            domain_keys.append(key)
            rel.sum(cell_keys, key)
            s = sum(v for (d, lo), v in sessions.items() if d is domain)
            t.add(f"{code}:all", "All localities", _Fig(key), _Plain(s),
                  _Derived(_ratio(n, s), (key,)), group=group, total=True)  # fmt: skip
        rel.sum(domain_keys, grand_key)
        for loc, keys in per_loc.items():
            rel.sum(keys, loc_keys[loc])
        for loc, name in locs:
            n = loc_n[loc]
            s = sum(v for (_d, lo), v in sessions.items() if lo == loc)
            rate = _Derived(_ratio(n, s), (loc_keys[loc],))
            t.add(f"all:{loc}", name, _Fig(loc_keys[loc]), _Plain(s), rate, group="All domains",
                  total=True)  # fmt: skip
        s = sum(sessions.values())
        t.add("total", "All domains", _Fig(grand_key), _Plain(s),
              _Derived(_ratio(grand, s), (grand_key,)), total=True)  # fmt: skip
        t.notes.append(
            "A session in several domains counts once in each. Sessions online or at home "
            "with no locality count only in the 'All localities' rows. \"Other\" counts "
            "needs that fit none of the six domains; what they are (a short description) is "
            "never in the report, as free text could identify someone."
        )

        chart = self.draft(
            "unmet_need_by_domain",
            Section.UNMET_NEED,
            "Unmet needs by domain",
            "Unmet needs recorded in the period, all localities together.",
            Column("unmet", "Unmet needs", Unit.COUNT),
            Column("sessions", "Sessions listed", Unit.COUNT),
        )
        for domain, key in zip(NEED_DOMAINS, domain_keys, strict=True):
            s = sum(v for (d, lo), v in sessions.items() if d is domain)
            chart.add(_need_code(domain), self.need_label(domain), _Fig(key), _Plain(s))
        chart.add("total", "All domains", _Fig(grand_key), _Plain(sum(sessions.values())),
                  total=True)  # fmt: skip
        chart.charts.append(("Unmet needs by domain", "unmet", "", 0))
        chart.charts.append(("Sessions listed by domain", "sessions", "", 0))

    # -- directory health ------------------------------------------------------------------------

    def directory(self) -> None:
        groups = figures.provider_groups(self.db, self.scope, self.as_of)
        rows: list[tuple[int | None, str]] = list(self.localities)
        if self.scope.locality_ids is None and any(g.locality_id is None for g in groups):
            rows.append((None, "(no locality)"))
        t = self.draft(
            "directory_health",
            Section.DIRECTORY,
            "Directory health",
            f"Providers in the directory as at {self.as_of:%d %B %Y}: published, how many "
            "confirmed their entry in the last 6 and 12 months, how they were listed, and "
            "how many wait for moderation. Providers are organisations, not people: these "
            "figures are not suppressed.",
            Column("published", "Published providers", Unit.COUNT),
            Column("confirmed_6", "% confirmed in 6 months", Unit.PERCENT, 1),
            Column("confirmed_12", "% confirmed in 12 months", Unit.PERCENT, 1),
            Column("self_registered", "Self-registered", Unit.COUNT),
            Column("added_by_lead", "Added by the lead provider", Unit.COUNT),
            Column("pending", "Pending moderation", Unit.COUNT),
        )

        def add(key: str, label: str, chosen: Iterable[figures.ProviderGroup], total: bool) -> None:
            chosen = list(chosen)
            published = [g for g in chosen if g.status is ListingStatus.PUBLISHED]
            n = sum(g.count for g in published)
            six = sum(g.count for g in published if g.confirmed == "6")
            twelve = six + sum(g.count for g in published if g.confirmed == "12")
            t.add(
                key,
                label,
                _Plain(n),
                _Plain(_ratio(six, n, 100)),
                _Plain(_ratio(twelve, n, 100)),
                _Plain(sum(g.count for g in published if g.listed_by is ListedBy.SELF_REGISTERED)),
                _Plain(sum(g.count for g in published if g.listed_by is ListedBy.ADDED_BY_LEAD)),
                _Plain(sum(g.count for g in chosen if g.status is ListingStatus.PENDING)),
                total=total,
            )

        for loc, name in rows:
            add(str(loc) if loc else "none", name, (g for g in groups if g.locality_id == loc),
                False)  # fmt: skip
        add("total", "Total", groups, True)
        t.charts.append(("% of providers confirmed in the last 12 months", "confirmed_12", "%", 0))

        sessions, providers = self.sessions, self.providers
        t = self.draft(
            "directory_by_domain",
            Section.DIRECTORY,
            "Providers and sessions by domain and locality",
            "Published providers with a session in each domain (by the provider's locality) "
            "and published sessions (by the session's locality).",
            Column("providers", "Providers", Unit.COUNT),
            Column("sessions", "Sessions", Unit.COUNT),
        )
        for domain in Domain:
            for loc, name in rows:
                t.add(f"{domain.value}:{loc}", name, _Plain(providers.get((domain, loc), 0)),
                      _Plain(sessions.get((domain, loc), 0)), group=self.label(domain))  # fmt: skip
            t.add(f"{domain.value}:all", "All localities",
                  _Plain(sum(v for (d, _l), v in providers.items() if d is domain)),
                  _Plain(sum(v for (d, _l), v in sessions.items() if d is domain)),
                  group=self.label(domain), total=True)  # fmt: skip
