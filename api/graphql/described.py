"""Enums from the domain's Python enums, with a description for each GraphQL value (and a
deprecation reason where one is replaced): what client generators put in their docs."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

import strawberry

E = TypeVar("E", bound=type[Enum])


def enum(
    cls: E,
    description: str,
    values: dict[str, str],
    deprecated: dict[str, str] | None = None,
    name: str | None = None,
) -> E:
    """``strawberry.enum(cls)`` with ``values`` as the descriptions of its values (by name).
    A value missing here is left undescribed (tests/test_schema_lint.py names it)."""
    wrapped = strawberry.enum(cls, description=description, name=name)
    for value in wrapped.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = values.get(value.name, value.description)
        if deprecated and value.name in deprecated:
            value.deprecation_reason = deprecated[value.name]
    return wrapped
