"""Staff sign-in pages (/staff/sign-in ...): email address, the emailed link, the authenticator
app's code (or a recovery code), sign-out, and the signed-in home page. The rules are in
api/staff/signin.py; these pages only ask and show."""

from __future__ import annotations

from sqlalchemy import orm
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.access import policy
from api.access.models import Role
from api.directory.models import GpPractice, LinkWorker, Provider
from api.registration import flow
from api.registration.answers import ErrorCode, FieldError
from api.registration.links import url
from api.registration.mails import Message, queue
from api.staff import signin
from api.staff.signin import Failure, SignedIn
from api.web.common import (
    Form,
    client_address,
    csrf_ok,
    csrf_token,
    message_page,
    read,
    render,
    send_now,
    with_form,
    write,
)
from api.web.staff_session import (
    COOKIE,
    HOME,
    clear_session_cookie,
    csrf_of,
    expired_form,
    pending_step,
    safe_next,
    set_session_cookie,
    settings_of,
    signed_in,
    staff_page,
    staff_render,
)

ROLE_LABELS = {
    Role.GP_PRACTICE: "GP practice staff",
    Role.LEAD_PROVIDER: "Lead provider",
    Role.PROVIDER: "Provider",
    Role.COMMISSIONER: "Commissioner",
    Role.ADMIN: "Administrator",
}

LINK_PROBLEMS = {
    Failure.BAD_LINK: "This link is not complete or has been changed: copy the whole link "
    "from the email, or ask for a new one.",
    Failure.USED_LINK: "This link has already been used: each link signs in once. Ask for a "
    "new one.",
    Failure.EXPIRED_LINK: "This link has expired. Ask for a new one.",
    Failure.INACTIVE: "This account has been deactivated. Ask your coordinator or administrator.",
    Failure.DEMO_IN_PRODUCTION: "Demo accounts cannot sign in to a live service.",
}


def role_label(role: Role, coordinator: bool = False, link_worker: bool = False) -> str:
    label = ROLE_LABELS[role]
    if role is Role.LEAD_PROVIDER:
        label += " coordinator" if coordinator else " link worker" if link_worker else ""
    return label


async def sign_in_page(request: Request) -> Response:
    me = await signed_in(request)
    if me is not None and me.complete:
        return RedirectResponse(HOME, 303)
    return render(
        "staff/sign_in.html",
        csrf=csrf_token(request),
        minutes=settings_of(request).staff_link_minutes,
    )


@with_form
async def send_link(request: Request, form: Form) -> Response:
    settings = settings_of(request)
    if not csrf_ok(request, form):
        return expired_form()
    email = str(form.get("email", "")).strip()

    def refused(status: int, message: str, code: ErrorCode) -> Response:
        """The form again, with what was typed and the one error."""
        return render(
            "staff/sign_in.html",
            status,
            csrf=csrf_token(request),
            minutes=settings.staff_link_minutes,
            v={"email": email},
            errors=[FieldError("email", message, code)],
        )

    if "@" not in email or len(email) > 320:
        return refused(
            400, "Enter your work email address, like name@example.nhs.uk", ErrorCode.INVALID
        )

    address = client_address(request)

    def work(db: orm.Session) -> tuple[bool, signin.LinkSent | None, list[int]]:
        # Per connection, beside the per-account limit in request_link: one address asking
        # for links to many accounts is refused before any account is looked up.
        if flow.rate_limited(
            db, settings, "staff-sign-in", address, limit=settings.staff_sign_in_rate_limit
        ):
            return True, None, []
        sent = signin.request_link(db, settings, email)
        if sent is None or (sent.demo and not settings.production):
            return False, sent, []
        link = url(settings, f"/staff/sign-in/{sent.token}")
        # Queued with the link it carries: sent once this commits (api/mail/queue.py).
        return (
            False,
            sent,
            queue(
                db,
                [
                    Message(
                        sent.email,
                        "Your link to sign in to Petunia",
                        [
                            f"Hello {sent.name},",
                            f"Use the link below to sign in to Petunia. It works once, for "
                            f"{settings.staff_link_minutes} minutes.",
                            "If you did not ask to sign in, ignore this email: nobody can "
                            "sign in without it.",
                        ],
                        [("Sign in to Petunia", link)],
                    )
                ],
            ),
        )

    limited, sent, mail = await write(request, work)
    if limited:
        return refused(
            429,
            "Too many sign-in links have been asked for from your connection in the last "
            "hour. Try again later, or ask your coordinator for help.",
            ErrorCode.RATE_LIMITED,
        )
    await send_now(request, mail)  # what cannot go now, the queue retries
    demo_link = None
    if sent is not None and sent.demo and not settings.production:
        demo_link = f"/staff/sign-in/{sent.token}"
    return render(
        "staff/check_email.html",
        email=email,
        minutes=settings.staff_link_minutes,
        demo_link=demo_link,
    )


