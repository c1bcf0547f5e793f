"""GraphQL types of the directory.

Each type is a plain object built by ``of`` from its database row (an ORM object, or a
record of its columns), in the worker thread that read it. Its scalar fields, its global ID
and the rows read with it (a session's provider and venue) are attributes, which GraphQL
reads without calling a resolver. Only the other relations have resolvers, and those go
through the request's DataLoaders. On a page of search results that is the difference
between about 120 resolver calls and one.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from api.directory import enums, models, related
from api.directory import schedules as sched
from api.graphql.context import Context
from api.graphql.relay import After, First, Keyset, PageInfo, Window, to_global_id

if TYPE_CHECKING:
    from api.graphql.directory.loaders import SessionsPage

Domain = strawberry.enum(enums.Domain, description="The six domains of social prescribing.")
ProviderKind = strawberry.enum(enums.ProviderKind)
Relationship = strawberry.enum(
    enums.Relationship, description="How a provider stands to its locality's lead provider."
)
ListedBy = strawberry.enum(enums.ListedBy)
Verification = strawberry.enum(enums.Verification)
Delivery = strawberry.enum(
    enums.Delivery, description="Where it happens: at a venue, online, or in your home."
)
HowToJoin = strawberry.enum(enums.HowToJoin)
Gender = strawberry.enum(enums.Gender)
AccessibilityFeature = strawberry.enum(enums.AccessibilityFeature)
Frequency = strawberry.enum(enums.Frequency)
TimeOfDay = strawberry.enum(
    enums.TimeOfDay,
    description="MORNING starts before 12:00, AFTERNOON 12:00-16:59, EVENING 17:00 or later.",
)


@strawberry.enum
class DayOfWeek(Enum):
    MONDAY = enums.Weekday.MO
    TUESDAY = enums.Weekday.TU
    WEDNESDAY = enums.Weekday.WE
    THURSDAY = enums.Weekday.TH
    FRIDAY = enums.Weekday.FR
    SATURDAY = enums.Weekday.SA
    SUNDAY = enums.Weekday.SU


def today() -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("Europe/London")).date()


@strawberry.interface(description="An object with a global ID (Relay).")
class Node:
    id: strawberry.ID


@strawberry.type(description="One of the six domains, with how many sessions it has.")
class DomainInfo:
    domain: Domain
    label: str
    description: str
    session_count: int


@strawberry.type(name="Locality", description="A part of the area with its own lead provider.")
class LocalityType(Node):
    name: str
    pk: strawberry.Private[int]
    lead_provider_id: strawberry.Private[int | None]

    @classmethod
    def of(cls, row: models.Locality | related.Record) -> LocalityType:
        return cls(
            id=to_global_id("Locality", row.id),
            name=row.name,
            pk=row.id,
            lead_provider_id=row.lead_provider_id,
        )

    @strawberry.field
    async def lead_provider(
        self, info: Info[Context]
    ) -> Annotated[ProviderType, strawberry.lazy("api.graphql.directory.types")] | None:
        if self.lead_provider_id is None:
            return None
        return await info.context.loaders.provider.load(self.lead_provider_id)


@strawberry.type(name="Venue", description="A place where sessions happen.")
class VenueType(Node):
    name: str
    address: str
    postcode: str | None
    latitude: float | None
    longitude: float | None
    pk: strawberry.Private[int]
    locality_id: strawberry.Private[int | None]

    @classmethod
    def of(cls, row: models.Venue | related.Record) -> VenueType:
        return cls(
            id=to_global_id("Venue", row.id),
            name=row.name,
            address=row.address,
            postcode=row.postcode,
            latitude=row.latitude,
            longitude=row.longitude,
            pk=row.id,
            locality_id=row.locality_id,
        )

    @strawberry.field
    async def accessibility(self, info: Info[Context]) -> list[AccessibilityFeature]:
        return await info.context.loaders.accessibility.load(self.pk)

    @strawberry.field
    async def locality(self, info: Info[Context]) -> LocalityType | None:
        if self.locality_id is None:
            return None
        return await info.context.loaders.locality.load(self.locality_id)


@strawberry.type(description="An amount of money: `value` in `currency` (always GBP).")
class Money:
    value: Decimal = strawberry.field(
        description="The exact amount in pounds, as a decimal string: '2.50'."
    )
    currency: str = strawberry.field(
        default="GBP", description="ISO 4217 currency code; always 'GBP' (pounds sterling)."
    )

    @strawberry.field(
        description="The amount in pounds as a binary float, which cannot hold every amount "
        "exactly.",
        deprecation_reason="Use `value`: a Decimal, exact (money is never a float).",
    )
    def amount(self) -> float:
        return float(self.value)


@strawberry.type(description="What a session costs.")
class Cost:
    is_free: bool
    price: Money | None
    concessions: str | None


@strawberry.type(description="Who a session is for.")
class WhoFor:
    min_age: int | None
    max_age: int | None
    gender: Gender
    carers_welcome: bool | None = strawberry.field(description="Null when not said.")
    notes: str | None


@strawberry.type(description="Who to contact to book or ask about a session.")
class Contact:
    name: str | None
    email: str | None
    phone: str | None


@strawberry.type(description="One recurrence rule of a session, in iCalendar RRULE terms.")
class ScheduleRule:
    frequency: Frequency
    interval: int
    by_day: str = strawberry.field(
        description="RRULE BYDAY: 'MO,WE' weekly; '1TU,3TU' or '-1FR' (last Friday) monthly."
    )
    days_of_week: list[DayOfWeek]
    opens_at: dt.time
    closes_at: dt.time | None
    starts_on: dt.date | None
    ends_on: dt.date | None
    note: str | None
    time_of_day: TimeOfDay
    description: str = strawberry.field(description="In plain English.")

    @staticmethod
    def of(row: models.Schedule) -> ScheduleRule:
        return ScheduleRule(
            frequency=row.freq,
            interval=row.interval,
            by_day=row.byday,
            days_of_week=[DayOfWeek(d) for d in sched.weekdays_of(row.days_mask)],
            opens_at=row.opens_at,
            closes_at=row.closes_at,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            note=row.note,
            time_of_day=sched.time_of_day(row.opens_at),
            description=sched.describe(sched.rule_from(row)),
        )


@strawberry.type(description="Dates a session does not run.")
class ScheduleBreak:
    starts_on: dt.date
    ends_on: dt.date
    reason: str | None


@strawberry.type(description="A date a session runs.")
class Occurrence:
    date: dt.date
    starts_at: dt.time
    ends_at: dt.time | None


@strawberry.type(name="Session", description="An activity people can join.")
class SessionType(Node):
    title: str
    description: str
    delivery: Delivery
    how_to_join: HowToJoin
    capacity: int | None
    updated_at: dt.datetime
    cost: Cost
    who_for: WhoFor
    contact: Contact | None
    provider: ProviderType
    venue: VenueType | None
    pk: strawberry.Private[int]

    @classmethod
    def of(cls, row: related.SessionRow) -> SessionType:
        s = row.session
        price = None
        if not s.is_free and s.cost_amount is not None:
            price = Money(value=Decimal(s.cost_amount))
        has_contact = s.contact_name or s.contact_email or s.contact_phone
        return cls(
            id=to_global_id("Session", s.id),
            title=s.title,
            description=s.description,
            delivery=s.delivery,
            how_to_join=s.how_to_join,
            capacity=s.capacity,
            updated_at=s.updated_at,
            cost=Cost(is_free=s.is_free, price=price, concessions=s.cost_concessions),
            who_for=WhoFor(
                min_age=s.min_age,
                max_age=s.max_age,
                gender=s.gender,
                carers_welcome=s.carers_welcome,
                notes=s.who_for_notes,
            ),
            contact=Contact(name=s.contact_name, email=s.contact_email, phone=s.contact_phone)
            if has_contact
            else None,
            provider=ProviderType.of(row.provider),
            venue=VenueType.of(row.venue) if row.venue is not None else None,
            pk=s.id,
        )

    @strawberry.field
    async def domains(self, info: Info[Context]) -> list[Domain]:
        return await info.context.loaders.domains.load(self.pk)

    @strawberry.field
    async def schedule(self, info: Info[Context]) -> list[ScheduleRule]:
        return [ScheduleRule.of(row) for row in await info.context.loaders.schedules.load(self.pk)]

    @strawberry.field
    async def breaks(self, info: Info[Context]) -> list[ScheduleBreak]:
        rows = await info.context.loaders.breaks.load(self.pk)
        return [
            ScheduleBreak(starts_on=b.starts_on, ends_on=b.ends_on, reason=b.reason) for b in rows
        ]

    @strawberry.field(description="The next dates it runs, breaks left out (up to 20).")
    async def next_occurrences(
        self,
        info: Info[Context],
        first: int = 5,
        from_: Annotated[dt.date | None, strawberry.argument(name="from")] = None,
    ) -> list[Occurrence]:
        from api.graphql.errors import UserInputError

        if not 1 <= first <= 20:
            raise UserInputError("`first` must be between 1 and 20", field="first")
        rules = await info.context.loaders.schedules.load(self.pk)
        breaks = await info.context.loaders.breaks.load(self.pk)
        found = sched.next_occurrences(
            [sched.rule_from(r) for r in rules],
            [sched.Break(b.starts_on, b.ends_on, b.reason) for b in breaks],
            after=from_ or today(),
            count=first,
        )
        return [Occurrence(date=o.date, starts_at=o.starts_at, ends_at=o.ends_at) for o in found]

    @strawberry.field(description="ISO 639-1 language codes, e.g. 'en', 'bn' (Bengali).")
    async def languages(self, info: Info[Context]) -> list[str]:
        return await info.context.loaders.languages.load(self.pk)


@strawberry.type(name="Provider", description="An organisation that runs sessions.")
class ProviderType(Node):
    name: str
    description: str
    kind: ProviderKind
    relationship: Relationship
    charity_number: str | None
    company_number: str | None
    website: str | None
    email: str | None
    phone: str | None
    listed_by: ListedBy
    verification: Verification
    verified_at: dt.date | None
    last_confirmed_at: dt.date | None = strawberry.field(
        description="When the provider last confirmed its entry is right."
    )
    pk: strawberry.Private[int]
    locality_id: strawberry.Private[int | None]
    verified_by_id: strawberry.Private[int | None]

    @classmethod
    def of(cls, row: models.Provider | related.Record) -> ProviderType:
        return cls(
            id=to_global_id("Provider", row.id),
            name=row.name,
            description=row.description,
            kind=row.kind,
            relationship=row.relationship,
            charity_number=row.charity_number,
            company_number=row.company_number,
            website=row.website,
            email=row.email,
            phone=row.phone,
            listed_by=row.listed_by,
            verification=row.verification,
            verified_at=row.verified_at,
            last_confirmed_at=row.last_confirmed_at,
            pk=row.id,
            locality_id=row.locality_id,
            verified_by_id=row.verified_by_id,
        )

    @strawberry.field
    async def locality(self, info: Info[Context]) -> LocalityType | None:
        if self.locality_id is None:
            return None
        return await info.context.loaders.locality.load(self.locality_id)

    @strawberry.field(description="The lead provider that checked this entry, if one has.")
    async def verified_by(self, info: Info[Context]) -> ProviderType | None:
        if self.verified_by_id is None:
            return None
        return await info.context.loaders.provider.load(self.verified_by_id)

    @strawberry.field(
        description="How the listing came to be and who checked it, in words for the public: "
        "'Listed by the organisation; checked by <lead provider> on 14 September 2026'."
    )
    async def provenance(self, info: Info[Context]) -> str:
        from api.directory.provenance import provenance

        checker = (
            await info.context.loaders.provider.load(self.verified_by_id)
            if self.verified_by_id
            else None
        )
        return provenance(
            self.listed_by, self.verification, self.verified_at, checker.name if checker else None
        )

    @strawberry.field(
        description="This provider's published sessions, by title (Relay): `first` defaults "
        "to 20 and is at most 100; page on with `after`. Each session counts towards the "
        "query's cost (see `Query`)."
    )
    async def sessions_connection(
        self, info: Info[Context], first: First = None, after: After = None
    ) -> SessionConnection:
        keyset = Keyset(info.context.settings, "Provider.sessionsConnection", "title")
        window = keyset.window(first, after, maximum=info.context.settings.max_page_size)
        page = await self._sessions(info, window)
        found = keyset.cursors(page.keys)
        edges = [
            SessionEdge(cursor=cursor, node=node, distance_km=None)
            for cursor, node in zip(found, page.sessions, strict=True)
        ]
        return SessionConnection(
            edges=edges,
            total_count=page.total,
            page_info=keyset.page_info(found, window, page.more),
        )

    @strawberry.field(
        deprecation_reason="Use `sessionsConnection(first, after)`. This list holds at most "
        "the first 100 sessions (by title) and counts as 100 towards the query's cost."
    )
    async def sessions(self, info: Info[Context]) -> list[SessionType]:
        page = await self._sessions(info, Window(info.context.settings.max_page_size))
        return page.sessions

    async def _sessions(self, info: Info[Context], window: Window) -> SessionsPage:
        from api.graphql.directory.loaders import SessionsPage  # noqa: F811 (a cycle)

        page = await info.context.loaders.provider_sessions.load(
            (self.pk, window.key, window.offset, window.limit)
        )
        return page or SessionsPage(0, [], [], False)


@strawberry.type
class SessionEdge:
    cursor: str
    node: SessionType
    distance_km: float | None = strawberry.field(
        description="Distance from `near`, in kilometres (null without `near`)."
    )


@strawberry.type
class SessionConnection:
    edges: list[SessionEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class ProviderEdge:
    cursor: str
    node: ProviderType


@strawberry.type
class ProviderConnection:
    edges: list[ProviderEdge]
    page_info: PageInfo
    total_count: int
