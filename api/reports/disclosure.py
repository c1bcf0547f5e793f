"""Disclosure control for published tables: small numbers are never shown, nor recoverable.

Rule (stated in every report): a count from 1 to 4 is shown as "<5" (primary suppression).
Because a table's totals are published, one hidden cell in a row or column could be worked
out by subtraction, so further cells are hidden until no row, column or total line has exactly
one hidden member (secondary suppression). Zeros are shown: a zero reveals nobody. Anything
derived from a hidden count (a percentage, a mean, a difference) is hidden too: see
``derived``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

THRESHOLD = 5
HIDDEN = "<5"
RULE = (
    'Counts from 1 to 4 are shown as "<5", and further figures are hidden where they '
    "would let a hidden count be worked out from the totals. Figures derived from hidden "
    "counts (rates, averages, changes) are not shown."
)


@dataclass(frozen=True)
class Protected:
    """A table of counts with its totals; None marks a hidden figure."""

    rows: list[str]
    cols: list[str]
    cells: list[list[int | None]]
    row_totals: list[int | None]
    col_totals: list[int | None]
    total: int | None

    def cell(self, row: str, col: str) -> int | None:
        return self.cells[self.rows.index(row)][self.cols.index(col)]

    @staticmethod
    def show(value: int | None) -> str:
        return HIDDEN if value is None else str(value)


Key = tuple[str, int, int]


def recoverable(lines: list[list[Key]], hidden: set[Key]) -> list[Key]:
    """Hidden figures that the published ones determine exactly. Each line says its members
    add up to its last member; a hidden figure is determined when its unit vector lies in the
    row space of those equations over the hidden figures (exact arithmetic)."""
    unknowns = sorted(hidden)
    index = {key: n for n, key in enumerate(unknowns)}
    equations = []
    for line in lines:
        row = [Fraction(0)] * len(unknowns)
        for key in line[:-1]:
            if key in index:
                row[index[key]] += 1
        if line[-1] in index:
            row[index[line[-1]]] -= 1
        if any(row):
            equations.append(row)
    base = _rank(equations)
    return [
        key
        for key in unknowns
        if _rank([*equations, [Fraction(int(n == index[key])) for n in range(len(unknowns))]])
        == base
    ]


def _rank(rows: list[list[Fraction]]) -> int:
    """Rank by Gaussian elimination (exact, on Fractions; the tables are small)."""
    rows = [r[:] for r in rows]
    rank, col, width = 0, 0, len(rows[0]) if rows else 0
    while rank < len(rows) and col < width:
        pivot = next((r for r in range(rank, len(rows)) if rows[r][col] != 0), None)
        if pivot is None:
            col += 1
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for r in range(len(rows)):
            if r != rank and rows[r][col] != 0:
                factor = rows[r][col] / rows[rank][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[rank], strict=True)]
        rank += 1
        col += 1
    return rank


def _is_small(value: int, threshold: int) -> bool:
    return 0 < value < threshold


def protect(
    rows: Sequence[str],
    cols: Sequence[str],
    counts: Sequence[Sequence[int]],
    *,
    threshold: int = THRESHOLD,
) -> Protected:
    """Suppress a rows x cols table of counts and its row, column and grand totals."""
    n_rows, n_cols = len(rows), len(cols)
    if len(counts) != n_rows or any(len(r) != n_cols for r in counts):
        raise ValueError("counts must have one row per row label and one value per column")
    if any(v < 0 for r in counts for v in r):
        raise ValueError("counts cannot be negative")
    # Every figure as a (kind, i, j) key: cells, row totals, column totals, the grand total.
    values: dict[Key, int] = {}
    for i in range(n_rows):
        for j in range(n_cols):
            values["c", i, j] = counts[i][j]
        values["r", i, 0] = sum(counts[i])
    for j in range(n_cols):
        values["k", 0, j] = sum(counts[i][j] for i in range(n_rows))
    values["t", 0, 0] = sum(values["r", i, 0] for i in range(n_rows))

    # Each line is an equation: its members other than the last add up to the last.
    lines = [[("c", i, j) for j in range(n_cols)] + [("r", i, 0)] for i in range(n_rows)]
    lines += [[("c", i, j) for i in range(n_rows)] + [("k", 0, j)] for j in range(n_cols)]
    lines.append([("r", i, 0) for i in range(n_rows)] + [("t", 0, 0)])
    lines.append([("k", 0, j) for j in range(n_cols)] + [("t", 0, 0)])

    hidden = {key for key, value in values.items() if _is_small(value, threshold)}

    def hide_partner(line: list[Key]) -> None:
        # Hide the smallest non-zero figure left in the line, preferring cells to the total;
        # a zero only when nothing else is left (hiding a zero protects little).
        left = [k for k in line if k not in hidden]
        left.sort(key=lambda k: (values[k] == 0, k == line[-1], values[k]))
        hidden.add(left[0])

    while True:
        # Fast pass: no line may have exactly one hidden member (subtraction gives it away).
        lonely = [line for line in lines if sum(k in hidden for k in line) == 1]
        if lonely:
            hide_partner(lonely[0])
            continue
        # Full check: no hidden non-zero figure may follow from all the equations together.
        pinned = [k for k in recoverable(lines, hidden) if values[k] > 0]
        if not pinned:
            break
        line = next(
            line for line in lines if pinned[0] in line and any(k not in hidden for k in line)
        )
        hide_partner(line)

    def out(key: Key) -> int | None:
        return None if key in hidden else values[key]

    return Protected(
        rows=list(rows),
        cols=list(cols),
        cells=[[out(("c", i, j)) for j in range(n_cols)] for i in range(n_rows)],
        row_totals=[out(("r", i, 0)) for i in range(n_rows)],
        col_totals=[out(("k", 0, j)) for j in range(n_cols)],
        total=out(("t", 0, 0)),
    )


def protect_list(
    labels: Sequence[str], counts: Sequence[int], *, threshold: int = THRESHOLD
) -> tuple[list[int | None], int | None]:
    """A single column of counts and its total: (shown counts, shown total)."""
    table = protect(labels, ["n"], [[c] for c in counts], threshold=threshold)
    return [row[0] for row in table.cells], table.total


def derived(value: float | None, *counts: int | None, threshold: int = THRESHOLD) -> float | None:
    """``value`` if every count it rests on may be shown, else None (hidden)."""
    if value is None or any(c is None or _is_small(c, threshold) for c in counts):
        return None
    return value


# ---------------------------------------------------------------------------------------------
# Linked tables: a whole report's figures released together.
#
# ``protect`` handles one table and its own totals. A report publishes the same people in many
# tables (by month, by practice, by locality, by status...), and a figure in one table can be
# worked out from others: a locality's count is the sum of its practices', the difference
# between "contacted" and "assessed" is the number who stopped in between, an amount due is a
# count times a tariff. ``Release`` takes every figure of a report with every linear equation
# that ties them (any rational coefficients), including *latent* figures a reader never sees
# but could work out (the people in one cell of a cross-classification), and *groups*: sums of
# figures that count people (the people who stopped between two stages). It suppresses until
#
# - no published count from 1 to 4 is shown (primary suppression, shown as "<5");
# - no hidden published figure that is not zero can be worked out exactly from the shown ones
#   (secondary suppression, shown as "[c]");
# - no latent figure or group that counts 1 to 4 people can be worked out exactly;
# - a figure that ``follows`` a hidden one (an amount due on a hidden count) is hidden too.
#
# "Worked out exactly" is exact linear algebra over the rationals on all the equations at once:
# a quantity is determined when its coefficients lie in the row space of the equations
# restricted to the unknown figures.

CONFIDENTIAL = "[c]"
Vector = dict[Hashable, Fraction]


class FigureKind(StrEnum):
    COUNT = "COUNT"  # people (or events): 1 to 4 is never shown
    AMOUNT = "AMOUNT"  # money, sums of scores: shown unless it gives a hidden figure away
    LATENT = "LATENT"  # never shown; protected when it counts 1 to 4


@dataclass
class _Figure:
    value: Fraction
    kind: FigureKind
    follows: tuple[Hashable, ...]


class Release:
    """Figures published together and the equations between them (see above).

    ``perturbed``: the figures carry cell key noise (api/reports/noise.py), so no equation
    between published figures holds exactly and none can pin a hidden figure down; only
    primary suppression applies, to the perturbed counts from 0 to 4 (a 0 too, since a
    perturbed count of 1 or 2 may come out as 0), and figures that follow a hidden one."""

    def __init__(self, *, threshold: int = THRESHOLD, perturbed: bool = False) -> None:
        self.threshold = threshold
        self.perturbed = perturbed
        self._figures: dict[Hashable, _Figure] = {}
        self._equations: list[Vector] = []
        self._groups: dict[Hashable, Vector] = {}
        self._totals: set[Hashable] = set()

    # -- building ------------------------------------------------------------------------------

    def _add(self, key: Hashable, value: float | Fraction, kind: FigureKind,
             follows: Sequence[Hashable] = ()) -> Hashable:  # fmt: skip
        if key in self._figures:
            raise ValueError(f"figure {key!r} is already in the release")
        if kind is not FigureKind.AMOUNT and (int(value) != value or value < 0):
            raise ValueError(f"count {key!r} must be a whole number >= 0, not {value}")
        for f in follows:
            if f not in self._figures:
                raise KeyError(f"{key!r} follows unknown figure {f!r}")
        self._figures[key] = _Figure(Fraction(value), kind, tuple(follows))
        return key

    def count(self, key: Hashable, value: int) -> Hashable:
        """A published count of people (or events)."""
        return self._add(key, value, FigureKind.COUNT)

    def amount(
        self, key: Hashable, value: float | Fraction, *, follows: Sequence[Hashable] = ()
    ) -> Hashable:
        """A published figure that is not a count (money, a sum of score changes)."""
        return self._add(key, value, FigureKind.AMOUNT, follows)

    def latent(self, key: Hashable, value: int) -> Hashable:
        """A count that is never published but may be worked out (a cell behind a table)."""
        if self.perturbed:
            return key  # nothing can be worked out exactly from perturbed figures
        return self._add(key, value, FigureKind.LATENT)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._figures

    def value(self, key: Hashable) -> Fraction:
        return self._figures[key].value

    def equation(self, terms: dict[Hashable, float | Fraction]) -> None:
        """sum(coefficient * figure) == 0; it must hold for the true values (checked)."""
        if self.perturbed:
            return  # perturbed figures do not add up exactly: nothing to solve
        equation = self._vector(terms)
        if self._evaluate(equation) != 0:
            raise ValueError(f"equation does not hold for the true values: {terms!r}")
        if equation:
            self._equations.append(equation)

    def sum(self, parts: Iterable[Hashable], total: Hashable, *, is_total: bool = True) -> None:
        """total == sum(parts). A table's total is hidden only when nothing else will do;
        ``is_total=False`` for a count that merely is a sum of latent cells."""
        terms: dict[Hashable, float | Fraction] = {}
        for key in parts:
            terms[key] = terms.get(key, 0) + 1
        terms[total] = terms.get(total, 0) - 1
        if is_total:
            self._totals.add(total)
        self.equation(terms)

    def group(self, key: Hashable, terms: dict[Hashable, float | Fraction]) -> None:
        """A number of people given by figures (a difference of two nested counts...): never
        published, and it must not be possible to work it out when it is 1 to 4."""
        if self.perturbed:
            return
        self._groups[key] = self._vector(terms)

    def _vector(self, terms: dict[Hashable, float | Fraction]) -> Vector:
        for key in terms:
            if key not in self._figures:
                raise KeyError(f"unknown figure {key!r}")
        return {k: Fraction(c) for k, c in terms.items() if c != 0}

    def _evaluate(self, vector: Vector) -> Fraction:
        return sum((c * self._figures[k].value for k, c in vector.items()), Fraction(0))

    @property
    def equations(self) -> list[Vector]:
        return [dict(e) for e in self._equations]

    @property
    def groups(self) -> dict[Hashable, Vector]:
        return {k: dict(v) for k, v in self._groups.items()}

    def kind(self, key: Hashable) -> FigureKind:
        return self._figures[key].kind

    # -- solving -------------------------------------------------------------------------------

    def _small(self, value: Fraction) -> bool:
        return 0 < value < self.threshold

    def solve(self) -> Released:
        if self.perturbed:
            return self._solve_perturbed()
        figures = self._figures
        latent = {k for k, f in figures.items() if f.kind is FigureKind.LATENT}
        hidden = {
            k for k, f in figures.items() if f.kind is FigureKind.COUNT and self._small(f.value)
        }
        primary = frozenset(hidden)
        groups = {k: v for k, v in self._groups.items() if self._small(self._evaluate(v))}

        while True:
            self._follow(hidden)
            unknown = hidden | latent
            basis = _Basis([_restrict(e, unknown) for e in self._equations])
            pinned: list[tuple[Hashable, Vector]] = []
            for key in sorted(unknown, key=repr):
                sensitive = (
                    self._small(figures[key].value) if key in latent else figures[key].value != 0
                )
                if sensitive and basis.contains({key: Fraction(1)}):
                    pinned.append((key, {key: Fraction(1)}))
            for key, vector in sorted(groups.items(), key=lambda kv: repr(kv[0])):
                part = _restrict(vector, unknown)
                if basis.contains(part):
                    pinned.append((key, vector))
            if not pinned:
                break
            self._hide_partner(pinned[0][1], hidden, latent)
        return Released(
            {
                k: (None if k in hidden or k in latent else f.value)
                for k, f in figures.items()
                if f.kind is not FigureKind.LATENT
            },
            primary=primary,
        )

    def _solve_perturbed(self) -> Released:
        hidden = {
            k
            for k, f in self._figures.items()
            if f.kind is FigureKind.COUNT and f.value < self.threshold
        }
        primary = frozenset(hidden)
        self._follow(hidden)
        return Released(
            {k: (None if k in hidden else f.value) for k, f in self._figures.items()},
            primary=primary,
        )

    def _follow(self, hidden: set[Hashable]) -> None:
        changed = True
        while changed:
            changed = False
            for key, figure in self._figures.items():
                if key not in hidden and any(f in hidden for f in figure.follows):
                    hidden.add(key)
                    changed = True

    def _preference(self, key: Hashable) -> tuple:
        """Which shown figure to hide first: a non-zero one before a zero (hiding a zero
        protects little), a table's cell before its total, the smallest first."""
        value = self._figures[key].value
        return (value == 0, key in self._totals, abs(value), repr(key))

    def _hide_partner(self, vector: Vector, hidden: set[Hashable], latent: set[Hashable]) -> None:
        """Hide one more shown figure so that ``vector`` is no longer pinned.

        Candidates are the shown figures of the equations through ``vector``, then of the
        equations one step further out (breadth first). The first candidate, in order of
        preference, whose hiding alone un-pins ``vector`` is hidden; when none does, the most
        preferred candidate of the nearest equations is hidden and the caller looks again."""
        seen, frontier = set(vector), set(vector)
        fallback: Hashable | None = None
        pinning = _Pinning(self._equations, hidden | latent, vector)
        while frontier:
            through = [e for e in self._equations if any(k in e for k in frontier)]
            candidates = sorted(
                {k for e in through for k in e if k not in hidden and k not in latent},
                key=self._preference,
            )
            for key in candidates:
                if not pinning.pinned_with(key):
                    hidden.add(key)
                    return
            if fallback is None and candidates:
                fallback = candidates[0]
            frontier = {k for e in through for k in e} - seen
            seen |= frontier
        if fallback is None:
            raise AssertionError(f"nothing left to hide that would protect {vector!r}")
        hidden.add(fallback)


