# ruff: noqa: F811  (the `report_world` fixture is imported, then used as an argument)
"""The commissioning report on a small fixed data set (tests/report_data.py): every figure
against an independent calculation, disclosure control that the published totals cannot
undo, and the same figures through GraphQL and the CLI's CSV files."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from sqlalchemy import select

from api.db import Database
from api.directory.models import Locality
from api.reports.costs import load_tariff, load_unit_costs
from api.reports.report import Report, ReportRequest, build_report
from tests import report_data as data
from tests.report_data import report_world  # noqa: F401 (a fixture)

Key = tuple[str, str, str]


def build(db: Database, localities: list[str] | None = None) -> Report:
    ids = None
    if localities is not None:
        with db.session() as s:
            ids = tuple(s.scalars(select(Locality.id).where(Locality.key.in_(localities))))
    with db.session() as s:
        return build_report(
            s,
            ReportRequest(data.START, data.END, ids, as_of=data.AS_OF, exact=True),
            tariff=load_tariff(),
            unit_costs=load_unit_costs(),
            protector=data.guard(),
        )


def cells_of(report: Report) -> dict[Key, object]:
    return {
        (t.key, r.key, c.key): cell
        for t in report.tables
        for r in t.rows
        for c, cell in zip(t.columns, r.cells, strict=True)
    }


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def check_figures(report: Report, expected: dict[Key, data.Expect]) -> dict[str, int]:
    got = cells_of(report)
    assert set(got) == set(expected), (
        f"missing: {sorted(set(expected) - set(got))[:5]}; "
        f"unexpected: {sorted(set(got) - set(expected))[:5]}"
    )
    tally = {"shown": 0, "<5": 0, "[c]": 0}
    for key, want in expected.items():
        cell = got[key]
        if cell.suppressed:
            tally[cell.display] += 1
            assert cell.value is None, key
        else:
            tally["shown"] += 1
        if isinstance(want, data.Count):
            if 0 < want.value < 5:
                assert cell.suppressed and cell.display == "<5", (key, want, cell)
            elif cell.suppressed:
                assert cell.display == "[c]", (key, want, cell)
            else:
                assert cell.value == want.value, (key, want, cell)
        elif isinstance(want, data.Amount):
            if cell.suppressed:
                assert cell.display == "[c]", (key, want, cell)
            else:
                assert close(cell.value, want.value), (key, want, cell)
        elif isinstance(want, data.Derived):
            if any(got[b].suppressed for b in want.bases):
                assert cell.suppressed and cell.display == "[c]", (key, want, cell)
            elif cell.suppressed:
                assert want.extra, f"{key} is hidden though all it rests on is shown"
            elif want.value is None:
                assert cell.value is None and cell.display == "–", (key, cell)
            else:
                assert close(cell.value, want.value), (key, want, cell)
        else:
            assert not cell.suppressed and close(cell.value, want.value), (key, want, cell)
    return tally


def test_every_figure_matches_an_independent_calculation(report_world: tuple) -> None:
    db, w, people, needs = report_world
    report = build(db)
    expected, _sets = data.expected(people, needs, w)
    tally = check_figures(report, expected)
    # The data set exercises every case: figures shown, small counts, and protecting ones.
    assert tally["shown"] > 200 and tally["<5"] >= 10 and tally["[c]"] >= 10, tally
    # Spot checks a reader would make, against plain arithmetic on the data set.
    in_period = [p for p in people if data.START <= data.local(p.received) <= data.END]
    assert report.table("referrals_by_month").cell("total", "referrals").value == len(in_period)
    april = report.table("referrals_by_month").cell("2024-04", "referrals")
    assert april.value == sum(
        1 for p in in_period if data.local(p.received).month == 4 and p.received.year == 2024
    )


def test_a_locality_report_counts_only_that_locality(report_world: tuple) -> None:
    db, w, people, needs = report_world
    report = build(db, ["south"])
    expected, _sets = data.expected(people, needs, w, localities=["south"])
    check_figures(report, expected)
    assert [name for _i, name in report.localities] == ["Testtown South"]


# ---------------------------------------------------------------------------------------------
# Disclosure control: what the published figures let a reader work out.


def relations(report: Report) -> list[dict[Key, float]]:
    """The linear equations a reader knows from the report's own definitions: each table's
    totals, the same figure in several tables, amounts that are counts times a tariff."""
    got = cells_of(report)
    eqs: list[dict[Key, float]] = []

    def same(a: Key, b: Key) -> None:
        eqs.append({a: 1, b: -1})

    def total(parts: list[Key], whole: Key) -> None:
        eq: dict[Key, float] = {}
        for p in parts:
            eq[p] = eq.get(p, 0) + 1
        eq[whole] = eq.get(whole, 0) - 1
        eqs.append(eq)

    def rows(table: str, column: str, where: Callable[[str], bool]) -> list[Key]:
        return [k for k in got if k[0] == table and k[2] == column and where(k[1])]

    N = ("referrals_by_month", "total", "referrals")
    total(rows("referrals_by_month", "referrals", lambda r: r != "total"), N)
    same(("referrals_by_locality", "total", "referrals"), N)
    same(("referrals_by_practice", "total", "referrals"), N)
    locs = rows("referrals_by_locality", "referrals", lambda r: r != "total")
    total(locs, N)
    for loc in locs:
        total(rows("referrals_by_practice", "referrals", lambda r, i=loc[1]: r.startswith(i + ":")),
              loc)  # fmt: skip
    total(rows("referral_status", "referrals", lambda r: r != "total"), N)
    same(("referral_status", "total", "referrals"), N)
    same(("lifecycle_conversion", "RECEIVED", "referrals"), N)
    same(
        ("referral_status", "COMPLETED", "referrals"),
        ("lifecycle_conversion", "COMPLETED", "referrals"),
    )
    same(("dna_and_decline", "declined", "referrals"), ("referral_status", "DECLINED", "referrals"))
    contacted = ("lifecycle_conversion", "CONTACTED", "referrals")
    same(("first_contact", "all", "contacted"), contacted)
    total([("first_contact", "all", "within"), ("first_contact", "all", "after")], contacted)
    sl = "support_levels"
    levels = [(sl, lv, "people") for lv in ("LOW", "MEDIUM", "HIGH")]
    total(levels, (sl, "total", "people"))
    total([(sl, lv, "changed") for lv in ("LOW", "MEDIUM", "HIGH")], (sl, "total", "changed"))
    for lv, rate in data.TARIFF.items():
        # The amount due is the people times the tariff when nobody's level changed in the
        # year (shown as 0 changed); else the changed people's pro rata tariffs are unknowns.
        changed = got[sl, lv.value, "changed"]
        if not changed.suppressed and changed.value == 0:
            eqs.append({(sl, lv.value, "due"): 1, (sl, lv.value, "people"): -rate})
    eqs.append({(sl, "maintenance", "due"): 1, (sl, "maintenance", "people"): -data.MAINTENANCE})
    total([(sl, r, "due") for r in ("LOW", "MEDIUM", "HIGH", "maintenance")], (sl, "total", "due"))
    same(("subcontracting", "total", "amount"), (sl, "total", "due"))
    total([("subcontracting", "passed", "amount"), ("subcontracting", "kept", "amount")],
          ("subcontracting", "total", "amount"))  # fmt: skip
    for instrument in {k[1] for k in got if k[0] == "outcomes"}:
        n = ("outcomes", instrument, "people")
        total([("outcomes", instrument, d) for d in ("improved", "same", "worse")], n)
        total(rows("outcomes_by_baseline", "people", lambda r, i=instrument: r.startswith(i + ":")),
              n)  # fmt: skip
        total([("outcomes", instrument, d) for d in ("improved", "same")],
              ("outcomes", instrument, "kept"))  # fmt: skip
        total(rows("outcomes_by_level", "people", lambda r, i=instrument: r.startswith(i + ":")),
              n)  # fmt: skip
    saving = {("cost_avoided", "all", "total"): -1.0}
    for category, unit in data.UNIT_COSTS.items():
        saving["nhs_use", category, "total_before"] = float(unit)
        saving["nhs_use", category, "total_after"] = -float(unit)
    eqs.append(saving)
    dp = "dna_by_practice"
    same((dp, "total", "referrals"), N)
    same((dp, "total", "did_not_attend"), ("dna_and_decline", "did_not_attend", "referrals"))
    total(rows(dp, "did_not_attend", lambda r: r != "total"), (dp, "total", "did_not_attend"))
    for row in rows(dp, "referrals", lambda r: r != "total"):
        same(row, ("referrals_by_practice", row[1], "referrals"))
    for dimension in ("sex", "ethnic_category", "imd_decile"):  # one row per referral
        t = f"reached_by_{dimension}"
        total(rows(t, "referrals", lambda r: r != "total"), N)
        same((t, "total", "referrals"), N)
    same(("reached_by_long_term_condition", "total", "referrals"), N)
    un = "unmet_need_vs_supply"
    domain_totals = rows(un, "unmet", lambda r: r.endswith(":all"))
    for whole in domain_totals:
        d = whole[1].split(":")[0]
        total(rows(un, "unmet", lambda r, d=d: r.startswith(d + ":") and not r.endswith(":all")),
              whole)  # fmt: skip
        same(("unmet_need_by_domain", d, "unmet"), whole)
    for whole in rows(un, "unmet", lambda r: r.startswith("all:")):
        loc = whole[1].split(":")[1]
        parts = rows(un, "unmet", lambda r, loc=loc: r.endswith(":" + loc) and r[:4] != "all:")
        total(parts, whole)
    total(domain_totals, (un, "total", "unmet"))
    total(rows(un, "unmet", lambda r: r.startswith("all:")), (un, "total", "unmet"))
    same(("unmet_need_by_domain", "total", "unmet"), (un, "total", "unmet"))
    return eqs


# Differences between nested published counts that are numbers of people (the report's own
# definitions say which counts are inside which): "differences that would reveal them".
NESTED = [
    ("reached RECEIVED", "reached CONTACTED"),
    ("reached CONTACTED", "reached ASSESSED"),
    ("reached ASSESSED", "reached ACTIVE"),
    ("reached ACTIVE", "reached COMPLETED"),
    ("reached CONTACTED", "did not attend"),
    ("did not attend", "status DID_NOT_ATTEND"),
    ("reached CONTACTED", "within target"),
    ("reached CONTACTED", "after target"),
    ("assessed", "reached ASSESSED"),
    ("assessed", "engaged"),
    ("assessed", "level LOW"),
    ("assessed", "level MEDIUM"),
    ("assessed", "level HIGH"),
    *[(f"level {lv}", f"changed {lv}") for lv in ("LOW", "MEDIUM", "HIGH")],
    *[("all", f"status {s}") for s in ("RECEIVED", "CONTACTED", "ASSESSED", "ACTIVE",
                                       "COMPLETED", "DID_NOT_ATTEND", "DECLINED", "CLOSED")],
    *[("all", f"domain {d}") for d in ("PHYSICAL_ACTIVITY", "HEALTHY_EATING", "ARTS_FOR_HEALTH",
                                       "BEFRIENDING", "WELFARE_RIGHTS", "VOLUNTEERING")],
    *[(f"{i} baseline", f"{i} both") for i in ("ons4", "ltc6")],
    *[(f"{i} both", f"{i} {part}") for i in ("ons4", "ltc6")
      for part in ("improved", "same", "worse", "band LOW", "band MIDDLE", "band HIGH")],
]  # fmt: skip


def nested_sets(sets: dict[str, set[str]]) -> list[tuple[str, str]]:
    """NESTED, and the nested counts of the tables by practice and by session or provider."""
    extra = []
    for name in sets:
        if name.startswith("practice dna "):
            extra.append((name.replace("dna ", ""), name))
        elif " level " in name and not name.endswith(" kept"):
            extra += [(name, name + " kept"), (name.split(" ")[0] + " both", name)]
        elif name.endswith(" kept") and name.count(" ") == 1:
            extra.append((name.split(" ")[0] + " both", name))
        elif name.startswith("who ") and name.count(" ") == 2:
            extra += [(name, name + " started"), (name, name + " with_outcome"),
                      (name + " with_outcome", name + " improved")]  # fmt: skip
        elif name.startswith("uptake ") and name.count(" ") == 2:
            extra += [(name, name + " attended"), (name, name + " missed")]
    return [*NESTED, *extra]


def cell_of_set(name: str) -> Key:
    kind, _, rest = name.partition(" ")
    if kind == "practice":
        dna = rest.startswith("dna ")
        row = rest.removeprefix("dna ")
        return ("dna_by_practice", row, "did_not_attend" if dna else "referrals")
    if kind == "who":
        dimension, code, *part = rest.split(" ")
        return (f"reached_by_{dimension}", code, part[0] if part else "referrals")
    if kind == "uptake":
        by, row, *part = rest.split(" ")
        return (f"uptake_by_{by}", row, part[0] if part else "signposted")
    fixed = {
        "all": ("referrals_by_month", "total", "referrals"),
        "did not attend": ("dna_and_decline", "did_not_attend", "referrals"),
        "within target": ("first_contact", "all", "within"),
        "after target": ("first_contact", "all", "after"),
        "assessed": ("support_levels", "total", "people"),
        "engaged": ("support_levels", "maintenance", "people"),
    }
    if name in fixed:
        return fixed[name]
    if kind == "reached":
        return ("lifecycle_conversion", rest, "referrals")
    if kind == "status":
        return ("referral_status", rest, "referrals")
    if kind == "domain":
        return ("referrals_by_domain", rest, "referrals")
    if kind == "level":
        return ("support_levels", rest, "people")
    if kind == "changed":
        return ("support_levels", rest, "changed")
    if rest == "baseline":
        return ("outcomes", kind, "baseline")
    if rest == "both":
        return ("outcomes", kind, "people")
    if rest.startswith("level "):
        level, *part = rest[6:].split(" ")
        return ("outcomes_by_level", f"{kind}:{level}", "kept" if part else "people")
    if rest.startswith("band "):
        return ("outcomes_by_baseline", f"{kind}:{rest[5:]}", "people")
    return ("outcomes", kind, rest)


def worked_out(
    report: Report,
    truth: dict[Key, float],
    targets: list[tuple[str, dict[Key, float]]],
) -> list[str]:
    """Targets (combinations of figures) that the shown figures pin down: each is
    determined when, restricted to the hidden figures, it lies in the row space of the
    relations (numpy's SVD rank)."""
    got = cells_of(report)
    eqs = relations(report)
    hidden = sorted({k for eq in eqs for k in eq if got[k].suppressed} |
                    {k for _n, t in targets for k in t if got[k].suppressed})  # fmt: skip
    index = {k: n for n, k in enumerate(hidden)}
    matrix = np.zeros((len(eqs), max(len(hidden), 1)))
    for row, eq in enumerate(eqs):
        for k, c in eq.items():
            if k in index:
                matrix[row, index[k]] += c
    # The relations hold for the true values (else this test's model would be wrong).
    for eq in eqs:
        assert abs(sum(c * truth[k] for k, c in eq.items())) < 1e-6, eq
    base = np.linalg.matrix_rank(matrix)
    found = []
    for name, target in targets:
        vector = np.zeros(matrix.shape[1])
        for k, c in target.items():
            if k in index:
                vector[index[k]] += c
        if np.linalg.matrix_rank(np.vstack([matrix, vector])) == base:
            found.append(name)
    return found


@pytest.mark.parametrize("localities", [None, ["south"], ["north"]])
def test_suppressed_values_cannot_be_recovered_from_the_totals(
    report_world: tuple, localities: list[str] | None
) -> None:
    db, w, people, needs = report_world
    report = build(db, localities)
    expected, sets = data.expected(people, needs, w, localities=localities)
    truth = {k: float(v.value) for k, v in expected.items()
             if isinstance(v, data.Count | data.Amount)}  # fmt: skip
    got = cells_of(report)
    assert not [k for k, c in got.items() if not c.suppressed and k in truth
                and isinstance(expected[k], data.Count) and 0 < truth[k] < 5]  # fmt: skip
    targets = [(f"hidden {k}={truth[k]}", {k: 1.0}) for k, c in got.items()
               if c.suppressed and k in truth and truth[k] != 0]  # fmt: skip
    assert targets, "nothing is suppressed: the data set no longer tests anything"
    for big, small in nested_sets(sets):
        if big not in sets or small not in sets:
            continue
        assert sets[small] <= sets[big], (big, small)
        size = len(sets[big] - sets[small])
        if 0 < size < 5:
            targets.append(
                (f"{big} minus {small} = {size}", {cell_of_set(big): 1.0, cell_of_set(small): -1.0})
            )
    # What the 1 to 4 people of a level whose level changed in the year were paid besides
    # that level's tariff: the amount due less the people times the tariff.
    for lv, rate in data.TARIFF.items():
        row = ("support_levels", lv.value)
        if 0 < truth[(*row, "changed")] < 5:
            targets.append((f"the pro rata tariff of those who changed level, {lv.value}",
                            {(*row, "due"): 1.0, (*row, "people"): -float(rate)}))  # fmt: skip
    assert worked_out(report, truth, targets) == []


def test_the_check_can_fail(report_world: tuple) -> None:
    """Show the figures hidden only to protect others ("[c]") and the independent check
    works small counts out: the protection is needed, and the check would notice."""
    import dataclasses

    db, w, people, needs = report_world
    report = build(db)
    expected, _sets = data.expected(people, needs, w)
    truth = {k: float(v.value) for k, v in expected.items()
             if isinstance(v, data.Count | data.Amount)}  # fmt: skip

    def unhide(t: object) -> object:
        rows = []
        for r in t.rows:  # type: ignore[attr-defined]
            cells = tuple(
                dataclasses.replace(c, value=truth[t.key, r.key, col.key], display="x",  # type: ignore[attr-defined]
                                    suppressed=False)
                if c.display == "[c]" and (t.key, r.key, col.key) in truth else c  # type: ignore[attr-defined]
                for c, col in zip(r.cells, t.columns, strict=True)  # type: ignore[attr-defined]
            )  # fmt: skip
            rows.append(dataclasses.replace(r, cells=cells))
        return dataclasses.replace(t, rows=tuple(rows))

    leaky = dataclasses.replace(report, tables=tuple(unhide(t) for t in report.tables))
    small = [(str(k), {k: 1.0}) for k, c in cells_of(report).items() if c.display == "<5"]
    assert len(worked_out(leaky, truth, small)) >= 3
