"""Working days in England and Wales: Monday to Friday except bank holidays.

Bank holidays come from the ``holidays`` package (``GB``, subdivision ``ENG``: England and
Wales share their bank holidays, including substitute days such as "Boxing Day (observed)").
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def local_date(moment: dt.datetime) -> dt.date:
    """The date in England of a moment (naive values are UTC, as SQLite returns them)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(LONDON).date()


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The ``days``-th working day after ``start`` (``start`` itself does not count)."""
    day = start
    remaining = days
    while remaining > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
    count = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count


def on_working_day(day: dt.date) -> dt.date:
    """``day`` if it is a working day, else the next one (a review due on Christmas Day is
    due on the next working day after Boxing Day)."""
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day
