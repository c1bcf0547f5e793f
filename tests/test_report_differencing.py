# ruff: noqa: F811  (the `report_world` fixture is imported, then used as an argument)
"""Repeated commissioning reports cannot be differenced (issue 11, part 2).

An adversary with a COMMISSIONER's access asks for every report it can get: every period
from the start of the financial year ending on each of a run of consecutive days, every
calendar month, quarter and the financial year, for every set of localities, every table.
It then takes each pair of reports whose referrals differ by exactly one, and reads the
difference of every count of people shown in both: when every difference is 0 or 1, the
difference *is* that referral's record (its practice, locality, domains, status, support
level, whether it was contacted in time...). No pair may give that away. On the exact
release (today's code before the cell key method) nearly every such pair does.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from itertools import combinations

import pytest
from sqlalchemy import select, update

from api.db import Database
from api.directory.models import Locality
from api.outcomes.models import OutcomeInstrument, UnmetNeed
from api.referrals.models import Referral
from api.referrals.working_days import LONDON
from api.reports.costs import load_tariff, load_unit_costs
from api.reports.disclosure import FigureKind, Release, Released
from api.reports.report import Report, ReportError, ReportRequest, build_report
from tests import report_data as data
from tests.report_data import report_world  # noqa: F401 (a fixture)

LOCALITY_SETS: list[tuple[str, ...] | None] = [None, ("north",), ("south",)]
# A run of consecutive days that crosses a quarter's end (30 June 2024).
DAYS = [dt.date(2024, 6, 24) + dt.timedelta(days=n) for n in range(14)]
# Tables about referrals (the others count unmet needs or organisations); NHS use totals
# count events, not people (a person adds several).
NOT_PEOPLE = {"unmet_need_vs_supply", "unmet_need_by_domain", "directory_health",
              "directory_by_domain"}  # fmt: skip
EVENTS = {"total_before", "total_after"}
# Tables of people added for commissioners (issue 16): the pairs must compare them.
NEW_TABLES = ("dna_by_practice", "uptake_by_provider", "uptake_by_session", "outcomes_by_level",
              "reached_by_sex", "reached_by_ethnic_category", "reached_by_long_term_condition",
              "reached_by_imd_decile")  # fmt: skip


def fixed_periods() -> list[tuple[dt.date, dt.date]]:
    months = []
    for n in range(12):
        first = dt.date(2024 + (3 + n) // 12, (3 + n) % 12 + 1, 1)
        following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
        months.append((first, following - dt.timedelta(days=1)))
    quarters = [(months[i][0], months[i + 2][1]) for i in range(0, 12, 3)]
    return [*months, *quarters, (data.START, data.END)]


def every_request() -> list[tuple[dt.date, dt.date]]:
    return [(data.START, day) for day in DAYS] + fixed_periods()


SEEDS = (11, 12, 13, 14)  # four draws of the record keys


def draw_record_keys(db: Database, seed: int) -> None:
    """Record keys from ``seed`` (they are random in real use): a difference that gives a
    referral away whatever the keys is a leak; one that depends on them is noise. Nothing
    to do on code without record keys."""
    if not hasattr(Referral, "record_key"):
        return
    rng = random.Random(seed)
    with db.session() as s:
        for model in (Referral, UnmetNeed):
            for row_id in s.scalars(select(model.id).order_by(model.id)):
                key = rng.randrange(2**31)
                s.execute(update(model).where(model.id == row_id).values(record_key=key))
        s.commit()


def obtain(db: Database, start: dt.date, end: dt.date, ids: tuple[int, ...] | None,
           *, exact: bool = False) -> Report | None:  # fmt: skip
    """The report a COMMISSIONER gets (GraphQL and the CLI are thin layers over this, and
    the CSV files hold the same cells), or None when the request is refused. ``exact``: the
    true figures, for the test to know which cells the extra referral is in."""
    request = ReportRequest(start, end, ids, as_of=data.AS_OF)
    if exact and hasattr(request, "exact"):
        request = ReportRequest(start, end, ids, as_of=data.AS_OF, exact=True)
    with db.session() as s:
        try:
            return build_report(s, request, tariff=load_tariff(), unit_costs=load_unit_costs(),
                                protector=data.guard())  # fmt: skip
        except ReportError:
            return None


def population(people: list, world: data.World, start: dt.date, end: dt.date,
               localities: Iterable[str] | None) -> frozenset[str]:  # fmt: skip
    chosen = set(world.localities) if localities is None else set(localities)
    return frozenset(
        p.key
        for p in people
        if start <= data.local(p.received) <= end and world.practices[p.practice][2] in chosen
    )


Cell = tuple[str, str, str]


def people_counts(report: Report) -> dict[Cell, float]:
    """Every count of people shown as a number (not "<5" or "[c]")."""
    out = {}
    for table in report.tables:
        if table.key in NOT_PEOPLE:
            continue
        for row in table.rows:
            for column, cell in zip(table.columns, row.cells, strict=True):
                if (column.unit.value == "COUNT" and column.key not in EVENTS and cell.controlled
                        and not cell.suppressed and cell.value is not None):  # fmt: skip
                    out[table.key, row.key, column.key] = cell.value
    return out


# Means a reader can turn back into a sum (count x mean): the extra referral's own value is
# the difference of the two sums.
MEANS = [("outcomes", "people", "mean_change"), ("cost_avoided", "people", "per_person"),
         ("outcomes_by_level", "people", "mean_change")]  # fmt: skip


def own_values(report: Report) -> dict[tuple[str, str], float]:
    """Per row of MEANS: count x mean, when both are shown."""
    out = {}
    for table, count, mean in MEANS:
        t = report.table(table)
        for row in t.rows:
            n, m = t.cell(row.key, count), t.cell(row.key, mean)
            if not n.suppressed and not m.suppressed and None not in (n.value, m.value):
                out[table, row.key] = n.value * m.value  # type: ignore[operator]
    return out


# Amounts of money a referral adds its own tariff to (pro rata when its level changed).
AMOUNTS = [("support_levels", row, "due") for row in ("LOW", "MEDIUM", "HIGH")] + [
    ("subcontracting", "passed", "amount")
]


def amounts(report: Report) -> dict[tuple[str, str, str], float]:
    out = {}
    for table, row, column in AMOUNTS:
        cell = report.table(table).cell(row, column)
        if not cell.suppressed and cell.value is not None:
            out[table, row, column] = cell.value
    return out


def given_away(small: Report, big: Report, exact: tuple[Report, Report]) -> list[str]:
    """How the difference of two reports whose referrals differ by one gives it away.
    ``exact``: the same two reports with the true figures, for the test to know which cells
    count the extra referral and what its own values are.

    - "record": every count shown in both differs by 0 or 1: the 1s are its record;
    - "changed": the counts that changed are all its cells, and some that are not its
      cells were shown and did not change: "changed" then means "counts it";
    - "value": a mean's count x mean differs between the two by the referral's own value
      (its change in score, the NHS cost it avoided);
    - "tariff": an amount due (or passed on) differs by the referral's own tariff, pro
      rata when its level changed in the year."""
    ea, eb = (people_counts(r) for r in exact)
    theirs = {k for k in set(ea) & set(eb) if eb[k] != ea[k]}
    a, b = people_counts(small), people_counts(big)
    both = set(a) & set(b)
    diffs = {k: b[k] - a[k] for k in both}
    found = []
    if len(both) >= 2 and all(d in (0, 1) for d in diffs.values()) and any(diffs.values()):
        found.append("record")
    changed = {k for k, d in diffs.items() if d}
    if changed and changed <= theirs and both - theirs:
        found.append("changed")
    va, vb = own_values(small), own_values(big)
    ta, tb = (own_values(r) for r in exact)
    for row in set(va) & set(vb) & set(ta) & set(tb):
        if abs((vb[row] - va[row]) - (tb[row] - ta[row])) < 1e-6 * max(1.0, abs(tb[row])):
            found.append("value")
            break
    # "tariff": an amount due differs by exactly the referral's own (pro rata) tariff.
    ma, mb = amounts(small), amounts(big)
    xa, xb = (amounts(r) for r in exact)
    for key in set(ma) & set(mb) & set(xa) & set(xb):
        own = xb[key] - xa[key]
        if own and abs((mb[key] - ma[key]) - own) < 1e-6 * max(1.0, abs(own)):
            found.append("tariff")
            break
    return found


def test_no_two_reports_give_a_referral_away(
    report_world: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, world, people, _needs = report_world
    with db.session() as s:
        ids = {loc.key: loc.id for loc in s.scalars(select(Locality))}
    requests = []  # (population, name, start, end, locality ids)
    refused = 0
    for start, end in every_request():
        for localities in LOCALITY_SETS:
            chosen = None if localities is None else tuple(ids[k] for k in localities)
            name = f"{start}..{end} {'+'.join(localities or ('all',))}"
            requests.append((population(people, world, start, end, localities), name, start,
                             end, chosen))  # fmt: skip

    # Pairs whose referrals differ by exactly one, among the reports a caller can get.
    draw_record_keys(db, SEEDS[0])
    got = {}
    for pop, name, start, end, chosen in requests:
        report = obtain(db, start, end, chosen)
        if report is None:
            refused += 1
        else:
            got[name] = (pop, start, end, chosen, report)
    pairs = []
    for (na, (pa, *_a)), (nb, (pb, *_b)) in combinations(got.items(), 2):
        small, big = (na, nb) if len(pa) < len(pb) else (nb, na)
        if got[small][0] < got[big][0] and len(got[big][0] - got[small][0]) == 1:
            pairs.append((small, big))
    assert len(pairs) >= 5, (len(pairs), len(got), refused)  # else this shows nothing
    # The pairs compare the tables added for commissioners too (issue 16), not only the old.
    compared = {key[0] for pair in pairs for n in pair for key in people_counts(got[n][4])}
    assert set(NEW_TABLES) <= compared, set(NEW_TABLES) - compared

    # The true figures, none hidden: which cells count the extra referral, its own values.
    def everything(self: Release) -> Released:
        values = {k: f.value for k, f in self._figures.items() if f.kind is not FigureKind.LATENT}
        return Released(values, primary=frozenset())

    with monkeypatch.context() as patch:
        patch.setattr(Release, "solve", everything)
        exact = {n: obtain(db, *got[n][1:4], exact=True) for pair in pairs for n in pair}
    truth = {pair: (exact[pair[0]], exact[pair[1]]) for pair in pairs}

    # A pair gives its referral away when it does so whatever the record keys are.
    leaks = {pair: set(given_away(got[pair[0]][4], got[pair[1]][4], truth[pair]))
             for pair in pairs}  # fmt: skip
    for seed in SEEDS[1:]:
        suspects = {n for pair, how in leaks.items() if how for n in pair}
        if not suspects:
            break
        draw_record_keys(db, seed)
        again = {n: obtain(db, *got[n][1:4]) for n in suspects}
        for pair, how in leaks.items():
            if how:
                how &= set(given_away(again[pair[0]], again[pair[1]], truth[pair]))  # type: ignore[arg-type]
    found = [f"{big} minus {small}: {sorted(how)}" for (small, big), how in leaks.items() if how]
    assert not found, f"{len(found)} of {len(pairs)} pairs give a referral away: {found[:3]}"


@pytest.mark.parametrize("start,end", [(data.START, dt.date(2024, 10, 14)),
                                       (dt.date(2024, 4, 2), dt.date(2024, 5, 1))])  # fmt: skip
def test_only_fixed_periods_are_released(report_world: tuple, start: dt.date, end: dt.date) -> None:
    """A period that is not a calendar month, a quarter or a financial year is refused,
    with a message a person can act on; the exact release (ADMIN) takes any period."""
    db = report_world[0]
    with db.session() as s, pytest.raises(ReportError) as refused:
        build_report(s, ReportRequest(start, end, as_of=data.AS_OF), tariff=load_tariff(),
                     unit_costs=load_unit_costs())  # fmt: skip
    assert refused.value.field == "period" and "2025-04-01 to 2026-03-31" in str(refused.value)
    with db.session() as s:
        exact = build_report(s, ReportRequest(start, end, as_of=data.AS_OF, exact=True),
                             tariff=load_tariff(), unit_costs=load_unit_costs())  # fmt: skip
    assert exact.exact and "Zeros are shown" in exact.rule


def test_a_perturbed_report_counts_whole_months_that_have_ended(report_world: tuple) -> None:
    """Referrals join a report a month at a time: one arriving today changes no report a
    commissioner can get until its month has ended (then with a month's other referrals)."""
    from api.reports.report import counted_to

    today = dt.date(2026, 11, 29)
    assert counted_to(dt.date(2026, 4, 1), dt.date(2027, 3, 31), today) == dt.date(2026, 10, 31)
    assert counted_to(dt.date(2026, 7, 1), dt.date(2026, 9, 30), today) == dt.date(2026, 9, 30)
    with pytest.raises(ReportError) as early:
        counted_to(dt.date(2026, 11, 1), dt.date(2026, 11, 30), today)
    assert early.value.field == "period" and "2026-10-01" in str(early.value)
    # The current month, asked for today: refused; the exact release (ADMIN) counts it.
    db = report_world[0]
    now = dt.datetime.now(LONDON).date()
    month = (now.replace(day=1), (now.replace(day=28) + dt.timedelta(days=4)).replace(day=1))
    period = (month[0], month[1] - dt.timedelta(days=1))
    assert obtain(db, *period, None) is None
    exact = obtain(db, *period, None, exact=True)
    assert exact is not None and exact.end == period[1]


def test_which_rows_a_table_has_does_not_depend_on_who_is_counted(report_world: tuple) -> None:
    """A row must not appear with the first person it counts: the outcomes table lists every
    instrument even for a month when nobody was referred (the exact release lists only those
    with a baseline score)."""
    db = report_world[0]
    empty = obtain(db, dt.date(2023, 5, 1), dt.date(2023, 5, 31), None)
    assert empty is not None
    with db.session() as s:
        every = set(s.scalars(select(OutcomeInstrument.key)))
    assert {"ons4", "ltc6"} <= every
    assert {r.key for r in empty.table("outcomes").rows} == every
    assert all(c.display in ("<5", "[c]") for r in empty.table("outcomes").rows for c in r.cells)
