"""Finding sessions and providers: the filters behind the API, the site and the CLI.

Everything is filtered in SQL. Text uses the full-text index (FTS5 on SQLite, a stored,
GIN-indexed tsvector column on PostgreSQL: migration 0015). "Near" narrows by a bounding
box in SQL, then measures exact distances in Python for the few rows left, and orders by
them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Double,
    Integer,
    Select,
    String,
    Time,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    orm,
    select,
    table,
    update,
)

from api import paging
from api.directory import related, search_words
from api.directory.enums import (
    AccessibilityFeature,
    Delivery,
    Domain,
    HowToJoin,
    ListedBy,
    ListingStatus,
    ProviderKind,
    TimeOfDay,
    Weekday,
)
from api.directory.models import (
    DirectoryVersion,
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
    # Open Referral UK's filters (api/oruk/routes.py), worded as the standard words them.
    # A session with no minimum age has a minimum of 0; one with no maximum has none to match.
    minimum_age_at_least: float | None = None
    maximum_age_at_most: float | None = None
    # Some schedule rule starts at or after `starts_from` and ends at or before `ends_by`.
    starts_from: dt.time | None = None
    ends_by: dt.time | None = None
    # The session or its provider changed at or after this instant (timezone-aware).
    modified_since: dt.datetime | None = None
    # Only sessions with a place to list: a venue, or online (not at people's homes).
    located: bool = False


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
    # Parallel to items: each one's sort key, to continue after it (api/paging.py).
    keys: list[paging.Key] = field(default_factory=list)
    # Whether rows follow this page (known for keyset pages, which do not count their place).
    more: bool = False


def _id_page(rows: Sequence[Any], limit: int, total: int, offset: int) -> Page[int]:
    """A page from rows of (id, count, *sort key), one more than ``limit`` read to tell
    whether more follow."""
    return Page(
        [row[0] for row in rows[:limit]],
        total,
        offset,
        keys=[tuple(row[2:]) for row in rows[:limit]],
        more=len(rows) > limit,
    )


def search_terms(text: str | None) -> list[str]:
    return _WORD.findall((text or "").lower())[:12]


# ---------------------------------------------------------------------------------------------
# Sessions


def _published() -> ColumnElement[bool]:
    return Provider.status == ListingStatus.PUBLISHED


def _published_session() -> ColumnElement[bool]:
    # A session is public when it and its provider are (api/directory/lifecycle.py).
    return _published() & (Session.status == ListingStatus.PUBLISHED)


def _match_query(dialect: str, terms: list[str]) -> str:
    """The full-text query for ``terms``, every word a prefix ("walk" finds "walking") or a
    word of its synonym group (api/directory/search_words.yaml: "cookery" finds "cooking")."""
    groups = [search_words.expand(term) for term in terms]
    if dialect == "sqlite":
        return " AND ".join("(" + " OR ".join(f'"{w}"*' for w in group) + ")" for group in groups)
    return " & ".join("(" + " | ".join(f"{w}:*" for w in group) + ")" for group in groups)


def _text_match(dialect: str, *, ranked: bool) -> tuple[Any, Any, Any]:
    """How to match :match: (a selectable of the matching session ids to join, or None; a
    condition on sessions, or None; the rank, an expression to order by: best first is
    lowest on SQLite, highest on PostgreSQL)."""
    match = bindparam("match", type_=String)
    if dialect == "sqlite":
        rank = literal_column("rank") if ranked else literal_column("0")
        sub = (
            select(literal_column("rowid").label("id"), rank.label("rank"))
            .select_from(table("sessions_fts"))
            .where(literal_column("sessions_fts").op("MATCH")(match))
            .subquery()
        )
        return sub, None, sub.c.rank
    # PostgreSQL: the stored tsvector column of migration 0015 (GIN-indexed), on the row
    # itself: no self-join, and ts_rank reads the vector instead of parsing the text again.
    vector = literal_column("sessions.search_vector")
    tsquery = func.to_tsquery("english", match)
    # As double precision: a real (float4) comes back to Python rounded, and would not equal
    # itself when a cursor sends it back (api/paging.py).
    rank = func.ts_rank(vector, tsquery).cast(Double) if ranked else literal_column("0")
    return None, vector.op("@@")(tsquery), rank


@dataclass(frozen=True)
class _Filter:
    """One condition of a session search. ``form`` names its shape (part of the statement
    cache key), ``clause`` builds it with bound parameters, and ``params`` holds this
    search's values for them."""

    form: Hashable
    clause: Callable[[], ColumnElement[bool]]
    params: dict[str, Any] = field(default_factory=dict)


