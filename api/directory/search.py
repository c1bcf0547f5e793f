"""Finding sessions and providers: the filters behind the API, the site and the CLI.

Everything is filtered in SQL. Text uses the full-text index (FTS5 on SQLite, tsvector on
PostgreSQL). "Near" narrows by a bounding box in SQL, then measures exact distances in Python
for the few rows left, and orders by them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    func,
    literal_column,
    or_,
    orm,
    select,
    table,
    update,
)

from api.directory import related
from api.directory.enums import (
    AccessibilityFeature,
    Domain,
    HowToJoin,
    ListedBy,
    ListingStatus,
    ProviderKind,
    TimeOfDay,
    Weekday,
)
from api.directory.models import (
    Provider,
    Schedule,
    Session,
    SessionDomain,
    SessionLanguage,
    Venue,
    VenueFeature,
)
from api.directory.postcodes import bounding_box, distance_km
from api.directory.schedules import TIME_OF_DAY_BOUNDS, mask_of

T = TypeVar("T")

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Near:
    latitude: float
    longitude: float
    radius_km: float


@dataclass(frozen=True)
class SessionQuery:
    text: str | None = None
    domains: Sequence[Domain] = ()
    locality_id: int | None = None
    provider_id: int | None = None
    days: Sequence[Weekday] = ()
    times_of_day: Sequence[TimeOfDay] = ()
    free: bool | None = None
    accessibility: Sequence[AccessibilityFeature] = ()
    language: str | None = None
    how_to_join: Sequence[HowToJoin] = ()
    near: Near | None = None
    # Leave out providers last confirmed (or checked) before this date: the public site's
    # freshness rule (api/directory/public.py).
    confirmed_since: dt.date | None = None


@dataclass(frozen=True)
class ProviderQuery:
    text: str | None = None
    locality_id: int | None = None
    domains: Sequence[Domain] = ()
    kinds: Sequence[ProviderKind] = ()
    listed_by: ListedBy | None = None


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    offset: int
    # Parallel to items when the query had `near`, else empty.
    distances_km: list[float] = field(default_factory=list)


def search_terms(text: str | None) -> list[str]:
    return _WORD.findall((text or "").lower())[:12]


# ---------------------------------------------------------------------------------------------
# Sessions


def _published() -> ColumnElement[bool]:
    return Provider.status == ListingStatus.PUBLISHED


def _text_match(db: orm.Session, terms: list[str], *, ranked: bool) -> tuple[Any, Any]:
    """(a selectable of matching session ids with a rank, its order clause: best first)."""
    if db.get_bind().dialect.name == "sqlite":
        fts = table("sessions_fts")
        query = " ".join(f'"{term}"*' for term in terms)
        rank = literal_column("rank") if ranked else literal_column("0")
        sub = (
            select(literal_column("rowid").label("id"), rank.label("rank"))
            .select_from(fts)
            .where(literal_column("sessions_fts").op("MATCH")(query))
            .subquery()
        )
        return sub, sub.c.rank.asc()
    vector = func.to_tsvector("english", Session.search_text)
    tsquery = func.to_tsquery("english", " & ".join(f"{term}:*" for term in terms))
    rank = func.ts_rank(vector, tsquery) if ranked else literal_column("0")
    sub = (
        select(Session.id.label("id"), rank.label("rank"))
        .where(vector.op("@@")(tsquery))
        .subquery()
    )
    return sub, sub.c.rank.desc()


def _session_filters(q: SessionQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [_published()]
    if q.domains:
        where.append(
            exists().where(
                SessionDomain.session_id == Session.id, SessionDomain.domain.in_(list(q.domains))
            )
        )
    if q.provider_id is not None:
        where.append(Session.provider_id == q.provider_id)
    if q.locality_id is not None:
        # A session is in the venue's locality, or its provider's when it has no venue.
        where.append(func.coalesce(Venue.locality_id, Provider.locality_id) == q.locality_id)
    if q.days or q.times_of_day:
        rule: list[ColumnElement[bool]] = [Schedule.session_id == Session.id]
        if q.days:
            rule.append(Schedule.days_mask.op("&")(mask_of(q.days)) != 0)
        if q.times_of_day:
            spans = []
            for tod in dict.fromkeys(q.times_of_day):
                start, end = TIME_OF_DAY_BOUNDS[tod]
                spans.append(
                    and_(Schedule.opens_at >= start, Schedule.opens_at < end)
                    if end
                    else Schedule.opens_at >= start
                )
            rule.append(or_(*spans))
        # The same rule must match day and time: "Tuesday mornings".
        where.append(exists().where(*rule))
    if q.free is not None:
        where.append(Session.is_free.is_(q.free))
    if q.accessibility:
        wanted = list(dict.fromkeys(q.accessibility))
        have = (
            select(func.count())
            .select_from(VenueFeature)
            .where(VenueFeature.venue_id == Session.venue_id, VenueFeature.feature.in_(wanted))
            .scalar_subquery()
        )
        where.append(have == len(wanted))
    if q.language:
        where.append(
            exists().where(
                SessionLanguage.session_id == Session.id,
                SessionLanguage.language == q.language.lower(),
            )
        )
    if q.how_to_join:
        where.append(Session.how_to_join.in_(list(q.how_to_join)))
    if q.confirmed_since is not None:
        confirmed = func.coalesce(Provider.last_confirmed_at, Provider.verified_at)
        where.append(or_(confirmed.is_(None), confirmed >= q.confirmed_since))
    if q.near:
        min_lat, max_lat, min_lon, max_lon = bounding_box(
            q.near.latitude, q.near.longitude, q.near.radius_km
        )
        where.append(Venue.latitude.between(min_lat, max_lat))
        where.append(Venue.longitude.between(min_lon, max_lon))
    return where


def _base(columns: Sequence[Any], q: SessionQuery) -> Select[Any]:
    return (
        select(*columns)
        .select_from(Session)
        .join(Provider, Provider.id == Session.provider_id)
        .outerjoin(Venue, Venue.id == Session.venue_id)
        .where(*_session_filters(q))
    )


def search_sessions(db: orm.Session, q: SessionQuery, *, offset: int, limit: int) -> Page[int]:
    """Ids of published sessions matching ``q``: nearest first with ``near``, else best text
    match first, else by title. Fetch the rows with ``related.sessions``."""
    terms = search_terms(q.text)
    order: list[Any] = []
    ranked = None
    if terms:
        # With `near` the order is by distance: skip ranking, the costly part of the match.
        ranked, rank_order = _text_match(db, terms, ranked=q.near is None)
        if q.near is None:
            order.append(rank_order)
    order += [Session.title, Session.id]

    def base(*columns: Any) -> Select[Any]:
        stmt = _base(columns, q)
        if ranked is not None:
            stmt = stmt.join(ranked, ranked.c.id == Session.id)
        return stmt

    if q.near is None:
        total = db.execute(base(func.count()).order_by(None)).scalar_one()
        ids = db.scalars(base(Session.id).order_by(*order).offset(offset).limit(limit)).all()
        return Page(list(ids), total, offset)

    near = q.near
    found = []
    for session_id, lat, lon in db.execute(
        base(Session.id, Venue.latitude, Venue.longitude).order_by(*order)
    ):
        km = distance_km(near.latitude, near.longitude, lat, lon)
        if km <= near.radius_km:
            found.append((km, session_id))
    # Stable sort keeps the text/title order among sessions at the same place.
    found.sort(key=lambda pair: pair[0])
    page = found[offset : offset + limit]
    return Page([i for _km, i in page], len(found), offset, [round(km, 2) for km, _i in page])


def get_session(db: orm.Session, session_id: int) -> related.SessionRow | None:
    """A published session by id, with its provider and venue (None for unknown or
    unpublished)."""
    row = related.sessions(db, [session_id]).get(session_id)
    return row if row and row.provider.status == ListingStatus.PUBLISHED else None


def domain_counts(db: orm.Session) -> dict[Domain, int]:
    rows = db.execute(
        select(SessionDomain.domain, func.count(func.distinct(SessionDomain.session_id)))
        .join(Session, Session.id == SessionDomain.session_id)
        .join(Provider, Provider.id == Session.provider_id)
        .where(_published())
        .group_by(SessionDomain.domain)
    )
    counts = dict.fromkeys(Domain, 0)
    counts.update({Domain(domain): n for domain, n in rows})
    return counts


# ---------------------------------------------------------------------------------------------
# Providers


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_providers(
    db: orm.Session, q: ProviderQuery, *, offset: int, limit: int
) -> Page[Provider]:
    where: list[ColumnElement[bool]] = [_published()]
    for term in search_terms(q.text):
        pattern = _like(term)
        where.append(
            or_(
                Provider.name.ilike(pattern, escape="\\"),
                Provider.description.ilike(pattern, escape="\\"),
            )
        )
    if q.locality_id is not None:
        where.append(Provider.locality_id == q.locality_id)
    if q.kinds:
        where.append(Provider.kind.in_(list(q.kinds)))
    if q.listed_by is not None:
        where.append(Provider.listed_by == q.listed_by)
    if q.domains:
        where.append(
            exists().where(
                Session.provider_id == Provider.id,
                SessionDomain.session_id == Session.id,
                SessionDomain.domain.in_(list(q.domains)),
            )
        )
    total = db.execute(select(func.count()).select_from(Provider).where(*where)).scalar_one()
    rows = db.scalars(
        select(Provider)
        .where(*where)
        .order_by(Provider.name, Provider.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return Page(list(rows), total, offset)


def get_provider(db: orm.Session, provider_id: int) -> Provider | None:
    return db.scalars(select(Provider).where(Provider.id == provider_id, _published())).first()


# ---------------------------------------------------------------------------------------------
# Keeping the text index fed


def search_text_of(title: str, description: str, provider: str, venue: str | None) -> str:
    return "\n".join(part for part in (title, description, provider, venue or "") if part)


def refresh_search_text(db: orm.Session, session_ids: Sequence[int] | None = None) -> int:
    """Recompute ``sessions.search_text`` (all sessions, or the given ones); returns how many
    changed. Call it after writing a session, its provider's name or its venue's name."""
    stmt = (
        select(
            Session.id,
            Session.title,
            Session.description,
            Session.search_text,
            Provider.name,
            Venue.name,
        )
        .join(Provider, Provider.id == Session.provider_id)
        .outerjoin(Venue, Venue.id == Session.venue_id)
    )
    if session_ids is not None:
        stmt = stmt.where(Session.id.in_(list(session_ids)))
    changes = []
    for sid, title, description, current, provider, venue in db.execute(stmt):
        text = search_text_of(title, description, provider, venue)
        if text != current:
            changes.append({"id": sid, "search_text": text})
    if changes:
        db.execute(update(Session), changes)
    return len(changes)
