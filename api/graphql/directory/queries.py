"""Directory queries: the public, read-only part of the API."""

from __future__ import annotations

import strawberry
from sqlalchemy import orm, select
from strawberry.types import Info

from api.config import Settings
from api.directory import related, search
from api.directory.models import DomainLabel, Locality
from api.directory.postcodes import InvalidPostcode, UnknownPostcode, locate
from api.graphql.context import Context
from api.graphql.directory.types import (
    AccessibilityFeature,
    DayOfWeek,
    Domain,
    DomainInfo,
    HowToJoin,
    ListedBy,
    LocalityType,
    Node,
    ProviderConnection,
    ProviderEdge,
    ProviderKind,
    ProviderType,
    SessionConnection,
    SessionEdge,
    SessionType,
    TimeOfDay,
)
from api.graphql.errors import UserInputError
from api.graphql.relay import After, First, Keyset, PageInfo, expect_id, from_global_id

MAX_RADIUS_KM = 50.0
MAX_TEXT = 200


@strawberry.input(description="Where to search from: a postcode, or a latitude and longitude.")
class NearInput:
    postcode: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    radius_km: float = strawberry.field(default=5.0, description="Up to 50 km; 5 by default.")


@strawberry.input(description="Every condition given must hold; lists match any of their values.")
class SessionFilter:
    text: str | None = strawberry.field(
        default=None, description="Words in the title, description, provider or venue name."
    )
    domains: list[Domain] | None = None
    locality_id: strawberry.ID | None = None
    provider_id: strawberry.ID | None = None
    days_of_week: list[DayOfWeek] | None = None
    time_of_day: list[TimeOfDay] | None = None
    free: bool | None = None
    accessibility: list[AccessibilityFeature] | None = strawberry.field(
        default=None, description="Features the venue must have (all of them)."
    )
    language: str | None = strawberry.field(
        default=None, description="ISO 639-1 code, e.g. 'bn' for Bengali, 'so' for Somali."
    )
    how_to_join: list[HowToJoin] | None = None
    near: NearInput | None = strawberry.field(
        default=None, description="Only sessions within the radius, nearest first."
    )


@strawberry.input
class ProviderFilter:
    text: str | None = None
    locality_id: strawberry.ID | None = None
    domains: list[Domain] | None = None
    kinds: list[ProviderKind] | None = None
    listed_by: ListedBy | None = None


def _text(value: str | None, field: str) -> str | None:
    if value is not None and len(value) > MAX_TEXT:
        raise UserInputError(
            f"`{field}` is too long: keep it under {MAX_TEXT} characters", field=field
        )
    return value


def _near(db: orm.Session, near: NearInput) -> search.Near:
    if not 0 < near.radius_km <= MAX_RADIUS_KM:
        raise UserInputError(
            f"`radiusKm` must be more than 0 and at most {MAX_RADIUS_KM:g}",
            field="filter.near.radiusKm",
        )
    if near.postcode is not None:
        if near.latitude is not None or near.longitude is not None:
            raise UserInputError(
                "give a postcode or a latitude and longitude, not both", field="filter.near"
            )
        try:
            lat, lon = locate(db, near.postcode)
        except (InvalidPostcode, UnknownPostcode) as exc:
            raise UserInputError(str(exc), field="filter.near.postcode") from None
        return search.Near(lat, lon, near.radius_km)
    if near.latitude is None or near.longitude is None:
        raise UserInputError("give a postcode, or both latitude and longitude", field="filter.near")
    if not (-90 <= near.latitude <= 90 and -180 <= near.longitude <= 180):
        raise UserInputError(
            "latitude must be -90 to 90 and longitude -180 to 180", field="filter.near"
        )
    return search.Near(near.latitude, near.longitude, near.radius_km)


def _language(value: str | None) -> str | None:
    if value is None:
        return None
    code = value.strip().lower()
    if not (2 <= len(code) <= 3 and code.isalpha() and code.isascii()):
        raise UserInputError(
            f"'{value}' is not a language code: use ISO 639-1, e.g. 'bn' (Bengali)",
            field="filter.language",
        )
    return code


def _session_order(settings: Settings, q: search.SessionQuery) -> Keyset:
    """The cursors of `sessions` in the order this query's results come in."""
    if q.near is not None:
        return Keyset(settings, "sessions", "distance", [q.near.latitude, q.near.longitude])
    terms = search.search_terms(q.text)
    if terms:
        return Keyset(settings, "sessions", "relevance", terms)
    return Keyset(settings, "sessions", "title")


def session_query(db: orm.Session, f: SessionFilter | None) -> search.SessionQuery:
    """Turn the GraphQL filter into the domain's query, checking what it can."""
    if f is None:
        return search.SessionQuery()
    return search.SessionQuery(
        text=_text(f.text, "filter.text"),
        domains=tuple(f.domains or ()),
        locality_id=expect_id(f.locality_id, "Locality", "filter.localityId")
        if f.locality_id
        else None,
        provider_id=expect_id(f.provider_id, "Provider", "filter.providerId")
        if f.provider_id
        else None,
        days=tuple(day.value for day in f.days_of_week or ()),
        times_of_day=tuple(f.time_of_day or ()),
        free=f.free,
        accessibility=tuple(f.accessibility or ()),
        language=_language(f.language),
        how_to_join=tuple(f.how_to_join or ()),
        near=_near(db, f.near) if f.near else None,
    )


