"""The practice's pages: the referral form (/staff/refer) and its referrals
(/staff/referrals). The form calls intake.create_referral, as createReferral does: the same
validation, consent questions and idempotency (a hidden key, so a double submit or a
resend creates one referral). Each referral opens on its page with the message back."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import orm, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.access import policy
from api.directory.enums import Domain
from api.directory.models import DomainLabel
from api.referrals import intake
from api.referrals.caseload import display_name
from api.referrals.enums import ContactMethod, Urgency
from api.referrals.errors import Rejected
from api.referrals.protection import protector
from api.referrals.reading import ReferralQuery, list_referrals
from api.referrals.working_days import local_date
from api.registration.answers import ErrorCode, FieldError
from api.staff.signin import SignedIn
from api.web.common import Form, new_key, read, write
from api.web.referral_pages import STATUS_LABELS
from api.web.staff_session import settings_of, staff_page, staff_render

CONTACT_LABELS = {
    ContactMethod.PHONE: "Phone call",
    ContactMethod.TEXT_MESSAGE: "Text message",
    ContactMethod.EMAIL: "Email",
    ContactMethod.LETTER: "Letter",
}
FIELDS = (
    "nhs_number", "given_name", "family_name", "dob_day", "dob_month", "dob_year",
    "contact_method", "phone", "email", "address", "postcode", "language", "reason",
    "what_matters", "urgency", "notes", "consent", "share_outcomes", "idempotency_key",
)  # fmt: skip
# The domain's input paths, as the form's fields.
FIELD_OF = {
    "person.nhsNumber": "nhs_number",
    "person.givenName": "given_name",
    "person.familyName": "family_name",
    "person.dateOfBirth": "dob",
    "person.preferredLanguage": "language",
    "person.contact.phone": "phone",
    "person.contact.email": "email",
    "person.contact.address": "address",
    "person.contact.postcode": "postcode",
    "reason": "reason",
    "whatMatters": "what_matters",
    "notes": "notes",
    "consent.toBeReferred": "consent",
    "consent.recordedAt": "consent",
    "idempotencyKey": "consent",
}


def _domain_options(db: orm.Session) -> list[tuple[str, str, None]]:
    labels = {row.domain: row.label for row in db.scalars(select(DomainLabel))}
    return [(d.value, labels.get(d, d.value.replace("_", " ").capitalize()), None) for d in Domain]


async def _form(
    request: Request, me: SignedIn, v: dict, errors: list[FieldError] | None = None
) -> Response:
    return staff_render(
        request,
        me,
        "staff/refer.html",
        400 if errors else 200,
        v=v,
        errors=errors or [],
        domains=await read(request, _domain_options),
        methods=[(m.value, label, None) for m, label in CONTACT_LABELS.items()],
        target=settings_of(request).contact_target_working_days,
    )


@staff_page(policy.CREATE_REFERRAL)
async def refer_page(request: Request, me: SignedIn, _form_: Form | None) -> Response:
    return await _form(
        request,
        me,
        {"idempotency_key": new_key(), "language": "en", "urgency": "ROUTINE"},
    )


def _date_of_birth(v: dict) -> dt.date | None:
    try:
        return dt.date(int(v["dob_year"]), int(v["dob_month"]), int(v["dob_day"]))
    except (ValueError, OverflowError):
        return None


@staff_page(policy.CREATE_REFERRAL)
async def refer(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None and me.principal is not None
    principal = me.principal
    settings = settings_of(request)
    v = {k: str(form.get(k, "")).strip() for k in FIELDS}
    v["domains"] = form.getlist("domains")
    v["interpreter"] = "yes" if form.get("interpreter") == "yes" else ""
    errors = []
    born = _date_of_birth(v)
    if born is None:
        errors.append(
            FieldError("dob", "Enter a real date of birth, like 14 3 1950", ErrorCode.INVALID)
        )
    try:
        method = ContactMethod(v["contact_method"])
    except ValueError:
        method = None
        errors.append(
            FieldError(
                "contact_method", "Choose how they prefer to be contacted", ErrorCode.REQUIRED
            )
        )
    if v["share_outcomes"] not in ("yes", "no"):
        errors.append(
            FieldError(
                "share_outcomes",
                "Say whether they agree to outcomes coming back to the practice",
                ErrorCode.REQUIRED,
            )
        )
    domains = tuple(Domain(d) for d in v["domains"] if d in Domain.__members__)
    if errors or born is None or method is None:
        return await _form(request, me, v, errors)
    data = intake.ReferralIn(
        person=intake.PersonIn(
            nhs_number=v["nhs_number"],
            given_name=v["given_name"],
            family_name=v["family_name"],
            date_of_birth=born,
            contact=intake.ContactIn(
                method,
                v["phone"] or None,
                v["email"] or None,
                v["address"] or None,
                v["postcode"] or None,
            ),
            preferred_language=v["language"] or "en",
            needs_interpreter=bool(v["interpreter"]),
        ),
        reason=v["reason"],
        consent_to_refer=v["consent"] == "yes",
        consent_share_outcomes=v["share_outcomes"] == "yes",
        what_matters=v["what_matters"],
        domains=domains,
        urgency=Urgency.URGENT if v["urgency"] == "URGENT" else Urgency.ROUTINE,
        notes=v["notes"],
    )
    guard = protector(settings)

    def work(db: orm.Session) -> int:
        referral, _created = intake.create_referral(
            db,
            principal,
            data,
            v["idempotency_key"],
            guard,
            contact_target_days=settings.contact_target_working_days,
        )
        return referral.id

    try:
        referral_id = await write(request, work)
    except Rejected as exc:
        found = []
        for p in exc.problems:
            key = (p.field or "").removeprefix("input.")
            field = FIELD_OF.get(key, "consent")
            found.append(
                FieldError(field, p.message[:1].upper() + p.message[1:], ErrorCode.INVALID)
            )
        return await _form(request, me, v, found)
    request.session["staff_flash"] = "The referral is sent to the link worker."
    return RedirectResponse(f"/staff/referrals/{referral_id}", 303)


@staff_page(policy.READ_REFERRALS)
async def referrals_page(request: Request, me: SignedIn, _form_: Form | None) -> Response:
    principal = me.principal
    assert principal is not None
    guard = protector(settings_of(request))

    def load(db: orm.Session) -> list[dict]:
        page = list_referrals(db, principal, ReferralQuery(), guard, offset=0, limit=200)
        rows = []
        for r in page.items:
            name = display_name(principal, r, guard)
            rows.append(
                {
                    "id": r.id,
                    "name": name,
                    "status": STATUS_LABELS[r.status],
                    "received": local_date(r.received_at),
                    "contacted": local_date(r.contacted_at) if r.contacted_at else None,
                }
            )
        return rows

    flash = request.session.pop("staff_flash", None)
    return staff_render(
        request,
        me,
        "staff/referrals.html",
        rows=await write(request, load),
        can_refer=principal.role in policy.CREATE_REFERRAL,
        notice=[flash] if flash else None,
    )


def routes() -> list[Route]:
    return [
        Route("/staff/refer", refer_page, methods=["GET"]),
        Route("/staff/refer", refer, methods=["POST"]),
        Route("/staff/referrals", referrals_page, methods=["GET"]),
    ]
