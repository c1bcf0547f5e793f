"""Reading schedules as people write them in spreadsheets and forms: "Tuesdays 10-12",
"1st and 3rd Thursday 2pm-4pm", "every other Monday", "Mon & Wed 10am-12", "last Friday of
the month 7-9pm". The result is ordinary schedule rules (``schedules.make_rule``).

The reading is deliberately plain: known words are taken out one kind at a time (dates,
times, how often, which weeks, days) and anything left over is an error that quotes it, so
a phrase is either understood completely or refused with a reason.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from dateutil import parser as dateparser

from api.directory.enums import Weekday
from api.directory.schedules import InvalidSchedule, Rule, make_rule

_DAY_WORDS: dict[str, Weekday] = {}
for _day, _names in (
    (Weekday.MO, ("monday", "mondays", "mon", "mons")),
    (Weekday.TU, ("tuesday", "tuesdays", "tue", "tues", "tu")),
    (Weekday.WE, ("wednesday", "wednesdays", "wed", "weds")),
    (Weekday.TH, ("thursday", "thursdays", "thu", "thur", "thurs")),
    (Weekday.FR, ("friday", "fridays", "fri", "fris")),
    (Weekday.SA, ("saturday", "saturdays", "sat", "sats")),
    (Weekday.SU, ("sunday", "sundays", "sun", "suns")),
):
    for _name in _names:
        _DAY_WORDS[_name] = _day

_DAY = r"(?:" + "|".join(sorted(_DAY_WORDS, key=len, reverse=True)) + r")\b\.?"
_ORDINALS = {
    "1st": 1,
    "first": 1,
    "2nd": 2,
    "second": 2,
    "3rd": 3,
    "third": 3,
    "4th": 4,
    "fourth": 4,
    "5th": 5,
    "fifth": 5,
    "last": -1,
}
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"  # "january", "sept"
_DATE = (
    r"(?:\d{4}-\d{2}-\d{2}"
    r"|\d{1,2}/\d{1,2}/\d{2,4}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}(?:\s+\d{{4}})?"
    rf"|{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?)"
)
_TIME = r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?"
_RANGE = re.compile(rf"\b{_TIME}\s*(?:-|to|until|till)\s*{_TIME}(?![\w/])")
_SINGLE = re.compile(
    rf"(?:\b(?:at|from|starts?)\s+{_TIME}(?![\w/])|\b(\d{{1,2}})(?:[:.](\d{{2}}))?\s*(am|pm)\b|\b(\d{{1,2}})[:.](\d{{2}})\b)"
)
# Words that carry no meaning of their own once the rest is read.
_FILLER = {
    "every",
    "each",
    "on",
    "of",
    "the",
    "month",
    "and",
    "at",
    "weekly",
    "week",
    "in",
    "a",
    "from",
    "only",
    "sessions",
    "session",
}
ASK_US = re.compile(
    r"^\s*(?:(?:any\s*(?:day|time)s?|anytime)\s*[,;:-]?\s*(?:and\s+)?)?"
    r"\(?(?:ask(?: us)?|varies|various|by (?:arrangement|appointment)|on request|tbc"
    r"|to be confirmed|contact us|get in touch)\)?\s*\.?$",
    re.IGNORECASE,
)
# Said of a whole schedule, kept as the rule's note ("Every Tuesday, 10am (term time only)").
_QUALIFIERS = (
    (re.compile(r"\b(?:during\s+)?(?:school\s+)?term[- ]?times?(?:\s+only)?\b"), "term time only"),
    (
        re.compile(r"\b(?:not\s+(?:in|during)|except(?:\s+in)?)\s+(?:the\s+)?school\s+holidays\b"),
        "term time only",
    ),
    (
        re.compile(r"\b(?:not\s+on|except(?:\s+on)?)\s+bank\s+holidays\b"),
        "not on bank holidays",
    ),
)


@dataclass
class ParsedSchedule:
    rules: list[Rule]
    # Assumptions made on the way, for the person to check ("counted from Monday 23 Nov").
    notes: list[str] = field(default_factory=list)
    # A fortnight's first week was taken from today (a re-import keeps the stored one).
    assumed_start: bool = False


def parse_time(text: str) -> dt.time:
    """A single time as typed in a form: '10', '10am', '10:30', '14.30', '2pm', 'noon'."""
    raw = text.strip().lower().replace(" ", "")
    if raw in ("noon", "midday", "12noon"):
        return dt.time(12)
    match = re.fullmatch(_TIME, raw)
    if not match:
        raise InvalidSchedule(
            f"'{text.strip()}' is not a time: write it like 10am, 2:30pm or 14:30"
        )
    return _to_time(match.group(1), match.group(2), match.group(3), bare_is_afternoon=True)


def _to_time(
    hour: str, minute: str | None, half: str | None, *, bare_is_afternoon: bool
) -> dt.time:
    h, m = int(hour), int(minute or 0)
    half = (half or "").replace(".", "")
    if m > 59 or h > 23 or (half and not 1 <= h <= 12):
        raise InvalidSchedule(f"'{hour}:{minute or '00'}{half}' is not a time of day")
    if half == "pm" and h < 12:
        h += 12
    elif half == "am" and h == 12:
        h = 0
    elif not half and bare_is_afternoon and 1 <= h <= 7:
        # Community sessions do not start at 3 in the morning: a bare 1-7 is afternoon.
        h += 12
    return dt.time(h, m)


def _range(groups: tuple[str | None, ...]) -> tuple[dt.time, dt.time]:
    sh, sm, shalf, eh, em, ehalf = groups
    shalf = (shalf or "").replace(".", "") or None
    ehalf = (ehalf or "").replace(".", "") or None
    end = _to_time(eh or "", em, ehalf, bare_is_afternoon=False)
    if shalf is None and ehalf == "pm" and int(sh or 0) < 12:
        # "2-4pm": the start shares the end's half of the day when that keeps it earlier.
        start_pm = _to_time(sh or "", sm, "pm", bare_is_afternoon=False)
        start = (
            start_pm if start_pm < end else _to_time(sh or "", sm, None, bare_is_afternoon=False)
        )
    else:
        start = _to_time(sh or "", sm, shalf, bare_is_afternoon=shalf is None)
    if ehalf is None and end <= start and end.hour < 12:
        end = end.replace(hour=end.hour + 12)  # "10-2": two in the afternoon
    if end <= start:
        raise InvalidSchedule(f"ends at {end:%H:%M}, before it starts at {start:%H:%M}")
    return start, end


def parse_date(text: str) -> dt.date:
    """'6 January 2027', '6/1/2027' (day first, as in the UK), '2027-01-06'."""
    try:  # ISO 8601 first: day-first parsing reads 2027-01-06 as 1 June
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        pass
    try:
        return dateparser.parse(
            text, dayfirst=True, default=dt.datetime(dt.date.today().year, 1, 1)
        ).date()
    except (ValueError, OverflowError):
        raise InvalidSchedule(
            f"'{text.strip()}' is not a date: write it like 6 January 2027 or 6/1/2027"
        ) from None


def _normalise(text: str) -> str:
    s = text.lower()
    s = re.sub(r"[\u2012-\u2015\u2212]", "-", s)  # en and em dashes, minus
    s = s.replace("&", " and ").replace("+", " and ").replace(",", " and ").replace("/", " / ")
    s = re.sub(r"\b(?:12\s*)?(?:noon|midday)\b", "12pm", s)
    s = re.sub(r"[()]", " ", s)
    # Dates use "/" too: undo the spacing inside them.
    s = re.sub(r"(\d{1,2}) / (\d{1,2}) / (\d{2,4})", r"\1/\2/\3", s)
    return re.sub(r"\s+", " ", s).strip()


def _take(pattern: re.Pattern[str] | str, s: str) -> tuple[list[re.Match[str]], str]:
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    found = list(regex.finditer(s))
    return found, regex.sub(" ", s)


def _segments(text: str) -> list[str]:
    """One rule per segment: split at ';' and new lines, and after a time range that another
    time range follows ("Tuesdays 10-12, Thursdays 2-4pm")."""
    parts: list[str] = []
    for chunk in re.split(r"[;\n]+", text):
        if not chunk.strip():
            continue
        start = 0
        norm = _normalise(chunk)
        # Dates look like time ranges ("2026-11-24"): hide them while looking for times.
        masked = re.sub(_DATE, lambda m: "#" * len(m.group(0)), norm)
        ranges = list(_RANGE.finditer(masked))
        for match in ranges[:-1]:
            parts.append(norm[start : match.end()])
            start = match.end()
        parts.append(norm[start:])
    # "and" left at either end by the split (", and" between two ranges); not str.strip,
    # which takes letters ("any day" became "y day").
    trimmed = (re.sub(r"^(?:\s*and\b)+|(?:\band\s*)+$", "", p).strip() for p in parts)
    return [p for p in trimmed if p]


def parse_schedule(
    text: str, *, today: dt.date | None = None, times: str | None = None
) -> ParsedSchedule:
    """Rules for a phrase; "ask us" (or nothing) means no set times. ``times`` ("10-12") is
    used where the phrase gives none (a spreadsheet's separate column). Raises
    InvalidSchedule with a message that quotes what could not be read."""
    if not text.strip():
        return ParsedSchedule([])
    if ASK_US.match(text):
        said = text.strip().rstrip(".")
        plain = re.fullmatch(r"\(?ask(?: us)?\)?", said, re.IGNORECASE)
        # Anything but the plain words is read, not copied: say how, so the person can check.
        return ParsedSchedule([], [] if plain else [f"'{said}': no set times, people ask you"])
    today = today or dt.date.today()
    parsed = ParsedSchedule([])
    for segment in _segments(text):
        rule, note, assumed = _parse_segment(segment, today, times)
        parsed.rules.append(rule)
        parsed.assumed_start |= assumed
        if note:
            parsed.notes.append(note)
    return parsed


def _parse_segment(s: str, today: dt.date, times: str | None) -> tuple[Rule, str | None, bool]:
    """The rule, a note of what was inferred, and whether its start was assumed."""
    original = s
    said: list[str] = []
    for pattern, meaning in _QUALIFIERS:
        found, s = _take(pattern, s)
        if found and meaning not in said:
            said.append(meaning)
    starts_on = ends_on = None
    found, s = _take(rf"\b(?:from|starting|starts|beginning|commencing)(?:\s+on)?\s+({_DATE})", s)
    if found:
        starts_on = parse_date(found[0].group(1))
    found, s = _take(rf"\b(?:until|till|ending|ends)(?:\s+on)?\s+({_DATE})", s)
    if found:
        ends_on = parse_date(found[0].group(1))
    once = None
    found, s = _take(rf"\b(?:on\s+)?({_DATE})", s)
    if found:
        once = parse_date(found[0].group(1))

    opens_at = closes_at = None
    found, s = _take(_RANGE, s)
    if len(found) > 1:
        raise InvalidSchedule(f"'{original}' has more than one time: separate them with ';'")
    if found:
        opens_at, closes_at = _range(found[0].groups())
    else:
        found, s = _take(_SINGLE, s)
        if len(found) > 1:
            raise InvalidSchedule(f"'{original}' has more than one time: separate them with ';'")
        if found:
            g = found[0].groups()
            if g[0] is not None:
                opens_at = _to_time(g[0], g[1], g[2], bare_is_afternoon=True)
            elif g[3] is not None:
                opens_at = _to_time(g[3], g[4], g[5], bare_is_afternoon=False)
            else:
                opens_at = _to_time(g[6] or "", g[7], None, bare_is_afternoon=True)

    every = 1
    found, s = _take(
        r"\b(?:every\s+other|alternate|fortnightly|bi-?weekly|every\s+(?:2|two|second)\s+weeks?)\b",
        s,
    )
    if found:
        every = 2
    found, s = _take(r"\bevery\s+(3|three|4|four)\s+weeks?\b", s)
    if found:
        every = {"3": 3, "three": 3, "4": 4, "four": 4}[found[0].group(1)]

    found, s = _take(r"\b(" + "|".join(_ORDINALS) + r")\b", s)
    monthly = list(dict.fromkeys(_ORDINALS[m.group(1)] for m in found))
    found_month, s = _take(r"\b(?:of\s+)?(?:the|each|every)\s+month\b|\bmonthly\b", s)
    if found_month and not monthly:
        raise InvalidSchedule(
            f"'{original}': say which week of the month, like 'first Monday of the month'"
        )

    days: list[Weekday] = []
    order = list(Weekday)
    found, s = _take(rf"\b({_DAY})\s*(?:-|to|until|till)\s*({_DAY})", s)
    for match in found:
        first = _DAY_WORDS[match.group(1).rstrip(".")]
        last = _DAY_WORDS[match.group(2).rstrip(".")]
        i, j = order.index(first), order.index(last)
        days += order[i : j + 1] if i <= j else order[i:] + order[: j + 1]
    found, s = _take(r"\b(weekdays|week days|mon(?:day)?s? to fri(?:day)?s?)\b", s)
    if found:
        days += order[:5]
    found, s = _take(r"\b(weekends?)\b", s)
    if found:
        days += [Weekday.SA, Weekday.SU]
    found, s = _take(r"\b(daily|every\s+day|7 days(?: a week)?)\b", s)
    if found:
        days += order
    found, s = _take(rf"\b({_DAY})", s)
    days += [_DAY_WORDS[m.group(1).rstrip(".")] for m in found]
    days = sorted(dict.fromkeys(days), key=order.index)

    leftover = [w for w in re.findall(r"[a-z0-9:.']+", s) if w not in _FILLER and w != "."]
    if leftover:
        raise InvalidSchedule(
            f"could not read '{' '.join(leftover)}' in '{original}': write it like "
            "'Tuesdays 10-12', '1st and 3rd Thursday 2pm-4pm' or 'every other Monday 10am'"
        )
    if opens_at is None and times and times.strip():
        found, rest = _take(_RANGE, _normalise(times))
        if found and not rest.strip():
            opens_at, closes_at = _range(found[0].groups())
        else:
            opens_at = parse_time(times)
    if opens_at is None:
        raise InvalidSchedule(f"'{original}': say what time it starts, like 'Tuesdays 10am-12'")
    kept = "; ".join(said) or None
    read_as = f"'{original}': kept '{kept}' as a note on the times" if kept else None
    if once is not None:
        named = order[once.weekday()]
        if monthly or every != 1 or (days and days != [named]):
            raise InvalidSchedule(
                f"'{original}': {once.day} {once:%B %Y} is a {once:%A}; "
                "give a date or days, not both"
            )
        rule = make_rule(date=once, opens_at=opens_at, closes_at=closes_at, note=kept)
        return rule, read_as, False
    if not days:
        raise InvalidSchedule(f"'{original}': say which day(s), like 'Tuesdays' or 'Mon & Wed'")
    note, assumed = read_as, False
    if every > 1 and starts_on is None:
        assumed = True
        # The week it runs in cannot be known from the phrase: take the first such day from
        # today and say so, so the person can add "from <date>" if it is the other week.
        starts_on = next(
            today + dt.timedelta(days=n)
            for n in range(7)
            if order[(today + dt.timedelta(days=n)).weekday()] in days
        )
        counted = (
            f"'{original}': counted from {starts_on:%A} {starts_on.day} {starts_on:%B %Y}; "
            f"add 'from <date it runs>' if that is the wrong week"
        )
        note = f"{counted}; {read_as.split(': ', 1)[1]}" if read_as else counted
    rule = make_rule(
        days=days,
        opens_at=opens_at,
        closes_at=closes_at,
        every_weeks=every,
        monthly=monthly,
        starts_on=starts_on,
        ends_on=ends_on,
        note=kept,
    )
    return rule, note, assumed
