"""Registration through GraphQL: the same flow as the /register form, with typed errors in
the payload (field, message, code); moderation and problem reports."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from anyio import to_thread
from strawberry.types import Info

from api.access import policy
from api.graphql.context import Context
from api.graphql.directory.types import (
    AccessibilityFeature,
    DayOfWeek,
    Delivery,
    Domain,
    Frequency,
    HowToJoin,
)
from api.graphql.registration.types import (
    HowOften,
    PlaceKind,
    ProblemKind,
    ProblemReportType,
    RegistrationError,
    RegistrationType,
    TimesKind,
)
from api.graphql.relay import from_global_id
from api.mail.queue import deliver_due
from api.registration import flow
from api.registration import reports as reporting
from api.registration.answers import ErrorCode, FieldError, Raw

# Form field -> GraphQL input field, for error paths.
INPUT_NAMES = {
    "organisation": "organisation",
    "title": "title",
    "description": "description",
    "domains": "domains",
    "where": "delivery",
    "venue_name": "venueName",
    "postcode": "postcode",
    "address": "address",
    "accessibility": "accessibility",
    "when": "when",
    "days": "days",
    "starts": "startsAt",
    "ends": "endsAt",
    "how_often": "frequency",
    "first_date": "firstDate",
    "month_weeks": "monthWeeks",
    "email": "email",
    "show_email": "showEmail",
    "phone": "phone",
    "website": "website",
    "cost": "free",
    "cost_amount": "costAmount",
    "concessions": "concessions",
    "languages": "languages",
    "who_for": "whoFor",
    "how_to_join": "howToJoin",
    "submission_key": "submissionKey",
}


# Delivery (the one enum for where) -> the registration form's own values.
_PLACES = {"AT_VENUE": "VENUE", "ONLINE": "ONLINE", "AT_HOME": "HOME", "VARIOUS_PLACES": "VARIOUS"}


@strawberry.input(description="The registration form's questions; see the README.")
class RegisterProviderInput:
    organisation: str
    title: str
    description: str
    domains: list[Domain] | None = strawberry.field(
        default=None, description="Optional: the lead provider can choose when checking it."
    )
    where: PlaceKind | None = strawberry.field(
        default=None,
        description="Where it happens, in the old enum.",
        deprecation_reason="Use `delivery` (the `Delivery` enum); `delivery` wins if both "
        "are given.",
    )
    email: str = strawberry.field(description="Where the confirmation link is sent.")
    when: TimesKind
    venue_name: str | None = None
    postcode: str | None = None
    address: str | None = None
    accessibility: list[AccessibilityFeature] | None = None
    days: list[DayOfWeek] | None = None
    starts_at: str | None = strawberry.field(default=None, description="'10am', '14:30'.")
    ends_at: str | None = None
    how_often: HowOften | None = strawberry.field(
        default=None,
        description="How often, in the old enum.",
        deprecation_reason="Use `frequency` and `interval` (the `Frequency` enum); they win "
        "if both are given.",
    )
    delivery: Delivery | None = strawberry.field(
        default=None,
        description="Where it happens; required (unless the deprecated `where` is given). "
        "AT_VENUE needs `venueName` and `postcode`.",
    )
    frequency: Frequency | None = strawberry.field(
        default=None,
        description="With `when: TIMES`: WEEKLY (the default) or MONTHLY; ONCE is not taken here.",
    )
    interval: int | None = strawberry.field(
        default=None,
        description="With `frequency: WEEKLY`: 1 for every week (the default), 2 for every "
        "other week (then give `firstDate`).",
    )
    first_date: dt.date | None = strawberry.field(
        default=None, description="Every other week: a date it runs."
    )
    month_weeks: list[int] | None = strawberry.field(
        default=None, description="Monthly: weeks 1-4, or -1 for the last."
    )
    show_email: bool = strawberry.field(default=False, description="Publish the email address.")
    phone: str | None = None
    website: str | None = None
    free: bool = True
    cost_amount: Decimal | None = None
    concessions: str | None = None
    languages: list[str] | None = strawberry.field(
        default=None, description="Names ('Bengali') or ISO 639-1 codes ('bn')."
    )
    who_for: str | None = None
    how_to_join: HowToJoin | None = None
    submission_key: str | None = strawberry.field(
        default=None,
        description="Any unique string up to 64 characters: sending the same key again "
        "(a retry) returns the registration already stored instead of a second one.",
    )
    confirm_different: bool = strawberry.field(
        default=False,
        description="After a DUPLICATE error: this is a different organisation, list it too.",
    )

    def _where(self) -> str:
        if self.delivery is not None:
            return _PLACES[self.delivery.value]
        return self.where.value if self.where is not None else ""

    def _how_often(self) -> str:
        if self.frequency is None:
            return self.how_often.value if self.how_often else ""
        if self.frequency.value == "WEEKLY" and self.interval in (None, 1, 2):
            return "FORTNIGHTLY" if self.interval == 2 else "WEEKLY"
        if self.frequency.value == "MONTHLY" and self.interval in (None, 1):
            return "MONTHLY"
        return f"{self.frequency.value} every {self.interval}"  # refused: not a choice

    def raw(self) -> Raw:
        def text(value: Any) -> str:
            return "" if value is None else str(value)

        return {
            "organisation": self.organisation,
            "title": self.title,
            "description": self.description,
            "domains": [d.value for d in self.domains or []],
            "where": self._where(),
            "venue_name": text(self.venue_name),
            "postcode": text(self.postcode),
            "address": text(self.address),
            "accessibility": [f.value for f in self.accessibility or ()],
            "when": self.when.value,
            "days": [d.value.value for d in self.days or ()],
            "starts": text(self.starts_at),
            "ends": text(self.ends_at),
            "how_often": self._how_often(),
            "first_date": self.first_date.isoformat() if self.first_date else "",
            "month_weeks": [str(w) for w in self.month_weeks or ()],
            "email": self.email,
            "show_email": "yes" if self.show_email else "",
            "phone": text(self.phone),
            "website": text(self.website),
            "cost": "FREE" if self.free else "PAID",
            "cost_amount": text(self.cost_amount),
            "concessions": text(self.concessions),
            "languages": ", ".join(self.languages or ()),
            "who_for": text(self.who_for),
            "how_to_join": self.how_to_join.value if self.how_to_join else "",
        }


@strawberry.type
class RegisterProviderPayload:
    registration: RegistrationType | None
    errors: list[RegistrationError]


@strawberry.type
class ModerationPayload:
    registration: RegistrationType | None
    errors: list[RegistrationError]


@strawberry.input
class ReportProblemInput:
    provider_id: strawberry.ID
    session_id: strawberry.ID | None = None
    kind: ProblemKind
    details: str = ""
    reporter_email: str | None = strawberry.field(
        default=None, description="Only for a reply; never shown to the provider."
    )


@strawberry.type
class ProblemReportPayload:
    report: ProblemReportType | None
    errors: list[RegistrationError]


@strawberry.type
class RequestEditLinkPayload:
    errors: list[RegistrationError]


def _errors(
    errors: list[FieldError], prefix: str = "input", names: dict[str, str] | None = None
) -> list[RegistrationError]:
    names = names if names is not None else INPUT_NAMES
    return [
        RegistrationError(
            field=f"{prefix}.{names.get(e.field, e.field)}"
            if prefix
            else names.get(e.field, e.field),
            message=e.message,
            code=e.code,
        )
        for e in errors
    ]


def _address(info: Info[Context]) -> str:
    request = info.context.request
    return request.client.host if request is not None and request.client else "unknown"


async def _send(info: Info[Context], mail: list[int]) -> list[int]:
    """Try at once to send the emails a committed change queued; returns those not sent
    yet (the mail queue retries them)."""
    if not mail:
        return []
    db, settings = info.context.db, info.context.settings
    report = await to_thread.run_sync(lambda: deliver_due(db, settings, only=mail, purge=False))
    return report.unsent


async def _write(info: Info[Context], fn: Any) -> Any:
    return await to_thread.run_sync(flow.write_retrying, info.context.db, fn)


def _registration_id(value: strawberry.ID) -> tuple[int | None, list[RegistrationError]]:
    try:
        type_name, pk = from_global_id(value)
    except Exception:  # noqa: BLE001 - a malformed ID is an input error here
        type_name, pk = "", 0
    if type_name != "Registration":
        return None, [
            RegistrationError(
                field="id",
                message=f"'{value}' is not the ID of a registration: use one from moderationQueue",
                code=ErrorCode.INVALID,
            )
        ]
    return pk, []


@strawberry.type
class RegistrationMutation:
    @strawberry.mutation(
        description="Register an organisation and one thing it offers, as the /register form "
        "does: a confirmation link is emailed; once followed, the registration goes to the "
        "lead provider's moderation queue. No sign-in."
    )
    async def register_provider(
        self,
        info: Info[Context],
        input: RegisterProviderInput,  # noqa: A002
    ) -> RegisterProviderPayload:
        raw = input.raw()
        key = input.submission_key or secrets.token_hex(16)
        settings = info.context.settings
        address = _address(info)
        outcome = await _write(
            info,
            lambda db: flow.submit(
                db,
                settings,
                raw,
                submission_key=key,
                address=address,
                confirm_different=input.confirm_different,
            ),
        )
        if outcome.errors:
            return RegisterProviderPayload(registration=None, errors=_errors(outcome.errors))
        problems = await _send(info, outcome.mail)
        errors = []
        if problems:
            errors.append(
                RegistrationError(
                    field="input.email",
                    message="Your registration is saved, but the email with the confirmation "
                    "link could not be sent yet: Petunia keeps trying for the next few hours; "
                    "if nothing arrives, ask for it again with requestEditLink.",
                    code=ErrorCode.INVALID_STATE,
                )
            )
        return RegisterProviderPayload(registration=outcome.registration, errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(
        description="Email the edit links of every listing registered with this address "
        "(the same answer whether or not there are any)."
    )
    async def request_edit_link(self, info: Info[Context], email: str) -> RequestEditLinkPayload:
        if not email.strip() or "@" not in email or len(email) > 320:
            return RequestEditLinkPayload(
                errors=[
                    RegistrationError(
                        field="email",
                        message="Enter the email address the listing was registered with",
                        code=ErrorCode.INVALID,
                    )
                ]
            )
        settings = info.context.settings
        address = _address(info)

        def work(db: Any) -> tuple[bool, list[int]]:
            if flow.rate_limited(db, settings, "edit-link", address):
                return True, []
            return False, flow.edit_links_for(db, settings, email)

        limited, mail = await _write(info, work)
        if limited:
            return RequestEditLinkPayload(
                errors=_errors([flow.rate_limit_error("email")], prefix="")
            )
        await _send(info, mail)
        return RequestEditLinkPayload(errors=[])

    @strawberry.mutation(description="Publish a registration, checked by your lead provider.")
    async def approve_registration(
        self, info: Info[Context], id: strawberry.ID
    ) -> ModerationPayload:  # noqa: A002
        principal = info.context.authorize("moderating listings", *policy.MODERATORS)
        pk, errors = _registration_id(id)
        if pk is None:
            return ModerationPayload(registration=None, errors=errors)
        settings = info.context.settings
        outcome = await _write(info, lambda db: flow.approve(db, settings, principal, pk))
        return await _decided(info, outcome)

    @strawberry.mutation(description="Send a registration back to the provider with a note.")
    async def request_changes(
        self, info: Info[Context], id: strawberry.ID, note: str
    ) -> ModerationPayload:  # noqa: A002
        principal = info.context.authorize("moderating listings", *policy.MODERATORS)
        pk, errors = _registration_id(id)
        if pk is None:
            return ModerationPayload(registration=None, errors=errors)
        settings = info.context.settings
        outcome = await _write(
            info, lambda db: flow.request_changes(db, settings, principal, pk, note)
        )
        return await _decided(info, outcome)

    @strawberry.mutation(description="Reject a registration; the provider is told the reason.")
    async def reject_registration(
        self, info: Info[Context], id: strawberry.ID, reason: str
    ) -> ModerationPayload:  # noqa: A002
        principal = info.context.authorize("moderating listings", *policy.MODERATORS)
        pk, errors = _registration_id(id)
        if pk is None:
            return ModerationPayload(registration=None, errors=errors)
        settings = info.context.settings
        outcome = await _write(info, lambda db: flow.reject(db, settings, principal, pk, reason))
        return await _decided(info, outcome)

    @strawberry.mutation(description="Report a problem with a published listing. No sign-in.")
    async def report_problem(
        self, info: Info[Context], input: ReportProblemInput
    ) -> ProblemReportPayload:  # noqa: A002
        settings = info.context.settings
        address = _address(info)
        try:
            p_type, provider_pk = from_global_id(input.provider_id)
            s_type, session_pk = (
                from_global_id(input.session_id) if input.session_id else ("Session", None)
            )
        except Exception:  # noqa: BLE001
            p_type = s_type = ""
            provider_pk = session_pk = None
        if p_type != "Provider" or s_type != "Session":
            return ProblemReportPayload(
                report=None,
                errors=[
                    RegistrationError(
                        field="input.providerId",
                        message="Use the IDs of a published provider and session",
                        code=ErrorCode.INVALID,
                    )
                ],
            )

        def work(db: Any) -> reporting.Reported | None:
            from api.directory.models import Provider, Session

            provider = db.get(Provider, provider_pk)
            session = db.get(Session, session_pk) if session_pk else None
            if provider is None or (
                session_pk and (session is None or session.provider_id != provider.id)
            ):
                return None
            listing = reporting.find_listing(db, provider.key, session.key if session else None)
            if listing is None:
                return None
            return reporting.report_problem(
                db,
                settings,
                listing,
                kind=input.kind.value,
                details=input.details,
                reporter_email=input.reporter_email or "",
                address=address,
            )

        result = await _write(info, work)
        if result is None:
            return ProblemReportPayload(
                report=None,
                errors=[
                    RegistrationError(
                        field="input.providerId",
                        message="There is no published listing with these IDs",
                        code=ErrorCode.NOT_FOUND,
                    )
                ],
            )
        if result.errors:
            return ProblemReportPayload(
                report=None,
                errors=_errors(
                    result.errors,
                    names={"kind": "kind", "details": "details", "reporter_email": "reporterEmail"},
                ),
            )
        await _send(info, result.mail)
        return ProblemReportPayload(report=result.report, errors=[])  # type: ignore[arg-type]

    @strawberry.mutation(description="Mark a problem report resolved, with what was done.")
    async def resolve_problem_report(
        self,
        info: Info[Context],
        id: strawberry.ID,
        note: str = "",  # noqa: A002
        withdraw_listing: Annotated[
            bool,
            strawberry.argument(description="Also withdraw the listing (the note is the reason)."),
        ] = False,
        listing_stays_up: Annotated[
            bool,
            strawberry.argument(
                description="A report that it has closed, resolved with the listing kept up "
                "(the note says why)."
            ),
        ] = False,
    ) -> ProblemReportPayload:
        principal = info.context.authorize("resolving problem reports", *policy.MODERATORS)
        try:
            type_name, pk = from_global_id(id)
        except Exception:  # noqa: BLE001
            type_name, pk = "", 0
        if type_name != "ProblemReport":
            return ProblemReportPayload(
                report=None,
                errors=[
                    RegistrationError(
                        field="id",
                        message=f"'{id}' is not the ID of a problem report",
                        code=ErrorCode.INVALID,
                    )
                ],
            )
        report, errors = await _write(
            info,
            lambda db: reporting.resolve(
                db, principal, pk, note, withdraw=withdraw_listing, stays_up=listing_stays_up
            ),
        )
        return ProblemReportPayload(
            report=None if errors else report, errors=_errors(errors, prefix="")
        )  # type: ignore[arg-type]


async def _decided(info: Info[Context], outcome: flow.Outcome) -> ModerationPayload:
    if outcome.errors:
        return ModerationPayload(
            registration=outcome.registration, errors=_errors(outcome.errors, prefix="")
        )  # type: ignore[arg-type]
    problems = await _send(info, outcome.mail)
    errors = []
    if problems:
        errors.append(
            RegistrationError(
                field=None,
                message="Done, but the email to the provider could not be sent yet: "
                "Petunia keeps trying for the next few hours.",
                code=ErrorCode.INVALID_STATE,
            )
        )
    return ModerationPayload(registration=outcome.registration, errors=errors)  # type: ignore[arg-type]