@strawberry.type
class DirectoryQuery:
    @strawberry.field(description="The six domains, with labels and session counts.")
    async def domains(self, info: Info[Context]) -> list[DomainInfo]:
        def read(db: orm.Session) -> list[DomainInfo]:
            counts = search.domain_counts(db)
            labels = {row.domain: row for row in db.scalars(select(DomainLabel))}
            result = []
            for domain, count in counts.items():
                row = labels.get(domain)
                result.append(
                    DomainInfo(
                        domain=domain,
                        label=row.label if row else domain.value.replace("_", " ").capitalize(),
                        description=row.description if row else "",
                        session_count=count,
                    )
                )
            return result

        return await info.context.db.run_sync(read)

    @strawberry.field(description="Published sessions, filtered; nearest first with `near`.")
    async def sessions(
        self,
        info: Info[Context],
        filter: SessionFilter | None = None,  # noqa: A002 (the public contract's name)
        first: First = None,
        after: After = None,
    ) -> SessionConnection:
        settings = info.context.settings

        def read(
            db: orm.Session,
        ) -> tuple[search.Page[int], list[SessionType], list[str], PageInfo]:
            query = session_query(db, filter)
            keyset = _session_order(settings, query)
            window = keyset.window(first, after, maximum=settings.max_page_size)
            page = search.search_sessions(
                db, query, limit=window.limit, after=window.key, offset=window.offset
            )
            rows = related.sessions(db, page.items)
            found = keyset.cursors(page.keys)
            nodes = [SessionType.of(rows[i]) for i in page.items]
            return page, nodes, found, keyset.page_info(found, window, page.more)

        page, nodes, found, info_ = await info.context.db.run_sync(read)
        distances = page.distances_km or [None] * len(nodes)
        edges = [
            SessionEdge(cursor=cursor, node=node, distance_km=km)
            for cursor, node, km in zip(found, nodes, distances, strict=True)
        ]
        return SessionConnection(edges=edges, total_count=page.total, page_info=info_)

    @strawberry.field(description="Published providers, by name.")
    async def providers(
        self,
        info: Info[Context],
        filter: ProviderFilter | None = None,  # noqa: A002
        first: First = None,
        after: After = None,
    ) -> ProviderConnection:
        keyset = Keyset(info.context.settings, "providers", "name")
        window = keyset.window(first, after, maximum=info.context.settings.max_page_size)
        f = filter or ProviderFilter()
        query = search.ProviderQuery(
            text=_text(f.text, "filter.text"),
            locality_id=expect_id(f.locality_id, "Locality", "filter.localityId")
            if f.locality_id
            else None,
            domains=tuple(f.domains or ()),
            kinds=tuple(f.kinds or ()),
            listed_by=f.listed_by,
        )
        page = await info.context.db.run_sync(
            lambda db: search.search_providers(
                db, query, limit=window.limit, after=window.key, offset=window.offset
            )
        )
        nodes = [ProviderType.of(row) for row in page.items]
        found = keyset.cursors(page.keys)
        edges = [ProviderEdge(cursor=c, node=n) for c, n in zip(found, nodes, strict=True)]
        return ProviderConnection(
            edges=edges,
            total_count=page.total,
            page_info=keyset.page_info(found, window, page.more),
        )

    @strawberry.field(description="Any object by its global ID.")
    async def node(self, info: Info[Context], id: strawberry.ID) -> Node | None:  # noqa: A002
        type_name, pk = from_global_id(id)
        loaders = info.context.loaders
        if type_name == "Session":
            return await _published_session(info, pk)
        if type_name == "Provider":
            return await _published_provider(info, pk)
        if type_name == "Venue":
            return await loaders.venue.load(pk)
        if type_name == "Locality":
            return await loaders.locality.load(pk)
        return None

    @strawberry.field
    async def session(self, info: Info[Context], id: strawberry.ID) -> SessionType | None:  # noqa: A002
        return await _published_session(info, expect_id(id, "Session"))

    @strawberry.field
    async def provider(self, info: Info[Context], id: strawberry.ID) -> ProviderType | None:  # noqa: A002
        return await _published_provider(info, expect_id(id, "Provider"))

    @strawberry.field
    async def localities(self, info: Info[Context]) -> list[LocalityType]:
        return await info.context.db.run_sync(
            lambda db: [
                LocalityType.of(row) for row in db.scalars(select(Locality).order_by(Locality.name))
            ]
        )


async def _published_session(info: Info[Context], pk: int) -> SessionType | None:
    row = await info.context.db.run_sync(lambda db: search.get_session(db, pk))
    return SessionType.of(row) if row else None


async def _published_provider(info: Info[Context], pk: int) -> ProviderType | None:
    row = await info.context.db.run_sync(lambda db: search.get_provider(db, pk))
    return ProviderType.of(row) if row else None
