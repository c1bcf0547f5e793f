"""Staff pages of a plan that lives: recording a review or follow-up, the person's consents
(goals to the practice, their own copy), and the person's own copy of their plan to print
(one A4 page; a large-print version) or email. Thin pages over api/referrals/reviews.py and
person_copy.py; the consent gate is the domain's."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.directory.models import utcnow
from api.referrals import person_copy, reviews
from api.referrals.enums import SupportLevel
from api.referrals.errors import ErrorCode as Code
from api.referrals.errors import Rejected
from api.referrals.plan_models import ReviewKind
from api.referrals.working_days import local_date
from api.registration.answers import ErrorCode, FieldError
from api.staff.signin import SignedIn
from api.web.common import Form, message_page, write
from api.web.referral_pages import CHANGERS, _guard, _int, _problems, _referral
from api.web.staff_session import settings_of, staff_page, staff_render

KIND_LABELS = reviews.KIND_LABELS


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


@staff_page(CHANGERS)
async def record_review(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None and me.principal is not None
    principal = me.principal
    referral_id = int(request.path_params["id"])
    v = {k: str(form.get(k, "")) for k in ("review", "done_on", "reached", "level", "next_on")}
    errors = []
    review_id = _int(v["review"])
    done_on = _date(v["done_on"])
    if done_on is None:
        errors.append(FieldError("done_on", "Enter the date it was held", ErrorCode.REQUIRED))
    if v["reached"] not in ("yes", "no"):
        errors.append(FieldError("reached", "Say whether you reached them", ErrorCode.REQUIRED))
    level = SupportLevel.__members__.get(v["level"])
    next_on = _date(v["next_on"]) if v["next_on"].strip() else None
    if v["next_on"].strip() and next_on is None:
        errors.append(FieldError("next_on", "Enter the next review date", ErrorCode.INVALID))
    if errors or review_id is None or done_on is None:
        return await _referral(request, me, errors=errors, v=v)
    weeks = settings_of(request).review_weeks
    try:
        await write(
            request,
            lambda db: reviews.complete_review(
                db,
                principal,
                referral_id,
                review_id,
                done_on=done_on,
                reached=v["reached"] == "yes",
                support_level=level,
                next_review_on=next_on,
                review_weeks=weeks,
            ),
        )
    except Rejected as exc:
        names = {"doneOn": "done_on", "supportLevel": "level", "reviewId": "review"}
        return await _referral(request, me, errors=_problems(exc, names), v=v)
    request.session["staff_flash"] = "The review is recorded."
    return RedirectResponse(f"/staff/referrals/{referral_id}", 303)


@staff_page(CHANGERS)
async def record_consent(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None and me.principal is not None
    principal = me.principal
    referral_id = int(request.path_params["id"])
    agreed = form.getlist("consent")
    try:
        await write(
            request,
            lambda db: person_copy.record_consents(
                db,
                principal,
                referral_id,
                share_goals="share_goals" in agreed,
                own_copy="own_copy" in agreed,
            ),
        )
    except Rejected as exc:
        return await _referral(request, me, errors=_problems(exc, {}))
    request.session["staff_flash"] = "What the person agreed to is recorded."
    return RedirectResponse(f"/staff/referrals/{referral_id}", 303)


def _today() -> dt.date:
    return local_date(utcnow())


@staff_page(CHANGERS)
async def copy_page(request: Request, me: SignedIn, _form: Form | None) -> Response:
    assert me.principal is not None
    principal = me.principal
    referral_id = int(request.path_params["id"])
    guard = _guard(request)
    large = request.query_params.get("size") == "large"
    try:
        copy = await write(
            request,
            lambda db: person_copy.person_copy(
                db, principal, guard, referral_id, today=_today(), purpose="print"
            ),
        )
    except Rejected as exc:
        problem = exc.problems[0]
        if problem.code is Code.NOT_FOUND:
            return message_page(
                "Not found", ["There is no such referral among those you can see."], status=404
            )
        return message_page(
            "No copy without consent" if problem.code is Code.CONSENT_REQUIRED else "No copy",
            [problem.message[:1].upper() + problem.message[1:] + "."],
            status=409,
        )
    return staff_render(
        request, me, "staff/person_copy.html", copy=copy, large=large, labels=KIND_LABELS
    )


@staff_page(CHANGERS)
async def email_copy(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None and me.principal is not None
    principal = me.principal
    referral_id = int(request.path_params["id"])
    guard = _guard(request)
    try:
        await write(
            request,
            lambda db: person_copy.email_person_copy(
                db, principal, guard, referral_id, today=_today()
            ),
        )
    except Rejected as exc:
        return await _referral(request, me, errors=_problems(exc, {"referralId": "copy"}))
    request.session["staff_flash"] = "The person's copy is on its way to their email address."
    return RedirectResponse(f"/staff/referrals/{referral_id}", 303)


def routes() -> list[Route]:
    return [
        Route("/staff/referrals/{id:int}/review", record_review, methods=["POST"]),
        Route("/staff/referrals/{id:int}/consent", record_consent, methods=["POST"]),
        Route("/staff/referrals/{id:int}/copy", copy_page, methods=["GET"]),
        Route("/staff/referrals/{id:int}/copy/email", email_copy, methods=["POST"]),
    ]


__all__ = ["ReviewKind", "routes"]
