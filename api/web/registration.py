"""The public pages: register (/register), confirm by the emailed link, change a listing
from its edit link (/listing/...), ask for a new edit link, and report a problem with a
listing (/report-a-problem). Thin: the decisions are in api/registration/."""

from __future__ import annotations

from typing import Any

from sqlalchemy import orm, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.directory import publishing
from api.directory import schedules as sched
from api.directory.enums import Delivery, Domain, ListingStatus
from api.directory.labels import language_name
from api.directory.models import (
    DomainLabel,
    Provider,
    Schedule,
    Session,
    SessionDomain,
    SessionLanguage,
    Venue,
    VenueFeature,
)
from api.directory.provenance import provenance
from api.registration import flow, joining, links, summary
from api.registration import reports as reporting
from api.registration.answers import (
    ACCESSIBILITY_LABELS,
    DAY_LABELS,
    HOW_TO_JOIN_LABELS,
    LANGUAGES,
    LIST_FIELDS,
    TEXT_LIMITS,
    WEEK_LABELS,
    ErrorCode,
    FieldError,
    Raw,
    clean,
)
from api.registration.models import Registration, RegistrationKind, RegistrationStatus
from api.web.common import (
    Form,
    client_address,
    log,
    message_page,
    new_key,
    read,
    render,
    send_now,
    settings_of,
    with_form,
    write,
)

# The optional questions folded under "More about it" on the registration form.
MORE_QUESTIONS = frozenset(
    {
        *("phone", "domains", "cost", "cost_amount", "concessions", "address"),
        *("accessibility", "website", "languages", "who_for", "how_to_join"),
    }
)
SERVER_ERROR = [
    "Sorry, something went wrong on our side and nothing was saved.",
    "Everything you typed is still below: please send it again in a few minutes.",
]


def _domain_options(db: orm.Session) -> list[tuple[str, str, str | None]]:
    rows = {row.domain: row for row in db.scalars(select(DomainLabel))}
    return [
        (
            d.value,
            rows[d].label if d in rows else summary.DEFAULT_DOMAIN_LABELS[d],
            rows[d].description if d in rows else None,
        )
        for d in Domain
    ]


def _form_context(
    domain_options: list[tuple[str, str, str | None]], *, allow_keep: bool, keep: str | None
) -> dict[str, Any]:
    when = [
        ("TIMES", "On set days and times", None),
        ("ASK", "It varies: ask us", "People contact you to find out when."),
    ]
    if allow_keep:
        when.insert(0, ("KEEP", f"Keep the current times: {keep}", None))
    return {
        "domain_options": domain_options,
        "where_options": [
            ("VENUE", "At a place", "For example, a hall, a park or your own premises"),
            ("ONLINE", "Online", None),
            ("HOME", "In people's homes or by phone", None),
            ("VARIOUS", "In various places", "For example, walks that start in different places"),
        ],
        "accessibility_options": [
            (f.value, label, None) for f, label in ACCESSIBILITY_LABELS.items()
        ],
        "when_options": when,
        "day_options": [(d.value, label, None) for d, label in DAY_LABELS.items()],
        "how_often_options": [
            ("WEEKLY", "Every week", None),
            ("FORTNIGHTLY", "Every other week", None),
            ("MONTHLY", "Once or twice a month", None),
        ],
        "week_options": [(k, label, None) for k, label in WEEK_LABELS.items()],
        "cost_options": [
            ("FREE", "Yes, it is free", None),
            ("PAID", "No, there is a charge", None),
        ],
        "join_options": [(j.value, label, None) for j, label in HOW_TO_JOIN_LABELS.items()],
    }


async def _form(
    request: Request,
    *,
    heading: str,
    action: str,
    v: Raw,
    submission_key: str,
    mode: str = "new",
    errors: list[FieldError] | None = None,
    status: int = 200,
    notice: list[str] | None = None,
    notice_warning: bool = False,
    allow_keep: bool = False,
    keep: str | None = None,
    submit_label: str = "Continue",
    open_more: bool = False,
) -> Response:
    try:
        options, lead = await read(
            request, lambda db: (_domain_options(db), flow.lead_name(db, flow.locality_of(db, v)))
        )
    except Exception:  # noqa: BLE001 - the form must still come back with what was typed
        log.exception("could not read domain labels")
        options = [(d.value, label, None) for d, label in summary.DEFAULT_DOMAIN_LABELS.items()]
        lead = "the local lead provider"
    errors = errors or []
    return render(
        "register.html",
        status,
        heading=heading,
        action=action,
        mode=mode,
        v=v,
        errors=errors,
        submission_key=submission_key,
        notice=notice,
        notice_warning=notice_warning,
        duplicate=any(e.code is ErrorCode.DUPLICATE for e in errors)
        or bool(v.get("confirm_different")),
        submit_label=submit_label,
        lead=lead,
        open_more=open_more
        or mode != "new"
        or any(v.get(name) for name in MORE_QUESTIONS if name != "cost")
        or any(e.field in MORE_QUESTIONS for e in errors),
        **_form_context(options, allow_keep=allow_keep, keep=keep),
    )


