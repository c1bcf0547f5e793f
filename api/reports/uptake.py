"""Uptake and attendance by provider and by session, least used first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.reports import figures
from api.reports.tables import Column, Section, Unit, _Derived, _Fig, _Grid, _ratio

if TYPE_CHECKING:
    from api.reports.report import _Builder


def build(b: _Builder) -> None:
    sessions, providers = figures.uptake_units(b.db)
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
        raw = figures.uptake_cells(b.db, b.scope, by=by)
        t = b.draft(
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
            "with few people rests on too few to judge by itb."
        )
        for unit, name, owner in units:
            cells = {(c.attended, c.missed): (c.count, c.keys) for c in raw if c.unit == unit}
            grid = _Grid(b.release, b.noise, ("uptake", by, unit), cells)
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
