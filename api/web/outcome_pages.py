"""Outcomes, attendance and unmet need from a referral's page: outcomes are entered through
the instrument's own questions (ONS4, LTC6, the lead provider's star), each item a choice on
its scale; the work is recording.record_outcome, care.record_attendance and
recording.record_unmet_need, as the GraphQL mutations do."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import orm, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.access import policy
from api.directory.enums import Domain
from api.directory.models import Locality
from api.outcomes import recording
from api.outcomes.enums import NhsUsePeriod, TimePoint
from api.outcomes.models import OutcomeInstrument
from api.referrals import care
from api.referrals.errors import Rejected
from api.referrals.models import Referral
from api.registration.answers import ErrorCode, FieldError
from api.staff.signin import SignedIn
from api.web.common import Form, message_page, read, write
from api.web.referral_pages import _problems, _referral
from api.web.staff_session import staff_page, staff_render

# The form's value for a need that fits none of the six domains (api/web/referral_pages.py).
OTHER = "OTHER"

TIME_POINTS = [
    (TimePoint.BASELINE.value, "At the start (baseline)", None),
    (TimePoint.END.value, "At the end", None),
    (TimePoint.FOLLOW_UP.value, "Follow-up, months after the end", None),
]


def _instrument(db: orm.Session, principal, referral_id: int, key: str):  # type: ignore[no-untyped-def]
    """The instrument ``key`` as offered for this referral (None: not in reach)."""
    referral = db.scalars(
        select(Referral).where(Referral.id == referral_id, policy.outcome_scope(principal))
    ).first()
    if referral is None:
        return None
    locality = db.get(Locality, referral.locality_id)
    lead = locality.lead_provider_id if locality else None
    return next((i for i in recording.instruments_for(db, lead) if i.key == key), None)


def _questions(instrument: OutcomeInstrument) -> list[dict]:
    labels = {int(k): v for k, v in (instrument.scale_labels or {}).items()}
    options = [
        (str(n), f"{n} {labels[n]}" if n in labels else str(n), None)
        for n in range(instrument.scale_min, instrument.scale_max + 1)
    ]
    return [
        {"name": f"score_{item['key']}", "text": item["text"], "options": options}
        for item in instrument.items
    ]


async def _outcome_form(
    request: Request, me: SignedIn, key: str, v: dict, errors: list[FieldError] | None = None
) -> Response:
    referral_id = int(request.path_params["id"])
    instrument = await read(request, lambda db: _instrument(db, me.principal, referral_id, key))
    if instrument is None:
        return message_page(
            "Not found", ["There is no such referral or questionnaire for you."], status=404
        )
    return staff_render(
        request,
        me,
        "staff/outcome.html",
        400 if errors else 200,
        referral_id=referral_id,
        instrument=instrument,
        questions=_questions(instrument),
        time_points=TIME_POINTS,
        v=v,
        errors=errors or [],
    )


@staff_page(policy.RECORD_OUTCOME)
async def outcome_page(request: Request, me: SignedIn, _form: Form | None) -> Response:
    key = request.query_params.get("instrument", "")
    return await _outcome_form(request, me, key, {"time_point": TimePoint.BASELINE.value})


@staff_page(policy.RECORD_OUTCOME)
async def record_outcome(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None and me.principal is not None
    principal = me.principal
    referral_id = int(request.path_params["id"])
    key = str(form.get("instrument", ""))
    v = {k: str(val) for k, val in form.items() if k != "csrf"}
    instrument = await read(request, lambda db: _instrument(db, principal, referral_id, key))
    if instrument is None:
        return message_page("Not found", ["There is no such questionnaire for you."], status=404)
    errors = []
    scores = {}
    for question, item in zip(_questions(instrument), instrument.items, strict=True):
        answer = v.get(question["name"], "")
        if not answer.lstrip("-").isdigit():
            errors.append(
                FieldError(question["name"], f"Answer: {item['text']}", ErrorCode.REQUIRED)
            )
        else:
            scores[item["key"]] = int(answer)
    try:
        point = TimePoint(v.get("time_point", ""))
    except ValueError:
        point = None
        errors.append(FieldError("time_point", "Choose when this is", ErrorCode.REQUIRED))
    months = v.get("months", "").strip()
    if errors or point is None:
        return await _outcome_form(request, me, key, v, errors)
    data = recording.OutcomeIn(
        referral_id=referral_id,
        instrument_key=key,
        time_point=point,
        taken_on=dt.date.today(),
        scores=scores,
        follow_up_months=int(months) if months.isdigit() and len(months) < 4 else None,
    )
    try:
        await write(request, lambda db: recording.record_outcome(db, principal, data))
    except Rejected as exc:
        names = {"followUpMonths": "months", "timePoint": "time_point"}
        return await _outcome_form(request, me, key, v, _problems(exc, names))
    request.session["staff_flash"] = f"{instrument.name} is recorded."
    return RedirectResponse(f"/staff/referrals/{referral_id}", 303)


@staff_page(policy.RECORD_ATTENDANCE)
async def record_attendance(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None and me.principal is not None
    principal = me.principal
    referral_id = int(request.path_params["id"])
    session = str(form.get("session", ""))
    attended = form.get("attended")
    try:
        on = dt.date.fromisoformat(str(form.get("on", "")))
    except ValueError:
        on = None
    if not session.isdigit() or attended not in ("yes", "no") or on is None:
        return await _referral(
            request,
            me,
            errors=[
                FieldError("attendance", "Give the date and whether they came", ErrorCode.REQUIRED)
            ],
        )
    try:
        await write(
            request,
            lambda db: care.record_attendance(
                db, principal, referral_id, int(session), on, attended == "yes"
            ),
        )
    except Rejected as exc:
        return await _referral(request, me, errors=_problems(exc, {"date": "attendance"}))
    request.session["staff_flash"] = "Attendance is recorded."
    return RedirectResponse(f"/staff/referrals/{referral_id}", 303)


NHS_COUNTS = (
    ("gp", "GP appointments"),
    ("ae", "A&E attendances"),
    ("admissions", "Unplanned admissions"),
    ("prescriptions", "Prescriptions"),
)


@staff_page(policy.RECORD_NHS_USE)
async def record_nhs_use(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None and me.principal is not None
    principal = me.principal
    referral_id = int(request.path_params["id"])
    v = {k: str(form.get(k, "")).strip() for k in ("period", *(n for n, _l in NHS_COUNTS))}
    errors = []
    period = NhsUsePeriod.__members__.get(v["period"])
    if period is None:
        errors.append(
            FieldError("period", "Choose the 6 months before or after", ErrorCode.REQUIRED)
        )
    counts = {}
    for name, label in NHS_COUNTS:
        if not v[name].isdigit() or len(v[name]) > 4:
            errors.append(
                FieldError(name, f"Enter the number of {label.lower()}, like 0", ErrorCode.INVALID)
            )
        else:
            counts[name] = int(v[name])
    if errors or period is None:
        return await _referral(request, me, errors=errors, v=v)
    data = recording.NhsUseIn(
        referral_id,
        period,
        counts["gp"],
        counts["ae"],
        counts["admissions"],
        counts["prescriptions"],
    )
    try:
        await write(request, lambda db: recording.record_nhs_use(db, principal, data))
    except Rejected as exc:
        names = {
            "gpAppointments": "gp",
            "aeAttendances": "ae",
            "unplannedAdmissions": "admissions",
            "prescriptions": "prescriptions",
            "referralId": "period",
        }
        return await _referral(request, me, errors=_problems(exc, names), v=v)
    request.session["staff_flash"] = "NHS use is recorded."
    return RedirectResponse(f"/staff/referrals/{referral_id}", 303)


@staff_page(policy.RECORD_UNMET_NEED)
async def record_unmet_need(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None and me.principal is not None
    principal = me.principal
    referral_id = int(request.path_params["id"])
    description = str(form.get("description", ""))
    domain = form.get("domain")
    if domain not in Domain.__members__ and domain != OTHER:
        return await _referral(
            request,
            me,
            errors=[FieldError("domain", "Choose what kind of need", ErrorCode.REQUIRED)],
            v={"description": description},
        )
    # "Something else": a need that fits none of the six domains, kept with its description.
    kind = None if domain == OTHER else Domain(str(domain))

    def work(db: orm.Session) -> None:
        # The need belongs to the referral's locality; no patient identity is kept with it.
        referral = db.scalars(
            select(Referral).where(Referral.id == referral_id, policy.referral_scope(principal))
        ).first()
        if referral is None:
            raise Rejected([])
        recording.record_unmet_need(db, principal, kind, description, referral.locality_id)

    try:
        await write(request, work)
    except Rejected as exc:
        return await _referral(
            request,
            me,
            errors=_problems(exc, {"description": "description"})
            or [FieldError("domain", "Not found", ErrorCode.INVALID)],
            v={"description": description},
        )
    request.session["staff_flash"] = "The unmet need is recorded for the commissioner."
    return RedirectResponse(f"/staff/referrals/{referral_id}", 303)


def routes() -> list[Route]:
    return [
        Route("/staff/referrals/{id:int}/outcomes", outcome_page, methods=["GET"]),
        Route("/staff/referrals/{id:int}/outcomes", record_outcome, methods=["POST"]),
        Route("/staff/referrals/{id:int}/attendance", record_attendance, methods=["POST"]),
        Route("/staff/referrals/{id:int}/unmet-need", record_unmet_need, methods=["POST"]),
        Route("/staff/referrals/{id:int}/nhs-use", record_nhs_use, methods=["POST"]),
    ]