@dataclass(frozen=True)
class Released:
    """What may be published: each published figure's value, or None when hidden.
    ``primary`` are the counts hidden for being 1 to 4 (printed "<5"); the other hidden
    figures protect them (printed "[c]")."""

    values: dict[Hashable, Fraction | None]
    primary: frozenset[Hashable]

    def __getitem__(self, key: Hashable) -> Fraction | None:
        return self.values[key]

    def shown(self, key: Hashable) -> bool:
        return self.values[key] is not None

    def mark(self, key: Hashable) -> str:
        """How a hidden figure is printed."""
        return HIDDEN if key in self.primary else CONFIDENTIAL


class _Pinning:
    """Whether ``vector`` (pinned by the equations with ``unknown`` hidden) stays pinned when
    one more figure ``k`` is hidden, without solving the equations again for each ``k``.

    With A the equations restricted to the unknowns (a row per equation) and a_k the
    column of k: ``vector`` stays pinned when some combination c of the equations has
    c.A = vector on the unknowns and c.a_k = vector[k]. The combinations with c.A = vector
    differ by those with c.A = 0; if one of those has c.a_k != 0, any value of c.a_k is
    reached (still pinned). Otherwise a_k is a combination A.x of the unknowns' columns, c.a_k
    = vector.x for every such c, and it stays pinned exactly when vector.x = vector[k], that
    is when (a_k, vector[k]) is a combination of the unknowns' (column, vector value)."""

    def __init__(self, equations: list[Vector], unknown: set[Hashable], vector: Vector) -> None:
        self.equations, self.vector = equations, vector
        columns: dict[Hashable, Vector] = {}
        for i, equation in enumerate(equations):
            for key, c in equation.items():
                if key in unknown:
                    columns.setdefault(key, {})[i] = c
        self.columns = _Basis(columns.values())
        self.with_vector = _Basis(self._value(column, key) for key, column in columns.items())

    def _value(self, column: Vector, key: Hashable) -> Vector:
        value = self.vector.get(key, Fraction(0))
        return {**column, _VALUE: value} if value else column

    def pinned_with(self, key: Hashable) -> bool:
        column = {i: e[key] for i, e in enumerate(self.equations) if key in e}
        if not self.columns.contains(column):
            return True
        return self.with_vector.contains(self._value(column, key))


