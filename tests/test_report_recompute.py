# ruff: noqa: F811  (the `report_world` fixture is imported, then used as an argument)
"""The commissioner tables of issue 16 (uptake by provider and session, did-not-attend by
practice, who is reached, outcomes by level of need and the share improved or kept, other
unmet need, the tariff due by the level in force) against a recomputation from the raw rows
that shares no code with the report (benchmarks/report_recompute.py), on this data set."""

from __future__ import annotations

from fractions import Fraction

import pytest
from sqlalchemy import select

from api.directory.models import Locality
from api.reports.costs import load_tariff, load_unit_costs
from api.reports.report import ReportRequest, build_report
from benchmarks.report_recompute import agreement, recompute
from tests import report_data as data
from tests.report_data import report_world  # noqa: F401 (a fixture)


@pytest.mark.parametrize("locality", [None, "south"])
def test_the_new_tables_agree_with_a_recomputation_from_the_raw_rows(
    report_world: tuple, locality: str | None
) -> None:
    db = report_world[0]
    with db.session() as s:
        ids = None
        if locality is not None:
            ids = (s.scalar(select(Locality.id).where(Locality.key == locality)),)
    tariff = load_tariff()
    with db.session() as s:
        report = build_report(
            s,
            ReportRequest(data.START, data.END, ids, as_of=data.AS_OF, exact=True),
            tariff=tariff,
            unit_costs=load_unit_costs(),
            protector=data.guard(),
        )
    annual = {level.value: Fraction(v) for level, v in tariff.levels.items()}
    with db.session() as s:
        expected = recompute(s, data.START, data.END, ids, annual, data.guard())
    found = agreement(report, expected)
    assert [(a.table, a.differ) for a in found if a.differ] == []
    compared = {a.table: a.compared for a in found}
    # Each table has figures shown to compare (the data set is made to have them).
    assert all(n > 0 for n in compared.values()), compared
    assert sum(compared.values()) > 100, compared
    # The tariff due by the level in force is among them, pro rata where a level changed.
    table = report.table("support_levels")
    due = [table.cell(level, "due") for level in ("LOW", "MEDIUM", "HIGH")]
    changed = [table.cell(level, "changed") for level in ("LOW", "MEDIUM", "HIGH")]
    if locality is None:
        assert any(not c.suppressed for c in due) and any((c.value or 0) > 0 for c in changed)
