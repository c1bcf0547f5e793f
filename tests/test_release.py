"""Disclosure control across linked tables (api/reports/disclosure.py: Release): no count
from 1 to 4 is shown, and nothing hidden (nor any latent group of 1 to 4 people) can be
worked out from what is shown. Checked independently with numpy's SVD rank over equations
the test writes itself."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from api.reports.disclosure import CONFIDENTIAL, HIDDEN, Release


def worked_out(
    released: dict[Hashable, object],
    truth: dict[Hashable, int | float],
    equations: list[dict[Hashable, float]],
    sensitive: list[dict[Hashable, float]],
) -> list[str]:
    """Each ``sensitive`` combination (a hidden figure, or a group) whose value the published
    figures pin down exactly while it is not zero (and, for groups, counts 1 to 4 people)."""
    unknown = sorted({k for k in truth if released.get(k) is None}, key=repr)
    index = {k: n for n, k in enumerate(unknown)}
    matrix = np.zeros((max(len(equations), 1), max(len(unknown), 1)))
    for row, equation in enumerate(equations):
        for key, c in equation.items():
            if key in index:
                matrix[row, index[key]] += c
    base = np.linalg.matrix_rank(matrix)
    found = []
    for combination in sensitive:
        vector = np.zeros(matrix.shape[1])
        for key, c in combination.items():
            if key in index:
                vector[index[key]] += c
        if not vector.any():
            continue  # everything in it is shown: only a problem if shown counts are small
        if np.linalg.matrix_rank(np.vstack([matrix, vector])) == base:
            found.append(repr(combination))
    return found


def small_shown(released: dict[Hashable, object], counts: set[Hashable]) -> list[Hashable]:
    return [k for k in counts if released.get(k) is not None and 0 < released[k] < 5]  # type: ignore[operator]


linked_tables = st.tuples(
    st.lists(st.lists(st.integers(0, 9), min_size=3, max_size=3), min_size=2, max_size=3),
    st.lists(st.integers(0, 9), min_size=2, max_size=4),
)


@settings(max_examples=200, deadline=None)
@given(linked_tables)
def test_practices_localities_and_months_cannot_undo_each_other(data: tuple) -> None:
    """Practices within localities, localities and months: three tables on one total."""
    by_practice, months = data
    total = sum(map(sum, by_practice))
    # Months must add up to the same total: put the difference in the last month.
    months = [*months[:-1], max(total - sum(months[:-1]), 0)]
    if sum(months) != total:
        months = [total] + [0] * (len(months) - 1)
    release = Release()
    truth: dict[Hashable, int] = {"N": total}
    equations: list[dict[Hashable, float]] = []
    release.count("N", total)
    for loc, practices in enumerate(by_practice):
        release.count(("loc", loc), sum(practices))
        truth["loc", loc] = sum(practices)
        for p, n in enumerate(practices):
            release.count(("p", loc, p), n)
            truth["p", loc, p] = n
        release.sum([("p", loc, p) for p in range(len(practices))], ("loc", loc))
        equations.append({**{("p", loc, p): 1 for p in range(len(practices))}, ("loc", loc): -1})
    release.sum([("loc", loc) for loc in range(len(by_practice))], "N")
    equations.append({**{("loc", loc): 1 for loc in range(len(by_practice))}, "N": -1})
    for m, n in enumerate(months):
        release.count(("m", m), n)
        truth["m", m] = n
    release.sum([("m", m) for m in range(len(months))], "N")
    equations.append({**{("m", m): 1 for m in range(len(months))}, "N": -1})

    out = release.solve()
    released = dict(out.values)
    assert small_shown(released, set(truth)) == []
    hidden = [{k: 1} for k, v in truth.items() if released[k] is None and v > 0]
    assert worked_out(released, truth, equations, hidden) == []
    for key in truth:
        if released[key] is None:
            assert out.mark(key) == (HIDDEN if 0 < truth[key] < 5 else CONFIDENTIAL)
        else:
            assert released[key] == truth[key]


stage_status = st.lists(st.integers(0, 12), min_size=7, max_size=7)


@settings(max_examples=200, deadline=None)
@given(stage_status)
def test_a_funnel_hides_small_differences_between_stages(cells: list[int]) -> None:
    """Referrals by furthest stage (R, C, A) and status now (open, declined): the funnel
    (reached each stage), the statuses, and the people who stopped at each stage (a
    difference a reader could take) are protected together."""
    # Possible (stage, status) cells; the rest cannot happen.
    names = [("R", "open"), ("R", "declined"), ("C", "open"), ("C", "declined"),
             ("A", "open"), ("A", "declined"), ("A", "done")]  # fmt: skip
    value = dict(zip(names, cells, strict=True))
    stages = ["R", "C", "A"]
    release = Release()
    truth: dict[Hashable, int] = {}
    equations: list[dict[Hashable, float]] = []
    for cell, n in value.items():
        release.latent(("cell", *cell), n)
        truth["cell", *cell] = n
    for i, stage in enumerate(stages):
        members = [c for c in names if stages.index(c[0]) >= i]
        truth["reached", stage] = sum(value[c] for c in members)
        release.count(("reached", stage), truth["reached", stage])
        release.sum([("cell", *c) for c in members], ("reached", stage))
        equations.append({**{("cell", *c): 1 for c in members}, ("reached", stage): -1})
    for status in ("open", "declined", "done"):
        members = [c for c in names if c[1] == status]
        truth["status", status] = sum(value[c] for c in members)
        release.count(("status", status), truth["status", status])
        release.sum([("cell", *c) for c in members], ("status", status))
        equations.append({**{("cell", *c): 1 for c in members}, ("status", status): -1})
    groups = []
    for a, b in zip(stages, stages[1:], strict=False):
        stopped = {("reached", a): 1, ("reached", b): -1}
        release.group(("stopped", a), stopped)
        if 0 < truth["reached", a] - truth["reached", b] < 5:
            groups.append(stopped)

    out = release.solve()
    released = dict(out.values)
    assert small_shown(released, {k for k in truth if k[0] != "cell"}) == []
    sensitive = [{k: 1} for k, v in truth.items() if k[0] != "cell" and not released[k] and v]
    sensitive += [{k: 1} for k, v in truth.items() if k[0] == "cell" and 0 < v < 5]
    assert worked_out(released, truth, equations, sensitive + groups) == []


def test_an_amount_on_a_hidden_count_is_hidden_and_the_total_cannot_reveal_it() -> None:
    release = Release()
    counts = {"LOW": 40, "MEDIUM": 3, "HIGH": 12}
    tariff = {"LOW": 70, "MEDIUM": 150, "HIGH": 260}
    for level, n in counts.items():
        release.count(("n", level), n)
        release.amount(("due", level), n * tariff[level], follows=[("n", level)])
        release.equation({("due", level): 1, ("n", level): -tariff[level]})
    release.count("assessed", sum(counts.values()))
    release.sum([("n", lv) for lv in counts], "assessed")
    total = sum(n * tariff[lv] for lv, n in counts.items())
    release.amount("due", total)
    release.sum([("due", lv) for lv in counts], "due")
    out = release.solve()
    assert out["n", "MEDIUM"] is None and out["due", "MEDIUM"] is None
    # Two levels hidden, else the total and the other two give MEDIUM away; and with two
    # unknown counts, the count total and the money total would solve both (150 != 260):
    # so the money total, or a third level, is hidden too.
    hidden = [k for k, v in out.values.items() if v is None]
    assert len([k for k in hidden if k[0] == "n"]) >= 2
    truth = {("n", lv): n for lv, n in counts.items()}
    truth |= {("due", lv): n * tariff[lv] for lv, n in counts.items()}
    truth |= {"assessed": sum(counts.values()), "due": total}
    equations = [{("due", lv): 1, ("n", lv): -tariff[lv]} for lv in counts]
    equations += [{**{("n", lv): 1 for lv in counts}, "assessed": -1}]
    equations += [{**{("due", lv): 1 for lv in counts}, "due": -1}]
    sensitive = [{k: 1} for k in truth if out.values[k] is None]
    assert worked_out(dict(out.values), truth, equations, sensitive) == []


def test_nothing_small_means_nothing_hidden() -> None:
    release = Release()
    release.count("a", 10)
    release.count("b", 0)
    release.count("t", 10)
    release.sum(["a", "b"], "t")
    release.latent("x", 7)
    release.group("g", {"a": 1, "b": -1})
    out = release.solve()
    assert out.values == {"a": 10, "b": 0, "t": 10}


def test_equations_must_hold_and_name_known_figures() -> None:
    release = Release()
    release.count("a", 3)
    release.count("t", 4)
    try:
        release.sum(["a"], "t")
    except ValueError as exc:
        assert "does not hold" in str(exc)
    else:
        raise AssertionError("a false equation was accepted")
    try:
        release.sum(["a", "missing"], "t")
    except KeyError:
        pass
    else:
        raise AssertionError("an unknown figure was accepted")
