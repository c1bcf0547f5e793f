"""The lead provider's moderation pages (/moderation), behind staff sign-in (api/web/staff_auth.py):
a signed-in LEAD_PROVIDER or ADMIN account moderates. The session is checked in the database
on every request, so signing out, deactivation or an admin's revocation ends it at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import orm, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.access import policy
from api.access.tokens import Principal
from api.directory import publishing
from api.directory import schedules as sched
from api.directory.enums import Domain
from api.directory.labels import language_name
from api.directory.models import DomainLabel, Locality, Provider, Session
from api.directory.text import visible
from api.registration import flow
from api.registration import reports as reporting
from api.registration.answers import (
    ACCESSIBILITY_LABELS,
    HOW_TO_JOIN_LABELS,
    ErrorCode,
    FieldError,
    check,
    text_changes,
)
from api.registration.models import Registration, RegistrationKind, RegistrationStatus
from api.staff import signin
from api.web.common import (
    Form,
    FormTooLarge,
    message_page,
    read,
    read_form,
    render,
    send_now,
    settings_of,
    too_large,
    write,
)
from api.web.staff_session import csrf_of, expired_form, signed_in


async def moderator(request: Request) -> Principal | None:
    """The signed-in staff member, if they moderate (the policy's MODERATORS)."""
    me = await signed_in(request)
    if me is None or me.principal is None or me.principal.role not in policy.MODERATORS:
        return None
    request.state.staff = me
    return me.principal


def _csrf(request: Request) -> str:
    return csrf_of(request, request.state.staff)


def _csrf_ok(request: Request, form: Form) -> bool:
    me = request.state.staff
    return signin.csrf_matches(settings_of(request), me.session_hash, form.get("csrf"))


def _to_sign_in(request: Request) -> Response:
    # Not signed in (or not a moderator): sign in as staff, then come back here.
    request.session["staff_next"] = "/moderation"
    return RedirectResponse("/staff/sign-in", 303)


def _refused() -> Response:
    return expired_form()


async def old_sign_in(request: Request) -> Response:
    """The old token sign-in page: people now sign in as staff."""
    return _to_sign_in(request)


async def queue(request: Request) -> Response:
    principal = await moderator(request)
    if principal is None:
        return _to_sign_in(request)
    return await _queue_page(request, principal)


async def _queue_page(
    request: Request,
    principal: Principal,
    *,
    errors: list[FieldError] | None = None,
    v: dict[str, str] | None = None,
) -> Response:
    settings = settings_of(request)

    def load(db: orm.Session) -> tuple[list[Registration], list[dict[str, Any]]]:
        registrations = flow.moderation_queue(db, principal)
        reports = []
        for report, listing in reporting.open_reports(db, principal):
            email, phone = reporting.contact(db, listing)
            reports.append(
                {
                    "id": report.id,
                    "about": listing.about,
                    "url": reporting.listing_url(settings, listing),
                    "email": email,
                    "phone": phone,
                    "what": reporting.KIND_LABELS[report.kind],
                    "details": report.details,
                    "reply_to": report.reporter_email,
                    "created": f"{report.created_at:%-d %b %Y}",
                    "provider_id": report.provider_id,
                    "closed": report.kind is reporting.ReportKind.CLOSED,
                }
            )
        return registrations, reports

    registrations, reports = await read(request, load)
    flash = request.session.pop("flash", None)
    return render(
        "moderation/queue.html",
        400 if errors else 200,
        principal=principal,
        me=request.state.staff,
        registrations=registrations,
        reports=reports,
        csrf=_csrf(request),
        notice=[flash] if flash else None,
        errors=errors or [],
        v=v or {},
    )


# The duplicate path (api/registration/joining.py): someone who cannot reach the listing's
# email adds an activity to it, or asks for access.
KIND_ROW = {
    RegistrationKind.JOIN: "Adds an activity to the listing of",
    RegistrationKind.ACCESS: "Asks for access to change the listing of",
}


def summary_rows(db: orm.Session, registration: Registration) -> list[tuple[str, str]]:
    """The answers as a moderator reads them, plus where the listing will be filed."""
    raw = registration.answers
    answers, errors = check(raw, allow_keep=registration.session_id is not None)
    labels = {row.domain: row.label for row in db.scalars(select(DomainLabel))}
    rows: list[tuple[str, str]] = [("Organisation", registration.organisation)]
    if registration.provider_id:
        provider = db.get(Provider, registration.provider_id)
        if provider:
            rows.append((KIND_ROW.get(registration.kind, "Changes the listing of"), provider.name))
    if registration.session_id:
        session = db.get(Session, registration.session_id)
        if session:
            rows.append(("Changes the activity", session.title))
    # What the text rule changed or refused, with the text as typed made visible (a line
    # break in a title is otherwise invisible here).
    changed = [(f"Text checks: {label}", said) for label, said in text_changes(raw)]
    if answers is None:
        rows += [(k, visible(str(v))) for k, v in raw.items() if v]
        rows.append(("Problems", "; ".join(e.message for e in errors)))
        return rows + changed
    where = {
        "AT_VENUE": ", ".join(
            part for part in (answers.venue_name, answers.address, answers.postcode) if part
        ),
        "ONLINE": "Online",
        "AT_HOME": "In people's homes or by phone",
        "VARIOUS_PLACES": "In various places",
    }[answers.delivery.value]
    when = (
        "Unchanged"
        if answers.rules is None
        else "; ".join(sched.describe(r) for r in answers.rules) or "Ask us"
    )
    locality = db.get(Locality, registration.locality_id) if registration.locality_id else None
    rows += [
        ("Activity", answers.title),
        ("Description", answers.description),
        ("Kinds of activity", ", ".join(labels.get(d, Domain(d).value) for d in answers.domains)),
        ("Where", where),
        ("Locality", locality.name if locality else "Not known from the postcode"),
        ("When", when),
        (
            "Email",
            answers.email + (" (shown on the listing)" if answers.show_email else " (private)"),
        ),
        ("Phone", answers.phone or "None"),
        ("Website", answers.website or "None"),
        (
            "Cost",
            "Free"
            if answers.is_free
            else f"£{answers.cost_amount}"
            + (f" ({answers.concessions})" if answers.concessions else ""),
        ),
        (
            "Accessibility",
            ", ".join(ACCESSIBILITY_LABELS[f] for f in answers.accessibility) or "None given",
        ),
        ("Languages", ", ".join(language_name(code) for code in answers.languages)),
        ("Who it is for", answers.who_for or "Anyone"),
        ("How to join", HOW_TO_JOIN_LABELS[answers.how_to_join]),
    ]
    return rows + changed


async def registration_page(
    request: Request, *, errors: list[FieldError] | None = None, v: dict[str, str] | None = None
) -> Response:
    principal = await moderator(request)
    if principal is None:
        return _to_sign_in(request)
    registration_id = int(request.path_params["id"])

    def load(db: orm.Session) -> tuple[Registration | None, list[tuple[str, str]]]:
        registration = flow.get_registration(db, principal, registration_id)
        return registration, summary_rows(db, registration) if registration else []

    registration, rows = await read(request, load)
    if registration is None:
        return message_page(
            "Not found", ["There is no such registration in your queue."], status=404
        )
    return render(
        "moderation/registration.html",
        400 if errors else 200,
        me=request.state.staff,
        r=registration,
        rows=rows,
        state=registration.status.value.replace("_", " ").capitalize(),
        decidable=registration.status is RegistrationStatus.PENDING_REVIEW,
        csrf=_csrf(request),
        errors=errors or [],
        v=v or {},
    )


async def decide(request: Request) -> Response:
    principal = await moderator(request)
    if principal is None:
        return _to_sign_in(request)
    try:
        form = await read_form(request)
    except FormTooLarge:
        return too_large()
    if not _csrf_ok(request, form):
        return _refused()
    settings = settings_of(request)
    registration_id = int(request.path_params["id"])
    action = form.get("action")
    note, reason = str(form.get("note", "")), str(form.get("reason", ""))

    def work(db: orm.Session) -> flow.Outcome:
        if action == "approve":
            return flow.approve(db, settings, principal, registration_id)
        if action == "changes":
            return flow.request_changes(db, settings, principal, registration_id, note)
        if action == "reject":
            return flow.reject(db, settings, principal, registration_id, reason)
        return flow.Outcome(errors=[FieldError("action", "Choose what to do", ErrorCode.INVALID)])

    if action == "reject" and form.get("confirmed") != "yes":
        return await _confirm_reject(request, principal, registration_id, reason)
    outcome = await write(request, work)
    if outcome.errors:
        return await registration_page(
            request, errors=outcome.errors, v={"note": note, "reason": reason}
        )
    problems = await send_now(request, outcome.mail)
    registration = outcome.registration
    assert registration is not None
    approved = f"{registration.organisation} is approved. " + publishing.when_visible(settings)
    if registration.kind is RegistrationKind.ACCESS:
        approved = f"Access to {registration.organisation} is granted: we emailed them a link."
    done = {
        "approve": approved,
        "changes": f"{registration.organisation} is sent back with your note.",
        "reject": f"{registration.organisation} is rejected.",
    }[str(action)]
    if problems:
        done += (
            " The email to the provider could not be sent yet: Petunia keeps trying for the "
            "next few hours."
        )
    request.session["flash"] = done
    return RedirectResponse("/moderation", 303)


async def _confirm_reject(
    request: Request, principal: Principal, registration_id: int, reason: str
) -> Response:
    """ "Are you sure?" before a rejection, which cannot be undone: the reason is checked
    first, so a missing one is said on the registration's page."""
    reason_text, errors = flow.check_note(reason, "reason", "the reason")
    if errors:
        return await registration_page(request, errors=errors, v={"reason": reason})
    registration = await read(
        request, lambda db: flow.get_registration(db, principal, registration_id)
    )
    if registration is None:
        return message_page(
            "Not found", ["There is no such registration in your queue."], status=404
        )
    return render(
        "moderation/confirm_reject.html",
        me=request.state.staff,
        r=registration,
        reason=reason_text,
        csrf=_csrf(request),
    )


async def resolve_report(request: Request) -> Response:
    principal = await moderator(request)
    if principal is None:
        return _to_sign_in(request)
    try:
        form = await read_form(request)
    except FormTooLarge:
        return too_large()
    if not _csrf_ok(request, form):
        return _refused()
    report_id = int(request.path_params["id"])
    note = str(form.get("note", ""))
    listing = str(form.get("listing", ""))
    _report, errors = await write(
        request,
        lambda db: reporting.resolve(
            db,
            principal,
            report_id,
            note,
            withdraw=listing == "withdraw",
            stays_up=listing == "stays",
        ),
    )
    if any(e.field == "note" for e in errors):
        # The queue again, with an error summary linked to this report's note.
        field = f"note-{report_id}"
        return await _queue_page(
            request,
            principal,
            errors=[FieldError(field, e.message, e.code) for e in errors],
            v={field: note},
        )
    done = "The report is resolved."
    if listing == "withdraw":
        done += " The listing is withdrawn. " + publishing.when_gone(settings_of(request))
    request.session["flash"] = errors[0].message if errors else done
    return RedirectResponse("/moderation", 303)


def routes() -> list[Route]:
    return [
        Route("/moderation", queue, methods=["GET"]),
        Route("/moderation/sign-in", old_sign_in, methods=["GET"]),
        Route("/moderation/registrations/{id:int}", registration_page, methods=["GET"]),
        Route("/moderation/registrations/{id:int}", decide, methods=["POST"]),
        Route("/moderation/reports/{id:int}/resolve", resolve_report, methods=["POST"]),
    ]
