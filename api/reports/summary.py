"""The report's first page as a board reads it: key figures that say how sure they are, and
each measure against the previous period of the same length and against its target.

Every figure here is a cell of a table in the report (or of the previous period's report,
which a commissioner can ask for in its own right), so the summary publishes nothing the
tables do not. A figure resting on fewer than ``FEW`` people says so where it is shown; the
estimated NHS cost avoided is a key figure only when it rests on enough people and its 95%
interval does not include zero, else it stays in its table and the summary says why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from api.reports.disclosure import HIDDEN
from api.reports.report import Cell, Report

LONDON = ZoneInfo("Europe/London")
FEW = 30  # fewer people than this: a figure is shown with "few people" beside it


@dataclass(frozen=True)
class Headline:
    label: str
    value: str
    note: str


@dataclass(frozen=True)
class Line:
    """One measure of the summary table."""

    label: str
    now: str
    before: str
    change: str
    target: str = ""
    verdict: str = ""  # "Met", "Not met", or "" (no target, or the figure is hidden)


def uk_time(moment: dt.datetime) -> str:
    """A moment as people in the UK read it: local time with GMT or BST."""
    local = moment.astimezone(LONDON)
    return f"{local.day} {local:%B %Y, %H:%M} {local.tzname()}"


def period_text(start: dt.date, end: dt.date) -> str:
    return f"{start.day} {start:%B %Y} to {end.day} {end:%B %Y}"


def _people(cell: Cell) -> int | None:
    return None if cell.suppressed or cell.value is None else int(cell.value)


def _few(n: int | None) -> str:
    if n is None:
        return "; the number of people it rests on is hidden"
    return f"; few people ({n}): read with care" if n < FEW else ""


def headlines(report: Report) -> tuple[list[Headline], list[str]]:
    """The key figures (each a cell of a table below), and caveats for figures that are not
    key figures this time and why."""
    first = report.table("first_contact")
    contacted = _people(first.cell("all", "contacted"))
    life = report.table("lifecycle_conversion")
    received = _people(report.table("referrals_by_month").cell("total", "referrals"))
    out = [
        Headline(
            "Referrals received",
            report.table("referrals_by_month").cell("total", "referrals").display,
            "in the period",
        ),
        Headline(
            f"Contacted within {report.target_days} working days",
            first.cell("all", "within_share").display,
            f"of {first.cell('all', 'contacted').display} contacted; median "
            f"{first.cell('all', 'median_days').display} working days{_few(contacted)}",
        ),
        Headline(
            "Completed their support",
            life.cell("COMPLETED", "referrals").display,
            f"{life.cell('COMPLETED', 'of_received').display} of referrals received"
            f"{_few(received)}",
        ),
        Headline(
            "Tariff due",
            # Hidden with the people it is for (an amount follows the counts it is made of).
            report.table("support_levels").cell("total", "due").display,
            "for the people assessed, with the maintenance incentive"
            f"{_few(_people(report.table('support_levels').cell('total', 'people')))}",
        ),
    ]
    caveats = []
    cost = report.table("cost_avoided")
    people = _people(cost.cell("all", "people"))
    low, high = cost.cell("all", "total_low"), cost.cell("all", "total_high")
    crosses = low.value is None or high.value is None or low.value <= 0 <= high.value
    if people is not None and people >= FEW and not crosses:
        out.append(
            Headline(
                "Estimated NHS cost avoided",
                cost.cell("all", "total").display,
                f"95% interval {low.display} to {high.display}, resting on {people} people",
            )
        )
    else:
        why = []
        if people is None:
            why.append("the number of people it rests on is hidden")
        elif people < FEW:
            why.append(f"it rests on {people} people")
        if low.value is not None and high.value is not None and crosses:
            why.append(
                f"its 95% interval ({low.display} to {high.display}) includes no saving at all"
            )
        elif low.value is None or high.value is None:
            why.append("it has no interval")
        caveats.append(
            "The estimated NHS cost avoided is not a key figure for this period: "
            + " and ".join(why)
            + '. See "Estimated NHS cost avoided" with its interval.'
        )
    return out, caveats


def _number(cell: Cell) -> float | None:
    return None if cell.suppressed or cell.value is None else cell.value


def _change(now: Cell, before: Cell | None, *, percent: bool, money: bool = False) -> str:
    if before is None:
        return "–"
    a, b = _number(now), _number(before)
    if a is None or b is None:
        return "cannot compare (hidden)"
    diff = a - b
    if percent:
        return f"{diff:+.1f} points"
    if money:
        sign = "-" if diff < 0 else "+"
        return f"{sign}£{abs(diff):,.0f}"
    rel = f" ({diff / b * 100:+.0f}%)" if b else ""
    return f"{diff:+,.0f}{rel}"


def _verdict(cell: Cell, target: float) -> str:
    value = _number(cell)
    if value is None:
        return ""
    return "Met" if value >= target else "Not met"


def lines(report: Report, previous: Report | None) -> list[Line]:
    """The summary table: this period, the previous period of the same length, the change,
    and the target where there is one."""
    targets = report.tariff.targets

    def pair(table: str, row: str, column: str) -> tuple[Cell, Cell | None]:
        now = report.table(table).cell(row, column)
        if previous is None:
            return now, None
        try:
            return now, previous.table(table).cell(row, column)
        except (StopIteration, ValueError):
            return now, None

    def show(cell: Cell | None, base: Cell | None = None) -> str:
        if cell is None:
            return "–"
        note = ""
        if base is not None:
            n = _people(base)
            if n is not None and n < FEW:
                note = f" (few people: {n})"
        return cell.display + note

    out = []
    now, before = pair("referrals_by_month", "total", "referrals")
    out.append(Line("Referrals received", show(now), show(before),
                    _change(now, before, percent=False)))  # fmt: skip
    base_now, base_before = pair("first_contact", "all", "contacted")
    now, before = pair("first_contact", "all", "within_share")
    out.append(
        Line(
            f"Contacted within {report.target_days} working days",
            show(now, base_now),
            show(before, base_before),
            _change(now, before, percent=True),
            f"{targets.contact_within_share:g}% or more",
            _verdict(now, targets.contact_within_share),
        )
    )
    now, before = pair("first_contact", "all", "median_days")
    out.append(Line("Median working days to first contact", show(now), show(before),
                    _change(now, before, percent=False).split(" (")[0]))  # fmt: skip
    now, before = pair("lifecycle_conversion", "COMPLETED", "referrals")
    out.append(Line("Completed their support", show(now), show(before),
                    _change(now, before, percent=False)))  # fmt: skip
    base_now, base_before = pair("lifecycle_conversion", "CONTACTED", "referrals")
    now, before = pair("dna_and_decline", "did_not_attend", "rate")
    out.append(Line("Did not attend (of those contacted)", show(now, base_now),
                    show(before, base_before), _change(now, before, percent=True)))  # fmt: skip
    for row in report.table("outcomes").rows:
        base_now, base_before = pair("outcomes", row.key, "people")
        now, before = pair("outcomes", row.key, "improved_share")
        out.append(
            Line(
                f"Improved their {row.label} score",
                show(now, base_now),
                show(before, base_before),
                _change(now, before, percent=True),
                f"{targets.improved_share:g}% or more",
                _verdict(now, targets.improved_share),
            )
        )
        now, before = pair("outcomes", row.key, "kept_share")
        out.append(Line(f"Improved or kept their {row.label} score", show(now, base_now),
                        show(before, base_before), _change(now, before, percent=True)))  # fmt: skip
    base_now, base_before = pair("support_levels", "total", "people")
    now, before = pair("support_levels", "total", "due")
    out.append(Line("Tariff due", show(now, base_now), show(before, base_before),
                    _change(now, before, percent=False, money=True)))  # fmt: skip
    sessions = report.table("uptake_by_session")
    little = [r for r in sessions.rows if r.cells[0].display in ("0", HIDDEN)]
    out.append(
        Line(
            "Sessions with fewer than 5 people signposted",
            f"{len(little)} of {len(sessions.rows)}",
            "–",
            "–",
        )
    )
    return out