def _schedule_rule(days: bool, times: tuple[TimeOfDay, ...]) -> ColumnElement[bool]:
    rule: list[ColumnElement[bool]] = [Schedule.session_id == Session.id]
    if days:
        rule.append(Schedule.days_mask.op("&")(bindparam("days_mask", type_=Integer)) != 0)
    if times:
        spans = []
        for tod in times:
            start, end = TIME_OF_DAY_BOUNDS[tod]
            spans.append(
                and_(Schedule.opens_at >= start, Schedule.opens_at < end)
                if end
                else Schedule.opens_at >= start
            )
        rule.append(or_(*spans))
    # The same rule must match day and time: "Tuesday mornings".
    return exists().where(*rule)


def _has_features() -> ColumnElement[bool]:
    have = (
        select(func.count())
        .select_from(VenueFeature)
        .where(
            VenueFeature.venue_id == Session.venue_id,
            VenueFeature.feature.in_(bindparam("features", expanding=True)),
        )
        .scalar_subquery()
    )
    return have == bindparam("feature_count", type_=Integer)


def _confirmed_since() -> ColumnElement[bool]:
    confirmed = func.coalesce(Provider.last_confirmed_at, Provider.verified_at)
    return or_(confirmed.is_(None), confirmed >= bindparam("confirmed_since"))


def _session_filters(q: SessionQuery) -> list[_Filter]:
    found = [_Filter("published", _published_session)]
    if q.domains:
        found.append(
            _Filter(
                "domains",
                lambda: exists().where(
                    SessionDomain.session_id == Session.id,
                    SessionDomain.domain.in_(bindparam("domains", expanding=True)),
                ),
                {"domains": list(q.domains)},
            )
        )
    if q.provider_id is not None:
        found.append(
            _Filter(
                "provider",
                lambda: Session.provider_id == bindparam("provider_id"),
                {"provider_id": q.provider_id},
            )
        )
    if q.locality_id is not None:
        # A session is in the venue's locality, or its provider's when it has no venue.
        found.append(
            _Filter(
                "locality",
                lambda: (
                    func.coalesce(Venue.locality_id, Provider.locality_id)
                    == bindparam("locality_id", type_=Integer)
                ),
                {"locality_id": q.locality_id},
            )
        )
    if q.days or q.times_of_day:
        times = tuple(dict.fromkeys(q.times_of_day))
        found.append(
            _Filter(
                ("schedule", bool(q.days), times),
                lambda: _schedule_rule(bool(q.days), times),
                {"days_mask": mask_of(q.days)} if q.days else {},
            )
        )
    if q.free is not None:
        found.append(
            _Filter("free", lambda: Session.is_free == bindparam("free"), {"free": q.free})
        )
    if q.accessibility:
        wanted = list(dict.fromkeys(q.accessibility))
        found.append(
            _Filter("features", _has_features, {"features": wanted, "feature_count": len(wanted)})
        )
    if q.language:
        found.append(
            _Filter(
                "language",
                lambda: exists().where(
                    SessionLanguage.session_id == Session.id,
                    SessionLanguage.language == bindparam("language"),
                ),
                {"language": q.language.lower()},
            )
        )
    if q.how_to_join:
        found.append(
            _Filter(
                "how_to_join",
                lambda: Session.how_to_join.in_(bindparam("how_to_join", expanding=True)),
                {"how_to_join": list(q.how_to_join)},
            )
        )
    if q.confirmed_since is not None:
        found.append(_Filter("confirmed", _confirmed_since, {"confirmed_since": q.confirmed_since}))
    found += _oruk_filters(q)
    if q.near:
        min_lat, max_lat, min_lon, max_lon = bounding_box(
            q.near.latitude, q.near.longitude, q.near.radius_km
        )
        found.append(
            _Filter(
                "box",
                lambda: and_(
                    Venue.latitude.between(bindparam("min_lat"), bindparam("max_lat")),
                    Venue.longitude.between(bindparam("min_lon"), bindparam("max_lon")),
                ),
                {"min_lat": min_lat, "max_lat": max_lat, "min_lon": min_lon, "max_lon": max_lon},
            )
        )
    return found


_INSTANT = DateTime(timezone=True)


