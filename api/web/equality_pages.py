"""The staff form for a referral's equality data (/staff/referrals/{id}/equality): sex,
ethnic group and long term conditions, each with "Prefer not to say" and "Not asked" kept
apart, as the person chooses to answer. A thin page over api/referrals/equality.py, which
checks the codes, keeps the data encrypted and audits what changed; who may use it is the
policy's (``RECORD_EQUALITY``, scoped by ``equality_scope``)."""

from __future__ import annotations

from sqlalchemy import orm
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.access import policy
from api.audit.log import record as audit
from api.referrals import equality
from api.referrals.errors import ErrorCode as Code
from api.referrals.errors import Rejected
from api.registration.answers import ErrorCode, FieldError
from api.staff.signin import SignedIn
from api.web.common import Form, message_page, write
from api.web.referral_pages import _guard
from api.web.staff_session import staff_page, staff_render

DECLINED, NOT_ASKED = "declined", ""
# The page's field for each part the domain names in its problems, and what to say there: a
# bad code can only come from a stale or altered form, so the page asks for a choice again
# (the codes the API's message gives mean nothing on a page).
FIELDS = {
    "equality.sex": ("sex", "Choose one of the answers for sex"),
    "equality.ethnicCategory": ("ethnic_category", "Choose an ethnic group from the list"),
    "equality.longTermConditions": ("conditions", "Tick only conditions from the list"),
    "equality.declined": ("sex", "Choose one of the answers for sex"),
}


def _options(sex: object) -> dict[str, object]:
    # Female first, as the form reads; "Not known" (X) is what "Not asked" means on a page,
    # offered only when the API recorded it, so that the form shows what is recorded.
    sexes = [
        (s.value, label, None)
        for s, label in sorted(equality.SEX_LABELS.items(), key=lambda item: item[0] != "2")
        if s is not equality.Sex.NOT_KNOWN or sex == s.value
    ]
    return {
        "sexes": sexes,
        "groups": equality.ethnic_groups(),
        "conditions": [(code, label, None) for code, label in equality.conditions().items()],
    }


async def _form(
    request: Request,
    me: SignedIn,
    *,
    v: dict[str, object] | None = None,
    errors: list[FieldError] | None = None,
) -> Response:
    assert me.principal is not None
    principal = me.principal
    referral_id = int(request.path_params["id"])
    guard = _guard(request)

    def load(db: orm.Session) -> tuple[str, equality.EqualityView | None] | None:
        try:
            referral = equality.find_for_equality(db, principal, referral_id)
        except Rejected:
            return None
        if referral.person_enc is None:
            return None  # purged: nothing to show or record
        audit(db, principal, "referral.read", "referral", referral.id)  # as every view is
        person = guard.decrypt_json("person", referral.person_enc, guard.data_key(referral.key_id))
        name = f"{person['givenName']} {person['familyName']}" if person else ""
        return name, equality.view_of(guard, referral)

    found = await write(request, load)
    if found is None:
        return message_page(
            "Not found", ["There is no such referral among those you can see."], status=404
        )
    name, current = found
    if v is None:
        v = current.as_form() if current else {"sex": "", "ethnic_category": "", "conditions": []}
    return staff_render(
        request,
        me,
        "staff/equality.html",
        400 if errors else 200,
        referral_id=referral_id,
        name=name,
        recorded=current is not None,
        errors=errors or [],
        v=v,
        **_options(v.get("sex")),
    )


@staff_page(policy.RECORD_EQUALITY)
async def equality_form(request: Request, me: SignedIn, _form_: Form | None) -> Response:
    return await _form(request, me)


def _read(form: Form) -> tuple[dict[str, object], equality.EqualityIn | None, list[FieldError]]:
    """The answers posted, as the form shows them again and as the domain takes them."""
    sex = str(form.get("sex", "")).strip()
    ethnic = str(form.get("ethnic_category", "")).strip()
    ticked = [str(c) for c in form.getlist("conditions")]
    v: dict[str, object] = {"sex": sex, "ethnic_category": ethnic, "conditions": ticked}
    errors = []
    if DECLINED in ticked and len(ticked) > 1:
        errors.append(
            FieldError(
                "conditions",
                "Tick the conditions they have, or 'Prefer not to say', not both",
                ErrorCode.INVALID,
            )
        )
    declined = tuple(
        q
        for q, value in (
            (equality.SEX, sex),
            (equality.ETHNIC_CATEGORY, ethnic),
            (equality.LONG_TERM_CONDITIONS, DECLINED if DECLINED in ticked else ""),
        )
        if value == DECLINED
    )
    data = equality.EqualityIn(
        sex=None if sex in (DECLINED, NOT_ASKED) else sex,
        ethnic_category=None if ethnic in (DECLINED, NOT_ASKED) else ethnic,
        long_term_conditions=tuple(c for c in ticked if c != DECLINED),
        declined=declined,
    )
    return v, (None if errors else data), errors


@staff_page(policy.RECORD_EQUALITY)
async def save_equality(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None and me.principal is not None
    principal = me.principal
    referral_id = int(request.path_params["id"])
    v, data, errors = _read(form)
    if data is None:
        return await _form(request, me, v=v, errors=errors)
    guard = _guard(request)
    try:
        _referral, changed = await write(
            request, lambda db: equality.change(db, principal, referral_id, data, guard)
        )
    except Rejected as exc:
        return await _failed(request, me, exc, v)
    request.session["staff_flash"] = (
        "The equality data is saved." if changed else "Nothing changed in the equality data."
    )
    return RedirectResponse(f"/staff/referrals/{referral_id}#equality", 303)


@staff_page(policy.RECORD_EQUALITY)
async def clear_equality(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None and me.principal is not None
    principal = me.principal
    referral_id = int(request.path_params["id"])
    guard = _guard(request)
    try:
        await write(request, lambda db: equality.change(db, principal, referral_id, None, guard))
    except Rejected as exc:
        return await _failed(request, me, exc, None)
    request.session["staff_flash"] = "The equality data is removed."
    return RedirectResponse(f"/staff/referrals/{referral_id}#equality", 303)


async def _failed(
    request: Request, me: SignedIn, exc: Rejected, v: dict[str, object] | None
) -> Response:
    if any(p.code is Code.NOT_FOUND for p in exc.problems):
        return message_page(
            "Not found", ["There is no such referral among those you can see."], status=404
        )
    errors = []
    for p in exc.problems:
        field, message = FIELDS.get(p.field or "", ("sex", ""))
        errors.append(
            FieldError(field, message or p.message[:1].upper() + p.message[1:], ErrorCode.INVALID)
        )
    return await _form(request, me, v=v, errors=errors)


def routes() -> list[Route]:
    return [
        Route("/staff/referrals/{id:int}/equality", equality_form, methods=["GET"]),
        Route("/staff/referrals/{id:int}/equality", save_equality, methods=["POST"]),
        Route("/staff/referrals/{id:int}/equality/clear", clear_equality, methods=["POST"]),
    ]