# ---------------------------------------------------------------------------------------------
# Registering


async def register_page(request: Request) -> Response:
    return await _form(
        request,
        heading="List your group or activity",
        action="/register",
        v={"show_email": "yes"},
        submission_key=new_key(),
    )


def _answers_to_carry(raw: Raw) -> list[tuple[str, str]]:
    """Every answer as hidden (name, value) pairs, so the check page can send them on or
    back to the form without anything lost."""
    pairs = [(name, str(raw[name])) for name in TEXT_LIMITS if raw.get(name)]
    for name in LIST_FIELDS:
        pairs += [(name, str(value)) for value in raw.get(name) or []]
    return pairs


async def _check_page(request: Request, form: Form, raw: Raw) -> Response:
    """The "check your answers" step (GOV.UK pattern): nothing is stored yet."""
    confirm_different = form.get("confirm_different") == "yes"
    try:
        preview, labels = await read(request, lambda db: _preview(db, raw, confirm_different))
    except Exception:  # noqa: BLE001 - nothing typed is lost, even on our own faults
        log.exception("registration could not be checked")
        return await _form(
            request,
            heading="List your group or activity",
            action="/register",
            v=raw,
            submission_key=str(form.get("submission_key", ""))[:64] or new_key(),
            status=500,
            notice=SERVER_ERROR,
            notice_warning=True,
        )
    if preview.errors or preview.answers is None:
        return await _form(
            request,
            heading="List your group or activity",
            action="/register",
            v=raw,
            submission_key=str(form.get("submission_key", ""))[:64] or new_key(),
            errors=preview.errors,
            status=400,
        )
    return render(
        "register_check.html",
        rows=summary.rows(preview.answers, labels),
        carry=_answers_to_carry(raw),
        submission_key=str(form.get("submission_key", ""))[:64] or new_key(),
        nickname=str(form.get("nickname", ""))[:200],
        lead=preview.lead,
        email=preview.answers.email,
    )


def _preview(
    db: orm.Session, raw: Raw, confirm_different: bool
) -> tuple[flow.Preview, dict[Domain, str]]:
    return flow.preview(db, raw, confirm_different=confirm_different), summary.domain_labels(db)


@with_form
async def register_change(request: Request, form: Form) -> Response:
    """A Change link on the check page: the form again, with every answer kept."""
    return await _form(
        request,
        heading="List your group or activity",
        action="/register",
        v=clean(form),
        submission_key=str(form.get("submission_key", ""))[:64] or new_key(),
        open_more=form.get("change") in MORE_QUESTIONS,
    )


