"""An iCalendar (.ics) file per session: one repeating event per schedule rule, breaks as
excluded dates. The icalendar library escapes every text value and folds long lines, so
nothing a provider types can add a line or a property of its own."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from icalendar import (
    Calendar,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vRecur,
    vText,
)

from api.directory import schedules as sched
from api.directory.models import Session

if TYPE_CHECKING:
    from sitegen.pages import SiteModel

LONDON = ZoneInfo("Europe/London")


def _london_vtimezone() -> Timezone:
    """The UK's rule (last Sunday of March and of October), written once: the library's
    own VTIMEZONE lists every past transition, thousands of lines per file."""
    tz = Timezone()
    tz.add("tzid", "Europe/London")
    summer = TimezoneDaylight()
    summer.add("tzname", "BST")
    summer.add("dtstart", dt.datetime(1970, 3, 29, 1, 0))
    summer.add("tzoffsetfrom", dt.timedelta(0))
    summer.add("tzoffsetto", dt.timedelta(hours=1))
    summer.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1SU"})
    winter = TimezoneStandard()
    winter.add("tzname", "GMT")
    winter.add("dtstart", dt.datetime(1970, 10, 25, 2, 0))
    winter.add("tzoffsetfrom", dt.timedelta(hours=1))
    winter.add("tzoffsetto", dt.timedelta(0))
    winter.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1SU"})
    tz.add_component(summer)
    tz.add_component(winter)
    return tz


# Serialised once and added to every file (serialising it is most of the cost of a file).
VTIMEZONE = _london_vtimezone().to_ical()


def _rrule(rule: sched.Rule) -> vRecur | None:
    if rule.freq == "ONCE":
        return None
    recur = vRecur(freq=str(rule.freq), byday=rule.byday.split(","), wkst="MO")
    if rule.interval != 1:
        recur["interval"] = rule.interval
    if rule.ends_on:
        recur["until"] = dt.datetime.combine(rule.ends_on, dt.time(23, 59, 59), LONDON).astimezone(
            dt.UTC
        )
    return recur


def session_calendar(model: SiteModel, s: Session) -> bytes:
    provider = model.d.providers[s.provider_id]
    venue = model.d.venues.get(s.venue_id) if s.venue_id else None
    url = model.config.site_url + model.session_path[s.id]
    host = model.config.site_url.split("//", 1)[-1].split("/", 1)[0] or "petunia"
    cal = Calendar()
    cal.add("prodid", "-//Petunia//Community directory//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    # An X- property has no type the library knows, so it would be written as it is (a line
    # break in the title would end the content line): say it is TEXT, to be escaped.
    cal.add("x-wr-calname", vText(s.title))
    breaks = [sched.Break(b.starts_on, b.ends_on) for b in model.d.breaks.get(s.id, [])]
    today = model.config.today
    stamp = dt.datetime.combine(today, dt.time(0), dt.UTC)
    location = None
    if venue is not None:
        location = ", ".join(x for x in (venue.name, venue.address, venue.postcode) if x)
    for row in model.d.schedules.get(s.id, []):
        rule = sched.rule_from(row)
        first = sched.next_occurrences([rule], [], after=rule.starts_on or today, count=1)
        if not first:
            continue
        start_day = first[0].date
        event = Event()
        event.add("uid", f"session-{s.id}-rule-{row.id}@{host}")
        event.add("dtstamp", stamp)
        event.add("summary", s.title)
        event.add("description", f"{s.description}\n\nWith {provider.name}. Details: {url}")
        event.add("url", url)
        if location:
            event.add("location", location)
        event.add("dtstart", dt.datetime.combine(start_day, rule.opens_at, LONDON))
        end = (
            rule.closes_at
            or (dt.datetime.combine(start_day, rule.opens_at) + dt.timedelta(hours=1)).time()
        )
        event.add("dtend", dt.datetime.combine(start_day, end, LONDON))
        recur = _rrule(rule)
        if recur is not None:
            event.add("rrule", recur)
            # Dates in breaks that the rule would otherwise produce.
            if breaks:
                skipped = [
                    o.date
                    for o in sched.next_occurrences([rule], [], after=today, count=60)
                    if sched.in_break(o.date, breaks)
                ]
                for day in skipped:
                    event.add("exdate", dt.datetime.combine(day, rule.opens_at, LONDON))
        cal.add_component(event)
    text = cal.to_ical()
    end = b"END:VCALENDAR\r\n"
    return text[: -len(end)] + VTIMEZONE + end
