"""Referral and outcome mutations: thin shells over api/referrals and api/outcomes.

The role check is a top-level error (info.context.authorize); everything else expected
(validation, not found, invalid transition...) comes back in the payload's ``errors``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import strawberry
from sqlalchemy import orm
from strawberry.types import Info

from api.access import policy
from api.access.tokens import Principal
from api.directory.enums import Domain as DomainEnum
from api.graphql.context import Context
from api.graphql.directory.types import Domain
from api.graphql.errors import UserInputError
from api.graphql.referrals.types import (
    AttendanceRecord,
    ContactMethod,
    NhsUsePeriod,
    NhsUseType,
    OutcomeInstrumentType,
    OutcomeMeasurementType,
    ReferralError,
    ReferralStatus,
    ReferralType,
    SupportLevel,
    TimePoint,
    UnmetNeedType,
    Urgency,
    WebhookType,
)
from api.graphql.relay import expect_id
from api.outcomes import recording
from api.referrals import care, intake, lifecycle, webhooks
from api.referrals.equality import EqualityIn
from api.referrals.equality import Question as EqualityQuestionEnum
from api.referrals.errors import ErrorCode, Problem, Rejected
from api.referrals.protection import protector

T = TypeVar("T")


@strawberry.input
class ContactInput:
    preferred_method: ContactMethod
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    postcode: str | None = None


@strawberry.input
class PersonInput:
    nhs_number: str = strawberry.field(description="10 digits with a valid check digit.")
    given_name: str
    family_name: str
    date_of_birth: dt.date
    contact: ContactInput
    preferred_language: str = strawberry.field(default="en", description="ISO 639-1 code.")
    needs_interpreter: bool = False


@strawberry.input
class ConsentInput:
    to_be_referred: bool = strawberry.field(description="Must be true to refer.")
    to_share_outcomes_with_practice: bool
    recorded_at: dt.datetime | None = strawberry.field(
        default=None, description="When consent was taken; default: now."
    )


EqualityQuestion = strawberry.enum(
    EqualityQuestionEnum, name="EqualityQuestion", description="A question of the equality data."
)


@strawberry.input(description="Coded equality data; every part optional.")
class EqualityInput:
    sex: str | None = strawberry.field(
        default=None, description="NHS Data Dictionary person stated gender code: 1, 2, 9 or X."
    )
    ethnic_category: str | None = strawberry.field(
        default=None, description="NHS Data Dictionary ethnic category code, A to Z."
    )
    long_term_conditions: list[str] = strawberry.field(
        default_factory=list,
        description="Codes from the area's list of long term conditions.",
    )
    declined: list[EqualityQuestion] = strawberry.field(  # type: ignore[valid-type]
        default_factory=list,
        description="The questions the person was asked and preferred not to answer (an "
        "ethnic category declined is recorded as Z, Not stated); a question neither "
        "answered nor declined was not asked.",
    )

    def domain(self) -> EqualityIn:
        return EqualityIn(
            self.sex,
            self.ethnic_category,
            tuple(self.long_term_conditions),
            tuple(q.value for q in self.declined),
        )


@strawberry.input
class CreateReferralInput:
    person: PersonInput
    reason: str
    consent: ConsentInput
    what_matters: str = ""
    domains: list[Domain] = strawberry.field(default_factory=list)
    urgency: Urgency = Urgency.ROUTINE  # type: ignore[assignment]
    notes: str = ""
    equality: EqualityInput | None = strawberry.field(
        default=None,
        description="Optional equality data, only as the person chooses to give it "
        "(special category data: stored encrypted, counted in reports, never shown in one).",
    )


@strawberry.input
class AssessmentInput:
    referral_id: strawberry.ID
    support_level: SupportLevel
    goals: list[str]
    action_plan: str
    co_morbidities: int = 0
    mental_health_need: bool = False
    mobility_need: bool = False
    missed_appointments: int = strawberry.field(default=0, description="In the last 12 months.")
    barriers: str = strawberry.field(default="", description="What might get in the way.")
    review_on: dt.date | None = strawberry.field(
        default=None,
        description="When to review the plan (moved to a working day); default: the "
        "configured number of weeks on (6).",
    )


@strawberry.input
class AttendanceInput:
    referral_id: strawberry.ID
    session_id: strawberry.ID
    date: dt.date
    attended: bool


@strawberry.input
class ItemScoreInput:
    item: str
    score: int


@strawberry.input
class RecordOutcomeInput:
    referral_id: strawberry.ID
    instrument_key: str
    time_point: TimePoint
    taken_on: dt.date
    scores: list[ItemScoreInput]
    follow_up_months: int | None = None


@strawberry.input
class RecordNhsUseInput:
    referral_id: strawberry.ID
    period: NhsUsePeriod
    gp_appointments: int
    ae_attendances: int
    unplanned_admissions: int
    prescriptions: int


@strawberry.input
class RecordUnmetNeedInput:
    domain: Domain
    description: str = strawberry.field(description="The need, with no patient identity.")
    locality_id: strawberry.ID | None = strawberry.field(
        default=None, description="Default for a practice: its own locality."
    )


@strawberry.input(
    description="A need that fits none of the six domains: a short description says what it "
    "is (no patient identity), so it is not lost; the report counts it as 'Other'."
)
class RecordOtherUnmetNeedInput:
    description: str = strawberry.field(
        description="What the need is, in a few words: at most 200 characters."
    )
    locality_id: strawberry.ID | None = strawberry.field(
        default=None, description="Default for a practice: its own locality."
    )


@strawberry.input
class ConfigureStarInstrumentInput:
    template_key: str = "star"
    name: str
    scales: list[str]


def _payload(cls: Any, field: str, result: Any) -> Any:
    """A mutation's payload: the written object, or the errors that stopped the write."""
    if isinstance(result, list):
        return cls(**{field: None, "errors": result})
    return cls(**{field: result, "errors": []})