@with_form
async def register_submit(request: Request, form: Form) -> Response:
    raw = clean(form)
    if form.get("send") != "yes":
        return await _check_page(request, form, raw)
    key = str(form.get("submission_key", ""))[:64]
    settings = settings_of(request)
    address = client_address(request)

    def work(db: orm.Session) -> tuple[flow.Outcome, str]:
        outcome = flow.submit(
            db,
            settings,
            raw,
            submission_key=key,
            address=address,
            honeypot=str(form.get("nickname", "")),
            confirm_different=form.get("confirm_different") == "yes",
        )
        where = outcome.registration.locality_id if outcome.registration else None
        return outcome, flow.lead_name(db, where)

    try:
        outcome, lead = await write(request, work)
    except Exception:  # noqa: BLE001 - nothing typed is lost, even on our own faults
        log.exception("registration could not be saved")
        return await _form(
            request,
            heading="List your group or activity",
            action="/register",
            v=raw,
            submission_key=key or new_key(),
            status=500,
            notice=SERVER_ERROR,
            notice_warning=True,
        )
    if outcome.errors:
        status = 429 if any(e.code is ErrorCode.RATE_LIMITED for e in outcome.errors) else 400
        return await _form(
            request,
            heading="List your group or activity",
            action="/register",
            v=raw,
            submission_key=key or new_key(),
            errors=outcome.errors,
            status=status,
        )
    email = str(raw.get("email", "")).strip()
    problems = await send_now(request, outcome.mail)
    if problems:
        return message_page(
            "Your listing is saved, but the email is delayed",
            [
                "We saved everything you sent, but could not send the email with the link to "
                f"confirm it to {email} just now. We will keep trying for the next few hours; "
                "if nothing arrives, ask for the link again below.",
            ],
            resend=True,
        )
    return message_page(
        "Check your email",
        [
            f"We have sent a link to {email}. Open it to confirm your listing; it works for "
            f"{settings.confirm_link_days} days.",
            f"{_capital(lead)} then checks the listing before it appears in the directory, "
            f"usually within {settings.review_days} days. The same email has a link to change "
            "your listing at any time.",
            "No email? Check your spam folder, or ask for the link again.",
        ],
        links=[("Ask for the link again", "/listing/edit-link")],
    )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


@with_form
async def update_existing(request: Request, form: Form) -> Response:
    """The duplicate check's other answer: email the existing listing's edit link to the
    address it was registered with."""
    raw = clean(form)
    settings = settings_of(request)
    address = client_address(request)

    def work(db: orm.Session) -> tuple[str | None, list[int], list[FieldError], str]:
        masked, mail, errors = flow.link_to_duplicate(db, settings, raw, address=address)
        return masked, mail, errors, flow.lead_name(db, flow.locality_of(db, raw))

    masked, mail, errors, lead = await write(request, work)
    if errors or masked is None:
        return await _form(
            request,
            heading="List your group or activity",
            action="/register",
            v=raw,
            submission_key=str(form.get("submission_key", "")) or new_key(),
            errors=errors,
            status=400 if errors else 200,
            notice=None
            if errors
            else ["We could not find the existing listing any more: send the form to list yours."],
        )
    problems = await send_now(request, mail)
    if problems:
        return message_page(
            "The email is delayed",
            [
                f"We could not send the email to the address the existing listing was "
                f"registered with ({masked}) just now. We will keep trying for the next few "
                "hours.",
            ],
            status=503,
        )
    return message_page(
        "Check the existing listing's email",
        [
            f"We have emailed a link to change the existing listing to the address it was "
            f"registered with ({masked}).",
            f"If you cannot reach that address, contact {lead}.",
        ],
    )


async def _join(request: Request, form: Form, kind: RegistrationKind) -> Response:
    """The duplicate's third answer: send the activity to the lead provider to add to the
    listed organisation (JOIN), or ask them for access to its listing (ACCESS)."""
    raw = clean(form)
    settings = settings_of(request)
    address = client_address(request)
    key = str(form.get("submission_key", ""))[:64] or new_key()
    if str(form.get("nickname", "")).strip():
        # The honeypot was filled in: nothing is stored, and the sender is not told.
        return message_page("Check your email", ["We have sent you a link to confirm it."])
    joined = await write(
        request,
        lambda db: joining.submit(
            db, settings, raw, kind=kind, submission_key=key, address=address
        ),
    )
    if joined.outcome.errors:
        return await _form(
            request,
            heading="List your group or activity",
            action="/register",
            v=raw,
            submission_key=key,
            errors=joined.outcome.errors,
            status=400,
        )
    problems = await send_now(request, joined.outcome.mail)
    email = str(raw.get("email", "")).strip()
    what = (
        f"your activity to {joined.lead} to add to {joined.organisation}"
        if kind is RegistrationKind.JOIN
        else f"your request for access to {joined.organisation} to {joined.lead}"
    )
    return message_page(
        "Check your email",
        [
            f"We have sent a link to {email}"
            + (" (it may take a little while)" if problems else "")
            + f". Open it to confirm your email address, and we pass {what}.",
            f"{_capital(joined.lead)} usually decides within {settings.review_days} days, and "
            "we email you when they have.",
        ],
    )


@with_form
async def register_join(request: Request, form: Form) -> Response:
    return await _join(request, form, RegistrationKind.JOIN)


@with_form
async def register_ask_access(request: Request, form: Form) -> Response:
    return await _join(request, form, RegistrationKind.ACCESS)


