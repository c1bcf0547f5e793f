"""Times of day as people say them, in GOV.UK style: "10am", "11:30am", "midday",
"10am to 11:30am". The one place every page, printed sheet and list gets a session's time
from; machine formats (ORUK opens_at, JSON-LD, calendars) keep ISO times."""

from __future__ import annotations

import datetime as dt


def say_time(t: dt.time) -> str:
    """'10am', '11:30am', '2:15pm', 'midday', 'midnight' (GOV.UK style: no '12pm', no '00:00')."""
    if t.minute == 0 and t.hour == 12:
        return "midday"
    if t.minute == 0 and t.hour == 0:
        return "midnight"
    hour = t.hour % 12 or 12
    half = "am" if t.hour < 12 else "pm"
    return f"{hour}{half}" if t.minute == 0 else f"{hour}:{t.minute:02d}{half}"


def say_times(starts: dt.time, ends: dt.time | None = None) -> str:
    """'10am to 11:30am'; just the start when the end is not known."""
    return say_time(starts) if ends is None else f"{say_time(starts)} to {say_time(ends)}"
