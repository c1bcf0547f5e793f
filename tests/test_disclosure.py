"""Disclosure control: no count from 1 to 4 is shown, and no hidden figure can be worked out
from the published ones (checked by linear algebra over every published equation)."""

from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from api.reports.disclosure import HIDDEN, Protected, derived, protect, protect_list


def determined(table: Protected, counts: list[list[int]]) -> list[str]:
    """Hidden non-zero figures that the published figures pin down exactly: an independent
    check (numpy's SVD rank, not the module's own elimination)."""
    n_rows, n_cols = len(table.rows), len(table.cols)
    true: dict[tuple, int] = {}
    shown: dict[tuple, int | None] = {}
    for i in range(n_rows):
        for j in range(n_cols):
            true["c", i, j], shown["c", i, j] = counts[i][j], table.cells[i][j]
        true["r", i], shown["r", i] = sum(counts[i]), table.row_totals[i]
    for j in range(n_cols):
        true["k", j] = sum(counts[i][j] for i in range(n_rows))
        shown["k", j] = table.col_totals[j]
    true["t",], shown["t",] = sum(map(sum, counts)), table.total
    lines = [[("c", i, j) for j in range(n_cols)] + [("r", i)] for i in range(n_rows)]
    lines += [[("c", i, j) for i in range(n_rows)] + [("k", j)] for j in range(n_cols)]
    lines += [
        [("r", i) for i in range(n_rows)] + [("t",)],
        [("k", j) for j in range(n_cols)] + [("t",)],
    ]
    unknowns = [key for key, value in shown.items() if value is None]
    if not unknowns:
        return []
    index = {key: n for n, key in enumerate(unknowns)}
    matrix = np.zeros((len(lines), len(unknowns)))
    for row, line in enumerate(lines):
        for key in line[:-1]:
            if key in index:
                matrix[row, index[key]] += 1
        if line[-1] in index:
            matrix[row, index[line[-1]]] -= 1
    base = np.linalg.matrix_rank(matrix)
    found = []
    for key in unknowns:
        unit = np.eye(len(unknowns))[index[key]]
        if np.linalg.matrix_rank(np.vstack([matrix, unit])) == base and true[key] > 0:
            found.append(f"{key}={true[key]}")
    return found


def shown_values(table: Protected) -> list[int]:
    values = [v for row in table.cells for v in row] + table.row_totals + table.col_totals
    return [v for v in [*values, table.total] if v is not None]


def test_a_single_small_count_is_hidden_with_a_partner() -> None:
    shown, total = protect_list(["North", "South", "East"], [3, 12, 40])
    # 3 is hidden; so is 12 (else 55 - 12 - 40 gives it away); the total stays.
    assert shown == [None, None, 40] and total == 55
    assert Protected.show(shown[0]) == HIDDEN


def test_a_small_total_is_hidden_too() -> None:
    shown, total = protect_list(["a", "b"], [2, 0])
    assert shown == [None, 0] and total is None


def test_a_table_with_nothing_small_is_shown_whole() -> None:
    table = protect(["a", "b"], ["x", "y"], [[10, 20], [30, 0]])
    assert table.cells == [[10, 20], [30, 0]] and table.total == 60


def test_two_way_table() -> None:
    counts = [[1, 10, 12], [7, 9, 30], [15, 2, 8]]
    table = protect(["p", "q", "r"], ["x", "y", "z"], counts)
    assert all(v >= 5 or v == 0 for v in shown_values(table))
    assert determined(table, counts) == []


@settings(max_examples=400, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda r: st.integers(1, 4).flatmap(
            lambda c: st.lists(
                st.lists(st.integers(0, 9), min_size=c, max_size=c), min_size=r, max_size=r
            )
        )
    )
)
def test_no_hidden_figure_can_be_worked_out(counts: list[list[int]]) -> None:
    rows = [f"r{i}" for i in range(len(counts))]
    cols = [f"c{j}" for j in range(len(counts[0]))]
    table = protect(rows, cols, counts)
    assert not [v for v in shown_values(table) if 0 < v < 5], "a small count is shown"
    assert determined(table, counts) == [], table


def test_derived_figures_follow_their_counts() -> None:
    assert derived(0.25, 40, 10) == 0.25
    assert derived(0.75, 4, 40) is None
    assert derived(0.5, None, 40) is None
    assert derived(None, 40) is None


