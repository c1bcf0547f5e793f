"""Schedules as people write them in spreadsheets: each phrase is read completely or refused
with a reason that quotes what could not be read."""

import datetime as dt

import pytest

from api.directory.enums import Frequency
from api.directory.phrases import parse_date, parse_schedule, parse_time
from api.directory.schedules import InvalidSchedule, describe

TODAY = dt.date(2026, 11, 22)  # a Sunday


def read(text: str, **kwargs: object) -> list[str]:
    return [describe(rule) for rule in parse_schedule(text, today=TODAY, **kwargs).rules]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tuesdays 10-12", ["Every Tuesday, 10am to midday"]),
        ("tuesday 10am - 12pm", ["Every Tuesday, 10am to midday"]),
        ("Mon & Wed 10am-12", ["Every Monday and Wednesday, 10am to midday"]),
        ("Mon, Wed and Fri 9.30-11", ["Every Monday, Wednesday and Friday, 9:30am to 11am"]),
        ("Thursdays 2-4pm", ["Every Thursday, 2pm to 4pm"]),
        ("Thursdays 2-4", ["Every Thursday, 2pm to 4pm"]),
        ("Fridays 11-1pm", ["Every Friday, 11am to 1pm"]),
        ("Saturdays 10 to 2", ["Every Saturday, 10am to 2pm"]),
        ("Wednesdays 7-9", ["Every Wednesday, 7pm to 9pm"]),
        ("Sat and Sun 10:00-12:00", ["Every Saturday and Sunday, 10am to midday"]),
        ("weekends 10-12", ["Every Saturday and Sunday, 10am to midday"]),
        (
            "Mon-Fri 9am-5pm",
            ["Every Monday, Tuesday, Wednesday, Thursday and Friday, 9am to 5pm"],
        ),
        (
            "weekdays 9-5",
            ["Every Monday, Tuesday, Wednesday, Thursday and Friday, 9am to 5pm"],
        ),
        ("Tuesdays from 10am", ["Every Tuesday, 10am"]),
        ("Tuesdays at 2", ["Every Tuesday, 2pm"]),
        ("Tuesday midday-2pm", ["Every Tuesday, midday to 2pm"]),
        ("1st and 3rd Thursday 2pm-4pm", ["First and third Thursday of the month, 2pm to 4pm"]),
        ("first Monday of the month 10-12", ["First Monday of the month, 10am to midday"]),
        ("2nd & 4th Wed 1-3pm", ["Second and fourth Wednesday of the month, 1pm to 3pm"]),
        ("last Friday of the month 7-9pm", ["Last Friday of the month, 7pm to 9pm"]),
        (
            "every other Monday 10am from 7 September 2026",
            ["Every other Monday, from 7 September 2026, 10am"],
        ),
        (
            "fortnightly on Thursdays 2-4 starting 3/9/2026",
            ["Every other Thursday, from 3 September 2026, 2pm to 4pm"],
        ),
        (
            "every 3 weeks on Tuesday 10-11 from 2026-11-24",
            ["Every 3 weeks on Tuesday, from 24 November 2026, 10am to 11am"],
        ),
        (
            "Tuesdays 10-12; Thursdays 2-4pm",
            ["Every Tuesday, 10am to midday", "Every Thursday, 2pm to 4pm"],
        ),
        (
            "Tuesdays 10-12, Thursdays 2-4pm",
            ["Every Tuesday, 10am to midday", "Every Thursday, 2pm to 4pm"],
        ),
        ("Saturday 12 December 2026 1-4pm", ["Saturday 12 December 2026, 1pm to 4pm"]),
        ("Tuesdays 10\u201312", ["Every Tuesday, 10am to midday"]),
        (
            "Tuesdays 10-12 until 31 March 2027",
            ["Every Tuesday, until 31 March 2027, 10am to midday"],
        ),
    ],
)
def test_phrases_people_write(text: str, expected: list[str]) -> None:
    assert read(text) == expected


