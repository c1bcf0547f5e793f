"""Times as people say them (api/directory/times.py), wherever a schedule is described."""

from __future__ import annotations

import datetime as dt

import pytest

from api.directory.enums import Weekday
from api.directory.schedules import describe, make_rule
from api.directory.times import say_time, say_times


@pytest.mark.parametrize(
    ("time", "said"),
    [
        (dt.time(10), "10am"),
        (dt.time(11, 30), "11:30am"),
        (dt.time(9, 5), "9:05am"),
        (dt.time(12), "midday"),
        (dt.time(12, 30), "12:30pm"),
        (dt.time(14, 15), "2:15pm"),
        (dt.time(19), "7pm"),
        (dt.time(0), "midnight"),
        (dt.time(0, 30), "12:30am"),
        (dt.time(23, 59), "11:59pm"),
    ],
)
def test_say_time(time: dt.time, said: str) -> None:
    assert say_time(time) == said


def test_say_times() -> None:
    assert say_times(dt.time(10), dt.time(11, 30)) == "10am to 11:30am"
    assert say_times(dt.time(11), dt.time(12)) == "11am to midday"
    assert say_times(dt.time(18)) == "6pm"


def test_schedules_are_described_with_them() -> None:
    weekly = make_rule(days=[Weekday.TU], opens_at=dt.time(10), closes_at=dt.time(11, 30))
    assert describe(weekly) == "Every Tuesday, 10am to 11:30am"
    monthly = make_rule(days=[Weekday.SU], monthly=[1], opens_at=dt.time(12), closes_at=dt.time(14))
    assert describe(monthly) == "First Sunday of the month, midday to 2pm"
