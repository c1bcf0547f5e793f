"""Managing staff accounts (/staff/accounts): an admin manages all, a lead provider's
coordinator its own lead provider's. Which accounts and which roles is the policy's call
(api/access/policy.py); the work is api/staff/accounts.py."""

from __future__ import annotations

from sqlalchemy import orm, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.access import policy
from api.access.models import Role
from api.directory.models import GpPractice, LinkWorker, Provider
from api.registration.answers import ErrorCode, FieldError
from api.registration.links import url
from api.registration.mails import Message, queue
from api.staff import accounts
from api.staff.models import StaffAccount
from api.staff.signin import SignedIn
from api.web.common import Form, message_page, read, send_now, write
from api.web.staff_auth import role_label
from api.web.staff_session import settings_of, staff_page, staff_render

MANAGERS = policy.MANAGE_STAFF


def _when(value: object) -> str:
    return f"{value:%-d %b %Y %H:%M}" if value else "Never"


def _state(account: StaffAccount) -> str:
    if account.deactivated_at:
        return "Deactivated"
    if account.last_sign_in_at is None:
        return "Invited"
    return "Active"


@staff_page(MANAGERS)
async def list_page(request: Request, me: SignedIn, _form: Form | None) -> Response:
    principal = me.principal
    if not policy.may_manage_staff(principal):  # type: ignore[arg-type]
        return message_page("You cannot open this page", ["Only coordinators."], status=403)

    def load(db: orm.Session) -> list[dict]:
        return [
            {
                "id": a.id,
                "name": a.name,
                "email": a.email,
                "role_label": role_label(a.role, a.coordinator, a.link_worker_id is not None),
                "last_sign_in": _when(a.last_sign_in_at),
                "state": _state(a),
            }
            for a in accounts.manageable(db, principal)
        ]

    flash = request.session.pop("staff_flash", None)
    return staff_render(
        request,
        me,
        "staff/accounts.html",
        accounts=await read(request, load),
        notice=[flash] if flash else None,
    )


def _role_options(me: SignedIn) -> list[tuple[str, str, None]]:
    assert me.principal is not None
    return [(r.value, role_label(r), None) for r in policy.invitable_roles(me.principal)]


def _workers(db: orm.Session, me: SignedIn) -> list[tuple[str, str, None]]:
    principal = me.principal
    assert principal is not None
    if principal.role is not Role.LEAD_PROVIDER:
        return []
    rows = db.scalars(
        select(LinkWorker)
        .where(LinkWorker.lead_provider_id == principal.provider_id)
        .order_by(LinkWorker.name)
    )
    return [("", "No", None)] + [(w.key, f"Yes: {w.name}", None) for w in rows]


async def _invite_form(
    request: Request, me: SignedIn, v: dict, errors: list[FieldError] | None = None
) -> Response:
    workers = await read(request, lambda db: _workers(db, me))
    return staff_render(
        request,
        me,
        "staff/invite.html",
        400 if errors else 200,
        roles=_role_options(me),
        workers=workers,
        admin=me.principal is not None and me.principal.role is Role.ADMIN,
        v=v,
        errors=errors or [],
    )


@staff_page(MANAGERS)
async def invite_page(request: Request, me: SignedIn, _form: Form | None) -> Response:
    if not policy.may_manage_staff(me.principal):  # type: ignore[arg-type]
        return message_page("You cannot open this page", ["Only coordinators."], status=403)
    return await _invite_form(request, me, {"role": Role.LEAD_PROVIDER.value})