def _oruk_filters(q: SessionQuery) -> list[_Filter]:
    found = []
    if q.minimum_age_at_least is not None:
        found.append(
            _Filter(
                "min_age",
                lambda: func.coalesce(Session.min_age, 0) >= bindparam("min_age_at_least"),
                {"min_age_at_least": q.minimum_age_at_least},
            )
        )
    if q.maximum_age_at_most is not None:
        found.append(
            _Filter(
                "max_age",
                lambda: Session.max_age <= bindparam("max_age_at_most"),
                {"max_age_at_most": q.maximum_age_at_most},
            )
        )
    if q.starts_from is not None or q.ends_by is not None:
        starts, ends = q.starts_from is not None, q.ends_by is not None

        def hours() -> ColumnElement[bool]:
            rule: list[ColumnElement[bool]] = [Schedule.session_id == Session.id]
            if starts:
                rule.append(Schedule.opens_at >= bindparam("starts_from", type_=Time))
            if ends:
                rule.append(Schedule.closes_at <= bindparam("ends_by", type_=Time))
            return exists().where(*rule)

        params: dict[str, Any] = {}
        if starts:
            params["starts_from"] = q.starts_from
        if ends:
            params["ends_by"] = q.ends_by
        found.append(_Filter(("hours", starts, ends), hours, params))
    if q.modified_since is not None:
        found.append(
            _Filter(
                "modified",
                lambda: or_(
                    Session.updated_at >= bindparam("modified_since", type_=_INSTANT),
                    Provider.updated_at >= bindparam("modified_since", type_=_INSTANT),
                ),
                {"modified_since": q.modified_since},
            )
        )
    if q.located:
        found.append(
            _Filter(
                "located",
                lambda: or_(Session.venue_id.is_not(None), Session.delivery == Delivery.ONLINE),
            )
        )
    return found


# Search statements by shape (which filters, ranked or not, which columns), with bound
# parameters for the values. Building a statement costs more than SQLite takes to run it,
# and a directory sees the same few shapes again and again.
_STATEMENTS: dict[tuple[Hashable, ...], Select[Any]] = {}
_MAX_STATEMENTS = 1000


def _statement(key: tuple[Hashable, ...], build: Callable[[], Select[Any]]) -> Select[Any]:
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        if len(_STATEMENTS) >= _MAX_STATEMENTS:  # never reached in practice; stay bounded
            _STATEMENTS.clear()
        stmt = _STATEMENTS[key] = build()
    return stmt


# The directory's version (migration 0015: raised by every write to its tables), read in the
# statement of a page so that the total cached for it is the total of what the page saw.
_VERSION = (
    select(DirectoryVersion.version).where(DirectoryVersion.id == 1).scalar_subquery()
).label("directory_version")
# Totals of title-ordered searches by (database, shape, values, directory version).
_TOTALS: dict[tuple[Hashable, ...], int] = {}
_MAX_TOTALS = 1000


def _frozen(params: dict[str, Any]) -> tuple[Hashable, ...]:
    return tuple(
        (name, tuple(value) if isinstance(value, list) else value)
        for name, value in sorted(params.items())
    )


def _cached_total(
    conn: Any,
    shape: tuple[Hashable, ...],
    params: dict[str, Any],
    version: int | None,
    count: Callable[[], Select[Any]],
) -> int:
    """The total of a title-ordered search: cached for the directory's ``version`` (the
    one the page read; None when the page is empty), or counted, with the version the
    count saw, and kept for it."""
    database = conn.engine.url.render_as_string(hide_password=True)
    key = (database, shape, _frozen(params))
    if version is not None and (key, version) in _TOTALS:
        return _TOTALS[(key, version)]
    total, counted = conn.execute(count(), params).one()
    if counted is not None:
        if len(_TOTALS) >= _MAX_TOTALS:  # old versions' totals go at once; stay bounded
            _TOTALS.clear()
        _TOTALS[(key, counted)] = total
    return total


