"""Relay conventions: global IDs ("Type:pk" in base64), cursors and connections."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Annotated, Any

import strawberry

from api.graphql.errors import UserInputError

# The largest row id and page offset there can be: id columns are 32-bit integers on
# PostgreSQL. Larger numbers are refused here, before they reach a database driver that
# cannot bind them (SQLite raises OverflowError past 64 bits).
MAX_INT = 2**31 - 1


def to_global_id(type_name: str, pk: int) -> strawberry.ID:
    return strawberry.ID(base64.b64encode(f"{type_name}:{pk}".encode()).decode())


def global_id_field(type_name: str) -> Any:
    """The `id` field of a type resolved from database rows: the row's id as a global ID."""

    def resolve(root: Any) -> strawberry.ID:
        return to_global_id(type_name, root.id)

    return strawberry.field(resolver=resolve)


def from_global_id(value: str, field: str = "id") -> tuple[str, int]:
    """(type name, primary key) of a global ID; UserInputError if it is not one of ours."""
    try:
        type_name, _, pk = base64.b64decode(value, validate=True).decode().partition(":")
        if not type_name or not pk.isdigit() or len(pk) > 10 or int(pk) > MAX_INT:
            raise ValueError
        return type_name, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise UserInputError(
            f"'{value}' is not a valid ID: use the `id` of an object this API returned",
            field=field,
        ) from None


def expect_id(value: str, type_name: str, field: str = "id") -> int:
    found, pk = from_global_id(value, field)
    if found != type_name:
        raise UserInputError(f"'{value}' is the ID of a {found}, not of a {type_name}", field=field)
    return pk


# The `first` and `after` arguments of every connection, described once.
First = Annotated[
    int | None,
    strawberry.argument(
        description="How many to return: 20 when not given, at most 100. Each one counts "
        "towards the query's cost (see `Query`)."
    ),
]
After = Annotated[
    str | None,
    strawberry.argument(description="Start after this cursor (`pageInfo.endCursor`)."),
]

_CURSOR_PREFIX = "offset:"


def to_cursor(offset: int) -> str:
    return base64.b64encode(f"{_CURSOR_PREFIX}{offset}".encode()).decode()


def from_cursor(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor, validate=True).decode()
        digits = text[len(_CURSOR_PREFIX) :] if text.startswith(_CURSOR_PREFIX) else ""
        if not digits.isdigit() or len(digits) > 10 or int(digits) >= MAX_INT:
            raise ValueError
        return int(digits)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise UserInputError(
            f"'{cursor}' is not a valid cursor: pass a `cursor` or `pageInfo.endCursor` "
            "from a previous page of the same query",
            field="after",
        ) from None


def page_window(
    first: int | None, after: str | None, *, default: int, maximum: int
) -> tuple[int, int]:
    """(offset, limit) for `first`/`after`, with clear errors for values out of range."""
    limit = default if first is None else first
    if limit < 0 or limit > maximum:
        raise UserInputError(
            f"`first` must be between 0 and {maximum} (you asked for {limit}); "
            "use `after` with `pageInfo.endCursor` to fetch further pages",
            field="first",
        )
    offset = from_cursor(after) + 1 if after else 0
    return offset, limit


@strawberry.type(description="Where a page sits in the whole result (Relay).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def page_info(offset: int, count: int, total: int) -> PageInfo:
    return PageInfo(
        has_next_page=offset + count < total,
        has_previous_page=offset > 0,
        start_cursor=to_cursor(offset) if count else None,
        end_cursor=to_cursor(offset + count - 1) if count else None,
    )


def cursors(offset: int, items: Sequence[object]) -> list[str]:
    return [to_cursor(offset + i) for i in range(len(items))]
