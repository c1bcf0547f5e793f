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


def domains(db: orm.Session, session_ids: Sequence[int]) -> dict[int, list[Domain]]:
    found: dict[int, list[Domain]] = defaultdict(list)
    order = {d: i for i, d in enumerate(Domain)}
    for sid, domain in db.execute(
        select(SessionDomain.session_id, SessionDomain.domain).where(
            SessionDomain.session_id.in_(set(session_ids))
        )
    ):
        found[sid].append(domain)
    for values in found.values():
        values.sort(key=order.__getitem__)
    return found


def languages(db: orm.Session, session_ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    for sid, language in db.execute(
        select(SessionLanguage.session_id, SessionLanguage.language)
        .where(SessionLanguage.session_id.in_(set(session_ids)))
        .order_by(SessionLanguage.session_id, SessionLanguage.language)
    ):
        found[sid].append(language)
    return found


def accessibility(
    db: orm.Session, venue_ids: Sequence[int]
) -> dict[int, list[AccessibilityFeature]]:
    found: dict[int, list[AccessibilityFeature]] = defaultdict(list)
    order = {f: i for i, f in enumerate(AccessibilityFeature)}
    for vid, feature in db.execute(
        select(VenueFeature.venue_id, VenueFeature.feature).where(
            VenueFeature.venue_id.in_(set(venue_ids))
        )
    ):
        found[vid].append(feature)
    for values in found.values():
        values.sort(key=order.__getitem__)
    return found


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
