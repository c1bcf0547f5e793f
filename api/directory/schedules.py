"""When sessions run: recurrence rules (RRULE terms, via dateutil), breaks, next dates."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from dateutil import rrule

from api.directory.enums import Frequency, TimeOfDay, Weekday
from api.directory.times import say_times

_RRULE_DAYS = (rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU)
_BYDAY_ITEM = re.compile(r"^([+-]?[1-5])?(MO|TU|WE|TH|FR|SA|SU)$")


@dataclass(frozen=True)
class Rule:
    """One recurrence rule of a session; mirrors the ``schedules`` table."""

    freq: Frequency
    byday: str
    opens_at: dt.time
    closes_at: dt.time | None = None
    interval: int = 1
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    note: str | None = None


@dataclass(frozen=True)
class Break:
    starts_on: dt.date
    ends_on: dt.date
    reason: str | None = None


@dataclass(frozen=True)
class Occurrence:
    date: dt.date
    starts_at: dt.time
    ends_at: dt.time | None


class InvalidSchedule(ValueError):
    pass


def parse_byday(byday: str) -> list[tuple[int | None, Weekday]]:
    """'1TU,-1FR' -> [(1, TU), (-1, FR)]; 'MO,WE' -> [(None, MO), (None, WE)]."""
    items = []
    for part in byday.split(","):
        match = _BYDAY_ITEM.match(part.strip().upper())
        if not match:
            raise InvalidSchedule(f"'{part}' is not a day: use MO TU WE TH FR SA SU, e.g. 1TU")
        nth = int(match.group(1)) if match.group(1) else None
        items.append((nth, Weekday(match.group(2))))
    return items


def days_mask(byday: str) -> int:
    """Bit i set when the rule can fall on weekday i (Monday = 0)."""
    mask = 0
    for _nth, day in parse_byday(byday):
        mask |= 1 << day.index
    return mask


def mask_of(days: Iterable[Weekday]) -> int:
    mask = 0
    for day in days:
        mask |= 1 << day.index
    return mask


def weekdays_of(mask: int) -> list[Weekday]:
    return [day for day in Weekday if mask & (1 << day.index)]


def make_rule(
    *,
    days: Sequence[Weekday] = (),
    opens_at: dt.time,
    closes_at: dt.time | None = None,
    every_weeks: int = 1,
    monthly: Sequence[int] = (),
    date: dt.date | None = None,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    note: str | None = None,
) -> Rule:
    """Build a rule from the way people describe one ("first and third Tuesday")."""
    if closes_at is not None and closes_at <= opens_at:
        raise InvalidSchedule(f"ends at {closes_at:%H:%M}, before it starts at {opens_at:%H:%M}")
    if date is not None:
        if days or monthly or every_weeks != 1:
            raise InvalidSchedule("a one-off date cannot also have days, monthly or every")
        return Rule(
            Frequency.ONCE,
            Weekday(list(Weekday)[date.weekday()]).value,
            opens_at,
            closes_at,
            1,
            date,
            date,
            note,
        )
    if not days:
        raise InvalidSchedule("say which days it runs (MO TU WE TH FR SA SU) or give a date")
    if monthly:
        bad = [n for n in monthly if n not in (1, 2, 3, 4, 5, -1)]
        if bad:
            raise InvalidSchedule(f"monthly takes week numbers 1 to 5 or -1 (last), not {bad}")
        if every_weeks != 1:
            raise InvalidSchedule("a monthly rule cannot also repeat every few weeks")
        byday = ",".join(f"{n}{day.value}" for n in monthly for day in days)
        return Rule(Frequency.MONTHLY, byday, opens_at, closes_at, 1, starts_on, ends_on, note)
    if every_weeks < 1 or every_weeks > 8:
        raise InvalidSchedule("every takes a number of weeks from 1 to 8")
    if every_weeks > 1 and starts_on is None:
        raise InvalidSchedule(
            f"every {every_weeks} weeks needs 'starts': a date it runs, to count weeks from"
        )
    byday = ",".join(day.value for day in days)
    return Rule(Frequency.WEEKLY, byday, opens_at, closes_at, every_weeks, starts_on, ends_on, note)


def _rrule(rule: Rule, start: dt.date) -> rrule.rrule:
    dtstart = rule.starts_on or start
    until = dt.datetime.combine(rule.ends_on, dt.time.max) if rule.ends_on else None
    if rule.freq is Frequency.ONCE:
        return rrule.rrule(rrule.DAILY, dtstart=dtstart, count=1)
    byweekday = [
        _RRULE_DAYS[day.index](nth) if nth else _RRULE_DAYS[day.index]
        for nth, day in parse_byday(rule.byday)
    ]
    if rule.freq is Frequency.WEEKLY and rule.starts_on is not None:
        # Count fortnights from the week of starts_on, not from the day asked about.
        return rrule.rrule(
            rrule.WEEKLY,
            interval=rule.interval,
            byweekday=byweekday,
            dtstart=dtstart,
            until=until,
            wkst=rrule.MO,
        )
    freq = rrule.WEEKLY if rule.freq is Frequency.WEEKLY else rrule.MONTHLY
    return rrule.rrule(
        freq,
        interval=rule.interval,
        byweekday=byweekday,
        dtstart=dtstart,
        until=until,
        wkst=rrule.MO,
    )


def in_break(day: dt.date, breaks: Iterable[Break]) -> bool:
    return any(b.starts_on <= day <= b.ends_on for b in breaks)


def _moments(recurrence: rrule.rrule, start: dt.datetime) -> Iterator[dt.datetime]:
    """The rule's dates from ``start`` on, ending at the end of the calendar: dateutil raises
    ValueError (or OverflowError) instead of stopping when the next date would be in the
    year 10000."""
    dates = recurrence.xafter(start, inc=True)
    while True:
        try:
            yield next(dates)
        except (StopIteration, ValueError, OverflowError):
            return


def next_occurrences(
    rules: Sequence[Rule], breaks: Sequence[Break], *, after: dt.date, count: int
) -> list[Occurrence]:
    """The next ``count`` dates (on or after ``after``) across all rules, skipping breaks."""
    found: list[Occurrence] = []
    start = dt.datetime.combine(after, dt.time.min)
    for rule in rules:
        taken = 0
        # Bounded: a rule yields at most `count` usable dates, and we look at most ~3 years on.
        # (min: a start near the year 9999 must not overflow the calendar.)
        horizon = start + min(dt.timedelta(days=1100), dt.datetime.max - start)
        for moment in _moments(_rrule(rule, after), start):
            if moment > horizon or taken >= count:
                break
            day = moment.date()
            if in_break(day, breaks):
                continue
            found.append(Occurrence(day, rule.opens_at, rule.closes_at))
            taken += 1
    found.sort(key=lambda o: (o.date, o.starts_at))
    return found[:count]


def time_of_day(opens_at: dt.time) -> TimeOfDay:
    if opens_at < dt.time(12):
        return TimeOfDay.MORNING
    if opens_at < dt.time(17):
        return TimeOfDay.AFTERNOON
    return TimeOfDay.EVENING


TIME_OF_DAY_BOUNDS: dict[TimeOfDay, tuple[dt.time, dt.time | None]] = {
    TimeOfDay.MORNING: (dt.time(0), dt.time(12)),
    TimeOfDay.AFTERNOON: (dt.time(12), dt.time(17)),
    TimeOfDay.EVENING: (dt.time(17), None),
}


_DAY_NAMES = dict(
    zip(
        Weekday,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}


def _monthly(items: list[tuple[int | None, Weekday]]) -> str:
    """'first and third Thursday of the month'."""
    by_day: dict[Weekday, list[str]] = {}
    for nth, day in items:
        by_day.setdefault(day, []).append(_ORDINALS.get(nth or 1, str(nth)))
    parts = [f"{_join(nths)} {_DAY_NAMES[day]}" for day, nths in by_day.items()]
    return f"{_join(parts)} of the month"


def how_often(rule: Rule) -> str:
    """How often a rule runs, to follow a date: 'every week', 'every other week',
    'first Sunday of the month', 'one day only'."""
    if rule.freq is Frequency.ONCE:
        return "one day only"
    if rule.freq is Frequency.MONTHLY:
        return _monthly(parse_byday(rule.byday))
    if rule.interval == 2:
        return "every other week"
    if rule.interval > 2:
        return f"every {rule.interval} weeks"
    return "every week"


def occurrences_between(
    rule: Rule, breaks: Sequence[Break], first: dt.date, last: dt.date
) -> list[dt.date]:
    """The dates from ``first`` to ``last`` (both included) a rule runs on, leaving out its
    breaks and any date after it ended."""
    start = dt.datetime.combine(first, dt.time.min)
    end = dt.datetime.combine(last, dt.time.max)
    found = []
    for moment in _moments(_rrule(rule, first), start):
        if moment > end:
            break
        if not in_break(moment.date(), breaks):
            found.append(moment.date())
    return found


def describe(rule: Rule) -> str:
    """Plain English: 'Every Tuesday, 10am to midday', 'First and third Thursday...'."""
    times = say_times(rule.opens_at, rule.closes_at)
    if rule.freq is Frequency.ONCE and rule.starts_on:
        return f"{rule.starts_on:%A} {rule.starts_on.day} {rule.starts_on:%B %Y}, {times}"
    items = parse_byday(rule.byday)
    days = _join([_DAY_NAMES[d] for _n, d in dict.fromkeys(items)])
    if rule.freq is Frequency.MONTHLY:
        text = _monthly(items)
        text = text[0].upper() + text[1:]
    elif rule.interval == 2:
        text = f"Every other {days}"
    elif rule.interval > 2:
        text = f"Every {rule.interval} weeks on {days}"
    else:
        text = f"Every {days}"
    if rule.starts_on:
        text += f", from {rule.starts_on.day} {rule.starts_on:%B %Y}"
    if rule.ends_on:
        text += f", until {rule.ends_on.day} {rule.ends_on:%B %Y}"
    return f"{text}, {times}"


def _join(words: Sequence[str]) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def rule_from(row: object) -> Rule:
    """A Rule from anything with the schedule columns (a ``schedules`` row)."""
    return Rule(
        freq=Frequency(row.freq),  # type: ignore[attr-defined]
        byday=row.byday,  # type: ignore[attr-defined]
        opens_at=row.opens_at,  # type: ignore[attr-defined]
        closes_at=row.closes_at,  # type: ignore[attr-defined]
        interval=row.interval,  # type: ignore[attr-defined]
        starts_on=row.starts_on,  # type: ignore[attr-defined]
        ends_on=row.ends_on,  # type: ignore[attr-defined]
        note=row.note,  # type: ignore[attr-defined]
    )
