"""Relay conventions: global IDs ("Type:pk" in base64), keyset cursors and connections."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import strawberry
from itsdangerous import BadData, URLSafeSerializer

from api.config import Settings
from api.graphql.errors import UserInputError
from api.paging import Key

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
    strawberry.argument(
        description="Continue after this cursor: an `edges.cursor` or `pageInfo.endCursor` "
        "this connection returned, in the same order. Cursors are opaque; one from another "
        "connection or order, or a changed one, is refused (BAD_USER_INPUT). Rows added or "
        "removed before it do not shift the next page. Old 'offset:N' cursors are still "
        "taken until Petunia 2.0 (deprecated: they page by position)."
    ),
]

_CURSOR_PREFIX = "offset:"


def to_cursor(offset: int) -> str:
    """An offset cursor: the old scheme, kept for connections not yet moved to ``Keyset``."""
    return base64.b64encode(f"{_CURSOR_PREFIX}{offset}".encode()).decode()


def _offset_of(cursor: str) -> int | None:
    """The N of an old 'offset:N' cursor, or None when it is not one."""
    try:
        text = base64.b64decode(cursor, validate=True).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    digits = text[len(_CURSOR_PREFIX) :] if text.startswith(_CURSOR_PREFIX) else ""
    if not digits.isdigit() or len(digits) > 10 or int(digits) >= MAX_INT:
        return None
    return int(digits)


def from_cursor(cursor: str) -> int:
    offset = _offset_of(cursor)
    if offset is None:
        raise UserInputError(
            f"'{cursor}' is not a valid cursor: pass a `cursor` or `pageInfo.endCursor` "
            "from a previous page of the same query",
            field="after",
        )
    return offset


def page_window(
    first: int | None, after: str | None, *, default: int, maximum: int
) -> tuple[int, int]:
    """(offset, limit) for `first`/`after`, with clear errors for values out of range."""
    limit = _limit(first, default, maximum)
    offset = from_cursor(after) + 1 if after else 0
    return offset, limit


def _limit(first: int | None, default: int, maximum: int) -> int:
    limit = default if first is None else first
    if limit < 0 or limit > maximum:
        raise UserInputError(
            f"`first` must be between 0 and {maximum} (you asked for {limit}); "
            "use `after` with `pageInfo.endCursor` to fetch further pages",
            field="first",
        )
    return limit


_KEPT_SECRETS: dict[Path, str] = {}


def _secret(settings: Settings) -> str:
    """The configured key, or the development one kept in the data folder (read once)."""
    if settings.secret_key:
        return settings.secret_key
    folder = settings.data_dir.resolve()
    if folder not in _KEPT_SECRETS:
        _KEPT_SECRETS[folder] = settings.secret("secret_key")
    return _KEPT_SECRETS[folder]


@functools.cache
def _signer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="petunia.graphql.cursor")


def _dump(value: object) -> object:
    return {"t": value.isoformat()} if isinstance(value, dt.datetime) else value


def _load(value: object) -> object:
    return dt.datetime.fromisoformat(value["t"]) if isinstance(value, dict) else value


# Old 'offset:N' cursors (base64) are still taken until OFFSET_CURSORS_UNTIL, so that clients
# holding one when Petunia is upgraded carry on: they page by position as before (a row added
# meanwhile may repeat or skip one), and the page they get carries keyset cursors again.
OFFSET_CURSORS_UNTIL = "Petunia 2.0"


@dataclass(frozen=True)
class Window:
    """The rows a page asks for: ``limit`` of them after ``key`` (a sort key from a cursor),
    or, for a deprecated offset cursor, from ``offset``; from the start when neither."""

    limit: int
    key: Key | None = None
    offset: int = 0


class Keyset:
    """The cursors of one connection in one ordering: opaque, signed (with the secret key)
    and holding the connection's name, the ordering and the last row's sort key (its id
    last), so that a page continues after that row however many rows came or went before
    it (api/paging.py), and a cursor of another connection or ordering is refused.

    ``ordering`` names the order ('title', 'distance'...); ``basis`` is what the order
    depends on beyond its name (the words for relevance, the point for distance), kept as a
    digest: a cursor of the same order on another basis is refused as well."""

    def __init__(
        self, settings: Settings, connection: str, ordering: str, basis: object = None
    ) -> None:
        self._signer = _signer(_secret(settings))
        self.connection = connection
        self.ordering = ordering
        digest = hashlib.sha256(json.dumps(basis, default=str).encode()).hexdigest()[:16]
        self._basis = digest if basis is not None else ""

    def window(
        self, first: int | None, after: str | None, *, maximum: int, default: int = 20
    ) -> Window:
        """Which rows `first` and `after` ask for."""
        limit = _limit(first, default, maximum)
        if not after:
            return Window(limit)
        offset = _offset_of(after)
        if offset is not None:  # deprecated: see OFFSET_CURSORS
            return Window(limit, offset=offset + 1)
        return Window(limit, key=self.key(after))

    def cursor(self, key: Key) -> str:
        return self._signer.dumps(
            {
                "c": self.connection,
                "o": self.ordering,
                "b": self._basis,
                "k": [_dump(v) for v in key],
            }
        )

    def cursors(self, keys: Sequence[Key]) -> list[str]:
        return [self.cursor(key) for key in keys]

    def key(self, cursor: str) -> Key:
        """The sort key in ``cursor``; UserInputError (on `after`) saying what is wrong."""
        try:
            data = self._signer.loads(cursor)
            if not (isinstance(data, dict) and isinstance(data.get("k"), list)):
                raise BadData("not a cursor")
        except BadData:
            raise UserInputError(
                f"'{cursor}' is not a valid cursor (not one this API returned, or changed "
                f"since): pass a `cursor` or `pageInfo.endCursor` of `{self.connection}` as "
                "it was returned",
                field="after",
            ) from None
        if data.get("c") != self.connection:
            raise UserInputError(
                f"this cursor is from `{data.get('c')}`, not `{self.connection}`: a cursor "
                "only continues the connection that returned it",
                field="after",
            )
        if data.get("o") != self.ordering or data.get("b") != self._basis:
            raise UserInputError(
                f"this cursor is from `{self.connection}` in another order (by "
                f"{data.get('o')}, for other search words or another place); this page is "
                f"by {self.ordering}: ask for the first page again, without `after`",
                field="after",
            )
        return tuple(_load(v) for v in data["k"])

    def page_info(self, cursors: Sequence[str], window: Window, more: bool) -> PageInfo:
        """pageInfo of the page ``window`` asked for; ``more``: whether rows follow it."""
        return PageInfo(
            has_next_page=more,
            has_previous_page=window.key is not None or window.offset > 0,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )


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
