"""What every signed-in staff page shares: the session cookie (HttpOnly, SameSite=Lax, Secure
when the public address is https), reading the session from the database on every request,
and the CSRF check on every form (a token bound to the session, api/staff/signin.py)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.access.models import Role
from api.config import Settings
from api.staff import signin
from api.staff.signin import SignedIn
from api.web.common import Form, FormTooLarge, message_page, read_form, render, too_large, write
from api.web.common import settings_of as settings_of

COOKIE = "petunia_staff"
# Where a signed-in person lands when the page they asked for is not known.
HOME = "/staff"


def set_session_cookie(response: Response, settings: Settings, session_id: str) -> None:
    # No max-age: a browser-session cookie; the server decides when the session ends.
    response.set_cookie(
        COOKIE,
        session_id,
        httponly=True,
        samesite="lax",
        secure=settings.public_url.startswith("https://"),
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.public_url.startswith("https://"),
    )


async def signed_in(request: Request) -> SignedIn | None:
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return None
    settings = settings_of(request)
    return await write(request, lambda db: signin.current(db, settings, session_id))


def csrf_of(request: Request, me: SignedIn) -> str:
    return signin.csrf_for(settings_of(request), me.session_hash)


def safe_next(path: object) -> str:
    """A page to return to after signing in: only a path on this site."""
    text = str(path or "")
    ok = text.startswith("/") and not text.startswith("//") and "\\" not in text
    return text if ok and (text.startswith("/staff") or text.startswith("/moderation")) else HOME


def expired_form() -> Response:
    return message_page(
        "This form has expired",
        ["For your security the form has expired. Go back, reload the page and try again."],
        status=403,
    )


def not_for_you() -> Response:
    return message_page(
        "You cannot open this page",
        ["Your account's role does not include this page."],
        status=403,
        links=[("Your pages", HOME)],
    )


def staff_render(
    request: Request, me: SignedIn, template: str, status: int = 200, **context: Any
) -> Response:
    return render(template, status, me=me, csrf=csrf_of(request, me), **context)


StaffHandler = Callable[[Request, SignedIn, Form | None], Awaitable[Response]]


def staff_page(
    roles: Sequence[Role] | None = None,
) -> Callable[[StaffHandler], Callable[[Request], Awaitable[Response]]]:
    """A page for signed-in staff (with one of ``roles``): anyone else is sent to sign in
    (and brought back here after); a POST is handed its form only with a valid CSRF token."""

    def wrap(handler: StaffHandler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            me = await signed_in(request)
            if me is None or not me.complete:
                if request.method == "GET":
                    request.session["staff_next"] = safe_next(request.url.path)
                return RedirectResponse(pending_step(me), 303)
            assert me.principal is not None
            if roles is not None and me.principal.role not in roles:
                return not_for_you()
            form = None
            if request.method == "POST":
                try:
                    form = await read_form(request)
                except FormTooLarge:
                    return too_large()
                if not signin.csrf_matches(settings_of(request), me.session_hash, form.get("csrf")):
                    return expired_form()
            return await handler(request, me, form)

        return endpoint

    return wrap


def pending_step(me: SignedIn | None) -> str:
    """Where a browser that is not (fully) signed in goes next."""
    if me is None:
        return "/staff/sign-in"
    if me.complete:
        return HOME
    return "/staff/second-factor" if me.enrolled else "/staff/enrol"
