"""Keyset paging: a page continues after the sort key of the last row seen (its order's
values, the id last), not after a count of rows. Rows inserted or deleted before the page
then neither repeat nor skip rows, and no row is counted past to reach a page.

``after`` builds the SQL condition for a statement's order; ``seek`` does the same for a
list sorted in Python. What a key is made of is each query's business; the GraphQL layer
carries it in an opaque cursor (api/graphql/relay.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

T = TypeVar("T")
Key = tuple[Any, ...]


def after(order: Sequence[tuple[Any, bool]], key: Key) -> ColumnElement[bool]:
    """Rows that sort after ``key`` in ``order`` ((column, descending) pairs, the last one
    unique): c1 > k1 OR (c1 = k1 AND (c2 > k2 OR ...)), each comparison turned for a
    descending column. The sort columns must not be null."""
    if len(order) != len(key):
        raise ValueError("a key has one value for each column of the order")
    (column, descending), *rest = order
    beyond = column < key[0] if descending else column > key[0]
    if not rest:
        return beyond
    return or_(beyond, and_(column == key[0], after(rest, key[1:])))


def seek(items: Sequence[T], key_of: Callable[[T], Key], key: Key | None) -> list[T]:
    """The items after ``key``, for items already sorted by ``key_of`` (ascending)."""
    if key is None:
        return list(items)
    return [item for item in items if key_of(item) > key]
