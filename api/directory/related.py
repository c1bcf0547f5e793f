"""Batch reads of related rows, keyed by the owner's id: one statement per call, whatever
the number of ids. DataLoaders and the site generator build on these."""

from __future__ import annotations

from collections import defaultdict, namedtuple
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, func, orm, select

from api import paging
from api.directory.enums import AccessibilityFeature, Domain, ListingStatus
from api.directory.models import (
    Locality,
    Provider,
    Schedule,
    Session,
    SessionBreak,
    SessionDomain,
    SessionLanguage,
    Venue,
    VenueFeature,
)


def _by_id(db: orm.Session, model: Any, ids: Sequence[int]) -> dict[int, Any]:
    return {row.id: row for row in db.scalars(select(model).where(model.id.in_(set(ids))))}


# A read-only named tuple of a table's columns, named as the model's attributes: what a page
# of sessions is read into. Building 60 tracked ORM objects for it cost more than the query.
Record = Any


def _record_type(table: Any) -> Any:
    return namedtuple(f"{table.name}_record", [column.key for column in table.c])  # noqa: PYI024


class SessionRow(NamedTuple):
    """A session with the provider that runs it and its venue (None online or at home):
    every view of a session shows all three, so they are read together. Each part is a
    read-only record with the model's column names as attributes."""

    session: Record
    provider: Record
    venue: Record | None


_S, _P, _V = Session.__table__, Provider.__table__, Venue.__table__
_SessionRecord, _ProviderRecord, _VenueRecord = map(_record_type, (_S, _P, _V))
_SESSION_ROWS = select(_S, _P, _V).select_from(
    _S.join(_P, _P.c.id == _S.c.provider_id).outerjoin(_V, _V.c.id == _S.c.venue_id)
)
_P_AT, _V_AT = len(_S.c), len(_S.c) + len(_P.c)
# Built once: these run on every page of search results and every provider shown.
_BY_SESSION = _SESSION_ROWS.where(_S.c.id.in_(bindparam("ids", expanding=True)))
# A page of each published provider's sessions: numbered by title within their provider, so
# one statement reads the same window of every provider's list.
_PUBLISHED = (
    _S.c.provider_id.in_(bindparam("ids", expanding=True)),
    _P.c.status == ListingStatus.PUBLISHED,
    _S.c.status == ListingStatus.PUBLISHED,
)
_PUBLISHED_COUNTS = (
    select(_S.c.provider_id, func.count())
    .select_from(_S.join(_P, _P.c.id == _S.c.provider_id))
    .where(*_PUBLISHED)
    .group_by(_S.c.provider_id)
)


def _published_page(*, keyed: bool) -> Select[Any]:
    """Each provider's published sessions numbered by (title, id), from the :low'th to the
    :high'th; ``keyed``: only those after the (:after_title, :after_id) key."""
    where = list(_PUBLISHED)
    if keyed:
        order = [(_S.c.title, False), (_S.c.id, False)]
        where.append(paging.after(order, (bindparam("after_title"), bindparam("after_id"))))
    numbered = (
        select(
            _S.c.id.label("session_id"),
            func.row_number()
            .over(partition_by=_S.c.provider_id, order_by=(_S.c.title, _S.c.id))
            .label("position"),
        )
        .select_from(_S.join(_P, _P.c.id == _S.c.provider_id))
        .where(*where)
        .subquery()
    )
    return (
        _SESSION_ROWS.join(numbered, numbered.c.session_id == _S.c.id)
        .where(numbered.c.position > bindparam("low"), numbered.c.position <= bindparam("high"))
        .order_by(_S.c.provider_id, numbered.c.position)
    )


_PUBLISHED_PAGE = _published_page(keyed=False)
_PUBLISHED_PAGE_AFTER = _published_page(keyed=True)


def _session_rows(
    db: orm.Session, stmt: Select[Any], params: Sequence[int] | dict[str, Any]
) -> list[SessionRow]:
    """The rows of ``stmt``, given its ids (or all its parameters), as SessionRows."""
    values = params if isinstance(params, dict) else {"ids": list(set(params))}
    rows = []
    for row in db.connection().execute(stmt, values):
        session = _SessionRecord._make(row[:_P_AT])
        venue = _VenueRecord._make(row[_V_AT:]) if session.venue_id is not None else None
        rows.append(SessionRow(session, _ProviderRecord._make(row[_P_AT:_V_AT]), venue))
    return rows


