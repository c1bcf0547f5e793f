"""Which periods and localities a report may cover: a request, the fixed periods of a
perturbed report (a calendar month, a quarter, a financial year), how far it is counted, and
the previous period of the same length for the summary."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from sqlalchemy import orm, select

from api.directory.models import Locality
from api.reports import figures
from api.reports.tables import MAX_DAYS, ReportError


@dataclass(frozen=True)
class ReportRequest:
    start: dt.date
    end: dt.date
    locality_ids: tuple[int, ...] | None = None  # None: every locality
    as_of: dt.date | None = None  # directory health "as at"; default: today
    # The true figures (ADMIN only): any period, secondary suppression instead of noise.
    exact: bool = False


def fixed_period(start: dt.date, end: dt.date) -> bool:
    """A calendar month, a calendar quarter or a financial year (1 April to 31 March): the
    only periods of a perturbed report, so that few reports share people (fewer to
    compare) and they nest instead of sliding by a day."""
    if start.day != 1 or (end + dt.timedelta(days=1)).day != 1:
        return False
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    return (
        months == 1
        or (months == 3 and start.month in (1, 4, 7, 10))
        or (months == 12 and start.month == 4)
    )


def counted_to(start: dt.date, end: dt.date, today: dt.date | None = None) -> dt.date:
    """The last day a perturbed report counts: ``end``, or the end of last month (dates in
    England) if that is earlier. Referrals then join a report a whole month at a time, not
    one by one as they arrive, so asking again each day shows no one person arriving."""
    today = today or dt.datetime.now(figures.LONDON).date()
    last = today.replace(day=1) - dt.timedelta(days=1)
    if start > last:
        raise ReportError(
            "period",
            "a report counts referrals up to the end of last month, and no month of this "
            f"period has ended yet: ask for a period that starts by {last.replace(day=1)}",
        )
    return min(end, last)


def previous_period(start: dt.date, end: dt.date, counted_end: dt.date) -> tuple[dt.date, dt.date]:
    """The period before ``start`` to ``end`` of the same length, counted as far into it as
    the report is counted (``counted_end``): the previous month, quarter or financial year
    (its first months, when this one counts only its first months so far)."""
    if start.day == 1 and (end + dt.timedelta(days=1)).day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        counted = (counted_end.year - start.year) * 12 + counted_end.month - start.month + 1
        before = start - relativedelta(months=months)
        return before, before + relativedelta(months=counted) - dt.timedelta(days=1)
    length = end - start + dt.timedelta(days=1)
    before = start - length
    return before, before + (counted_end - start)


def check_request(
    db: orm.Session, request: ReportRequest, *, fixed: bool = True
) -> list[tuple[int, str]]:
    """The localities the report covers, (id, name) by name; ReportError when the request
    cannot be met. ``fixed=False``: a previous period for comparison (see build_report)."""
    if request.end < request.start:
        raise ReportError("period.to", "the period ends before it starts: swap the dates")
    if (request.end - request.start).days > MAX_DAYS:
        raise ReportError("period", "a report covers at most 5 years: choose a shorter period")
    if fixed and not request.exact and not fixed_period(request.start, request.end):
        raise ReportError(
            "period",
            "a report covers a calendar month, a quarter (January to March, April to June, "
            "July to September, October to December) or a financial year (1 April to "
            "31 March): for example from 2025-04-01 to 2026-03-31",
        )
    query = select(Locality.id, Locality.name).order_by(Locality.name, Locality.id)
    found = [(i, n) for i, n in db.execute(query).all()]
    if request.locality_ids is None:
        return found
    wanted = set(request.locality_ids)
    chosen = [(i, n) for i, n in found if i in wanted]
    if len(chosen) != len(wanted):
        raise ReportError("localityId", "no such locality: see `localities` for their IDs")
    return chosen
