"""The report's published shape (a Report of Tables of Rows of Cells) and the machinery
that turns the figures of a section into a table: cells before disclosure control (_Fig, a
published figure; _Derived, worked out from published figures; _Plain, not about people),
the draft of a table (_Draft), the table once the release is solved (_finish), and
cross-classifications of people whose counts are sums of latent cells (_Grid).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from itertools import combinations

from api.reports.charts import bar_chart
from api.reports.costs import Tariff, UnitCosts
from api.reports.disclosure import CONFIDENTIAL, HIDDEN, RULE, THRESHOLD, Release, Released
from api.reports.noise import Noise

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
    "from the perturbed figures (the tariff due with noise of about one person's change of "
    "level added). Totals need not equal the sum of their rows. A perturbed "
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


ALL = ("referrals",)  # the release key of "referrals received in the period"