# ---------------------------------------------------------------------------------------------
# Cell key noise (api/reports/noise.py)


def test_geometric_noise_has_the_stated_distribution() -> None:
    from api.reports.noise import ALPHA, geometric

    # The quantile function on a fine grid of points gives the distribution's probabilities.
    grid = 200_000
    draws = [geometric((i + 0.5) / grid) for i in range(grid)]
    share = {k: draws.count(k) / grid for k in range(-3, 4)}
    p0 = (1 - ALPHA) / (1 + ALPHA)
    for k, p in share.items():
        assert abs(p - p0 * ALPHA ** abs(k)) < 1e-4, (k, p)
    assert abs(share[0] - 3 / 7) < 1e-4
    assert abs(sum(share[k] for k in (-1, 0, 1)) - 0.771) < 1e-3
    assert abs(sum(share[k] for k in range(-2, 3)) - 0.909) < 1e-3
    assert abs(sum(draws) / grid) < 1e-3  # unbiased


def test_the_same_people_give_the_same_figure_and_others_new_noise() -> None:
    from api.reports.noise import KEY_RANGE, CellKey, Exact

    keys = [12_345 * n % KEY_RANGE for n in range(1, 60)]
    release = CellKey(sum(keys))
    same = CellKey(sum(keys) + KEY_RANGE)  # keys only count modulo KEY_RANGE
    assert release.count(40, sum(keys[:40])) == same.count(40, sum(keys[:40]))
    # Never below zero; nobody stays nobody; exact is exact.
    assert all(release.count(1, k) >= 0 for k in keys) and release.count(0, 7) == 0
    assert Exact().count(3, 1) == 3 and Exact().amount(Fraction(5, 2), 1, 9, "x") == Fraction(5, 2)
    # One more record in the release: the noise of every figure is drawn afresh.
    other = CellKey(sum(keys) + 99)
    figures = [(n, sum(keys[:n])) for n in range(5, 55)]
    changed = sum(release.count(n, k) != other.count(n, k) for n, k in figures)
    assert changed > len(figures) // 2
    # Sums: noise on the scale of the largest contribution, none when nothing can vary.
    assert release.amount(Fraction(10), 5, 0, "change") == 10
    moved = [abs(float(release.amount(Fraction(0), k, 4, "change"))) for k in keys]
    assert 0 < sum(moved) / len(moved) < 12


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.dictionaries(st.integers(0, 7), st.integers(-2, 2).filter(bool), min_size=1,
                        max_size=5),
        min_size=1, max_size=8,
    ),
    st.sets(st.integers(0, 7), min_size=1, max_size=6),
    st.dictionaries(st.integers(0, 7), st.integers(-2, 2).filter(bool), min_size=1, max_size=3),
)  # fmt: skip
def test_one_more_hidden_figure_unpins_exactly_when_solving_again_says_so(
    equations: list[dict[int, int]], unknown: set[int], vector: dict[int, int]
) -> None:
    """The solver asks, for each figure it might hide, whether a pinned combination stays
    pinned (api/reports/disclosure.py: _Pinning answers without solving again): the answer
    is that of numpy's rank on the equations restricted to the unknowns and that figure."""
    from api.reports.disclosure import _Basis, _Pinning, _restrict

    eqs = [{k: Fraction(c) for k, c in e.items()} for e in equations]
    v = {k: Fraction(c) for k, c in vector.items()}

    def pinned(keep: set[int]) -> bool:
        order = sorted(keep)
        matrix = np.array([[float(e.get(k, 0)) for k in order] for e in eqs])
        target = np.array([float(v.get(k, 0)) for k in order])
        rank = np.linalg.matrix_rank(matrix) if matrix.size else 0
        return np.linalg.matrix_rank(np.vstack([matrix, target])) == rank

    if not pinned(unknown) or not _Basis([_restrict(e, unknown) for e in eqs]).contains(
        _restrict(v, unknown)
    ):
        return  # the solver asks only about pinned combinations
    pinning = _Pinning(eqs, unknown, v)
    for key in set(range(8)) - unknown:
        assert pinning.pinned_with(key) == pinned(unknown | {key}), key
