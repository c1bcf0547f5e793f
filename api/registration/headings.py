"""Spreadsheet headings as lead providers write them, matched to the import's columns.

A heading is matched after folding case, punctuation and spacing ("What happens?",
"what_happens" and "WHAT HAPPENS" are one heading), first to a column's own name, then to the
headings people use for it ("Activity" for `title`, "When" for `schedule`). A heading that
matches nothing is never dropped: it is an error that names it, unless `--map` says what it
holds (`"Notes=description"`) or that it is to be left out (`"Notes=skip"`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

REQUIRED = ("organisation", "title", "domains", "schedule")
OPTIONAL = (
    "description",
    "venue",
    "postcode",
    "address",
    "delivery",
    "times",
    "starts",
    "contact",
    "contact_name",
    "email",
    "phone",
    "website",
    "cost",
    "concessions",
    "languages",
    "who_for",
    "how_to_join",
    "accessibility",
    "locality",
    "provider_key",
    "session_key",
    "organisation_description",
)
COLUMNS = REQUIRED + OPTIONAL
# Columns that several headings may share, read in the file's order: "Day" and "How often"
# make one schedule ("Tuesdays" "every other week").
JOINED = frozenset({"schedule"})
# What `--map` accepts to leave a heading's column out on purpose.
SKIP = frozenset({"skip", "ignore", "-"})

# Headings seen in lead providers' baseline spreadsheets, by the column they mean. "Contact"
# is its own column: it is read as a name, a phone number and an email address.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "organisation": (
        "organization",
        "org",
        "organisation name",
        "organization name",
        "group",
        "group name",
        "provider",
        "provider name",
        "club",
        "charity",
        "who runs it",
        "run by",
    ),
    "title": ("activity", "activity name", "name", "session", "session name", "what"),
    "description": (
        "what happens",
        "about",
        "about it",
        "details",
        "summary",
        "activity description",
        "more information",
        "more info",
    ),
    "domains": ("domain", "category", "categories", "type", "theme", "themes", "labels"),
    "schedule": ("when", "day", "days", "frequency", "how often", "day and time", "days and times"),
    "times": ("time", "hours", "start and end time", "opening times"),
    "starts": ("start date", "starting", "starts on", "first session"),
    "venue": ("where", "place", "location", "venue name", "meeting place"),
    "postcode": ("post code", "postal code", "venue postcode"),
    "address": ("venue address", "street address"),
    "delivery": ("format", "how delivered", "in person or online"),
    "contact_name": ("contact person", "organiser", "organizer", "lead contact", "contact name"),
    "email": ("e mail", "email address", "contact email"),
    "phone": ("telephone", "tel", "phone number", "mobile", "contact number", "contact phone"),
    "website": ("web", "web site", "web address", "url", "link"),
    "cost": ("price", "fee", "charge", "costs", "how much"),
    "concessions": ("concession", "discounts"),
    "languages": ("language", "languages spoken"),
    "who_for": (
        "who for",
        "who is it for",
        "who its for",
        "who it is for",
        "suitable for",
        "audience",
    ),
    "how_to_join": ("how to join", "booking", "how to book", "joining", "referral"),
    "accessibility": ("access", "accessibility features"),
    "locality": ("area", "town", "neighbourhood"),
    "organisation_description": (
        "about the organisation",
        "about the group",
        "organisation description",
        "group description",
    ),
}


def fold(heading: str) -> str:
    """'What happens?' -> 'what happens'; 'who_for' -> 'who for'; "Who it's for" -> 'who its
    for'."""
    text = heading.strip().lower().replace("'", "").replace("\u2019", "")
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


_KNOWN: dict[str, str] = {fold(c): c for c in COLUMNS}
for _column, _names in SYNONYMS.items():
    for _name in _names:
        _KNOWN.setdefault(fold(_name), _column)


class HeadingProblem(ValueError):
    """Line 1 of the file cannot be used as it is; the message says what to do."""


@dataclass(frozen=True)
class Headings:
    """Each heading of the file to its column, or None where the map says to skip it."""

    columns: dict[str, str | None]
    # Headings read by their usual meaning rather than a column's own name, for the report.
    inferred: dict[str, str]


def parse_map(items: Iterable[str]) -> dict[str, str]:
    """`--map "When=schedule"` options as {folded heading: column or 'skip'}."""
    mapping: dict[str, str] = {}
    for item in items:
        heading, sep, column = item.partition("=")
        column = column.strip().lower().replace(" ", "_")
        if not sep or not heading.strip() or not column:
            raise HeadingProblem(
                f'--map \'{item}\': write it as "Heading=column", like "When=schedule"'
            )
        if column not in COLUMNS and column not in SKIP:
            close = difflib.get_close_matches(column, COLUMNS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise HeadingProblem(
                f"--map '{item}': '{column}' is not a column{hint}; the columns are "
                f"{', '.join(COLUMNS)}, or 'skip' to leave the heading out"
            )
        mapping[fold(heading)] = "skip" if column in SKIP else column
    return mapping


def match_headings(headings: Iterable[str], mapping: Mapping[str, str] | None = None) -> Headings:
    """Match every heading, or raise HeadingProblem naming each one that cannot be used and
    each required column that is missing."""
    mapping = dict(mapping or {})
    columns: dict[str, str | None] = {}
    inferred: dict[str, str] = {}
    unknown: list[str] = []
    taken: dict[str, str] = {}
    problems: list[str] = []
    for heading in headings:
        if not heading.strip():
            continue
        folded = fold(heading)
        column = mapping.pop(folded, None) or _KNOWN.get(folded)
        if column is None:
            unknown.append(heading)
            continue
        if column == "skip":
            columns[heading] = None
            continue
        if column in taken and column not in JOINED:
            problems.append(
                f"'{taken[column]}' and '{heading}' both mean {column}: keep one, or say what "
                f'the other holds with --map "{heading}=<column>"'
            )
            continue
        taken.setdefault(column, heading)
        columns[heading] = column
        if folded != fold(column):
            inferred[heading] = column
    for folded in mapping:
        problems.append(f"--map names '{folded}', which is not a heading in the file")
    missing = [c for c in REQUIRED if c not in taken]
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if unknown:
        options = [c for c in COLUMNS if c not in taken]
        named = []
        for heading in unknown:
            close = difflib.get_close_matches(fold(heading), [fold(c) for c in options], n=1)
            guess = _KNOWN[close[0]] if close else (missing[0] if missing else "description")
            named.append(f'\'{heading}\' (--map "{heading}={guess}" or "{heading}=skip")')
        problems.append(
            "headings that match no column, so their values would be lost: "
            + "; ".join(named)
            + f". The columns are: {', '.join(COLUMNS)} (see `petunia import --help`)"
        )
    if problems:
        raise HeadingProblem("; ".join(problems))
    return Headings(columns, inferred)