@strawberry.type
class ReferralPayload:
    referral: ReferralType | None
    errors: list[ReferralError]


@strawberry.type
class CreateReferralPayload:
    referral: ReferralType | None
    created: bool = strawberry.field(description="False when this was a retry of a request.")
    errors: list[ReferralError]


@strawberry.type
class AttendancePayload:
    attendance: AttendanceRecord | None
    errors: list[ReferralError]


@strawberry.type
class OutcomePayload:
    outcome: OutcomeMeasurementType | None
    errors: list[ReferralError]


@strawberry.type
class NhsUsePayload:
    nhs_use: NhsUseType | None
    errors: list[ReferralError]


@strawberry.type
class UnmetNeedPayload:
    unmet_need: UnmetNeedType | None
    errors: list[ReferralError]


@strawberry.type(description="The result of `recordOtherUnmetNeed`.")
class OtherUnmetNeedPayload:
    recorded: bool = strawberry.field(description="True when the need was recorded.")
    errors: list[ReferralError]


@strawberry.type
class InstrumentPayload:
    instrument: OutcomeInstrumentType | None
    errors: list[ReferralError]


@strawberry.type
class RegisterWebhookPayload:
    webhook: WebhookType | None
    secret: str | None = strawberry.field(
        description="Verifies the Petunia-Signature header; shown only now: store it."
    )
    errors: list[ReferralError]


@strawberry.type
class WebhookPayload:
    webhook: WebhookType | None
    errors: list[ReferralError]


def _errors(problems: list[Problem]) -> list[ReferralError]:
    return [ReferralError(field=p.field, message=p.message, code=p.code) for p in problems]


def _pk(value: str, type_name: str, field: str) -> int:
    """A global ID's key; a bad ID is a typed NOT_FOUND error, as for any unknown record."""
    try:
        return expect_id(value, type_name, field)
    except UserInputError:
        raise Rejected(
            [Problem(field, f"'{value}' is not the ID of a {type_name}", ErrorCode.NOT_FOUND)]
        ) from None


def _locality(value: str | None) -> int | None:
    """An unmet need's optional locality (``input.localityId``)."""
    return _pk(value, "Locality", "input.localityId") if value else None


async def _write(info: Info[Context], fn: Callable[[orm.Session], T]) -> T | list[ReferralError]:
    """Run ``fn`` in a unit of work; expected failures become the payload's errors."""
    try:
        return await info.context.db.run_sync_write(fn)
    except Rejected as exc:
        return _errors(exc.problems)


def _principal(info: Info[Context], action: str, roles: tuple[Any, ...]) -> Principal:
    return info.context.authorize(action, *roles)


