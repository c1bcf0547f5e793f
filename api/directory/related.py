"""Batch reads of related rows, keyed by the owner's id: one statement per call, whatever
the number of ids. DataLoaders and the site generator build on these."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import orm, select

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


@dataclass
class SessionRows:
    """Sessions by id, with (when asked for) their providers and venues by id."""

    sessions: dict[int, Session]
    providers: dict[int, Provider] = field(default_factory=dict)
    venues: dict[int, Venue] = field(default_factory=dict)


def sessions(db: orm.Session, ids: Sequence[int], *, with_places: bool = False) -> SessionRows:
    """The sessions with these ids; ``with_places`` adds their providers and venues, read in
    the same statement (a page of search results usually shows both)."""
    if not with_places:
        return SessionRows(_by_id(db, Session, ids))
    rows = SessionRows({})
    stmt = (
        select(Session, Provider, Venue)
        .join(Provider, Provider.id == Session.provider_id)
        .outerjoin(Venue, Venue.id == Session.venue_id)
        .where(Session.id.in_(set(ids)))
    )
    for session, provider, venue in db.execute(stmt):
        rows.sessions[session.id] = session
        rows.providers[provider.id] = provider
        if venue is not None:
            rows.venues[venue.id] = venue
    return rows


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


def published_sessions(db: orm.Session, provider_ids: Sequence[int]) -> dict[int, list[Session]]:
    found: dict[int, list[Session]] = defaultdict(list)
    for row in db.scalars(
        select(Session)
        .join(Provider, Provider.id == Session.provider_id)
        .where(
            Session.provider_id.in_(set(provider_ids)), Provider.status == ListingStatus.PUBLISHED
        )
        .order_by(Session.provider_id, Session.title, Session.id)
    ):
        found[row.provider_id].append(row)
    return found