async def confirm_link(request: Request) -> Response:
    settings = settings_of(request)
    try:
        registration_id = links.read_confirm_token(settings, request.path_params["token"])
    except links.LinkProblem as exc:
        return message_page("This link does not work", [str(exc)], status=400, resend=True)

    def work(db: orm.Session) -> tuple[flow.Outcome, str]:
        outcome = flow.confirm(db, settings, registration_id)
        where = outcome.registration.locality_id if outcome.registration else None
        return outcome, flow.lead_name(db, where)

    outcome, lead = await write(request, work)
    if outcome.errors or outcome.registration is None:
        return message_page(
            "This link does not work",
            [outcome.errors[0].message if outcome.errors else "This listing no longer exists."],
            status=404,
        )
    await send_now(request, outcome.mail)
    registration = outcome.registration
    if registration.status is RegistrationStatus.APPROVED:
        lines = ["It has already been checked and is in the directory."]
    elif registration.status is RegistrationStatus.REJECTED:
        lines = ["The lead provider has already decided not to list it; we emailed you why."]
    else:
        # Confirming the address is not the check: say who checks it, and when.
        return message_page(
            "Email confirmed",
            [
                f"{registration.organisation}: {_capital(lead)} will check it, usually within "
                f"{settings.review_days} days, and we will email you when it is in the "
                "directory.",
                "To change it in the meantime, use the edit link in the same email.",
            ],
            panel=True,
            panel_text=f"{_capital(lead)} will check it, usually within "
            f"{settings.review_days} days",
        )
    return message_page(
        "Your listing is confirmed",
        lines,
        panel=True,
        panel_text=registration.organisation,
    )


# ---------------------------------------------------------------------------------------------
# Edit links


async def edit_link_page(request: Request) -> Response:
    return render("edit_link.html", submission_key=new_key())


@with_form
async def edit_link_submit(request: Request, form: Form) -> Response:
    email = str(form.get("email", "")).strip()
    if not email or "@" not in email or len(email) > 320:
        return render(
            "edit_link.html",
            400,
            v={"email": email},
            submission_key=new_key(),
            errors=[
                FieldError(
                    "email",
                    "Enter the email address your listing was registered with",
                    ErrorCode.REQUIRED if not email else ErrorCode.INVALID,
                )
            ],
        )
    settings = settings_of(request)
    address = client_address(request)

    honeypot = bool(form.get("nickname"))

    def work(db: orm.Session) -> tuple[bool, list[int]]:
        if flow.rate_limited(db, settings, "edit-link", address):
            return True, []
        # The honeypot was filled in: nothing is sent, and the sender is not told.
        return False, [] if honeypot else flow.edit_links_for(db, settings, email)

    limited, mail = await write(request, work)
    if limited:
        return render(
            "edit_link.html",
            429,
            v={"email": email},
            submission_key=new_key(),
            errors=[flow.rate_limit_error("email")],
        )
    await send_now(request, mail)
    # The same answer whether or not the address has listings: it reveals nothing.
    return message_page(
        "Check your email",
        [
            f"If {email} has a listing with us, we have emailed it a link to change each one.",
            "No email after a few minutes? Check your spam folder, or try the address you "
            "registered with.",
        ],
    )


def _offers(db: orm.Session, provider_id: int) -> list[dict[str, Any]]:
    sessions = db.scalars(
        select(Session).where(Session.provider_id == provider_id).order_by(Session.title)
    ).all()
    offers = []
    for s in sessions:
        rules = db.scalars(select(Schedule).where(Schedule.session_id == s.id)).all()
        when = "; ".join(sched.describe(sched.rule_from(r)) for r in rules) or "Ask us"
        offers.append({"id": s.id, "title": s.title, "when": when, "status": s.status.value})
    return offers


def _target(request: Request, db: orm.Session) -> tuple[Any, str | None]:
    """(the registration or provider an edit link opens, or None; the problem if any)."""
    settings = settings_of(request)
    try:
        target = links.read_edit_token(settings, request.path_params["token"])
    except links.LinkProblem as exc:
        return None, str(exc)
    if target.kind == "r":
        registration = db.get(Registration, target.id)
        if registration is None:
            return None, "This listing no longer exists."
        if not target.opens(registration.email, registration.edit_link_version):
            return (
                None,
                "This link was sent to an older email address of the listing: "
                "ask for a new one below.",
            )
        if registration.kind is RegistrationKind.ACCESS:
            # Access granted by the lead provider: the link opens the listing itself.
            return joining.opens_listing(db, registration)
        return registration, None
    provider = db.get(Provider, target.id)
    if provider is None or provider.status is ListingStatus.WITHDRAWN:
        return None, "This listing is no longer in the directory."
    email = flow.listing_email(db, provider)
    if not target.opens(email, provider.edit_link_version):
        return (
            None,
            "This link was sent to an older email address of the listing: ask for a new one below.",
        )
    return provider, None


