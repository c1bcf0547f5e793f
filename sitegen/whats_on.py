"""What's on by date: today, tomorrow and the seven days after, computed from the schedules
at build time (breaks and ended rules left out), each session with how often it runs and
its start and end time.

The site is static, so the page says which date it was built for; site's dates.js hides
days that have passed in the reader's browser and says so when the page is older than today.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from api.directory import schedules as sched
from api.directory.times import say_time, say_times

if TYPE_CHECKING:
    from sitegen.pages import SiteModel

DAYS = 9  # today, tomorrow and the next seven days


def day_name(day: dt.date, today: dt.date) -> str:
    """'Today, Sunday 29 November', 'Tomorrow, Monday 30 November', 'Tuesday 1 December'."""
    text = f"{day:%A} {day.day} {day:%B}"
    if day == today:
        return f"Today, {text}"
    if day == today + dt.timedelta(days=1):
        return f"Tomorrow, {text}"
    return text


def _on(
    model: SiteModel, s: Any, today: dt.date, last: dt.date
) -> list[tuple[dt.date, tuple[dt.time, str, dict[str, Any]]]]:
    """A session's entries in the days from ``today`` to ``last``."""
    breaks = [sched.Break(b.starts_on, b.ends_on, b.reason) for b in model.d.breaks.get(s.id, [])]
    summary = model.summary(s)
    found = []
    for rule in model.rules(s.id):
        for date in sched.occurrences_between(rule, breaks, today, last):
            found.append(
                (
                    date,
                    (
                        rule.opens_at,
                        s.title.lower(),
                        {
                            "title": summary["title"],
                            "url": summary["url"],
                            "provider": summary["provider"],
                            "where": summary["where"],
                            "cost": summary["cost"],
                            "area": model._area_name(s),
                            "starts": say_time(rule.opens_at),
                            "times": say_times(rule.opens_at, rule.closes_at),
                            "how_often": sched.how_often(rule),
                        },
                    ),
                )
            )
    return found


def days_ahead(model: SiteModel, today: dt.date, days: int = DAYS) -> list[dict[str, Any]]:
    """Each day from ``today`` on: its date, its name and the sessions on it by start time."""
    last = today + dt.timedelta(days=days - 1)
    by_date: dict[dt.date, list[tuple[dt.time, str, dict[str, Any]]]] = {
        today + dt.timedelta(days=n): [] for n in range(days)
    }
    for s in model.d.sessions.values():
        for date, entry in model.per_session("whats-on", s, lambda s=s: _on(model, s, today, last)):
            by_date[date].append(entry)
    return [
        {
            "iso": date.isoformat(),
            "name": day_name(date, today),
            "anchor": f"d{date:%Y%m%d}",
            "items": [item for _t, _k, item in sorted(entries, key=lambda e: (e[0], e[1]))],
        }
        for date, entries in by_date.items()
    ]
