"""Disclosure control for published tables: small numbers are never shown, nor recoverable.

Rule (stated in every report): a count from 1 to 4 is shown as "<5" (primary suppression).
Because a table's totals are published, one hidden cell in a row or column could be worked
out by subtraction, so further cells are hidden until no row, column or total line has exactly
one hidden member (secondary suppression). Zeros are shown: a zero reveals nobody. Anything
derived from a hidden count (a percentage, a mean, a difference) is hidden too: see
``derived``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
