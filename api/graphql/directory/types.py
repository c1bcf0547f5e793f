"""GraphQL types of the directory. Resolvers receive the ORM rows as their parent and load
every relation through the request's DataLoaders."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated

import strawberry
from strawberry import Parent
from strawberry.types import Info

from api.directory import enums, models
from api.directory import schedules as sched
from api.graphql.context import Context
from api.graphql.relay import PageInfo, to_global_id

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

    @classmethod
    def is_type_of(cls, obj: object, _info: Info) -> bool:
        return isinstance(obj, models.Locality)

    @strawberry.field
    @staticmethod
    def id(root: Parent[models.Locality]) -> strawberry.ID:
        return to_global_id("Locality", root.id)

    @strawberry.field
    @staticmethod
    async def lead_provider(
        root: Parent[models.Locality], info: Info[Context]
    ) -> Annotated[ProviderType, strawberry.lazy("api.graphql.directory.types")] | None:
        if root.lead_provider_id is None:
            return None
        return await info.context.loaders.provider.load(root.lead_provider_id)


@strawberry.type(name="Venue", description="A place where sessions happen.")
class VenueType(Node):
    name: str
    address: str
    postcode: str | None
    latitude: float | None
    longitude: float | None

    @classmethod
    def is_type_of(cls, obj: object, _info: Info) -> bool:
        return isinstance(obj, models.Venue)

    @strawberry.field
    @staticmethod
    def id(root: Parent[models.Venue]) -> strawberry.ID:
        return to_global_id("Venue", root.id)

    @strawberry.field
    @staticmethod
    async def accessibility(
        root: Parent[models.Venue], info: Info[Context]
    ) -> list[AccessibilityFeature]:
        return await info.context.loaders.accessibility.load(root.id)

    @strawberry.field
    @staticmethod
    async def locality(root: Parent[models.Venue], info: Info[Context]) -> LocalityType | None:
        if root.locality_id is None:
            return None
        return await info.context.loaders.locality.load(root.locality_id)


@strawberry.type(description="An amount of money.")
class Money:
    amount: float
    currency: str = "GBP"


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

    @classmethod
    def is_type_of(cls, obj: object, _info: Info) -> bool:
        return isinstance(obj, models.Session)

    @strawberry.field
    @staticmethod
    def id(root: Parent[models.Session]) -> strawberry.ID:
        return to_global_id("Session", root.id)

    @strawberry.field
    @staticmethod
    async def domains(root: Parent[models.Session], info: Info[Context]) -> list[Domain]:
        return await info.context.loaders.domains.load(root.id)

    @strawberry.field
    @staticmethod
    def provider(root: Parent[models.Session], info: Info[Context]) -> ProviderType:
        loaders = info.context.loaders
        return loaders.now(loaders.provider, root.provider_id)

    @strawberry.field
    @staticmethod
    def venue(root: Parent[models.Session], info: Info[Context]) -> VenueType | None:
        if root.venue_id is None:
            return None
        loaders = info.context.loaders
        return loaders.now(loaders.venue, root.venue_id)

    @strawberry.field
    @staticmethod
    async def schedule(root: Parent[models.Session], info: Info[Context]) -> list[ScheduleRule]:
        return [ScheduleRule.of(row) for row in await info.context.loaders.schedules.load(root.id)]

    @strawberry.field
    @staticmethod
    async def breaks(root: Parent[models.Session], info: Info[Context]) -> list[ScheduleBreak]:
        rows = await info.context.loaders.breaks.load(root.id)
        return [
            ScheduleBreak(starts_on=b.starts_on, ends_on=b.ends_on, reason=b.reason) for b in rows
        ]

    @strawberry.field(description="The next dates it runs, breaks left out (up to 20).")
    @staticmethod
    async def next_occurrences(
        root: Parent[models.Session],
        info: Info[Context],
        first: int = 5,
        from_: Annotated[dt.date | None, strawberry.argument(name="from")] = None,
    ) -> list[Occurrence]:
        from api.graphql.errors import UserInputError

        if not 1 <= first <= 20:
            raise UserInputError("`first` must be between 1 and 20", field="first")
        rules = await info.context.loaders.schedules.load(root.id)
        breaks = await info.context.loaders.breaks.load(root.id)
        found = sched.next_occurrences(
            [sched.rule_from(r) for r in rules],
            [sched.Break(b.starts_on, b.ends_on, b.reason) for b in breaks],
            after=from_ or today(),
            count=first,
        )
        return [Occurrence(date=o.date, starts_at=o.starts_at, ends_at=o.ends_at) for o in found]

    @strawberry.field
    @staticmethod
    def cost(root: Parent[models.Session]) -> Cost:
        price = None
        if not root.is_free and root.cost_amount is not None:
            price = Money(amount=float(root.cost_amount))
        return Cost(is_free=root.is_free, price=price, concessions=root.cost_concessions)

    @strawberry.field
    @staticmethod
    def who_for(root: Parent[models.Session]) -> WhoFor:
        return WhoFor(
            min_age=root.min_age,
            max_age=root.max_age,
            gender=root.gender,
            carers_welcome=root.carers_welcome,
            notes=root.who_for_notes,
        )

    @strawberry.field(description="ISO 639-1 language codes, e.g. 'en', 'bn' (Bengali).")
    @staticmethod
    async def languages(root: Parent[models.Session], info: Info[Context]) -> list[str]:
        return await info.context.loaders.languages.load(root.id)

    @strawberry.field
    @staticmethod
    def contact(root: Parent[models.Session]) -> Contact | None:
        if not (root.contact_name or root.contact_email or root.contact_phone):
            return None
        return Contact(name=root.contact_name, email=root.contact_email, phone=root.contact_phone)


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

    @classmethod
    def is_type_of(cls, obj: object, _info: Info) -> bool:
        return isinstance(obj, models.Provider)

    @strawberry.field
    @staticmethod
    def id(root: Parent[models.Provider]) -> strawberry.ID:
        return to_global_id("Provider", root.id)

    @strawberry.field
    @staticmethod
    async def locality(root: Parent[models.Provider], info: Info[Context]) -> LocalityType | None:
        if root.locality_id is None:
            return None
        return await info.context.loaders.locality.load(root.locality_id)

    @strawberry.field(description="The lead provider that checked this entry, if one has.")
    @staticmethod
    async def verified_by(
        root: Parent[models.Provider], info: Info[Context]
    ) -> ProviderType | None:
        if root.verified_by_id is None:
            return None
        return await info.context.loaders.provider.load(root.verified_by_id)

    @strawberry.field(
        description="How the listing came to be and who checked it, in words for the public: "
        "'Listed by the organisation; checked by <lead provider> on 14 September 2026'."
    )
    @staticmethod
    async def provenance(root: Parent[models.Provider], info: Info[Context]) -> str:
        from api.directory.provenance import provenance

        checker = (
            await info.context.loaders.provider.load(root.verified_by_id)
            if root.verified_by_id
            else None
        )
        return provenance(
            root.listed_by, root.verification, root.verified_at, checker.name if checker else None
        )

    @strawberry.field
    @staticmethod
    async def sessions(root: Parent[models.Provider], info: Info[Context]) -> list[SessionType]:
        return await info.context.loaders.provider_sessions.load(root.id)


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