@staff_page(MANAGERS)
async def invite(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None and me.principal is not None
    principal = me.principal
    settings = settings_of(request)
    v = {k: str(form.get(k, "")) for k in ("name", "email", "role", "practice", "provider")}
    v["link_worker"] = str(form.get("link_worker", ""))
    v["coordinator"] = "yes" if form.get("coordinator") == "yes" else ""
    try:
        role = Role(v["role"])
    except ValueError:
        return await _invite_form(
            request, me, v, [FieldError("role", "Choose a role", ErrorCode.REQUIRED)]
        )
    provider = v["provider"] or None
    if principal.role is Role.LEAD_PROVIDER:
        provider = str(principal.provider_id)  # a coordinator invites into its own

    invitation = accounts.Invitation(
        name=v["name"],
        email=v["email"],
        role=role,
        practice=v["practice"] or None,
        provider=provider,
        link_worker=v["link_worker"] or None,
        coordinator=bool(v["coordinator"]),
    )

    def work(db: orm.Session) -> tuple[int, str, list[int]] | accounts.StaffError:
        try:
            account = accounts.invite(db, principal, invitation)
        except accounts.StaffError as exc:
            return exc
        # The invitation is queued with the account: sent once this commits.
        mail = queue(db, [invitation_email(settings, account.name, account.email, principal.name)])
        return account.id, account.name, mail

    outcome = await write(request, work)
    if isinstance(outcome, accounts.StaffError):
        field = outcome.field if outcome.field in v else "role"
        return await _invite_form(
            request, me, v, [FieldError(field, outcome.message, ErrorCode.INVALID)]
        )
    account_id, name, mail = outcome
    delayed = await send_now(request, mail)
    request.session["staff_flash"] = f"{name} is invited." + (
        " The invitation email is delayed: Petunia keeps trying. They can also sign in at "
        "/staff/sign-in."
        if delayed
        else " They have an email with how to sign in."
    )
    return RedirectResponse(f"/staff/accounts/{account_id}", 303)


def invitation_email(settings, name: str, email: str, by: str) -> Message:  # type: ignore[no-untyped-def]
    return Message(
        email,
        "You have an account on Petunia",
        [
            f"Hello {name},",
            f"{by} has given you an account on Petunia, the service for local social "
            "prescribing. There is no password: sign in with your email address and we email "
            "you a link each time. The first time, you also set up an authenticator app.",
        ],
        [("Sign in to Petunia", url(settings, "/staff/sign-in"))],
    )


def _detail(db: orm.Session, me: SignedIn, account_id: int) -> dict | None:
    account = accounts.find_manageable(db, me.principal, account_id)
    if account is None:
        return None
    rows = [
        ("Email", account.email),
        ("Role", role_label(account.role, account.coordinator, account.link_worker_id is not None)),
    ]
    if account.practice_id:
        rows.append(("Practice", db.get(GpPractice, account.practice_id).name))  # type: ignore[union-attr]
    if account.provider_id:
        rows.append(("Provider", db.get(Provider, account.provider_id).name))  # type: ignore[union-attr]
    if account.link_worker_id:
        worker = db.get(LinkWorker, account.link_worker_id)
        rows.append(("Link worker", worker.name if worker else ""))
    rows += [
        ("Authenticator app", "Set up" if account.totp_confirmed_at else "Not set up yet"),
        ("Invited by", account.invited_by),
        ("Last signed in", _when(account.last_sign_in_at)),
        ("State", _state(account)),
    ]
    return {
        "a": account,
        "rows": rows,
        "active": account.deactivated_at is None,
        "self_account": account.id == me.account_id,
    }


def _not_found() -> Response:
    return message_page(
        "Not found", ["There is no such account among those you manage."], status=404
    )


@staff_page(MANAGERS)
async def account_page(request: Request, me: SignedIn, _form: Form | None) -> Response:
    account_id = int(request.path_params["id"])
    detail = await read(request, lambda db: _detail(db, me, account_id))
    if detail is None:
        return _not_found()
    flash = request.session.pop("staff_flash", None)
    return staff_render(
        request, me, "staff/account.html", notice=[flash] if flash else None, **detail
    )


@staff_page(MANAGERS)
async def deactivate_page(request: Request, me: SignedIn, _form: Form | None) -> Response:
    account_id = int(request.path_params["id"])
    detail = await read(request, lambda db: _detail(db, me, account_id))
    if detail is None or not detail["active"] or detail["self_account"]:
        return _not_found()
    return staff_render(request, me, "staff/deactivate.html", a=detail["a"])


def _action(name: str, done: str):  # type: ignore[no-untyped-def]
    fn = {
        "deactivate": accounts.deactivate,
        "sign-out": accounts.end_sessions,
        "reset-second-factor": accounts.reset_second_factor,
    }[name]

    @staff_page(MANAGERS)
    async def endpoint(request: Request, me: SignedIn, _form: Form | None) -> Response:
        account_id = int(request.path_params["id"])

        def work(db: orm.Session) -> str | None:
            try:
                fn(db, me.principal, account_id)
            except accounts.StaffError as exc:
                return exc.message
            return None

        problem = await write(request, work)
        request.session["staff_flash"] = problem or done
        if problem and problem.startswith("No account"):
            return _not_found()
        return RedirectResponse(f"/staff/accounts/{account_id}", 303)

    return endpoint


def routes() -> list[Route]:
    return [
        Route("/staff/accounts", list_page, methods=["GET"]),
        Route("/staff/accounts/new", invite_page, methods=["GET"]),
        Route("/staff/accounts/new", invite, methods=["POST"]),
        Route("/staff/accounts/{id:int}", account_page, methods=["GET"]),
        Route("/staff/accounts/{id:int}/deactivate", deactivate_page, methods=["GET"]),
        Route(
            "/staff/accounts/{id:int}/deactivate",
            _action("deactivate", "The account is deactivated and signed out."),
            methods=["POST"],
        ),
        Route(
            "/staff/accounts/{id:int}/sign-out",
            _action("sign-out", "They are signed out everywhere."),
            methods=["POST"],
        ),
        Route(
            "/staff/accounts/{id:int}/reset-second-factor",
            _action(
                "reset-second-factor",
                "Their authenticator app is reset: they set it up again at their next sign-in.",
            ),
            methods=["POST"],
        ),
    ]