async def link_page(request: Request) -> Response:
    # A GET never spends the link: mail scanners open links; only the button does.
    return render(
        "staff/continue.html", csrf=csrf_token(request), token=request.path_params["token"]
    )


@with_form
async def use_link(request: Request, form: Form) -> Response:
    settings = settings_of(request)
    if not csrf_ok(request, form):
        return expired_form()
    token = str(form.get("token", ""))
    outcome = await write(request, lambda db: signin.use_link(db, settings, token))
    if isinstance(outcome, Failure):
        return message_page(
            "You could not be signed in",
            [LINK_PROBLEMS.get(outcome, LINK_PROBLEMS[Failure.BAD_LINK])],
            status=400,
            links=[("Ask for a new link", "/staff/sign-in")],
        )
    me = await write(request, lambda db: signin.current(db, settings, outcome))
    target = pending_step(me)
    if me is not None and me.complete:
        target = safe_next(request.session.pop("staff_next", HOME))
    response = RedirectResponse(target, 303)
    set_session_cookie(response, settings, outcome)
    return response


async def _pending(request: Request) -> SignedIn | Response:
    me = await signed_in(request)
    if me is None or me.complete:
        return RedirectResponse(pending_step(me), 303)
    return me


def _code_error(outcome: Failure) -> Response | list[FieldError]:
    if outcome in (Failure.TOO_MANY_CODES, Failure.NO_SESSION):
        return message_page(
            "You could not be signed in",
            ["Too many wrong codes, or the sign-in took too long. Ask for a new link."],
            status=400,
            links=[("Ask for a new link", "/staff/sign-in")],
        )
    return [
        FieldError(
            "code",
            "The code is not right: enter the 6 digits the app shows now",
            ErrorCode.INVALID,
        )
    ]


async def enrol_page(request: Request, errors: list[FieldError] | None = None) -> Response:
    me = await _pending(request)
    if isinstance(me, Response):
        return me
    settings = settings_of(request)
    enrolment = await write(request, lambda db: signin.enrolment(db, settings, me.session_hash))
    if enrolment is None:
        return RedirectResponse("/staff/second-factor", 303)
    groups = " ".join(enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4))
    return render(
        "staff/enrol.html",
        400 if errors else 200,
        me=me,
        csrf=csrf_of(request, me),
        secret_groups=groups,
        uri=enrolment.uri,
        errors=errors or [],
    )


@with_form
async def enrol(request: Request, form: Form) -> Response:
    me = await _pending(request)
    if isinstance(me, Response):
        return me
    settings = settings_of(request)
    if not signin.csrf_matches(settings, me.session_hash, form.get("csrf")):
        return expired_form()
    code = str(form.get("code", ""))
    outcome = await write(
        request, lambda db: signin.confirm_enrolment(db, settings, me.session_hash, code)
    )
    if isinstance(outcome, Failure):
        problem = _code_error(outcome)
        return problem if isinstance(problem, Response) else await enrol_page(request, problem)
    done = await signed_in(request)
    assert done is not None
    return render(
        "staff/recovery_codes.html",
        me=done,
        csrf=csrf_of(request, done),
        codes=outcome,
        next=safe_next(request.session.pop("staff_next", HOME)),
    )


async def second_factor_page(request: Request, errors: list[FieldError] | None = None) -> Response:
    me = await _pending(request)
    if isinstance(me, Response):
        return me
    if not me.enrolled:
        return RedirectResponse("/staff/enrol", 303)
    settings = settings_of(request)
    demo = await read(request, lambda db: signin.demo_code(db, settings, me.account_id))
    return render(
        "staff/second_factor.html",
        400 if errors else 200,
        me=me,
        csrf=csrf_of(request, me),
        demo_code=demo,
        errors=errors or [],
    )


