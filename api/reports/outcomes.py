"""Change in outcome scores per instrument, by baseline band and by level of need, with
the share improved or kept (the Year of Care measure)."""

from __future__ import annotations

from collections.abc import Hashable
from fractions import Fraction
from typing import TYPE_CHECKING

from api.referrals.enums import SupportLevel
from api.reports import figures
from api.reports.tables import Column, Section, Unit, _Derived, _Draft, _Fig, _Grid, _ratio

if TYPE_CHECKING:
    from api.reports.report import _Builder

BAND_LABELS = {
    "LOW": "Started in the lowest third",
    "MIDDLE": "Started in the middle third",
    "HIGH": "Started in the top third",
}


def build(builder: _Builder) -> None:
    rel = builder.release
    t = builder.draft(
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
    bands = builder.draft(
        "outcomes_by_baseline",
        Section.OUTCOMES,
        "Change by baseline score",
        "The same people by where they started: the lowest, middle or top third of the "
        "instrument's scale. People who start lowest usually gain most.",
        Column("people", "People", Unit.COUNT),
        Column("mean_change", "Mean change", Unit.NUMBER, 2, signed=True),
    )
    levels = builder.draft(
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
    every = not builder.noise.exact  # a row must not say someone has a score
    for instrument in figures.instruments(builder.db, builder.scope, every=every):
        o = figures.outcomes(builder.db, builder.scope, instrument)
        i, k = o.instrument.key, o.instrument.items
        noise = builder.noise
        grid = _Grid(rel, noise, ("outcomes", i), _by_direction(o))
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
        outcomes_by_level(builder, levels, instrument, n_key, sum_key)
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
                f"{BAND_LABELS[b]} ({float(lo):.3g} to {'under ' if j < 2 else ''}{float(hi):.3g})",
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
    builder: _Builder, t: _Draft, instrument: object, n_key: Hashable, sum_key_all: Hashable
) -> None:
    """One instrument's rows of "Change by level of need": the same people as its row
    in "Change in outcome scores" (``n_key``), by level."""
    rel, noise = builder.release, builder.noise
    o = figures.outcomes(builder.db, builder.scope, instrument, by_level=True)  # type: ignore[arg-type]
    i, k = o.instrument.key, o.instrument.items
    grid = _Grid(rel, noise, ("outcomes_level", i), _by_direction(o))
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


def _by_direction(o: figures.InstrumentOutcomes) -> dict[tuple, tuple[int, int]]:
    """The people of each group (band or level) improved, unchanged and worse, with keys."""
    cells = {}
    for group, g in o.groups.items():
        for direction, n in (("improved", g.improved), ("same", g.same), ("worse", g.worse)):
            cells[group, direction] = (n, g.keys.get(direction, 0))
    return cells
