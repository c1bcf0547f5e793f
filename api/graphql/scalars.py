"""The custom scalars, each with a description and an `@specifiedBy` URL: strawberry's own
parsing and serialising, documented for the clients that generate code from the schema."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal

from strawberry.scalars import JSON
from strawberry.schema.types.base_scalars import (
    DateDefinition,
    DateTimeDefinition,
    DecimalDefinition,
    TimeDefinition,
)
from strawberry.schema.types.scalar import DEFAULT_SCALAR_REGISTRY
from strawberry.types.scalar import ScalarDefinition

_RFC3339 = "https://www.rfc-editor.org/rfc/rfc3339"


def _documented(base: ScalarDefinition, description: str, url: str) -> ScalarDefinition:
    return dataclasses.replace(base, description=description, specified_by_url=url)


# Passed to the schema as scalar_overrides: same names and wire formats as before.
SCALARS: dict[object, ScalarDefinition] = {
    dt.date: _documented(
        DateDefinition,
        "A calendar date, RFC 3339 `full-date` (ISO 8601): '2026-09-14'. Dates are days in "
        "England (Europe/London).",
        f"{_RFC3339}#section-5.6",
    ),
    dt.time: _documented(
        TimeDefinition,
        "A time of day without a date or offset, RFC 3339 `partial-time`: '14:30:00'. "
        "Local time in England (Europe/London, GMT or BST as on the day).",
        f"{_RFC3339}#section-5.6",
    ),
    dt.datetime: _documented(
        DateTimeDefinition,
        "An instant, RFC 3339 `date-time` with its offset: '2026-09-14T09:30:00+00:00'. "
        "Petunia answers in UTC; inputs may use any offset.",
        f"{_RFC3339}#section-5.6",
    ),
    decimal.Decimal: _documented(
        DecimalDefinition,
        "An exact decimal number, as a string: '2.50' (a number is accepted in inputs). "
        "Used for money, in pounds sterling: never rounded through a binary float.",
        "https://speleotrove.com/decimal/decarith.html#reftostr",
    ),
    JSON: _documented(
        DEFAULT_SCALAR_REGISTRY[JSON],
        "Any JSON value (object, array, string, number, boolean or null), as described "
        "where it is used.",
        "https://ecma-international.org/publications-and-standards/standards/ecma-404/",
    ),
}
