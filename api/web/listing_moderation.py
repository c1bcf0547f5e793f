"""A lead provider withdraws, suspends or reinstates a listing (/moderation/listings/{id}):
the whole organisation or one activity, with a reason. Thin: the decisions are
api/directory/lifecycle.py's, who may is api/access/policy.py's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import orm, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.directory import lifecycle, publishing
from api.directory.models import Session
from api.web.common import Form, message_page, read, render, settings_of, with_form, write
from api.web.moderation import _csrf, _csrf_ok, _refused, _to_sign_in, moderator

STATUS_LABELS = {
    "PUBLISHED": "On the directory",
    "PENDING": "Waiting",
    "WITHDRAWN": "Withdrawn",
    "SUSPENDED": "Suspended",
    "STOPPED": "Stopped by the provider",
}


async def listing_page(
    request: Request, *, errors: list | None = None, v: dict | None = None
) -> Response:
    principal = await moderator(request)
    if principal is None:
        return _to_sign_in(request)
    provider_id = int(request.path_params["id"])

    def load(db: orm.Session) -> dict[str, Any] | None:
        provider = lifecycle.moderated_listing(db, principal, provider_id)
        if provider is None:
            return None
        sessions = db.scalars(
            select(Session).where(Session.provider_id == provider.id).order_by(Session.title)
        ).all()
        return {
            "provider": provider,
            "sessions": [
                {
                    "id": s.id,
                    "title": s.title,
                    "status": s.status.value,
                    "label": STATUS_LABELS[s.status.value],
                    "reason": s.status_reason,
                }
                for s in sessions
            ],
            "label": STATUS_LABELS[provider.status.value],
        }

    found = await read(request, load)
    if found is None:
        return message_page("Not found", ["There is no such listing for you."], status=404)
    flash = request.session.pop("flash", None)
    return render(
        "moderation/listing.html",
        400 if errors else 200,
        me=request.state.staff,
        csrf=_csrf(request),
        notice=[flash] if flash else None,
        errors=errors or [],
        v=v or {},
        **found,
    )


@with_form
async def listing_submit(request: Request, form: Form) -> Response:
    principal = await moderator(request)
    if principal is None:
        return _to_sign_in(request)
    if not _csrf_ok(request, form):
        return _refused()
    settings = settings_of(request)
    provider_id = int(request.path_params["id"])
    action = str(form.get("action", ""))
    reason = str(form.get("reason", ""))
    target = str(form.get("session", ""))
    session_id = int(target) if target.isdigit() else None

    def work(db: orm.Session) -> lifecycle.Changed:
        if action == "reinstate":
            return lifecycle.reinstate(db, principal, provider_id, session_id)
        return lifecycle.take_down(db, principal, provider_id, session_id, action, reason)

    changed = await write(request, work)
    if not changed.ok:
        return await listing_page(request, errors=changed.errors, v={"reason": reason})
    done = {
        "withdraw": f"{changed.about} is withdrawn. " + publishing.when_gone(settings),
        "suspend": f"{changed.about} is suspended. " + publishing.when_gone(settings),
        "reinstate": f"{changed.about} is back. " + publishing.when_visible(settings),
    }[action]
    request.session["flash"] = done
    return RedirectResponse(f"/moderation/listings/{provider_id}", 303)


def routes() -> list[Route]:
    return [
        Route("/moderation/listings/{id:int}", listing_page, methods=["GET"]),
        Route("/moderation/listings/{id:int}", listing_submit, methods=["POST"]),
    ]
