"""Support levels and the tariff due (pro rata by the level in force each day of a person's
tariff year), the maintenance incentive, and the money passed to sub-contracted providers."""

from __future__ import annotations

from collections.abc import Hashable
from fractions import Fraction
from typing import TYPE_CHECKING

from api.referrals.enums import SupportLevel
from api.reports import figures
from api.reports.tables import BLANK, Column, Section, Unit, _Derived, _Fig, _Grid, _Plain, _ratio

if TYPE_CHECKING:
    from api.reports.report import _Builder


def build(b: _Builder) -> None:
    """The tables "People by support level and the tariff due" and "Money passed to
    sub-contracted providers"."""
    rel, tariff, noise = b.release, b.tariff, b.noise
    raw = figures.support_cells(b.db, b.scope, tariff.maintenance_after_days)
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
    t = b.draft(
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

    t = b.draft(
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