def sessions(db: orm.Session, ids: Sequence[int]) -> dict[int, SessionRow]:
    """The sessions with these ids, published or not, with their providers and venues."""
    return {row.session.id: row for row in _session_rows(db, _BY_SESSION, ids)}


def providers(db: orm.Session, ids: Sequence[int]) -> dict[int, Provider]:
    return _by_id(db, Provider, ids)


def venues(db: orm.Session, ids: Sequence[int]) -> dict[int, Venue]:
    return _by_id(db, Venue, ids)


def localities(db: orm.Session, ids: Sequence[int]) -> dict[int, Locality]:
    return _by_id(db, Locality, ids)


def schedules(db: orm.Session, session_ids: Sequence[int]) -> dict[int, list[Schedule]]:
    found: dict[int, list[Schedule]] = defaultdict(list)
    for row in db.scalars(
        select(Schedule)
        .where(Schedule.session_id.in_(set(session_ids)))
        .order_by(Schedule.session_id, Schedule.id)
    ):
        found[row.session_id].append(row)
    return found


def breaks(db: orm.Session, session_ids: Sequence[int]) -> dict[int, list[SessionBreak]]:
    found: dict[int, list[SessionBreak]] = defaultdict(list)
    for row in db.scalars(
        select(SessionBreak)
        .where(SessionBreak.session_id.in_(set(session_ids)))
        .order_by(SessionBreak.session_id, SessionBreak.starts_on)
    ):
        found[row.session_id].append(row)
    return found


def _grouped(
    db: orm.Session, owner: Any, value: Any, ids: Sequence[int], order: list[Any] | None = None
) -> dict[int, list[Any]]:
    """``value``s grouped by ``owner`` id, in ``order`` (an enum's order) or sorted."""
    found: dict[int, list[Any]] = defaultdict(list)
    for owner_id, item in db.execute(select(owner, value).where(owner.in_(set(ids)))):
        found[owner_id].append(item)
    rank = {item: i for i, item in enumerate(order)} if order else None
    for values in found.values():
        values.sort(key=rank.__getitem__ if rank else None)
    return found


def domains(db: orm.Session, session_ids: Sequence[int]) -> dict[int, list[Domain]]:
    return _grouped(db, SessionDomain.session_id, SessionDomain.domain, session_ids, list(Domain))


def languages(db: orm.Session, session_ids: Sequence[int]) -> dict[int, list[str]]:
    return _grouped(db, SessionLanguage.session_id, SessionLanguage.language, session_ids)


def accessibility(
    db: orm.Session, venue_ids: Sequence[int]
) -> dict[int, list[AccessibilityFeature]]:
    return _grouped(
        db, VenueFeature.venue_id, VenueFeature.feature, venue_ids, list(AccessibilityFeature)
    )


class SessionPage(NamedTuple):
    """A page of one provider's sessions, and how many it has in all."""

    total: int
    rows: list[SessionRow]


def published_session_pages(
    db: orm.Session,
    provider_ids: Sequence[int],
    *,
    offset: int = 0,
    limit: int,
    after: tuple[str, int] | None = None,
) -> dict[int, SessionPage]:
    """A page of each published provider's sessions, by title (the id last): ``limit`` of
    them from ``offset``, or after the (title, id) key ``after``, and one more when there is
    one (to tell whether a next page exists). Two statements whatever the number of
    providers or the page size."""
    ids = list(set(provider_ids))
    totals = dict(db.connection().execute(_PUBLISHED_COUNTS, {"ids": ids}).all())
    pages = {pid: SessionPage(total, []) for pid, total in totals.items()}
    window: dict[str, Any] = {"ids": ids, "low": offset, "high": offset + limit + 1}
    stmt = _PUBLISHED_PAGE
    if after is not None:
        window.update(low=0, high=limit + 1, after_title=after[0], after_id=after[1])
        stmt = _PUBLISHED_PAGE_AFTER
    for row in _session_rows(db, stmt, window):
        pages[row.provider.id].rows.append(row)
    return pages