_VALUE = ("the vector's value",)  # the extra coordinate of _Pinning's columns


def _restrict(vector: Vector, keep: set[Hashable]) -> Vector:
    return {k: c for k, c in vector.items() if k in keep}


class _Basis:
    """The row space of some equations, in reduced row echelon form (sparse rows, exact)."""

    def __init__(self, rows: Iterable[Vector]) -> None:
        self.pivots: dict[Hashable, Vector] = {}
        for row in rows:
            self._add(row)

    def _reduce(self, vector: Vector) -> Vector:
        out = dict(vector)
        # Pivot rows are fully reduced, so removing one pivot column never brings back another.
        for col in [c for c in vector if c in self.pivots]:
            factor = out.get(col)
            if not factor:
                continue
            for k, c in self.pivots[col].items():
                value = out.get(k, Fraction(0)) - factor * c
                if value:
                    out[k] = value
                else:
                    out.pop(k, None)
        return out

    def _add(self, row: Vector) -> None:
        reduced = self._reduce(row)
        if not reduced:
            return
        col = min(reduced, key=repr)
        lead = reduced[col]
        reduced = {k: c / lead for k, c in reduced.items()}
        for other in self.pivots.values():
            factor = other.get(col)
            if factor:
                for k, c in reduced.items():
                    value = other.get(k, Fraction(0)) - factor * c
                    if value:
                        other[k] = value
                    else:
                        other.pop(k, None)
        self.pivots[col] = reduced

    def contains(self, vector: Vector) -> bool:
        """Whether ``vector``'s combination of unknowns follows from the equations."""
        return not self._reduce(vector)