def _bad_link(problem: str) -> Response:
    return message_page("This link does not work", [problem], status=400, resend=True)


async def listing_page(request: Request) -> Response:
    settings = settings_of(request)

    def load(db: orm.Session) -> dict[str, Any]:
        target, problem = _target(request, db)
        if problem:
            return {"problem": problem}
        if isinstance(target, Registration):
            if target.status is RegistrationStatus.APPROVED and target.provider_id:
                provider = db.get(Provider, target.provider_id)
                email = flow.listing_email(db, provider) if provider else None
                if provider and email:
                    return {
                        "redirect": links.edit_url(
                            settings, "p", provider.id, email, provider.edit_link_version
                        )
                    }
            return {"registration": target}
        return {
            "provider": target,
            "offers": _offers(db, target.id),
            "provenance": _provenance_of(db, target),
            "pending": _pending_update(db, target.id),
        }

    found = await read(request, load)
    if "problem" in found:
        return _bad_link(found["problem"])
    if "redirect" in found:
        return RedirectResponse(
            found["redirect"].removeprefix(settings.public_url.rstrip("/")), 303
        )
    if "registration" in found:
        return await _revise_form(request, found["registration"])
    base = f"/listing/{request.path_params['token']}"
    notice = request.query_params.get("saved")
    return render(
        "listing.html",
        base=base,
        notice=[_SAVED[notice]] if notice in _SAVED else None,
        **{k: found[k] for k in ("provider", "offers", "provenance", "pending")},
    )


_SAVED = {
    "sent": "Thank you: your changes are with your lead provider to check. "
    "The listing keeps its old details until then.",
}


def _provenance_of(db: orm.Session, provider: Provider) -> str:
    checker = db.get(Provider, provider.verified_by_id) if provider.verified_by_id else None
    return provenance(
        provider.listed_by,
        provider.verification,
        provider.verified_at,
        checker.name if checker else None,
    )


def _pending_update(db: orm.Session, provider_id: int) -> str | None:
    pending = db.scalars(
        select(Registration)
        .where(Registration.provider_id == provider_id, Registration.status.in_(flow.OPEN))
        .order_by(Registration.id.desc())
    ).first()
    return f"{pending.updated_at:%-d %B %Y}" if pending else None


async def _revise_form(
    request: Request,
    registration: Registration,
    *,
    v: Raw | None = None,
    errors: list[FieldError] | None = None,
    status: int = 200,
    notice: list[str] | None = None,
) -> Response:
    if registration.status is RegistrationStatus.REJECTED:
        return message_page(
            "This listing was not accepted",
            [
                f"The lead provider's reason: {registration.decision_note}",
                "You can register again.",
            ],
            links=[("Register again", "/register")],
        )
    lines = notice or []
    if not lines and registration.status is RegistrationStatus.CHANGES_REQUESTED:
        lines = [f"Your lead provider asks for a change: {registration.decision_note}"]
    elif not lines and registration.status is RegistrationStatus.AWAITING_CONFIRMATION:
        lines = ["Saving this form also confirms your email address."]
    return await _form(
        request,
        heading="Change your listing",
        action=f"/listing/{request.path_params['token']}",
        mode="revise",
        v=v if v is not None else dict(registration.answers),
        submission_key=registration.submission_key,
        errors=errors,
        status=status,
        notice=lines,
        submit_label="Save changes",
    )


