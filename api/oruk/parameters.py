"""The query parameters of the Open Referral UK read API: what each accepts, said once.

Each rule is both checked here and published in the OpenAPI document (api/oruk/openapi.py),
so that what the document calls valid is accepted and what it calls invalid is refused with a
400 naming the parameter. A value that is well formed but matches nothing (an organization id
of another directory) is not a mistake: the list is empty.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from api.directory.enums import Domain, Weekday

MAX_PAGE = 1_000_000
MAX_PER_PAGE = 100
MAX_AGE = 150
MAX_PROXIMITY_M = 50_000

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAYS = {d.value: d for d in Weekday} | {
    name.upper(): d for d, name in zip(Weekday, _DAY_NAMES, strict=True)
}


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" for c in word)


_DAY = "(?:" + "|".join(_any_case(word) for word in _DAYS) + ")"
UUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
PATTERNS = {
    "day": f"^{_DAY}(?:,{_DAY})*$",
    "time": "^(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?$",
    "uuid": UUID,
    "term": UUID[:-1] + "|^(?:" + "|".join(d.value for d in Domain) + ")$",
    # RFC 3339's full-date and date-time (JSON Schema's "date" and "date-time" formats).
    "date": r"^\d{4}-\d{2}-\d{2}$",
    "date_time": r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$",
}

# The schema of each parameter as the OpenAPI document publishes it.
SCHEMAS: dict[str, dict[str, Any]] = {
    "page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
    "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
    "minimum_age": {"type": "number", "minimum": 0, "maximum": MAX_AGE},
    "maximum_age": {"type": "number", "minimum": 0, "maximum": MAX_AGE},
    "start_time": {"type": "string", "pattern": PATTERNS["time"]},
    "end_time": {"type": "string", "pattern": PATTERNS["time"]},
    "day": {"type": "string", "pattern": PATTERNS["day"]},
    "taxonomy_id": {"type": "string", "pattern": PATTERNS["uuid"]},
    "taxonomy_term_id": {"type": "string", "pattern": PATTERNS["term"]},
    "organization_id": {"type": "string", "pattern": PATTERNS["uuid"]},
    "modified_after": {"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]},
    "proximity": {"type": "string", "pattern": r"^[0-9]+(?:\.[0-9]+)?$"},
}
DESCRIPTIONS = {
    "page": f"Page number of paginated result, 1 to {MAX_PAGE}.",
    "per_page": f"Number of results requested in a single page, 1 to {MAX_PER_PAGE} (default 20).",
    "start_time": "Return services with a start time at or after this time of day (HH:MM or "
    "HH:MM:SS, UK time).",
    "end_time": "Return services with an end time at or before this time of day (HH:MM or "
    "HH:MM:SS, UK time).",
    "day": "Return services on any of these days: MO..SU or Monday..Sunday, comma-separated.",
    "modified_after": "Return services changed on or after this date (UK time) or date and time "
    "(with Z or an offset).",
    "proximity": f"Distance in metres from the postcode's centre, up to {MAX_PROXIMITY_M} "
    "(default 5000).",
}


class BadParameter(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Parameters:
    """Typed reads of one request's query parameters."""

    def __init__(self, query: Mapping[str, str]) -> None:
        self.query = query

    def given(self, name: str) -> str | None:
        """The value; None when absent. Present but empty is a mistake worth saying: a client
        that meant to filter would otherwise get everything."""
        raw = self.query.get(name)
        if raw is not None and not raw.strip():
            raise BadParameter(name, f"{name} is empty: give a value or leave it out")
        return raw

    def matching(self, name: str, pattern: str, what: str) -> str | None:
        raw = self.given(name)
        if raw is not None and not re.search(pattern, raw):
            raise BadParameter(name, f"{name} must be {what}, not '{_short(raw)}'")
        return raw

    def whole(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.given(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadParameter(
                name, f"{name} must be a whole number, not '{_short(raw)}'"
            ) from None
        if not low <= value <= high:
            raise BadParameter(name, f"{name} must be between {low} and {high}")
        return value

    def page(self) -> tuple[int, int]:
        """(page, per_page)."""
        return self.whole("page", 1, 1, MAX_PAGE), self.whole("per_page", 20, 1, MAX_PER_PAGE)

    def age(self, name: str) -> float | None:
        raw = self.given(name)
        if raw is None:
            return None
        try:
            value = float(raw)
        except ValueError:
            raise BadParameter(name, f"{name} is an age in years, not '{_short(raw)}'") from None
        if not 0 <= value <= MAX_AGE:  # also refuses nan and infinity
            raise BadParameter(name, f"{name} must be an age in years, 0 to {MAX_AGE}")
        return value

    def time_of_day(self, name: str) -> dt.time | None:
        raw = self.matching(name, PATTERNS["time"], "a time of day like 09:30 or 09:30:00")
        return dt.time.fromisoformat(raw) if raw else None

    def instant(self, name: str) -> dt.datetime | None:
        """A date (from its start, UK time) or an RFC 3339 date and time, as UTC."""
        raw = self.given(name)
        if raw is None:
            return None
        value: dt.datetime | None = None
        if re.search(PATTERNS["date"], raw) or re.search(PATTERNS["date_time"], raw):
            try:
                value = dt.datetime.fromisoformat(raw)
            except ValueError:
                value = None
        if value is None:
            raise BadParameter(
                name,
                f"{name} must be a date like 2026-11-01 or a date and time like "
                f"2026-11-01T09:00:00Z, not '{_short(raw)}'",
            )
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo("Europe/London"))
        return value.astimezone(dt.UTC)

    def days(self) -> list[Weekday]:
        raw = self.matching("day", PATTERNS["day"], "MO..SU or Monday..Sunday, comma-separated")
        return [_DAYS[part.upper()] for part in raw.split(",")] if raw else []

    def uuid(self, name: str) -> str | None:
        raw = self.matching(name, PATTERNS["uuid"], "an id (a UUID)")
        return raw.lower() if raw else None


def _short(raw: str) -> str:
    return raw if len(raw) <= 40 else raw[:40] + "…"
