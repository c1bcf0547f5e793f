"""The link worker's pages (/staff/caseload, /staff/referrals/{id}): thin pages over the
domain functions the GraphQL mutations call (api/referrals/*). What a role may see is the
policy's (api/referrals/summary.py asks it); what may change is the domain's. Ids in URLs
are record numbers, never personal data."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import orm
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.access import policy
from api.directory import related
from api.directory.enums import AccessibilityFeature, Domain
from api.directory.search import SessionQuery, search_sessions
from api.referrals import care, caseload, contact, lifecycle, reviews
from api.referrals.enums import ContactMethod, ContactOutcome, SupportLevel
from api.referrals.enums import ReferralStatus as S
from api.referrals.errors import Rejected
from api.referrals.protection import protector
from api.referrals.summary import summary
from api.referrals.working_days import local_date
from api.registration.answers import ErrorCode, FieldError
from api.staff.signin import SignedIn
from api.web.common import Form, message_page, read, write
from api.web.staff_session import settings_of, staff_page, staff_render

STATUS_LABELS = {
    S.RECEIVED: "Waiting for first contact",
    S.CONTACTED: "Contacted",
    S.ASSESSED: "Assessed",
    S.ACTIVE: "Active: plan agreed",
    S.COMPLETED: "Completed",
    S.DID_NOT_ATTEND: "Did not attend",
    S.DECLINED: "Declined",
    S.CLOSED: "Closed",
}
STEP_LABELS = {
    S.CONTACTED: "Record first contact",
    S.ASSESSED: "Mark as assessed",
    S.ACTIVE: "Plan agreed: mark as active",
    S.COMPLETED: "Complete",
    S.DID_NOT_ATTEND: "Did not attend",
    S.DECLINED: "Declined",
    S.CLOSED: "Close",
}
READERS = policy.READ_REFERRALS
CHANGERS = policy.CHANGE_REFERRAL


def _guard(request: Request):  # type: ignore[no-untyped-def]
    return protector(settings_of(request))


def _status(value: object) -> S | None:
    try:
        return S(str(value))
    except ValueError:
        return None


def _int(value: object) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


@staff_page(CHANGERS)
async def caseload_page(request: Request, me: SignedIn, _form: Form | None) -> Response:
    principal = me.principal
    assert principal is not None
    status = _status(request.query_params.get("status"))
    coordinator = policy.may_reassign(principal)
    # A link worker sees their own caseload; a coordinator everyone's, or one worker's.
    worker = principal.link_worker_id
    if coordinator or worker is None:
        worker = _int(request.query_params.get("worker"))
    guard = _guard(request)
    today = local_date(dt.datetime.now(dt.UTC))

    def load(db: orm.Session):  # type: ignore[no-untyped-def]
        found = caseload.caseload(db, principal, guard, link_worker_id=worker, status=status)
        # Reviews and follow-ups due this week (api/referrals/reviews.py).
        return found, reviews.due_this_week(db, principal, today=today, link_worker_id=worker)

    found, due = await write(request, load)
    flash = request.session.pop("staff_flash", None)
    return staff_render(
        request,
        me,
        "staff/caseload.html",
        load=found,
        chosen=status,
        worker=worker,
        labels=STATUS_LABELS,
        statuses=list(S),
        coordinator=coordinator,
        notice=[flash] if flash else None,
        due=due,
        names={c.referral_id: c.name for c in found.rows},
        kind_labels=reviews.KIND_LABELS,
    )


async def _referral(
    request: Request,
    me: SignedIn,
    *,
    errors: list[FieldError] | None = None,
    v: dict | None = None,
    results: list | None = None,
    q: str | None = None,
) -> Response:
    principal = me.principal
    assert principal is not None
    referral_id = int(request.path_params["id"])
    guard = _guard(request)

    def load(db: orm.Session):  # type: ignore[no-untyped-def]
        found = summary(db, principal, guard, referral_id)
        workers = []
        if found is not None and found.can_reassign:
            workers = [w for w in caseload._worker_loads(db, principal, found.received_on)]
        return found, workers

    found, workers = await write(request, load)
    if found is None:
        return message_page(
            "Not found", ["There is no such referral among those you can see."], status=404
        )
    flash = request.session.pop("staff_flash", None)
    return staff_render(
        request,
        me,
        "staff/referral.html",
        400 if errors else 200,
        r=found,
        labels=STATUS_LABELS,
        steps=[(s, STEP_LABELS[s], s in lifecycle.FINAL) for s in found.next_steps],
        levels=[(level.value, level.value.capitalize(), None) for level in SupportLevel],
        kind_labels=reviews.KIND_LABELS,
        workers=workers,
        working=found.status in care.WORKING_STATES,
        methods=[(m.value, label, None) for m, label in METHOD_LABELS.items()],
        outcomes=[(o.value, label, None) for o, label in OUTCOME_LABELS.items()],
        method_labels=METHOD_LABELS,
        outcome_labels=OUTCOME_LABELS,
        results=results,
        q=q,
        today=dt.date.today().isoformat(),
        domains=[(d.value, d.value.replace("_", " ").capitalize(), None) for d in Domain]
        + [("OTHER", "Something else", "None of the six: say what in a few words below")],
        errors=errors or [],
        v=v or {},
        notice=[flash] if flash else None,
    )


@staff_page(READERS)
async def referral_page(request: Request, me: SignedIn, _form: Form | None) -> Response:
    return await _referral(request, me)


def _problems(exc: Rejected, names: dict[str, str]) -> list[FieldError]:
    """The domain's problems at the page's fields (input.goals -> goals...)."""
    found = []
    for p in exc.problems:
        key = (p.field or "").removeprefix("input.")
        found.append(FieldError(names.get(key, key or "status"), p.message, ErrorCode.INVALID))
    return found


@staff_page(CHANGERS)
async def change_status(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None and me.principal is not None
    principal = me.principal
    referral_id = int(request.path_params["id"])
    to = _status(form.get("status"))
    note = str(form.get("note", ""))
    if to is None:
        return await _referral(
            request, me, errors=[FieldError("status", "Choose a next step", ErrorCode.REQUIRED)]
        )
    if to in lifecycle.FINAL and form.get("confirmed") != "yes":
        return staff_render(
            request,
            me,
            "staff/confirm_status.html",
            referral_id=referral_id,
            to=to,
            label=STEP_LABELS[to],
            needs_reason=to in lifecycle.NEEDS_REASON,
            v={"note": note},
        )
    guard = _guard(request)

    def work(db: orm.Session) -> None:
        referral = lifecycle.find_for_change(db, principal, referral_id)
        if to in lifecycle.FINAL:
            lifecycle.end_with_reason(db, principal, referral, to, guard, note)
        else:
            lifecycle.change_status(db, principal, referral, to, guard, note=note)

    try:
        await write(request, work)
    except Rejected as exc:
        errors = _problems(exc, {"note": "note"})
        if to in lifecycle.FINAL:
            return staff_render(
                request,
                me,
                "staff/confirm_status.html",
                400,
                referral_id=referral_id,
                to=to,
                label=STEP_LABELS[to],
                needs_reason=to in lifecycle.NEEDS_REASON,
                v={"note": note},
                errors=errors,
            )
        return await _referral(request, me, errors=errors, v={"note": note})
    request.session["staff_flash"] = f"The referral is now: {STATUS_LABELS[to]}."
    return RedirectResponse(f"/staff/referrals/{referral_id}", 303)


OUTCOME_LABELS = {
    ContactOutcome.REACHED: "Reached them",
    ContactOutcome.NO_ANSWER: "No answer",
    ContactOutcome.LEFT_MESSAGE: "Left a message",
    ContactOutcome.WRONG_DETAILS: "Wrong contact details",
}
METHOD_LABELS = {
    ContactMethod.PHONE: "Phone call",
    ContactMethod.TEXT_MESSAGE: "Text message",
    ContactMethod.EMAIL: "Email",
    ContactMethod.LETTER: "Letter",
}


@staff_page(CHANGERS)
async def contact_attempt(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None and me.principal is not None
    principal = me.principal
    referral_id = int(request.path_params["id"])
    v = {k: str(form.get(k, "")) for k in ("on", "method", "outcome")}
    errors = []
    try:
        on = dt.date.fromisoformat(v["on"])
    except ValueError:
        on = None
        errors.append(FieldError("on", "Enter the date of the attempt", ErrorCode.REQUIRED))
    method = ContactMethod.__members__.get(v["method"])
    if method is None:
        errors.append(FieldError("method", "Choose how you tried", ErrorCode.REQUIRED))
    outcome = ContactOutcome.__members__.get(v["outcome"])
    if outcome is None:
        errors.append(FieldError("outcome", "Choose what came of it", ErrorCode.REQUIRED))
    if errors or on is None or method is None or outcome is None:
        return await _referral(request, me, errors=errors, v=v)
    guard = _guard(request)
    try:
        await write(
            request,
            lambda db: contact.record_attempt(
                db, principal, referral_id, on, method, outcome, guard
            ),
        )
    except Rejected as exc:
        return await _referral(
            request, me, errors=_problems(exc, {"date": "on", "status": "outcome"}), v=v
        )
    request.session["staff_flash"] = (
        "First contact is recorded: the referral is now Contacted."
        if outcome is ContactOutcome.REACHED
        else "The attempt is recorded."
    )
    return RedirectResponse(f"/staff/referrals/{referral_id}", 303)


@staff_page(CHANGERS)
async def assess(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None and me.principal is not None
    principal = me.principal
    referral_id = int(request.path_params["id"])
    v = {
        k: str(form.get(k, ""))
        for k in (
            "support_level", "goals", "action_plan", "co_morbidities", "missed", "barriers",
            "review_on",
        )
    }  # fmt: skip
    v["needs"] = form.getlist("needs")
    errors = []
    level = None
    try:
        level = SupportLevel(v["support_level"])
    except ValueError:
        errors.append(FieldError("support_level", "Choose the support level", ErrorCode.REQUIRED))
    numbers = {}
    for key, label in (
        ("co_morbidities", "long-term conditions"),
        ("missed", "missed appointments"),
    ):
        value = _int(v[key] or "0")
        if value is None:
            errors.append(
                FieldError(
                    key, f"Enter the number of {label} as a number, like 2", ErrorCode.INVALID
                )
            )
        numbers[key] = value or 0
    review_on = None
    if v["review_on"].strip():
        try:
            review_on = dt.date.fromisoformat(v["review_on"].strip())
        except ValueError:
            errors.append(
                FieldError("review_on", "Enter the review date like 2027-01-31", ErrorCode.INVALID)
            )
    if errors or level is None:
        return await _referral(request, me, errors=errors, v=v)
    data = care.AssessmentIn(
        support_level=level,
        goals=tuple(line for line in v["goals"].splitlines()),
        action_plan=v["action_plan"],
        co_morbidities=numbers["co_morbidities"],
        mental_health_need="mental_health" in v["needs"],
        mobility_need="mobility" in v["needs"],
        missed_appointments=numbers["missed"],
        barriers=v["barriers"],
        review_on=review_on,
    )
    guard = _guard(request)
    weeks = settings_of(request).review_weeks
    try:
        await write(
            request,
            lambda db: care.record_assessment(
                db, principal, referral_id, data, guard, review_weeks=weeks
            ),
        )
    except Rejected as exc:
        names = {
            "goals": "goals",
            "actionPlan": "action_plan",
            "coMorbidities": "co_morbidities",
            "missedAppointments": "missed",
            "referralId": "support_level",
            "barriers": "barriers",
            "reviewOn": "review_on",
        }
        return await _referral(request, me, errors=_problems(exc, names), v=v)
    request.session["staff_flash"] = "The assessment is recorded."
    return RedirectResponse(f"/staff/referrals/{referral_id}", 303)


def _search(db: orm.Session, text: str, free: bool, step_free: bool) -> list[dict]:
    query = SessionQuery(
        text=text or None,
        free=True if free else None,
        accessibility=(AccessibilityFeature.STEP_FREE,) if step_free else (),
    )
    page = search_sessions(db, query, offset=0, limit=20)
    rows = related.sessions(db, page.items)
    found = []
    for session_id in page.items:
        row = rows.get(session_id)
        if row is None:
            continue
        venue = row.venue
        found.append(
            {
                "id": session_id,
                "title": row.session.title,
                "provider": row.provider.name,
                "where": ", ".join(p for p in (venue.name, venue.postcode) if p)
                if venue
                else "Online or at home",
                "free": row.session.is_free,
            }
        )
    return found


@staff_page(CHANGERS)
async def signpost_search(request: Request, me: SignedIn, _form: Form | None) -> Response:
    q = request.query_params.get("q", "").strip()[:200]
    free = request.query_params.get("free") == "yes"
    step_free = request.query_params.get("step_free") == "yes"
    results = await read(request, lambda db: _search(db, q, free, step_free))
    return await _referral(
        request,
        me,
        results=results,
        q=q,
        v={"free": "yes" if free else "", "step_free": "yes" if step_free else ""},
    )


@staff_page(CHANGERS)
async def signpost(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None and me.principal is not None
    principal = me.principal
    referral_id = int(request.path_params["id"])
    chosen = [i for i in (_int(x) for x in form.getlist("session")) if i is not None]
    if not chosen:
        return await _referral(
            request,
            me,
            errors=[FieldError("session", "Choose at least one session", ErrorCode.REQUIRED)],
        )
    try:
        await write(request, lambda db: care.signpost(db, principal, referral_id, chosen))
    except Rejected as exc:
        return await _referral(request, me, errors=_problems(exc, {"sessionIds": "session"}))
    from api.web.register_pages import send_links

    sent = await send_links(request, principal, chosen, renew=False)
    request.session["staff_flash"] = f"Signposted to {len(chosen)} session(s)." + (
        f" {sent} provider(s) were sent a register link to say who came." if sent else ""
    )
    return RedirectResponse(f"/staff/referrals/{referral_id}", 303)


@staff_page(CHANGERS)
async def reassign(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None and me.principal is not None
    principal = me.principal
    referral_id = int(request.path_params["id"])
    worker = _int(form.get("link_worker"))
    guard = _guard(request)
    try:
        if worker is None:
            raise Rejected([])
        await write(
            request, lambda db: caseload.reassign(db, principal, referral_id, worker, guard)
        )
    except Rejected as exc:
        errors = _problems(exc, {"linkWorkerId": "link_worker"}) or [
            FieldError("link_worker", "Choose a link worker", ErrorCode.REQUIRED)
        ]
        return await _referral(request, me, errors=errors)
    request.session["staff_flash"] = "The referral is reassigned."
    return RedirectResponse(f"/staff/referrals/{referral_id}", 303)


def routes() -> list[Route]:
    return [
        Route("/staff/caseload", caseload_page, methods=["GET"]),
        Route("/staff/referrals/{id:int}", referral_page, methods=["GET"]),
        Route("/staff/referrals/{id:int}/status", change_status, methods=["POST"]),
        Route("/staff/referrals/{id:int}/assessment", assess, methods=["POST"]),
        Route("/staff/referrals/{id:int}/contact", contact_attempt, methods=["POST"]),
        Route("/staff/referrals/{id:int}/signpost", signpost_search, methods=["GET"]),
        Route("/staff/referrals/{id:int}/signpost", signpost, methods=["POST"]),
        Route("/staff/referrals/{id:int}/reassign", reassign, methods=["POST"]),
    ]