@with_form
async def listing_submit(request: Request, form: Form) -> Response:
    """Saving the form of a registration not yet approved."""
    raw = clean(form)
    settings = settings_of(request)

    lead = ["the local lead provider"]

    def work(db: orm.Session) -> tuple[str | None, flow.Outcome | None]:
        target, problem = _target(request, db)
        if problem:
            return problem, None
        if not isinstance(target, Registration):
            return "Choose an activity to change from your listing's page.", None
        outcome = flow.revise(db, settings, target, raw)
        lead[0] = flow.lead_name(db, target.locality_id)
        return None, outcome

    try:
        problem, outcome = await write(request, work)
    except Exception:  # noqa: BLE001
        log.exception("registration changes could not be saved")
        return await _form(
            request,
            heading="Change your listing",
            action=request.url.path,
            mode="revise",
            v=raw,
            submission_key=str(form.get("submission_key", "")),
            submit_label="Save changes",
            status=500,
            notice=SERVER_ERROR,
            notice_warning=True,
        )
    if problem or outcome is None:
        return _bad_link(problem or "This link does not work.")
    if outcome.errors:
        assert outcome.registration is not None
        return await _revise_form(
            request, outcome.registration, v=raw, errors=outcome.errors, status=400
        )
    await send_now(request, outcome.mail)
    return message_page(
        "Your changes are saved",
        [
            f"{_capital(lead[0])} will check the listing, usually within "
            f"{settings.review_days} days, and we will email you when it is in the directory."
        ],
        panel=True,
        panel_text=outcome.registration.organisation if outcome.registration else None,
    )


def _language_as_typed(code: str) -> str:
    """A language as people write it in the form ("Bengali", not "bn"), when the form reads
    that name back."""
    name = language_name(code)
    return name if name.lower() in LANGUAGES else code


def raw_from_listing(
    db: orm.Session, provider: Provider, session: Session | None
) -> tuple[Raw, bool, str | None]:
    """The form's answers for a listed session (or a new one): (raw, the current times need
    'keep', their description)."""
    email = flow.listing_email(db, provider) or ""
    raw: Raw = {
        "organisation": provider.name,
        "email": email,
        "show_email": "yes" if provider.email else "",
        "phone": provider.phone or "",
        "website": provider.website or "",
        "cost": "FREE",
        "domains": [],
        "days": [],
        "month_weeks": [],
        "accessibility": [],
    }
    if session is None:
        return raw, False, None
    raw.update(
        {
            "title": session.title,
            "description": session.description,
            "who_for": session.who_for_notes or "",
            "how_to_join": session.how_to_join.value,
            "cost": "FREE" if session.is_free else "PAID",
            "cost_amount": f"{session.cost_amount:.2f}" if session.cost_amount is not None else "",
            "concessions": session.cost_concessions or "",
            "domains": [
                d.value
                for d in db.scalars(
                    select(SessionDomain.domain).where(SessionDomain.session_id == session.id)
                )
            ],
            "languages": ", ".join(
                _language_as_typed(code)
                for code in db.scalars(
                    select(SessionLanguage.language).where(SessionLanguage.session_id == session.id)
                )
            ),
            "where": {
                Delivery.AT_VENUE: "VENUE",
                Delivery.ONLINE: "ONLINE",
                Delivery.AT_HOME: "HOME",
                Delivery.VARIOUS_PLACES: "VARIOUS",
            }[session.delivery],
        }
    )
    if session.contact_phone and not raw["phone"]:
        raw["phone"] = session.contact_phone
    if session.venue_id:
        venue = db.get(Venue, session.venue_id)
        if venue:
            raw.update(
                {
                    "venue_name": venue.name,
                    "postcode": venue.postcode or "",
                    "address": venue.address,
                }
            )
            raw["accessibility"] = [
                f.value
                for f in db.scalars(
                    select(VenueFeature.feature).where(VenueFeature.venue_id == venue.id)
                )
            ]
    rules = [
        sched.rule_from(r)
        for r in db.scalars(select(Schedule).where(Schedule.session_id == session.id))
    ]
    keep_text = "; ".join(sched.describe(r) for r in rules) or None
    if not rules:
        raw["when"] = "ASK"
        return raw, False, None
    rule = rules[0]
    simple = (
        len(rules) == 1
        and rule.freq.value in ("WEEKLY", "MONTHLY")
        and rule.interval <= 2
        and rule.ends_on is None
    )
    if simple:
        items = sched.parse_byday(rule.byday)
        days = list(dict.fromkeys(d.value for _n, d in items))
        nths = list(dict.fromkeys(str(n) for n, _d in items if n))
        raw.update(
            {
                "when": "TIMES",
                "days": days,
                "starts": f"{rule.opens_at:%H:%M}",
                "ends": f"{rule.closes_at:%H:%M}" if rule.closes_at else "",
                "how_often": "MONTHLY"
                if nths
                else ("FORTNIGHTLY" if rule.interval == 2 else "WEEKLY"),
                "month_weeks": nths,
                "first_date": f"{rule.starts_on.day} {rule.starts_on:%B %Y}"
                if rule.starts_on and rule.interval == 2
                else "",
            }
        )
        # Monthly rules where different days have different weeks do not fit the form.
        if nths and len(items) != len(days) * len(nths):
            simple = False
    if not simple:
        raw["when"] = "KEEP"
    return raw, True, keep_text


