"""GraphQL types of referrals and outcomes. What each role reads of a referral, field by
field, is api/access/policy.py's table (``readable_fields``); the ``policed`` types below read
every field through it (api/graphql/referrals/visibility.py), so no resolver decides."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Parent
from strawberry.types import Info

from api.graphql.context import Context
from api.graphql.directory.types import Domain, LocalityType, Node, SessionType
from api.graphql.referrals.visibility import policed, visible_parts
from api.graphql.relay import PageInfo, global_id_field, to_global_id
from api.outcomes import enums as outcome_enums
from api.outcomes import models as outcome_models
from api.referrals import enums, models
from api.referrals.errors import ErrorCode
from api.referrals.nhs_number import format_nhs_number
from api.referrals.plans import FIELD as PLAN_FIELD
from api.referrals.protection import protector
from api.referrals.working_days import local_date

if TYPE_CHECKING:  # (lazy: those modules build on this one)
    from api.graphql.referrals.equality import EqualityData
    from api.graphql.referrals.plans import PlanReview, PlanRevision, SupportLevelChange

ReferralStatus = strawberry.enum(enums.ReferralStatus)
Urgency = strawberry.enum(enums.Urgency)
ContactMethod = strawberry.enum(enums.ContactMethod)
ContactOutcome = strawberry.enum(enums.ContactOutcome)
SupportLevel = strawberry.enum(
    enums.SupportLevel, description="The support a person needs, from the assessment."
)
TimePoint = strawberry.enum(outcome_enums.TimePoint)
Direction = strawberry.enum(outcome_enums.Direction, description="Which way is better.")
NhsUsePeriod = strawberry.enum(
    outcome_enums.NhsUsePeriod, description="The 6 months before or after the intervention."
)
ReferralErrorCode = strawberry.enum(ErrorCode, name="ReferralErrorCode")


@strawberry.type(description="An expected failure: the input it is about and what to do.")
class ReferralError:
    field: str | None
    message: str
    code: ReferralErrorCode


async def _open(
    info: Info[Context], root: models.Referral, field: str, token: str | None
) -> str | None:
    """``token`` (a value of ``root``) decrypted with the referral's data key, or with the
    master key for a referral written before data keys; None when there is nothing, or when
    the key is gone (a purge destroyed it, the rest of the purge has yet to run)."""
    if token is None:
        return None
    guard = protector(info.context.settings)
    key = None
    if root.key_id is not None:
        key = await info.context.referral_loaders.data_keys(guard).load(root.key_id)
        if key is None:
            return None
    return guard.decrypt(field, token, key)


async def _person(info: Info[Context], root: models.Referral) -> dict | None:
    data = await _open(info, root, "person", root.person_enc)
    return None if data is None else json.loads(data)


@strawberry.type
class GpPractice:
    ods_code: str
    name: str


@strawberry.type
class LinkWorker:
    name: str


@strawberry.type(description="How to reach the person.")
class PersonContact:
    preferred_method: ContactMethod
    phone: str | None
    email: str | None
    address: str | None
    postcode: str | None


@policed("person")
@strawberry.type(
    description="The person referred. Roles with minimal detail (a provider) see only the "
    "given name, language and interpreter need; the rest is null."
)
class Person:
    visible: strawberry.Private[frozenset[str]]
    given_name: str
    family_name: str | None
    nhs_number: str | None = strawberry.field(description="As 999 123 4567.")
    date_of_birth: dt.date | None
    contact: PersonContact | None
    preferred_language: str
    needs_interpreter: bool


@strawberry.type
class Consent:
    to_be_referred_at: dt.datetime
    to_share_outcomes_at: dt.datetime | None = strawberry.field(
        description="When the person agreed to outcomes going back to the practice; null: "
        "they did not, and the practice sees no outcomes."
    )
    to_share_goals_at: dt.datetime | None = strawberry.field(
        default=None,
        description="When the person agreed to their plan's goals going in the message back "
        "to the practice; null: they did not.",
    )
    to_receive_own_copy_at: dt.datetime | None = strawberry.field(
        default=None,
        description="When the person agreed to receive their own copy of the plan.",
    )


@strawberry.type
class AssessmentFactors:
    co_morbidities: int
    mental_health_need: bool
    mobility_need: bool
    missed_appointments: int


@strawberry.type
class Assessment:
    support_level: SupportLevel
    factors: AssessmentFactors
    goals: list[str]
    action_plan: str
    assessed_at: dt.datetime


@policed("history")
@strawberry.type
class ReferralStatusChange:
    visible: strawberry.Private[frozenset[str]]
    from_status: ReferralStatus | None
    status: ReferralStatus
    at: dt.datetime
    by: str
    note: str | None = strawberry.field(description="Shown to the care team only.")


@strawberry.type(description="One try at reaching the person (care team only).")
class ContactAttempt:
    date: dt.date
    method: ContactMethod  # type: ignore[valid-type]
    outcome: ContactOutcome  # type: ignore[valid-type]
    by: str


@strawberry.type
class AttendanceRecord:
    date: dt.date
    attended: bool


@policed("signposts")
@strawberry.type(description="A session the person was signposted to.")
class Signpost:
    visible: strawberry.Private[frozenset[str]]
    signpost_id: strawberry.Private[int]
    session_id: strawberry.Private[int]
    signposted_at: dt.datetime

    @strawberry.field
    async def session(self, info: Info[Context]) -> SessionType | None:
        return await info.context.loaders.session.load(self.session_id)

    @strawberry.field
    async def attendance(self, info: Info[Context]) -> list[AttendanceRecord]:
        rows = await info.context.referral_loaders.attendance.load(self.signpost_id)
        return [AttendanceRecord(date=r.on_date, attended=r.attended) for r in rows]


@strawberry.type
class InstrumentItem:
    key: str
    text: str
    direction: Direction


@strawberry.type
class ScaleLabel:
    value: int
    label: str


@strawberry.type(
    name="OutcomeInstrument", description="A questionnaire outcomes are measured with."
)
class OutcomeInstrumentType:
    key: str
    name: str
    description: str
    scale_min: int
    scale_max: int
    direction: Direction
    configurable: bool

    @strawberry.field
    @staticmethod
    def items(root: Parent[outcome_models.OutcomeInstrument]) -> list[InstrumentItem]:
        return [
            InstrumentItem(
                key=i["key"], text=i["text"], direction=outcome_enums.Direction(i["direction"])
            )
            for i in root.items
        ]

    @strawberry.field
    @staticmethod
    def scale_labels(root: Parent[outcome_models.OutcomeInstrument]) -> list[ScaleLabel]:
        return [ScaleLabel(value=int(k), label=v) for k, v in (root.scale_labels or {}).items()]


@strawberry.type
class ItemScore:
    item: str
    score: int


@strawberry.type(name="OutcomeMeasurement")
class OutcomeMeasurementType:
    time_point: TimePoint
    taken_on: dt.date
    recorded_at: dt.datetime

    id: strawberry.ID = global_id_field("OutcomeMeasurement")

    @strawberry.field(description="For FOLLOW_UP: months after the end.")
    @staticmethod
    def follow_up_months(root: Parent[outcome_models.OutcomeMeasurement]) -> int | None:
        return root.follow_up_months or None

    @strawberry.field
    @staticmethod
    async def instrument(
        root: Parent[outcome_models.OutcomeMeasurement], info: Info[Context]
    ) -> OutcomeInstrumentType:
        return await info.context.referral_loaders.instrument.load(root.instrument_id)

    @strawberry.field
    @staticmethod
    def scores(root: Parent[outcome_models.OutcomeMeasurement]) -> list[ItemScore]:
        return [ItemScore(item=k, score=v) for k, v in root.scores.items()]

    @strawberry.field
    @staticmethod
    def total(root: Parent[outcome_models.OutcomeMeasurement]) -> int:
        return sum(root.scores.values())


@strawberry.type(name="NhsUse", description="NHS use over 6 months, recorded by the practice.")
class NhsUseType:
    period: NhsUsePeriod
    gp_appointments: int
    ae_attendances: int
    unplanned_admissions: int
    prescriptions: int
    recorded_at: dt.datetime


@strawberry.type(description="A coded entry for the GP record (SNOMED CT).")
class CodedEntry:
    system: str
    code: str
    display: str
    date: dt.date


@strawberry.type
class Activity:
    session_id: strawberry.ID
    session_title: str
    provider_name: str
    signposted_on: dt.date
    sessions_attended: int
    sessions_missed: int


@strawberry.type
class ItemChange:
    item: str
    text: str
    baseline: int | None
    latest: int | None
    change: int | None
    improved: bool | None


@strawberry.type
class OutcomeSummary:
    instrument_key: str
    instrument_name: str
    baseline_on: dt.date | None
    latest_on: dt.date | None
    latest_time_point: TimePoint | None
    items: list[ItemChange]


@policed("message_back")
@strawberry.type(
    description="The Social Prescribing Information Standard's message back to GP and "
    "referrer: status, activities referred to, and outcomes when the person consented."
)
class GpMessageBack:
    visible: strawberry.Private[frozenset[str]]
    referral_id: strawberry.ID
    practice_ods_code: str
    status: ReferralStatus
    received_on: dt.date
    first_contact_on: dt.date | None
    status_since: dt.date
    activities: list[Activity]
    outcomes: list[OutcomeSummary] | None
    outcomes_withheld: bool = strawberry.field(
        description="True when the person did not consent to outcomes being shared."
    )
    codes: list[CodedEntry]
    goals: list[str] | None = strawberry.field(
        default=None,
        description="The goals of the person's current plan, when they agreed to share them.",
    )
    goals_withheld: bool = strawberry.field(
        default=True, description="True when the person did not agree to share their goals."
    )


@policed()
@strawberry.type(
    name="Referral",
    description="A person referred by their GP practice. Each role reads only the fields "
    "api/access/policy.py gives it (see the README's table); the others are null.",
)
class ReferralType(Node):
    status: ReferralStatus | None
    urgency: Urgency | None
    received_at: dt.datetime | None
    status_changed_at: dt.datetime | None
    contact_due_on: dt.date | None = strawberry.field(
        description="First contact is due by this date (5 working days, England and Wales)."
    )
    contacted_at: dt.datetime | None
    contact_working_days: int | None = strawberry.field(
        description="Working days from receipt to first contact."
    )
    closed_at: dt.datetime | None
    preferred_language: str
    needs_interpreter: bool
    purged_at: dt.datetime | None = strawberry.field(
        description="When personal data was removed (after the retention period)."
    )

    @classmethod
    def is_type_of(cls, obj: object, _info: Info) -> bool:
        return isinstance(obj, models.Referral)

    id: strawberry.ID = global_id_field("Referral")

    @strawberry.field(description="Contacted within the target: null while still in time.")
    @staticmethod
    def contact_target_met(root: Parent[models.Referral]) -> bool | None:
        if root.contacted_at is not None:
            return local_date(root.contacted_at) <= root.contact_due_on
        if root.status is not enums.ReferralStatus.RECEIVED:
            return None  # closed or declined before contact
        return False if local_date(dt.datetime.now(dt.UTC)) > root.contact_due_on else None

    @strawberry.field
    @staticmethod
    async def practice(root: Parent[models.Referral], info: Info[Context]) -> GpPractice | None:
        row = await info.context.referral_loaders.practice.load(root.practice_id)
        return GpPractice(ods_code=row.ods_code, name=row.name)

    @strawberry.field
    @staticmethod
    async def locality(root: Parent[models.Referral], info: Info[Context]) -> LocalityType | None:
        return await info.context.loaders.locality.load(root.locality_id)

    @strawberry.field
    @staticmethod
    async def link_worker(root: Parent[models.Referral], info: Info[Context]) -> LinkWorker | None:
        if root.link_worker_id is None:
            return None
        row = await info.context.referral_loaders.link_worker.load(root.link_worker_id)
        return LinkWorker(name=row.name) if row else None

    @strawberry.field
    @staticmethod
    async def domains(root: Parent[models.Referral], info: Info[Context]) -> list[Domain] | None:
        return await info.context.referral_loaders.domains.load(root.id)

    @strawberry.field
    @staticmethod
    def consent(root: Parent[models.Referral]) -> Consent | None:
        return Consent(
            to_be_referred_at=root.consent_to_refer_at,
            to_share_outcomes_at=root.consent_share_outcomes_at,
            to_share_goals_at=root.consent_share_goals_at,
            to_receive_own_copy_at=root.consent_own_copy_at,
        )

    @strawberry.field
    @staticmethod
    def age_at_referral(root: Parent[models.Referral]) -> int | None:
        return root.age_at_referral

    @strawberry.field(description="Null for roles that may not see the person, or once purged.")
    @staticmethod
    async def person(root: Parent[models.Referral], info: Info[Context]) -> Person | None:
        data = await _person(info, root)
        if data is None:
            return None
        visible = visible_parts(root, info)
        nhs = None
        if "person.nhs_number" in visible:
            nhs = await _open(info, root, "nhs_number", root.nhs_number_enc)
        return Person(
            visible=visible,
            given_name=data["givenName"],
            family_name=data["familyName"],
            nhs_number=format_nhs_number(nhs) if nhs else None,
            date_of_birth=dt.date.fromisoformat(data["dateOfBirth"]),
            contact=PersonContact(
                preferred_method=enums.ContactMethod(data["preferredContactMethod"]),
                phone=data["phone"],
                email=data["email"],
                address=data["address"],
                postcode=data["postcode"],
            ),
            preferred_language=root.preferred_language,
            needs_interpreter=root.needs_interpreter,
        )

    @strawberry.field(description="Why the practice referred.")
    @staticmethod
    async def reason(root: Parent[models.Referral], info: Info[Context]) -> str | None:
        data = await _person(info, root)
        return data["reason"] if data else None

    @strawberry.field(description="What matters to the person.")
    @staticmethod
    async def what_matters(root: Parent[models.Referral], info: Info[Context]) -> str | None:
        data = await _person(info, root)
        return data["whatMatters"] if data else None

    @strawberry.field
    @staticmethod
    async def notes(root: Parent[models.Referral], info: Info[Context]) -> str | None:
        data = await _person(info, root)
        return data["notes"] if data else None

    @strawberry.field(description="The link worker's assessment (care team only).")
    @staticmethod
    async def assessment(root: Parent[models.Referral], info: Info[Context]) -> Assessment | None:
        if root.assessed_at is None or root.support_level is None:
            return None
        sealed = await _open(info, root, "plan", root.plan_enc)
        plan = json.loads(sealed) if sealed else {"goals": [], "actionPlan": ""}
        f = root.support_factors or {}
        return Assessment(
            support_level=root.support_level,
            factors=AssessmentFactors(
                co_morbidities=f.get("coMorbidities", 0),
                mental_health_need=f.get("mentalHealthNeed", False),
                mobility_need=f.get("mobilityNeed", False),
                missed_appointments=f.get("missedAppointments", 0),
            ),
            goals=plan["goals"],
            action_plan=plan["actionPlan"],
            assessed_at=root.assessed_at,
        )

    @strawberry.field(
        description="Every revision of the care and support plan, newest (current) first, "
        "with its date and author (care team only)."
    )
    @staticmethod
    async def plan_history(
        root: Parent[models.Referral], info: Info[Context]
    ) -> list[Annotated[PlanRevision, strawberry.lazy("api.graphql.referrals.plans")]] | None:
        from api.graphql.referrals.plans import plan_history

        return await plan_history(root, info)  # type: ignore[return-value]

    @strawberry.field(description="Plan reviews and follow-ups, by due date (care team only).")
    @staticmethod
    async def reviews(
        root: Parent[models.Referral], info: Info[Context]
    ) -> list[Annotated[PlanReview, strawberry.lazy("api.graphql.referrals.plans")]] | None:
        from api.graphql.referrals.plans import plan_reviews

        return await plan_reviews(root, info)  # type: ignore[return-value]

    @strawberry.field(
        description="The support level's history: each level, from when, set by whom "
        "(care team only)."
    )
    @staticmethod
    async def support_levels(
        root: Parent[models.Referral], info: Info[Context]
    ) -> list[Annotated[SupportLevelChange, strawberry.lazy("api.graphql.referrals.plans")]] | None:
        from api.graphql.referrals.plans import support_levels

        return await support_levels(root, info)  # type: ignore[return-value]

    @strawberry.field(
        description="The equality data the person chose to give (sex, ethnic group, long "
        "term conditions) and the IMD decile of their postcode; null when none is recorded."
    )
    @staticmethod
    async def equality(
        root: Parent[models.Referral], info: Info[Context]
    ) -> Annotated[EqualityData, strawberry.lazy("api.graphql.referrals.equality")] | None:
        from api.graphql.referrals.equality import equality_of

        return await equality_of(root, info)  # type: ignore[return-value]

    @strawberry.field(description="Every status change, oldest first.")
    @staticmethod
    async def history(
        root: Parent[models.Referral], info: Info[Context]
    ) -> list[ReferralStatusChange] | None:
        rows = await info.context.referral_loaders.events.load(root.id)
        visible = visible_parts(root, info)
        care = "history.note" in visible
        return [
            ReferralStatusChange(
                visible=visible,
                from_status=e.from_status,
                status=e.to_status,
                at=e.at,
                by=e.actor,
                note=await _open(info, root, "note", e.note_enc) if care else None,
            )
            for e in rows
        ]

    @strawberry.field(
        description="Attempts to reach the person, oldest first; the first REACHED is the "
        "first successful contact. Null for roles outside the care team."
    )
    @staticmethod
    async def contact_attempts(
        root: Parent[models.Referral], info: Info[Context]
    ) -> list[ContactAttempt] | None:
        # Who may read it: api/access/policy.py (REFERRAL_FIELDS), applied to every field.
        rows = await info.context.referral_loaders.contact_attempts.load(root.id)
        return [
            ContactAttempt(date=r.on_date, method=r.method, outcome=r.outcome, by=r.actor)
            for r in rows
        ]

    @strawberry.field
    @staticmethod
    async def signposts(root: Parent[models.Referral], info: Info[Context]) -> list[Signpost]:
        rows = await info.context.referral_loaders.signposts.load(root.id)
        principal = info.context.principal
        if principal is not None and principal.role.value == "PROVIDER":
            # A provider sees only what was signposted to it.
            rows = [r for r in rows if r.provider_id == principal.provider_id]
        visible = visible_parts(root, info)
        return [
            Signpost(
                visible=visible,
                signpost_id=r.id,
                session_id=r.session_id,
                signposted_at=r.signposted_at,
            )
            for r in rows
        ]

    @strawberry.field(
        description="Null for roles that may not see them (a practice: without "
        "the person's consent)."
    )
    @staticmethod
    async def outcomes(
        root: Parent[models.Referral], info: Info[Context]
    ) -> list[OutcomeMeasurementType] | None:
        return await info.context.referral_loaders.outcomes.load(root.id)

    @strawberry.field
    @staticmethod
    async def nhs_use(
        root: Parent[models.Referral], info: Info[Context]
    ) -> list[NhsUseType] | None:
        return await info.context.referral_loaders.nhs_use.load(root.id)

    @strawberry.field(
        description="What goes back to the GP system, coded with SNOMED CT (null for roles "
        "that are not the practice or the care team)."
    )
    @staticmethod
    async def message_back(
        root: Parent[models.Referral], info: Info[Context]
    ) -> GpMessageBack | None:
        visible = visible_parts(root, info)
        m = await info.context.referral_loaders.message_back.load(root.id)
        # What this caller may not see is left out of the copy, not the loader's value.
        shared = "message_back.outcomes" in visible
        goals = (
            await _open(info, root, PLAN_FIELD, m.goals_sealed)
            if "message_back.goals" in visible and not m.goals_withheld
            else None
        )
        outcomes = m.outcomes if shared else None
        return GpMessageBack(
            visible=visible,
            referral_id=to_global_id("Referral", m.referral_id),
            practice_ods_code=m.practice_ods_code,
            status=m.status,
            received_on=m.received_on,
            first_contact_on=m.first_contact_on,
            status_since=m.status_since,
            activities=[
                Activity(
                    session_id=to_global_id("Session", a.session_id),
                    session_title=a.session_title,
                    provider_name=a.provider_name,
                    signposted_on=a.signposted_on,
                    sessions_attended=a.sessions_attended,
                    sessions_missed=a.sessions_missed,
                )
                for a in m.activities
            ],
            outcomes=None
            if outcomes is None
            else [
                OutcomeSummary(
                    instrument_key=s.instrument_key,
                    instrument_name=s.instrument_name,
                    baseline_on=s.baseline_on,
                    latest_on=s.latest_on,
                    latest_time_point=s.latest_time_point,
                    items=[ItemChange(**vars(i)) for i in s.items],
                )
                for s in outcomes
            ],
            outcomes_withheld=m.outcomes_withheld or not shared,
            codes=[CodedEntry(**vars(c)) for c in m.codes],
            goals=json.loads(goals)["goals"] if goals else None,
            goals_withheld=goals is None,
        )


@strawberry.type
class ReferralEdge:
    cursor: str
    node: ReferralType


@strawberry.type
class ReferralConnection:
    edges: list[ReferralEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(name="UnmetNeed", description="A need nothing in the directory meets.")
class UnmetNeedType:
    domain: Domain
    description: str
    recorded_at: dt.datetime

    id: strawberry.ID = global_id_field("UnmetNeed")

    @strawberry.field
    @staticmethod
    async def locality(
        root: Parent[outcome_models.UnmetNeed], info: Info[Context]
    ) -> LocalityType | None:
        return await info.context.loaders.locality.load(root.locality_id)


@strawberry.type(name="Webhook", description="A URL told of your referrals' status changes.")
class WebhookType:
    url: str
    created_at: dt.datetime

    id: strawberry.ID = global_id_field("Webhook")
