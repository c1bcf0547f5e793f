"""What every HTML page shares: templates (jinja2, autoescape on), reading a form with a
size limit, the caller's address, CSRF tokens for signed-in pages, and running database
work off the event loop."""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from anyio import to_thread
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import orm
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from api.config import Settings
from api.db import Database
from api.mail.queue import deliver_due
from api.registration.answers import FieldError
from api.registration.flow import write_retrying

log = logging.getLogger("petunia.web")
T = TypeVar("T")

HERE = Path(__file__).resolve().parent
# Far above what the form's size limits allow, so an over-long answer still comes back with
# a message at its field; only a flood is refused unread.
MAX_BODY = 256 * 1024

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

SECURITY_HEADERS = {
    # Pages hold what people typed: never cache them; never frame them.
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
}


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    errors: list[FieldError] = context.get("errors") or []
    context.setdefault("errors", errors)
    context.setdefault("errs", {e.field: e.message for e in errors})
    context.setdefault("v", {})
    html = templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def message_page(
    heading: str,
    lines: list[str],
    *,
    status: int = 200,
    links: list[tuple[str, str]] | None = None,
    panel: bool = False,
    panel_text: str | None = None,
    resend: bool = False,
) -> HTMLResponse:
    return render(
        "message.html",
        status,
        heading=heading,
        lines=lines,
        links=links or [],
        panel=panel,
        panel_text=panel_text,
        resend=new_key() if resend else None,
    )


class FormTooLarge(ValueError):
    pass


async def read_form(request: Request) -> ImmutableMultiDict[str, str]:
    """The url-encoded form in the request body, refused past MAX_BODY bytes."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise FormTooLarge()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise FormTooLarge()
    try:
        pairs = parse_qsl(
            body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=300
        )
    except ValueError:
        raise FormTooLarge() from None
    return ImmutableMultiDict(pairs)


Form = ImmutableMultiDict[str, str]


def with_form(
    handler: Callable[[Request, Form], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A POST endpoint that is handed the posted form; one too large to read gets the
    "too long" page (413) and the handler never runs."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            form = await read_form(request)
        except FormTooLarge:
            return too_large()
        return await handler(request, form)

    return endpoint


def too_large() -> HTMLResponse:
    return message_page(
        "What you sent is too long",
        [
            "The form was far longer than any answer can be, so we could not read it. Go back, "
            "shorten the longest answer and send it again."
        ],
        status=413,
    )


def client_address(request: Request) -> str:
    # Behind a proxy in PETUNIA_TRUSTED_PROXIES, ProxyHeadersMiddleware puts the visitor here.
    return request.client.host if request.client else "unknown"


def new_key() -> str:
    return secrets.token_hex(16)


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def db_of(request: Request) -> Database:
    return request.app.state.db


async def read(request: Request, fn: Callable[[orm.Session], T]) -> T:
    return await db_of(request).run_sync(fn)


async def write(request: Request, fn: Callable[[orm.Session], T]) -> T:
    """A short write transaction in a worker thread, redone if SQLite reports a lock."""
    db = db_of(request)
    return await to_thread.run_sync(write_retrying, db, fn)


async def send_now(request: Request, mail: list[int]) -> list[int]:
    """Try at once to send the emails a committed change queued (so they arrive while the
    person waits); returns those not sent yet, which the mail queue retries later."""
    if not mail:
        return []
    report = await to_thread.run_sync(
        lambda: deliver_due(db_of(request), settings_of(request), only=mail, purge=False)
    )
    return report.unsent


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return token


def csrf_ok(request: Request, form: Mapping[str, str]) -> bool:
    expected = request.session.get("csrf")
    return bool(expected) and secrets.compare_digest(str(form.get("csrf", "")), expected)
