import datetime as dt

import pytest

from api.directory.enums import Frequency, TimeOfDay
from api.directory.enums import Weekday as W
from api.directory.schedules import (
    Break,
    InvalidSchedule,
    days_mask,
    describe,
    make_rule,
    next_occurrences,
    time_of_day,
    weekdays_of,
)

T10, T12 = dt.time(10), dt.time(12)
SUNDAY = dt.date(2026, 11, 22)


def dates(rule, after=SUNDAY, count=4, breaks=()):
    return [o.date for o in next_occurrences([rule], list(breaks), after=after, count=count)]


def test_weekly_on_several_days() -> None:
    rule = make_rule(days=[W.MO, W.TH], opens_at=T10, closes_at=T12)
    assert rule.freq is Frequency.WEEKLY and rule.byday == "MO,TH"
    assert dates(rule) == [
        dt.date(2026, 11, 23),
        dt.date(2026, 11, 26),
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 3),
    ]
    assert describe(rule) == "Every Monday and Thursday, 10am to midday"


def test_fortnightly_counts_from_its_start_date() -> None:
    # Runs on 2026-09-07 and every other Monday after: 30 Nov is in step, 23 Nov is not.
    rule = make_rule(days=[W.MO], every_weeks=2, starts_on=dt.date(2026, 9, 7), opens_at=T10)
    assert dates(rule, count=3) == [
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 14),
        dt.date(2026, 12, 28),
    ]
    assert describe(rule) == "Every other Monday, from 7 September 2026, 10am"


def test_fortnightly_needs_a_start_date() -> None:
    with pytest.raises(InvalidSchedule, match="needs 'starts'"):
        make_rule(days=[W.MO], every_weeks=2, opens_at=T10)


def test_monthly_by_nth_weekday_and_last() -> None:
    first_and_third = make_rule(days=[W.TH], monthly=[1, 3], opens_at=T10)
    assert first_and_third.byday == "1TH,3TH"
    assert dates(first_and_third, count=3) == [
        dt.date(2026, 12, 3),
        dt.date(2026, 12, 17),
        dt.date(2027, 1, 7),
    ]
    assert describe(first_and_third) == "First and third Thursday of the month, 10am"
    last_friday = make_rule(days=[W.FR], monthly=[-1], opens_at=T10)
    assert dates(last_friday, count=2) == [dt.date(2026, 11, 27), dt.date(2026, 12, 25)]


def test_one_off_date() -> None:
    rule = make_rule(date=dt.date(2026, 12, 12), opens_at=T10, closes_at=T12)
    assert rule.freq is Frequency.ONCE and rule.byday == "SA"
    assert dates(rule) == [dt.date(2026, 12, 12)]
    assert dates(rule, after=dt.date(2026, 12, 13)) == []
    assert describe(rule) == "Saturday 12 December 2026, 10am to midday"


def test_breaks_and_end_dates_are_respected() -> None:
    rule = make_rule(days=[W.MO], opens_at=T10, ends_on=dt.date(2026, 12, 31))
    christmas = Break(dt.date(2026, 12, 20), dt.date(2027, 1, 3))
    assert dates(rule, count=10, breaks=[christmas]) == [
        dt.date(2026, 11, 23),
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 7),
        dt.date(2026, 12, 14),
    ]


def test_several_rules_are_merged_in_date_order() -> None:
    mornings = make_rule(days=[W.TU], opens_at=T10)
    evenings = make_rule(days=[W.MO], opens_at=dt.time(18))
    found = next_occurrences([mornings, evenings], [], after=SUNDAY, count=3)
    assert [(o.date.day, o.starts_at.hour) for o in found] == [(23, 18), (24, 10), (30, 18)]


def test_invalid_rules_explain_themselves() -> None:
    with pytest.raises(InvalidSchedule, match="before it starts"):
        make_rule(days=[W.MO], opens_at=T12, closes_at=T10)
    with pytest.raises(InvalidSchedule, match="say which days"):
        make_rule(opens_at=T10)
    with pytest.raises(InvalidSchedule, match="week numbers 1 to 5 or -1"):
        make_rule(days=[W.MO], monthly=[6], opens_at=T10)


def test_day_masks_and_times_of_day() -> None:
    assert days_mask("1TU,3TU") == 0b10
    assert weekdays_of(days_mask("MO,SU")) == [W.MO, W.SU]
    assert time_of_day(dt.time(11, 59)) is TimeOfDay.MORNING
    assert time_of_day(dt.time(12)) is TimeOfDay.AFTERNOON
    assert time_of_day(dt.time(17)) is TimeOfDay.EVENING