@with_form
async def second_factor(request: Request, form: Form) -> Response:
    me = await _pending(request)
    if isinstance(me, Response):
        return me
    settings = settings_of(request)
    if not signin.csrf_matches(settings, me.session_hash, form.get("csrf")):
        return expired_form()
    code = str(form.get("code", ""))
    outcome = await write(
        request, lambda db: signin.second_factor(db, settings, me.session_hash, code)
    )
    if isinstance(outcome, Failure):
        problem = _code_error(outcome)
        if isinstance(problem, Response):
            return problem
        return await second_factor_page(request, problem)
    if outcome:  # a recovery code was spent
        left = await read(request, lambda db: signin.recovery_codes_left(db, me.account_id))
        request.session["staff_flash"] = (
            f"You signed in with a recovery code: {left} left. If you have lost your phone, "
            "ask your coordinator or administrator to reset your authenticator app."
        )
    return RedirectResponse(safe_next(request.session.pop("staff_next", HOME)), 303)


@with_form
async def sign_out(request: Request, form: Form) -> Response:
    settings = settings_of(request)
    me = await signed_in(request)
    if me is not None and signin.csrf_matches(settings, me.session_hash, form.get("csrf")):
        session_id = request.cookies.get(COOKIE)
        await write(request, lambda db: signin.end_session(db, session_id))
    elif me is not None:
        return expired_form()
    response = message_page(
        "You are signed out",
        ["Your session has ended on this device."],
        links=[("Sign in again", "/staff/sign-in")],
    )
    clear_session_cookie(response, settings)
    return response


def pages_for(me: SignedIn) -> list[tuple[str, str]]:
    """The pages a role has (each page checks again when opened)."""
    principal = me.principal
    assert principal is not None
    pages = []
    if principal.role in policy.CREATE_REFERRAL:
        pages.append(("Refer someone", "/staff/refer"))
    if principal.role in policy.READ_REFERRALS and principal.role not in policy.CHANGE_REFERRAL:
        pages.append(("Referrals", "/staff/referrals"))
    if principal.role in policy.CHANGE_REFERRAL:
        label = "Caseloads" if policy.may_reassign(principal) else "My caseload"
        pages.append((label, "/staff/caseload"))
    if principal.role in policy.READ_REPORTS:
        pages.append(("Commissioning report", "/staff/report"))
    if principal.role in policy.MODERATORS:
        pages.append(("Listings to check (moderation)", "/moderation"))
    if policy.may_manage_staff(principal):
        pages.append(("Staff accounts", "/staff/accounts"))
    return pages


@staff_page()
async def home(request: Request, me: SignedIn, _form: Form | None) -> Response:
    principal = me.principal
    assert principal is not None

    def bound(db) -> str | None:  # type: ignore[no-untyped-def]
        parts = []
        if principal.practice_id:
            parts.append(db.get(GpPractice, principal.practice_id).name)
        if principal.provider_id:
            parts.append(db.get(Provider, principal.provider_id).name)
        if principal.link_worker_id:
            worker = db.get(LinkWorker, principal.link_worker_id)
            if worker:
                parts.append(f"link worker {worker.name}")
        return ", ".join(parts) or None

    flash = request.session.pop("staff_flash", None)
    return staff_render(
        request,
        me,
        "staff/home.html",
        role_label=role_label(
            principal.role, principal.coordinator, principal.link_worker_id is not None
        ),
        bound=await read(request, bound),
        pages=pages_for(me),
        notice=[flash] if flash else None,
    )


def routes() -> list[Route]:
    return [
        Route("/staff", home, methods=["GET"]),
        Route("/staff/sign-in", sign_in_page, methods=["GET"]),
        Route("/staff/sign-in", send_link, methods=["POST"]),
        Route("/staff/sign-in/continue", use_link, methods=["POST"]),
        Route("/staff/sign-in/{token}", link_page, methods=["GET"]),
        Route("/staff/enrol", enrol_page, methods=["GET"]),
        Route("/staff/enrol", enrol, methods=["POST"]),
        Route("/staff/second-factor", second_factor_page, methods=["GET"]),
        Route("/staff/second-factor", second_factor, methods=["POST"]),
        Route("/staff/sign-out", sign_out, methods=["POST"]),
    ]
