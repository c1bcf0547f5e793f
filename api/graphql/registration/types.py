"""GraphQL types of registration, moderation and problem reports."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry
from strawberry import Parent
from strawberry.scalars import JSON
from strawberry.types import Info

from api.graphql import described
from api.graphql.context import Context
from api.graphql.directory.types import Node, ProviderType, SessionType
from api.graphql.relay import PageInfo, global_id_field
from api.registration import answers, models
from api.registration.reports import KIND_LABELS

RegistrationStatus = strawberry.enum(
    models.RegistrationStatus,
    description="AWAITING_CONFIRMATION until the emailed link is followed, then "
    "PENDING_REVIEW in the lead provider's queue, then APPROVED, CHANGES_REQUESTED or REJECTED.",
)
RegistrationKind = strawberry.enum(
    models.RegistrationKind,
    description="NEW organisation, an UPDATE to a listed one, an activity to JOIN a listed "
    "one (sent by someone who cannot reach its email), or a request for ACCESS to it.",
)
ProblemKind = strawberry.enum(models.ReportKind, description="What is wrong with a listing.")
ProblemStatus = strawberry.enum(models.ReportStatus)
RegistrationErrorCode = strawberry.enum(answers.ErrorCode)


def _instead(replacement: str) -> str:
    return f"Use {replacement}: one enum for one idea."


@strawberry.enum(
    description="Where the activity happens, in registration's words. Replaced by `Delivery` "
    "(the directory's enum, also used by `Session.delivery`)."
)
class PlaceKind(Enum):
    VENUE = strawberry.enum_value(
        "VENUE", description="At a venue.", deprecation_reason=_instead("`Delivery.AT_VENUE`")
    )
    ONLINE = strawberry.enum_value(
        "ONLINE", description="Online.", deprecation_reason=_instead("`Delivery.ONLINE`")
    )
    HOME = strawberry.enum_value(
        "HOME",
        description="In people's homes.",
        deprecation_reason=_instead("`Delivery.AT_HOME`"),
    )
    VARIOUS = strawberry.enum_value(
        "VARIOUS",
        description="In different places.",
        deprecation_reason=_instead("`Delivery.VARIOUS_PLACES`"),
    )


@strawberry.enum(description="When it happens: set days and times, or 'ask us'.")
class TimesKind(Enum):
    TIMES = "TIMES"
    ASK = "ASK"


HowOften = described.enum(
    answers.HowOften,
    "How often it happens, in registration's words. Replaced by `Frequency` with an "
    "`interval` (the directory's enum, also used by `ScheduleRule.frequency`).",
    {"WEEKLY": "Every week.", "FORTNIGHTLY": "Every other week.", "MONTHLY": "Once a month."},
    deprecated={
        "WEEKLY": _instead("`frequency: WEEKLY`"),
        "FORTNIGHTLY": _instead("`frequency: WEEKLY, interval: 2`"),
        "MONTHLY": _instead("`frequency: MONTHLY` with `monthWeeks`"),
    },
)


@strawberry.type(description="A problem with one input field, or with the request.")
class RegistrationError:
    field: str | None = strawberry.field(description="The input path, e.g. 'input.postcode'.")
    message: str = strawberry.field(description="What to do, for a person.")
    code: RegistrationErrorCode


@strawberry.type(name="Registration", description="What a provider sent, until it is decided.")
class RegistrationType(Node):
    kind: RegistrationKind
    status: RegistrationStatus
    organisation: str
    postcode: str | None
    created_at: dt.datetime
    confirmed_at: dt.datetime | None
    decided_at: dt.datetime | None
    decision_note: str | None = strawberry.field(
        description="The note of 'request changes' or the reason of a rejection."
    )

    @classmethod
    def is_type_of(cls, obj: object, _info: Info) -> bool:
        return isinstance(obj, models.Registration)

    id: strawberry.ID = global_id_field("Registration")

    @strawberry.field(description="The offer's title, as typed.")
    @staticmethod
    def title(root: Parent[models.Registration]) -> str:
        return str(root.answers.get("title", ""))

    @strawberry.field(
        description="Every answer exactly as typed (form field names): what approval publishes."
    )
    @staticmethod
    def answers(root: Parent[models.Registration]) -> JSON:
        return dict(root.answers)

    @strawberry.field(description="The listing it updates, or the one its approval created.")
    @staticmethod
    async def provider(
        root: Parent[models.Registration], info: Info[Context]
    ) -> ProviderType | None:
        if root.provider_id is None:
            return None
        return await info.context.loaders.provider.load(root.provider_id)

    @strawberry.field
    @staticmethod
    async def session(root: Parent[models.Registration], info: Info[Context]) -> SessionType | None:
        if root.session_id is None:
            return None
        return await info.context.loaders.session.load(root.session_id)


@strawberry.type
class RegistrationEdge:
    cursor: str
    node: RegistrationType


@strawberry.type
class RegistrationConnection:
    edges: list[RegistrationEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(name="ProblemReport", description="A problem reported with a listing.")
class ProblemReportType(Node):
    kind: ProblemKind
    details: str
    status: ProblemStatus
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution_note: str | None

    @classmethod
    def is_type_of(cls, obj: object, _info: Info) -> bool:
        return isinstance(obj, models.ProblemReport)

    id: strawberry.ID = global_id_field("ProblemReport")

    @strawberry.field(description="The kind in plain words.")
    @staticmethod
    def label(root: Parent[models.ProblemReport]) -> str:
        return KIND_LABELS[root.kind]

    @strawberry.field
    @staticmethod
    async def provider(root: Parent[models.ProblemReport], info: Info[Context]) -> ProviderType:
        return await info.context.loaders.provider.load(root.provider_id)


@strawberry.type
class ProblemReportEdge:
    cursor: str
    node: ProblemReportType


@strawberry.type
class ProblemReportConnection:
    edges: list[ProblemReportEdge]
    page_info: PageInfo
    total_count: int