def search_sessions(
    db: orm.Session,
    q: SessionQuery,
    *,
    offset: int = 0,
    limit: int,
    after: paging.Key | None = None,
) -> Page[int]:
    """Ids of published sessions matching ``q``: nearest first with ``near`` (then by title),
    else best text match first, else by title (the id last). Fetch the rows with
    ``related.sessions``. ``after``: continue after this ``Page.keys`` entry (keyset) instead
    of skipping ``offset`` rows."""
    dialect = db.get_bind().dialect.name
    terms = search_terms(q.text)
    # With `near` the order is by distance: skip ranking, the costly part of the match.
    ranked = bool(terms) and q.near is None
    filters = _session_filters(q)
    params = {name: value for f in filters for name, value in f.params.items()}
    if terms:
        params["match"] = _match_query(dialect, terms)
    shape = (dialect, bool(terms), ranked, after is not None, *(f.form for f in filters))

    def base(*columns: Any, keyed: bool = False) -> Select[Any]:
        """The search; ``keyed``: with the sort key's columns, after the :after<i> key."""
        stmt = (
            select(*columns)
            .select_from(Session)
            .join(Provider, Provider.id == Session.provider_id)
            .outerjoin(Venue, Venue.id == Session.venue_id)
            .where(*(f.clause() for f in filters))
        )
        # (column, descending): ranks are best when lowest on SQLite, highest on PostgreSQL.
        order: list[tuple[Any, bool]] = [(Session.title, False), (Session.id, False)]
        if terms:
            matched, condition, rank = _text_match(dialect, ranked=ranked)
            if matched is not None:
                stmt = stmt.join(matched, matched.c.id == Session.id)
            if condition is not None:
                stmt = stmt.where(condition)
            if ranked:
                order.insert(0, (rank, dialect != "sqlite"))
        if keyed:
            stmt = stmt.add_columns(*(column for column, _desc in order))
            if after is not None:
                key = tuple(bindparam(f"after{i}") for i in range(len(order)))
                stmt = stmt.where(paging.after(order, key))
        return stmt.order_by(*(c.desc() if desc else c.asc() for c, desc in order))

    # Plain columns: the connection runs them without the ORM's per-statement work.
    conn = db.connection()
    bound = {f"after{i}": value for i, value in enumerate(after or ())}
    bound.update(offset=0 if after else offset, limit=limit + 1)
    if q.near is None and not terms:
        # In title order: the page walks ix_sessions_status_title and stops when full (a
        # count in the same statement would read every row); the total is counted once per
        # version of the directory, which the page's statement reads with it.
        ids = _statement(
            ("titled", *shape),
            lambda: (
                base(Session.id, _VERSION, keyed=True)
                .offset(bindparam("offset"))
                .limit(bindparam("limit"))
            ),
        )
        rows = conn.execute(ids, {**params, **bound}).all()
        total = _cached_total(
            conn,
            shape,
            params,
            rows[0][1] if rows else None,
            lambda: _statement(
                ("titled count", *shape), lambda: base(func.count(), _VERSION).order_by(None)
            ),
        )
        return _id_page(rows, limit, total, offset)
    if q.near is None:
        count = _statement(("count", *shape), lambda: base(func.count()).order_by(None))
        # One round trip: the page, each row carrying the count of all (a window function).
        ids = _statement(
            ("ids", *shape),
            lambda: (
                base(Session.id, func.count().over(), keyed=True)
                .offset(bindparam("offset"))
                .limit(bindparam("limit"))
            ),
        )
        rows = conn.execute(ids, {**params, **bound}).all()
        if rows and after is None:
            total = rows[0][1]  # the page and its total in one round trip
        elif not rows and after is None and offset == 0:
            total = 0
        else:
            # After a cursor the window counts only what follows it; past the end, nothing.
            total = conn.execute(count, params).scalar_one()
        return _id_page(rows, limit, total, offset)

    near = q.near
    nearby = []
    candidates = _statement(
        ("near", *shape), lambda: base(Session.id, Venue.latitude, Venue.longitude, Session.title)
    )
    for session_id, lat, lon, title in conn.execute(candidates, params):
        km = distance_km(near.latitude, near.longitude, lat, lon)
        if km <= near.radius_km:
            nearby.append((km, title, session_id))
    # The key is (distance, title, id), compared in Python: nearest first, then by title.
    nearby.sort()
    rest = paging.seek(nearby, lambda row: row, after) if after else nearby[offset:]
    page = rest[:limit]
    return Page(
        [i for _km, _title, i in page],
        len(nearby),
        offset,
        [round(km, 2) for km, _title, _i in page],
        keys=list(page),
        more=len(rest) > limit,
    )


def get_session(db: orm.Session, session_id: int) -> related.SessionRow | None:
    """A published session by id, with its provider and venue (None for unknown or
    unpublished)."""
    row = related.sessions(db, [session_id]).get(session_id)
    public = row and row.provider.status == ListingStatus.PUBLISHED
    return row if public and row.session.status == ListingStatus.PUBLISHED else None


def domain_counts(db: orm.Session) -> dict[Domain, int]:
    rows = db.execute(
        select(SessionDomain.domain, func.count(func.distinct(SessionDomain.session_id)))
        .join(Session, Session.id == SessionDomain.session_id)
        .join(Provider, Provider.id == Session.provider_id)
        .where(_published_session())
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
    db: orm.Session,
    q: ProviderQuery,
    *,
    offset: int = 0,
    limit: int,
    public: ColumnElement[bool] | None = None,
    after: paging.Key | None = None,
) -> Page[Provider]:
    """Published providers matching ``q``, by name (the id last); ``public`` narrows
    "published" further (the public site's freshness rule, for Open Referral UK). ``after``:
    continue after this (name, id) key instead of skipping ``offset`` rows."""
    where: list[ColumnElement[bool]] = [_published() if public is None else public]
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
    order = [(Provider.name, False), (Provider.id, False)]
    if after is not None:
        where.append(paging.after(order, after))
    rows = db.scalars(
        select(Provider)
        .where(*where)
        .order_by(Provider.name, Provider.id)
        .offset(0 if after is not None else offset)
        .limit(limit + 1)
    ).all()
    page = list(rows[:limit])
    return Page(
        page,
        total,
        offset,
        keys=[(row.name, row.id) for row in page],
        more=len(rows) > limit,
    )


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