def _offer_target(
    db: orm.Session, request: Request
) -> tuple[Provider | None, Session | None, str | None]:
    target, problem = _target(request, db)
    if problem:
        return None, None, problem
    if not isinstance(target, Provider):
        return None, None, "Use the link to your listing's page."
    offer = request.path_params["offer"]
    if offer == "new":
        return target, None, None
    session = db.get(Session, int(offer)) if offer.isdigit() else None
    if session is None or session.provider_id != target.id:
        return None, None, "That activity is not part of this listing."
    return target, session, None


async def offer_page(request: Request) -> Response:
    def load(db: orm.Session) -> tuple[str | None, Raw, bool, str | None]:
        provider, session, problem = _offer_target(db, request)
        if problem or provider is None:
            return problem or "This link does not work.", {}, False, None
        raw, allow_keep, keep = raw_from_listing(db, provider, session)
        return None, raw, allow_keep, keep

    problem, raw, allow_keep, keep = await read(request, load)
    if problem:
        return _bad_link(problem)
    return await _form(
        request,
        heading="Change your listing"
        if request.path_params["offer"] != "new"
        else "Add an activity",
        action=request.url.path,
        mode="update",
        v=raw,
        submission_key=new_key(),
        allow_keep=allow_keep,
        keep=keep,
        notice=["Your lead provider checks changes before they appear in the directory."],
        submit_label="Send the changes",
    )


@with_form
async def offer_submit(request: Request, form: Form) -> Response:
    raw = clean(form)
    settings = settings_of(request)
    key = str(form.get("submission_key", ""))[:64] or new_key()
    keep_holder: dict[str, Any] = {}

    def work(db: orm.Session) -> tuple[str | None, flow.Outcome | None]:
        provider, session, problem = _offer_target(db, request)
        if problem or provider is None:
            return problem or "This link does not work.", None
        _raw, allow_keep, keep = raw_from_listing(db, provider, session)
        keep_holder.update(allow_keep=allow_keep, keep=keep)
        return None, flow.submit_update(
            db, settings, provider, session.id if session else None, raw, submission_key=key
        )

    try:
        problem, outcome = await write(request, work)
    except Exception:  # noqa: BLE001
        log.exception("listing changes could not be saved")
        return await _form(
            request,
            heading="Change your listing",
            action=request.url.path,
            mode="update",
            v=raw,
            submission_key=key,
            status=500,
            notice=SERVER_ERROR,
            notice_warning=True,
            allow_keep=raw.get("when") == "KEEP",
            keep="as they are now",
        )
    if problem or outcome is None:
        return _bad_link(problem or "This link does not work.")
    if outcome.errors:
        return await _form(
            request,
            heading="Change your listing",
            action=request.url.path,
            mode="update",
            v=raw,
            submission_key=key,
            errors=outcome.errors,
            status=400,
            allow_keep=keep_holder.get("allow_keep", False),
            keep=keep_holder.get("keep"),
            submit_label="Send the changes",
        )
    await send_now(request, outcome.mail)
    base = request.url.path.rsplit("/offer/", 1)[0]
    return RedirectResponse(f"{base}?saved=sent", 303)


async def still_right(request: Request) -> Response:
    """One click from the reminder email (GET), or the button on the listing's page (POST)."""

    def work(db: orm.Session) -> tuple[str | None, str | None]:
        target, problem = _target(request, db)
        if problem:
            return problem, None
        if not isinstance(target, Provider):
            return "This link is for a listing that is not in the directory yet.", None
        flow.still_right(db, target)
        return None, target.name

    problem, name = await write(request, work)
    if problem:
        return _bad_link(problem)
    base = f"/listing/{request.path_params['token']}"
    return message_page(
        "Thank you",
        [
            "We have recorded that your listing is still right, with today's date. "
            + publishing.when_visible(settings_of(request)),
            "If something changes, you can change your listing at any time.",
        ],
        panel=True,
        panel_text=name,
        links=[("Change your listing", base)],
    )


