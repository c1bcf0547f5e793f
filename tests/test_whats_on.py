"""What's on by date (sitegen/whats_on.py, schedules.occurrences_between): the dates a rule
runs on in a window, with its breaks and its end left out, and how often it runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from api.config import get_settings
from api.db import Database
from api.directory.enums import Weekday
from api.directory.schedules import Break, how_often, make_rule, occurrences_between
from sitegen.build import build_site
from sitegen.whats_on import day_name

SUNDAY = dt.date(2026, 11, 29)
WEEK_ON = dt.date(2026, 12, 7)  # the ninth day


def test_weekly_rule_runs_on_each_of_its_days() -> None:
    rule = make_rule(days=[Weekday.SU, Weekday.WE], opens_at=dt.time(10))
    assert occurrences_between(rule, [], SUNDAY, WEEK_ON) == [
        dt.date(2026, 11, 29),
        dt.date(2026, 12, 2),
        dt.date(2026, 12, 6),
    ]
    assert how_often(rule) == "every week"


def test_monthly_rule_only_on_its_date() -> None:
    rule = make_rule(days=[Weekday.SU], monthly=[1], opens_at=dt.time(12))
    # 29 November is a Sunday, but the last one: the first Sunday is 6 December.
    assert occurrences_between(rule, [], SUNDAY, WEEK_ON) == [dt.date(2026, 12, 6)]
    assert how_often(rule) == "first Sunday of the month"
    last = make_rule(days=[Weekday.SU], monthly=[-1], opens_at=dt.time(12))
    assert occurrences_between(last, [], SUNDAY, WEEK_ON) == [SUNDAY]
    assert how_often(last) == "last Sunday of the month"


def test_breaks_are_left_out() -> None:
    rule = make_rule(days=[Weekday.SU, Weekday.WE], opens_at=dt.time(10))
    christmas = Break(dt.date(2026, 12, 1), dt.date(2026, 12, 3), "Closed")
    assert occurrences_between(rule, [christmas], SUNDAY, WEEK_ON) == [
        dt.date(2026, 11, 29),
        dt.date(2026, 12, 6),
    ]


def test_ended_rule_stops_at_its_end() -> None:
    ended = make_rule(days=[Weekday.SU], opens_at=dt.time(10), ends_on=dt.date(2026, 11, 22))
    assert occurrences_between(ended, [], SUNDAY, WEEK_ON) == []
    ending = make_rule(days=[Weekday.SU], opens_at=dt.time(10), ends_on=dt.date(2026, 12, 1))
    assert occurrences_between(ending, [], SUNDAY, WEEK_ON) == [SUNDAY]


def test_fortnightly_and_one_off() -> None:
    fortnightly = make_rule(
        days=[Weekday.MO], every_weeks=2, starts_on=dt.date(2026, 11, 23), opens_at=dt.time(9)
    )
    assert occurrences_between(fortnightly, [], SUNDAY, WEEK_ON) == [dt.date(2026, 12, 7)]
    assert how_often(fortnightly) == "every other week"
    once = make_rule(date=dt.date(2026, 12, 5), opens_at=dt.time(14))
    assert occurrences_between(once, [], SUNDAY, WEEK_ON) == [dt.date(2026, 12, 5)]
    assert how_often(once) == "one day only"
    past = make_rule(date=dt.date(2026, 11, 28), opens_at=dt.time(14))
    assert occurrences_between(past, [], SUNDAY, WEEK_ON) == []


def test_day_names() -> None:
    assert day_name(SUNDAY, SUNDAY) == "Today, Sunday 29 November"
    assert day_name(dt.date(2026, 11, 30), SUNDAY) == "Tomorrow, Monday 30 November"
    assert day_name(dt.date(2026, 12, 1), SUNDAY) == "Tuesday 1 December"


def test_whats_on_page_by_date(mini_db: Database, tmp_path: Path) -> None:
    """The built page: nine days by date, each session with its times and how often, and the
    date it was worked out on (for a stale copy to be honest)."""
    out = tmp_path / "site"
    build_site(mini_db, get_settings(data_dir=tmp_path), out, today=dt.date(2026, 11, 16))
    html = (out / "whats-on" / "index.html").read_text()
    assert html.count('<section class="pt-day"') == 9
    assert 'data-built-for="2026-11-16"' in html
    assert "Today, Monday 16 November" in html and "Tuesday 24 November" in html
    assert "Wednesday 25 November" not in html
    saturday = html.split('id="d20261121"')[1].split("</section>")[0]
    assert "Dog walking" in saturday and "10am to midday" in saturday
    assert "Runs every week" in saturday
    assert not (out / "whats-on" / "saturday").exists()  # no more "every Saturday" pages