def test_every_other_monday_without_a_date_counts_from_the_next_one_and_says_so() -> None:
    parsed = parse_schedule("every other Monday 10-11", today=TODAY)
    (rule,) = parsed.rules
    assert rule.freq is Frequency.WEEKLY and rule.interval == 2
    assert rule.starts_on == dt.date(2026, 11, 23)
    assert parsed.notes and "Monday 23 November 2026" in parsed.notes[0]


def test_times_can_come_from_a_separate_column() -> None:
    assert read("every other Monday", times="10-12")[0].endswith("10am to midday")
    assert read("1st and 3rd Thursday", times="2pm-4pm") == [
        "First and third Thursday of the month, 2pm to 4pm"
    ]
    # The phrase's own time wins.
    assert read("Tuesdays 9-10", times="2-4") == ["Every Tuesday, 9am to 10am"]


@pytest.mark.parametrize("text", ["", "  ", "ask us", "Ask", "varies", "by arrangement"])
def test_ask_us_means_no_set_times(text: str) -> None:
    assert parse_schedule(text, today=TODAY).rules == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Tuesdays", "say what time it starts"),
        ("10-12", "say which day"),
        ("Tuesdays 10-12 except when raining", "could not read 'except when raining'"),
        ("Blursdays 10-12", "could not read 'blursdays'"),
        ("monthly on Tuesday 10-12", "say which week of the month"),
        ("Tuesdays 12-10am", "before it starts"),
        ("Tuesdays 25:00-26:00", "not a time of day"),
        ("Friday 12 December 2026 1-4pm", "is a Saturday"),
        ("Tuesdays 10-12 2-4", "say which day"),
    ],
)
def test_what_cannot_be_read_is_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidSchedule, match=message):
        parse_schedule(text, today=TODAY)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10", dt.time(10)),
        ("10am", dt.time(10)),
        ("10:30", dt.time(10, 30)),
        ("14.30", dt.time(14, 30)),
        ("2pm", dt.time(14)),
        ("2", dt.time(14)),
        ("12pm", dt.time(12)),
        ("noon", dt.time(12)),
        (" 9:15 AM ", dt.time(9, 15)),
    ],
)
def test_form_times(text: str, expected: dt.time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["ten", "25", "10:75", "13pm", ""])
def test_bad_form_times(text: str) -> None:
    with pytest.raises(InvalidSchedule, match="time"):
        parse_time(text)


def test_dates_are_day_first() -> None:
    assert parse_date("6/1/2027") == dt.date(2027, 1, 6)
    assert parse_date("6 January 2027") == dt.date(2027, 1, 6)
    with pytest.raises(InvalidSchedule, match="not a date"):
        parse_date("soon")


@pytest.mark.parametrize(
    "text",
    ["Any day, by arrangement", "anytime - by appointment", "(by arrangement)", "on request"],
)
def test_no_set_times_as_people_say_it_is_read_with_a_note(text: str) -> None:
    parsed = parse_schedule(text, today=TODAY)
    assert parsed.rules == [] and parsed.notes == [
        f"'{text.strip().rstrip('.')}': no set times, people ask you"
    ]


def test_a_refused_phrase_is_quoted_whole() -> None:
    # "and" at the ends of a segment is a word, not letters: "any day" was quoted "y day".
    with pytest.raises(InvalidSchedule, match="'any day and whenever'"):
        parse_schedule("Any day, whenever", today=TODAY)


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("Wednesdays 10-12 (term time)", "term time only"),
        ("Tuesdays 10-12, term time only", "term time only"),
        ("Mondays 2-4pm, not in the school holidays", "term time only"),
        ("Fridays 2-4 except bank holidays", "not on bank holidays"),
    ],
)
def test_what_is_said_of_a_whole_schedule_is_kept_as_its_note(text: str, note: str) -> None:
    parsed = parse_schedule(text, today=TODAY)
    (rule,) = parsed.rules
    assert rule.note == note
    assert f"kept '{note}' as a note on the times" in parsed.notes[0]
