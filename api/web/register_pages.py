"""The provider's register (/attendance/{token}, no account: the link is the key) and the
care team's actions on register links (send a new one, stop one). The rules are in
api/referrals/register_links.py."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.access import policy
from api.referrals import register_links
from api.referrals.errors import Rejected
from api.referrals.protection import protector
from api.registration.answers import ErrorCode, FieldError
from api.staff.signin import SignedIn
from api.web.common import (
    Form,
    csrf_ok,
    csrf_token,
    message_page,
    render,
    send_now,
    with_form,
    write,
)
from api.web.staff_session import expired_form, settings_of, staff_page


def _gone() -> Response:
    return message_page(
        "This link does not work",
        ["It may have expired or been stopped. Ask the lead provider who sent it for a new one."],
        status=404,
    )


async def _register(request: Request, errors: list[FieldError] | None = None) -> Response:
    token = request.path_params["token"]
    guard = protector(settings_of(request))
    register = await write(request, lambda db: register_links.open_register(db, guard, token))
    if register is None:
        return _gone()
    flash = request.session.pop("register_flash", None)
    return render(
        "register_link.html",
        400 if errors else 200,
        register=register,
        token=token,
        csrf=csrf_token(request),
        today=dt.date.today().isoformat(),
        errors=errors or [],
        notice=[flash] if flash else None,
    )


async def register_page(request: Request) -> Response:
    return await _register(request)


@with_form
async def mark(request: Request, form: Form) -> Response:
    if not csrf_ok(request, form):
        return expired_form()
    token = request.path_params["token"]
    signpost = str(form.get("signpost", ""))
    attended = form.get("attended")
    try:
        on = dt.date.fromisoformat(str(form.get("on", "")))
    except ValueError:
        on = None
    if not signpost.isdigit() or len(signpost) > 9 or attended not in ("yes", "no") or on is None:
        return await _register(
            request,
            [
                FieldError(
                    "on", "Give the date, then choose came or did not come", ErrorCode.REQUIRED
                )
            ],
        )
    try:
        done = await write(
            request,
            lambda db: register_links.mark(db, token, int(signpost), on, attended == "yes"),
        )
    except Rejected as exc:
        return await _register(
            request, [FieldError("on", exc.problems[0].message.capitalize(), ErrorCode.INVALID)]
        )
    if not done:
        return _gone()
    request.session["register_flash"] = "Saved. Thank you."
    return RedirectResponse(f"/attendance/{token}", 303)


async def send_links(request: Request, principal, session_ids: list[int], *, renew: bool) -> int:  # type: ignore[no-untyped-def]
    """Issue and email register links (api/referrals/register_links.py); how many."""
    settings = settings_of(request)
    mail = await write(
        request,
        lambda db: register_links.send(
            db, settings, principal, session_ids, renew=renew, days=settings.register_link_days
        ),
    )
    await send_now(request, mail)  # what cannot go now, the queue retries
    return len(mail)


@staff_page(policy.CHANGE_REFERRAL)
async def renew(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None
    referral_id = int(request.path_params["id"])
    session = str(form.get("session", ""))
    if not session.isdigit() or len(session) > 9:
        return RedirectResponse(f"/staff/referrals/{referral_id}", 303)
    try:
        sent = await send_links(request, me.principal, [int(session)], renew=True)
    except Rejected:
        sent = 0
    request.session["staff_flash"] = (
        "A new register link is sent to the provider; the old one no longer works."
        if sent
        else "No link was sent: the session has no contact email address."
    )
    return RedirectResponse(f"/staff/referrals/{referral_id}", 303)


@staff_page(policy.CHANGE_REFERRAL)
async def stop(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None
    referral_id = int(request.path_params["id"])
    link = str(form.get("link", ""))
    try:
        if link.isdigit() and len(link) < 10:
            await write(request, lambda db: register_links.revoke(db, me.principal, int(link)))  # type: ignore[arg-type]
    except Rejected:
        pass
    request.session["staff_flash"] = "The register link no longer works."
    return RedirectResponse(f"/staff/referrals/{referral_id}", 303)


def routes() -> list[Route]:
    return [
        Route("/attendance/{token}", register_page, methods=["GET"]),
        Route("/attendance/{token}", mark, methods=["POST"]),
        Route("/staff/referrals/{id:int}/register-link", renew, methods=["POST"]),
        Route("/staff/referrals/{id:int}/register-link/stop", stop, methods=["POST"]),
    ]
