"""The provider's "we have stopped" and "on a break until ..." pages, from the edit link
(/listing/{token}/stop/{offer}; offer "all" is the whole organisation). Thin: the decisions
are api/directory/lifecycle.py's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import orm
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.directory import lifecycle, publishing
from api.directory.models import Provider, Session
from api.registration.answers import ErrorCode, FieldError, today
from api.web.common import Form, message_page, read, render, settings_of, with_form, write
from api.web.registration import _bad_link, _target


def _what(db: orm.Session, request: Request) -> tuple[Provider | None, Session | None, str]:
    """(the provider, the activity or None for all, the problem if any)."""
    target, problem = _target(request, db)
    if problem:
        return None, None, problem
    if not isinstance(target, Provider):
        return None, None, "Use the link to your listing's page."
    offer = request.path_params["offer"]
    if offer == "all":
        return target, None, ""
    session = db.get(Session, int(offer)) if offer.isdigit() else None
    if session is None or session.provider_id != target.id:
        return None, None, "That activity is not part of this listing."
    return target, session, ""


def _page(
    request: Request,
    provider: Provider,
    session: Session | None,
    *,
    v: dict[str, Any] | None = None,
    errors: list[FieldError] | None = None,
) -> Response:
    return render(
        "listing/stop.html",
        400 if errors else 200,
        name=session.title if session else provider.name,
        whole=session is None,
        action=request.url.path,
        back=request.url.path.rsplit("/stop/", 1)[0],
        v=v or {},
        errors=errors or [],
    )


async def stop_page(request: Request) -> Response:
    provider, session, problem = await read(request, lambda db: _what(db, request))
    if problem or provider is None:
        return _bad_link(problem or "This link does not work.")
    return _page(request, provider, session)


@with_form
async def stop_submit(request: Request, form: Form) -> Response:
    settings = settings_of(request)
    what = str(form.get("what", ""))
    v = {k: str(form.get(k, "")) for k in ("what", "until-day", "until-month", "until-year")}
    until = lifecycle.parse_day(v["until-day"], v["until-month"], v["until-year"])

    def work(db: orm.Session) -> tuple[str, lifecycle.Changed | None, Any]:
        provider, session, problem = _what(db, request)
        if problem or provider is None:
            return problem or "This link does not work.", None, None
        session_id = session.id if session else None
        if what == "stopped":
            changed = lifecycle.stop(db, provider, session_id)
        elif what == "break":
            changed = lifecycle.take_break(db, provider, session_id, until, today=today())
        else:
            changed = lifecycle.Changed(
                errors=[FieldError("what", "Choose what has happened", ErrorCode.REQUIRED)]
            )
        if not changed.ok:
            return "", changed, (provider, session)
        return "", changed, None

    problem, changed, again = await write(request, work)
    if problem or changed is None:
        return _bad_link(problem or "This link does not work.")
    if not changed.ok:
        return _page(request, *again, v=v, errors=changed.errors)
    back = request.url.path.rsplit("/stop/", 1)[0]
    if what == "stopped":
        lines = [
            "Thank you for telling us: we have taken it off the directory.",
            publishing.when_gone(settings),
        ]
        heading = "Taken off the directory"
    else:
        lines = [
            f"Its page says it is on a break until {until:%-d %B %Y}, and its next dates "
            "start after the break.",
            publishing.when_visible(settings),
        ]
        heading = "Break recorded"
    return message_page(
        heading, lines, panel=True, panel_text=changed.about, links=[("Back to your listing", back)]
    )


def routes() -> list[Route]:
    return [
        Route("/listing/{token}/stop/{offer}", stop_page, methods=["GET"]),
        Route("/listing/{token}/stop/{offer}", stop_submit, methods=["POST"]),
    ]