@strawberry.type
class ReferralMutation:
    @strawberry.mutation(
        description="Refer a person to the practice's named link worker. Retrying with the "
        "same idempotencyKey returns the same referral and creates nothing."
    )
    async def create_referral(
        self, info: Info[Context], input: CreateReferralInput, idempotency_key: str
    ) -> CreateReferralPayload:
        principal = _principal(info, "referring", policy.CREATE_REFERRAL)
        settings = info.context.settings
        p, c = input.person, input.person.contact
        data = intake.ReferralIn(
            person=intake.PersonIn(
                nhs_number=p.nhs_number,
                given_name=p.given_name,
                family_name=p.family_name,
                date_of_birth=p.date_of_birth,
                contact=intake.ContactIn(
                    c.preferred_method, c.phone, c.email, c.address, c.postcode
                ),
                preferred_language=p.preferred_language,
                needs_interpreter=p.needs_interpreter,
            ),
            reason=input.reason,
            consent_to_refer=input.consent.to_be_referred,
            consent_share_outcomes=input.consent.to_share_outcomes_with_practice,
            what_matters=input.what_matters,
            domains=tuple(DomainEnum(d.value) for d in input.domains),
            urgency=input.urgency,
            notes=input.notes,
            consent_recorded_at=input.consent.recorded_at,
            equality=None if input.equality is None else input.equality.domain(),
        )
        result = await _write(
            info,
            lambda db: intake.create_referral(
                db,
                principal,
                data,
                idempotency_key,
                protector(settings),
                contact_target_days=settings.contact_target_working_days,
            ),
        )
        if isinstance(result, list):
            return CreateReferralPayload(referral=None, created=False, errors=result)
        referral, created = result
        return CreateReferralPayload(referral=referral, created=created, errors=[])  # type: ignore[arg-type]

    @strawberry.mutation(description="Move a referral on (link worker); the note is optional.")
    async def update_referral_status(
        self,
        info: Info[Context],
        id: strawberry.ID,  # noqa: A002
        status: ReferralStatus,
        note: str | None = None,
    ) -> ReferralPayload:
        principal = _principal(info, "changing referrals", policy.CHANGE_REFERRAL)
        guard = protector(info.context.settings)

        def change(db: orm.Session) -> Any:
            referral = lifecycle.find_for_change(db, principal, _pk(id, "Referral", "id"))
            lifecycle.change_status(db, principal, referral, status, guard, note=note)
            return referral

        return _payload(ReferralPayload, "referral", await _write(info, change))

    @strawberry.mutation(
        description="Record the assessment: support level, goals, action plan, barriers. "
        "Recording it again keeps the earlier plan as a revision (planHistory)."
    )
    async def record_assessment(
        self, info: Info[Context], input: AssessmentInput
    ) -> ReferralPayload:
        principal = _principal(info, "changing referrals", policy.CHANGE_REFERRAL)
        guard = protector(info.context.settings)
        data = care.AssessmentIn(
            support_level=input.support_level,
            goals=tuple(input.goals),
            action_plan=input.action_plan,
            co_morbidities=input.co_morbidities,
            mental_health_need=input.mental_health_need,
            mobility_need=input.mobility_need,
            missed_appointments=input.missed_appointments,
            barriers=input.barriers,
            review_on=input.review_on,
        )
        weeks = info.context.settings.review_weeks
        result = await _write(
            info,
            lambda db: care.record_assessment(
                db,
                principal,
                _pk(input.referral_id, "Referral", "input.referralId"),
                data,
                guard,
                review_weeks=weeks,
            ),
        )
        return _payload(ReferralPayload, "referral", result)

    @strawberry.mutation(description="Signpost a referral to sessions in the directory.")
    async def signpost_referral(
        self, info: Info[Context], referral_id: strawberry.ID, session_ids: list[strawberry.ID]
    ) -> ReferralPayload:
        principal = _principal(info, "changing referrals", policy.CHANGE_REFERRAL)

        def change(db: orm.Session) -> Any:
            pk = _pk(referral_id, "Referral", "referralId")
            sessions = [_pk(s, "Session", "sessionIds") for s in session_ids]
            care.signpost(db, principal, pk, sessions)
            return lifecycle.find_for_change(db, principal, pk)

        return _payload(ReferralPayload, "referral", await _write(info, change))

    @strawberry.mutation(description="Whether the person came to a signposted session.")
    async def record_attendance(
        self, info: Info[Context], input: AttendanceInput
    ) -> AttendancePayload:
        principal = _principal(info, "recording attendance", policy.RECORD_ATTENDANCE)

        def change(db: orm.Session) -> Any:
            return care.record_attendance(
                db,
                principal,
                _pk(input.referral_id, "Referral", "input.referralId"),
                _pk(input.session_id, "Session", "input.sessionId"),
                input.date,
                input.attended,
            )

        result = await _write(info, change)
        if isinstance(result, list):
            return AttendancePayload(attendance=None, errors=result)
        return AttendancePayload(
            attendance=AttendanceRecord(date=result.on_date, attended=result.attended), errors=[]
        )

    @strawberry.mutation(
        description="Record an outcome measurement, checked against its instrument."
    )
    async def record_outcome(
        self, info: Info[Context], input: RecordOutcomeInput
    ) -> OutcomePayload:
        principal = _principal(info, "recording outcomes", policy.RECORD_OUTCOME)
        scores: dict[str, int] = {}
        for s in input.scores:
            if s.item in scores:
                return OutcomePayload(
                    outcome=None,
                    errors=_errors(
                        [Problem("input.scores", f"'{s.item}' is scored twice", ErrorCode.INVALID)]
                    ),
                )
            scores[s.item] = s.score

        def change(db: orm.Session) -> Any:
            data = recording.OutcomeIn(
                referral_id=_pk(input.referral_id, "Referral", "input.referralId"),
                instrument_key=input.instrument_key,
                time_point=input.time_point,
                taken_on=input.taken_on,
                scores=scores,
                follow_up_months=input.follow_up_months,
            )
            return recording.record_outcome(db, principal, data)

        return _payload(OutcomePayload, "outcome", await _write(info, change))

    @strawberry.mutation(description="NHS use in the 6 months before or after (the practice).")
    async def record_nhs_use(self, info: Info[Context], input: RecordNhsUseInput) -> NhsUsePayload:
        principal = _principal(info, "recording NHS use", policy.RECORD_NHS_USE)

        def change(db: orm.Session) -> Any:
            data = recording.NhsUseIn(
                referral_id=_pk(input.referral_id, "Referral", "input.referralId"),
                period=input.period,
                gp_appointments=input.gp_appointments,
                ae_attendances=input.ae_attendances,
                unplanned_admissions=input.unplanned_admissions,
                prescriptions=input.prescriptions,
            )
            return recording.record_nhs_use(db, principal, data)

        return _payload(NhsUsePayload, "nhs_use", await _write(info, change))

    @strawberry.mutation(description="A need nothing in the directory meets (no patient identity).")
    async def record_unmet_need(
        self, info: Info[Context], input: RecordUnmetNeedInput
    ) -> UnmetNeedPayload:
        principal = _principal(info, "recording unmet need", policy.RECORD_UNMET_NEED)

        def change(db: orm.Session) -> Any:
            locality = _locality(input.locality_id)
            return recording.record_unmet_need(
                db, principal, DomainEnum(input.domain.value), input.description, locality
            )

        return _payload(UnmetNeedPayload, "unmet_need", await _write(info, change))

    @strawberry.mutation(
        description="A need nothing in the directory meets and that fits none of the six "
        "domains (no patient identity)."
    )
    async def record_other_unmet_need(
        self, info: Info[Context], input: RecordOtherUnmetNeedInput
    ) -> OtherUnmetNeedPayload:
        principal = _principal(info, "recording unmet need", policy.RECORD_UNMET_NEED)

        def change(db: orm.Session) -> Any:
            locality = _locality(input.locality_id)
            return recording.record_unmet_need(db, principal, None, input.description, locality)

        result = await _write(info, change)
        if isinstance(result, list):
            return OtherUnmetNeedPayload(recorded=False, errors=result)
        return OtherUnmetNeedPayload(recorded=True, errors=[])

    @strawberry.mutation(
        description="Set your own scales for a configurable (star-style) instrument."
    )
    async def configure_star_instrument(
        self, info: Info[Context], input: ConfigureStarInstrumentInput
    ) -> InstrumentPayload:
        principal = _principal(info, "configuring instruments", policy.CONFIGURE_INSTRUMENTS)
        result = await _write(
            info,
            lambda db: recording.configure_star(
                db, principal, input.template_key, input.name, input.scales
            ),
        )
        return _payload(InstrumentPayload, "instrument", result)

    @strawberry.mutation(
        description="Register an HTTPS URL to be told of your referrals' status changes."
    )
    async def register_webhook(self, info: Info[Context], url: str) -> RegisterWebhookPayload:
        principal = _principal(info, "managing webhooks", policy.MANAGE_WEBHOOKS)
        settings = info.context.settings
        result = await _write(
            info,
            lambda db: webhooks.register(
                db, principal, url, protector(settings), production=settings.production
            ),
        )
        if isinstance(result, list):
            return RegisterWebhookPayload(webhook=None, secret=None, errors=result)
        hook, secret = result
        return RegisterWebhookPayload(webhook=hook, secret=secret, errors=[])  # type: ignore[arg-type]

    @strawberry.mutation(description="Stop calling a webhook.")
    async def remove_webhook(self, info: Info[Context], id: strawberry.ID) -> WebhookPayload:  # noqa: A002
        principal = _principal(info, "managing webhooks", policy.MANAGE_WEBHOOKS)
        result = await _write(
            info, lambda db: webhooks.remove(db, principal, _pk(id, "Webhook", "id"))
        )
        return _payload(WebhookPayload, "webhook", result)