# ---------------------------------------------------------------------------------------------
# Report a problem (the static site links here from every listing)


def _report_context(listing: reporting.Listing) -> dict[str, Any]:
    return {
        "about": listing.about,
        "provider_key": listing.provider.key,
        "session_key": listing.session.key if listing.session else None,
        "kind_options": [(k.value, label, None) for k, label in reporting.KIND_LABELS.items()],
    }


def _unknown_listing() -> Response:
    return message_page(
        "We could not find that listing",
        [
            "The link may be out of date: the listing may have closed or moved. Go back to "
            "the directory and try again from the listing's page."
        ],
        status=404,
    )


async def report_page(request: Request) -> Response:
    provider_key = request.query_params.get("provider", "")[:120]
    session_key = request.query_params.get("session", "")[:120] or None
    listing = await read(request, lambda db: reporting.find_listing(db, provider_key, session_key))
    if listing is None:
        return _unknown_listing()
    return render("report.html", submission_key=new_key(), **_report_context(listing))


@with_form
async def report_submit(request: Request, form: Form) -> Response:
    settings = settings_of(request)
    address = client_address(request)
    v = {k: str(form.get(k, "")) for k in ("kind", "details", "reporter_email")}

    def work(db: orm.Session) -> tuple[reporting.Listing | None, reporting.Reported | None]:
        listing = reporting.find_listing(
            db, str(form.get("provider", ""))[:120], str(form.get("session", ""))[:120] or None
        )
        if listing is None:
            return None, None
        return listing, reporting.report_problem(
            db,
            settings,
            listing,
            kind=v["kind"],
            details=v["details"],
            reporter_email=v["reporter_email"],
            address=address,
            honeypot=str(form.get("nickname", "")),
        )

    try:
        listing, result = await write(request, work)
    except Exception:  # noqa: BLE001
        log.exception("problem report could not be saved")
        listing = await read(
            request,
            lambda db: reporting.find_listing(
                db, str(form.get("provider", "")), str(form.get("session", "")) or None
            ),
        )
        if listing is None:
            return _unknown_listing()
        return render(
            "report.html",
            500,
            v=v,
            submission_key=new_key(),
            errors=[
                FieldError(
                    "kind",
                    "Sorry, something went wrong on our side and the report was not saved. "
                    "Please send it again in a few minutes.",
                    ErrorCode.INVALID,
                )
            ],
            **_report_context(listing),
        )
    if listing is None or result is None:
        return _unknown_listing()
    if result.errors:
        status = 429 if any(e.code is ErrorCode.RATE_LIMITED for e in result.errors) else 400
        return render(
            "report.html",
            status,
            v=v,
            submission_key=new_key(),
            errors=result.errors,
            **_report_context(listing),
        )
    await send_now(request, result.mail)
    return message_page(
        "Thank you for telling us",
        [
            f"We have passed your report about {listing.about} to the organisation and to "
            f"{listing.lead}, who keeps the directory up to date.",
        ],
        panel=True,
        panel_text="Report sent",
    )


def routes() -> list[Route]:
    return [
        Route("/register", register_page, methods=["GET"]),
        Route("/register", register_submit, methods=["POST"]),
        Route("/register/change", register_change, methods=["POST"]),
        Route("/register/update-existing", update_existing, methods=["POST"]),
        Route("/register/join", register_join, methods=["POST"]),
        Route("/register/ask-access", register_ask_access, methods=["POST"]),
        Route("/register/confirm/{token}", confirm_link, methods=["GET"]),
        Route("/listing/edit-link", edit_link_page, methods=["GET"]),
        Route("/listing/edit-link", edit_link_submit, methods=["POST"]),
        Route("/listing/{token}", listing_page, methods=["GET"]),
        Route("/listing/{token}", listing_submit, methods=["POST"]),
        Route("/listing/{token}/still-right", still_right, methods=["GET", "POST"]),
        Route("/listing/{token}/offer/{offer}", offer_page, methods=["GET"]),
        Route("/listing/{token}/offer/{offer}", offer_submit, methods=["POST"]),
        Route("/report-a-problem", report_page, methods=["GET"]),
        Route("/report-a-problem", report_submit, methods=["POST"]),
    ]
