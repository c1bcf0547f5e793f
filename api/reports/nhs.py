"""NHS use in the 6 months before and after support, and the estimated cost avoided with
its confidence interval."""

from __future__ import annotations

from collections.abc import Hashable
from fractions import Fraction
from typing import TYPE_CHECKING

from api.reports import figures
from api.reports.costs import NHS_CATEGORIES, NHS_LABELS
from api.reports.tables import Column, Section, Unit, _Derived, _Fig, _Plain, _ratio

if TYPE_CHECKING:
    from api.reports.report import _Builder


def build(b: _Builder) -> None:
    rel, costs = b.release, b.unit_costs
    use = figures.nhs_use(b.db, b.scope, costs)
    noise = b.noise
    people = noise.count(use.n, use.keys)
    n_key = rel.count(("nhs", "people"), people)

    def events(when: str, c: str, total: int) -> int:
        # A total of events: no one person adds more than the most any one person had.
        noisy = noise.amount(total, use.keys, use.largest.get(f"{when}:{c}", 0), when + c)
        return max(0, round(noisy))

    before_n = {c: events("before", c, use.before[c]) for c in NHS_CATEGORIES}
    after_n = {c: events("after", c, use.after[c]) for c in NHS_CATEGORIES}
    saving_terms: dict[Hashable, Fraction] = {}
    t = b.draft(
        "nhs_use",
        Section.NHS_USE,
        "NHS use in the 6 months before and after, per person",
        "People referred in the period whose practice recorded their NHS use for the 6 "
        "months before and the 6 months after their support; means per person, and the "
        "cost of the difference at the unit costs shown (positive: less use after).",
        Column("unit_cost", "Unit cost", Unit.MONEY, 2),
        Column("total_before", "Total before", Unit.COUNT),
        Column("total_after", "Total after", Unit.COUNT),
        Column("before", "Mean before", Unit.NUMBER, 2),
        Column("after", "Mean after", Unit.NUMBER, 2),
        Column("change", "Change", Unit.NUMBER, 2, signed=True),
        Column("saving", "Cost avoided per person", Unit.MONEY, 2),
    )
    saving = Fraction(0)
    for c in NHS_CATEGORIES:
        before = rel.count(("nhs", "before", c), before_n[c])
        after = rel.count(("nhs", "after", c), after_n[c])
        unit = Fraction(costs.costs[c])
        saving_terms[before] = saving_terms.get(before, Fraction(0)) + unit
        saving_terms[after] = saving_terms.get(after, Fraction(0)) - unit
        diff = before_n[c] - after_n[c]
        saving += unit * diff
        t.add(
            c,
            NHS_LABELS[c],
            _Plain(costs.costs[c]),
            _Fig(before),
            _Fig(after),
            _Derived(_ratio(before_n[c], people), (n_key, before)),
            _Derived(_ratio(after_n[c], people), (n_key, after)),
            _Derived(_ratio(-diff, people), (n_key, before, after)),
            _Derived(_ratio(unit * diff, people), (n_key, before, after)),
        )
    # The total follows from the totals shown (exactly so when the figures are exact).
    total_key = rel.amount(("nhs", "cost avoided"), saving)
    rel.equation({**saving_terms, total_key: -1})

    largest = Fraction(use.largest.get("saving", 0), 100)
    square = noise.amount(Fraction(use.sum_square) / 10_000, use.keys, largest**2, "square")
    interval = figures.mean_interval(people, float(saving), float(square))
    mean = _ratio(saving, people)
    low = high = None
    if interval is not None:
        low, high = interval[1], interval[2]
    t = b.draft(
        "cost_avoided",
        Section.NHS_USE,
        "Estimated NHS cost avoided",
        "Per person: the cost of their NHS use in the 6 months before minus the 6 months "
        "after. The total is the sum over the people it rests on; the 95% confidence "
        "interval (Student's t) shows how uncertain the estimate is. It is a before and "
        "after comparison with no control group: other things change too.",
        Column("people", "People it rests on", Unit.COUNT),
        Column("per_person", "Mean per person", Unit.MONEY, 2),
        Column("per_person_low", "95% CI from", Unit.MONEY, 2),
        Column("per_person_high", "95% CI to", Unit.MONEY, 2),
        Column("total", "Total", Unit.MONEY, 0),
        Column("total_low", "Total, 95% CI from", Unit.MONEY, 0),
        Column("total_high", "Total, 95% CI to", Unit.MONEY, 0),
    )
    rests = (n_key, total_key)
    t.add(
        "all",
        "Cost avoided",
        _Fig(n_key),
        _Derived(mean, rests),
        _Derived(low, rests),
        _Derived(high, rests),
        _Fig(total_key),
        _Derived(None if low is None else low * people, rests),
        _Derived(None if high is None else high * people, rests),
    )
