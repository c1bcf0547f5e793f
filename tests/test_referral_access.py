# ruff: noqa: F811  (the `world` fixture is imported, then used as an argument)
"""The access matrix: every role against every referral and outcome query and mutation.

Expectations are written out here, independently of api/access/policy.py:
  ok        - the operation succeeds
  forbidden - a top-level FORBIDDEN error (the role may never do this)
  unauth    - a top-level UNAUTHENTICATED error (no token)
  missing   - the record reads as if it did not exist (null, NOT_FOUND, or absent from lists)
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import select

from tests.referral_support import (
    CREATE,
    SET_STATUS,
    CareWorld,
    assess,
    move,
    new_referral,
    referral_input,
    world,  # noqa: F401 (fixture)
)

ROLES = [
    None,
    "gp",
    "gp_other",
    "lead",
    "lead_other",
    "provider",
    "provider_informal",
    "commissioner",
    "admin",
]


def gid(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


SIGNPOST = """mutation($r: ID!, $s: [ID!]!) { signpostReferral(referralId: $r, sessionIds: $s) {
  referral { id } errors { code } } }"""


def prepared(world: CareWorld) -> str:
    """A referral from practice C81001 (north), contacted, assessed and signposted to a
    session of a sub-contracted provider and of an informal one."""
    referral_id = new_referral(world)
    move(world, referral_id, "CONTACTED")
    assess(world, referral_id)
    sessions = [
        gid("Session", world.session_id("anytown-carers-centre")),
        gid("Session", world.session_id("anytown-cat-and-dog-shelter")),
    ]
    result = world.api("lead").data(SIGNPOST, r=referral_id, s=sessions)
    assert result["signpostReferral"]["errors"] == []
    return referral_id


def _payload_errors(body: dict, name: str) -> list[dict]:
    value = (body.get("data") or {}).get(name)
    return value.get("errors", []) if isinstance(value, dict) else []


def classify(body: dict, name: str, found: Callable[[dict], bool] | None = None) -> str:
    if body.get("errors"):
        code = body["errors"][0]["extensions"]["code"]
        return {"FORBIDDEN": "forbidden", "UNAUTHENTICATED": "unauth"}.get(code, code)
    errors = _payload_errors(body, name)
    if errors:
        return "missing" if errors[0]["code"] == "NOT_FOUND" else f"error:{errors[0]['code']}"
    value = body["data"][name]
    if value is None:
        return "missing"
    if found is not None and not found(value):
        return "missing"
    return "ok"


def op_referral(world: CareWorld, who: str | None) -> str:
    r = prepared(world)
    body = world.api(who).execute("query($id: ID!) { referral(id: $id) { id } }", id=r)
    return classify(body, "referral")


def op_referral_unknown_id(world: CareWorld, who: str | None) -> str:
    body = world.api(who).execute(
        "query($id: ID!) { referral(id: $id) { id } }", id=gid("Referral", 10**9)
    )
    return classify(body, "referral")


def op_referrals(world: CareWorld, who: str | None) -> str:
    r = prepared(world)
    body = world.api(who).execute("{ referrals(first: 100) { totalCount edges { node { id } } } }")
    return classify(body, "referrals", lambda v: r in [e["node"]["id"] for e in v["edges"]])


def op_create(world: CareWorld, who: str | None) -> str:
    body = world.api(who).execute(CREATE, input=referral_input(), key=str(uuid.uuid4()))
    return classify(body, "createReferral")


def op_status(world: CareWorld, who: str | None) -> str:
    r = prepared(world)
    return classify(
        world.api(who).execute(SET_STATUS, id=r, status="ASSESSED"), "updateReferralStatus"
    )


def op_assess(world: CareWorld, who: str | None) -> str:
    r = prepared(world)
    body = world.api(who).execute(
        """mutation($i: AssessmentInput!) { recordAssessment(input: $i) {
           referral { id } errors { code } } }""",
        i={"referralId": r, "supportLevel": "HIGH", "goals": ["g"], "actionPlan": "p"},
    )
    return classify(body, "recordAssessment")


def op_signpost(world: CareWorld, who: str | None) -> str:
    r = prepared(world)
    s = gid("Session", world.session_id("anytown-ramblers"))
    return classify(world.api(who).execute(SIGNPOST, r=r, s=[s]), "signpostReferral")


def op_attendance(world: CareWorld, who: str | None) -> str:
    r = prepared(world)
    body = world.api(who).execute(
        """mutation($i: AttendanceInput!) { recordAttendance(input: $i) {
           attendance { attended } errors { code } } }""",
        i={
            "referralId": r,
            "sessionId": gid("Session", world.session_id("anytown-carers-centre")),
            "date": "2026-01-05",
            "attended": True,
        },
    )
    return classify(body, "recordAttendance")


def op_outcome(world: CareWorld, who: str | None) -> str:
    r = prepared(world)
    import datetime as dt

    body = world.api(who).execute(
        """mutation($i: RecordOutcomeInput!) { recordOutcome(input: $i) {
           outcome { id } errors { code field message } } }""",
        i={
            "referralId": r,
            "instrumentKey": "ons4",
            "timePoint": "BASELINE",
            "takenOn": dt.date.today().isoformat(),
            "scores": [
                {"item": k, "score": 5}
                for k in ("life_satisfaction", "worthwhile", "happiness", "anxiety")
            ],
        },
    )
    return classify(body, "recordOutcome")


def op_nhs_use(world: CareWorld, who: str | None) -> str:
    r = prepared(world)
    body = world.api(who).execute(
        """mutation($i: RecordNhsUseInput!) { recordNhsUse(input: $i) {
           nhsUse { period } errors { code } } }""",
        i={
            "referralId": r,
            "period": "BEFORE",
            "gpAppointments": 6,
            "aeAttendances": 1,
            "unplannedAdmissions": 0,
            "prescriptions": 12,
        },
    )
    return classify(body, "recordNhsUse")


def locality_id(world: CareWorld, name: str) -> str:
    localities = world.api(None).data("{ localities { id name } }")["localities"]
    return next(loc["id"] for loc in localities if loc["name"] == name)


UNMET = """mutation($i: RecordUnmetNeedInput!) { recordUnmetNeed(input: $i) {
  unmetNeed { id locality { name } } errors { code field } } }"""


def op_unmet_need(world: CareWorld, who: str | None) -> str:
    need = {"domain": "HEALTHY_EATING", "description": "No cookery club in Urdu"}
    # A practice's need is in its own locality; others say which (their own, for a lead).
    if who in ("lead", "admin"):
        need["localityId"] = locality_id(world, "Anytown North")
    if who == "lead_other":
        need["localityId"] = locality_id(world, "Anytown East")
    return classify(world.api(who).execute(UNMET, i=need), "recordUnmetNeed")


def op_unmet_needs(world: CareWorld, who: str | None) -> str:
    return classify(world.api(who).execute("{ unmetNeeds { id } }"), "unmetNeeds")


def op_audit(world: CareWorld, who: str | None) -> str:
    return classify(world.api(who).execute("{ auditLog { totalCount } }"), "auditLog")


def op_register_webhook(world: CareWorld, who: str | None) -> str:
    body = world.api(who).execute(
        """mutation { registerWebhook(url: "http://127.0.0.1:9/hook") {
           webhook { id } secret errors { code } } }"""
    )
    return classify(body, "registerWebhook")


def op_webhooks(world: CareWorld, who: str | None) -> str:
    return classify(world.api(who).execute("{ webhooks { id } }"), "webhooks")


def op_instruments(world: CareWorld, who: str | None) -> str:
    return classify(world.api(who).execute("{ outcomeInstruments { key } }"), "outcomeInstruments")


def op_configure(world: CareWorld, who: str | None) -> str:
    body = world.api(who).execute(
        """mutation { configureStarInstrument(input: {name: "Our star",
           scales: ["Health", "Money", "Friends"]}) { instrument { key } errors { code } } }"""
    )
    return classify(body, "configureStarInstrument")


F, U, M, K = "forbidden", "unauth", "missing", "ok"
#            anon gp gp_other lead lead_other provider informal commissioner admin
MATRIX: dict[str, tuple[Callable[[CareWorld, str | None], str], list[str]]] = {
    "referral": (op_referral, [U, K, M, K, M, K, K, F, K]),
    "referral(unknown id)": (op_referral_unknown_id, [U, M, M, M, M, M, M, F, M]),
    "referrals": (op_referrals, [U, K, M, K, M, K, K, F, K]),
    "createReferral": (op_create, [U, K, K, F, F, F, F, F, F]),
    "updateReferralStatus": (op_status, [U, F, F, K, M, F, F, F, K]),
    "recordAssessment": (op_assess, [U, F, F, K, M, F, F, F, K]),
    "signpostReferral": (op_signpost, [U, F, F, K, M, F, F, F, K]),
    "recordAttendance": (op_attendance, [U, F, F, K, M, K, M, F, K]),
    "recordOutcome": (op_outcome, [U, F, F, K, M, K, M, F, K]),
    "recordNhsUse": (op_nhs_use, [U, K, M, F, F, F, F, F, K]),
    "recordUnmetNeed": (op_unmet_need, [U, K, K, K, K, F, F, F, K]),
    "unmetNeeds": (op_unmet_needs, [U, F, F, K, K, F, F, K, K]),
    "auditLog": (op_audit, [U, F, F, F, F, F, F, F, K]),
    "registerWebhook": (op_register_webhook, [U, K, K, F, F, F, F, F, F]),
    "webhooks": (op_webhooks, [U, K, K, F, F, F, F, F, F]),
    "outcomeInstruments": (op_instruments, [U, K, K, K, K, K, K, K, K]),
    "configureStarInstrument": (op_configure, [U, F, F, K, K, F, F, F, F]),
}


@pytest.mark.parametrize("operation", list(MATRIX))
def test_access_matrix(world: CareWorld, operation: str) -> None:
    run, expected = MATRIX[operation]
    got = [run(world, who) for who in ROLES]
    assert dict(zip(ROLES, got, strict=True)) == dict(zip(ROLES, expected, strict=True))


def test_another_practices_referral_looks_exactly_like_a_missing_one(world: CareWorld) -> None:
    r = prepared(world)
    api = world.api("gp_other")
    theirs = api.execute("query($id: ID!) { referral(id: $id) { id } }", id=r)
    nobody = api.execute("query($id: ID!) { referral(id: $id) { id } }", id=gid("Referral", 10**9))
    assert theirs == nobody == {"data": {"referral": None}}
    # Changing it: the same typed error as for an ID that does not exist.
    lead_other = world.api("lead_other")
    a = lead_other.execute(SET_STATUS, id=r, status="ACTIVE")
    b = lead_other.execute(SET_STATUS, id=gid("Referral", 10**9), status="ACTIVE")
    assert a == b


PERSON = """query($id: ID!) { referral(id: $id) {
  person { givenName familyName nhsNumber dateOfBirth contact { phone } }
  reason assessment { goals } outcomes { timePoint } nhsUse { period }
  messageBack { status } ageAtReferral
} }"""


def test_each_role_sees_only_the_detail_it_needs(world: CareWorld) -> None:
    r = prepared(world)
    full = world.api("lead").data(PERSON, id=r)["referral"]
    assert full["person"]["nhsNumber"].startswith("999 ")
    assert full["person"]["contact"]["phone"] and full["assessment"]["goals"]
    assert full["outcomes"] == [] and full["nhsUse"] == []

    provider = world.api("provider").data(PERSON, id=r)["referral"]
    assert provider["person"] == {
        "givenName": "Ada",
        "familyName": None,
        "nhsNumber": None,
        "dateOfBirth": None,
        "contact": None,
    }
    assert provider["reason"] is None and provider["assessment"] is None
    assert provider["outcomes"] is None and provider["nhsUse"] is None
    assert provider["messageBack"] is None and provider["ageAtReferral"] is None

    gp = world.api("gp").data(PERSON, id=r)["referral"]
    assert gp["person"]["nhsNumber"] == full["person"]["nhsNumber"]
    assert gp["assessment"] is None  # the care team's record
    assert gp["outcomes"] == []  # consent given in referral_input()
    assert gp["messageBack"]["status"] == "ASSESSED" or gp["messageBack"]["status"]


def test_without_consent_the_practice_sees_no_outcomes(world: CareWorld) -> None:
    r = new_referral(world, consent={"toBeReferred": True, "toShareOutcomesWithPractice": False})
    gp = world.api("gp").data(PERSON, id=r)["referral"]
    assert gp["outcomes"] is None
    assert world.api("lead").data(PERSON, id=r)["referral"]["outcomes"] == []


def test_unmet_need_stays_in_ones_own_locality(world: CareWorld) -> None:
    east = locality_id(world, "Anytown East")
    body = world.api("lead").data(
        UNMET, i={"domain": "BEFRIENDING", "description": "x", "localityId": east}
    )
    assert body["recordUnmetNeed"]["errors"] == [{"code": "NOT_FOUND", "field": "input.localityId"}]
    gp = world.api("gp_other").data(UNMET, i={"domain": "BEFRIENDING", "description": "y"})
    assert gp["recordUnmetNeed"]["unmetNeed"]["locality"]["name"] == "Anytown East"
    no_place = world.api("admin").data(UNMET, i={"domain": "BEFRIENDING", "description": "z"})
    assert no_place["recordUnmetNeed"]["errors"][0]["code"] == "REQUIRED"


OTHER_NEED = """mutation($i: RecordOtherUnmetNeedInput!) { recordOtherUnmetNeed(input: $i) {
  recorded errors { field code message } } }"""


def test_a_need_that_fits_no_domain_is_recorded_with_a_short_description(
    world: CareWorld,
) -> None:
    from api.outcomes.models import UnmetNeed

    gp = world.api("gp_other")
    done = gp.data(OTHER_NEED, i={"description": "A men's choir for beginners"})
    assert done["recordOtherUnmetNeed"] == {"recorded": True, "errors": []}
    long = gp.data(OTHER_NEED, i={"description": "x" * 201})["recordOtherUnmetNeed"]
    assert long["recorded"] is False and long["errors"][0]["field"] == "input.description"
    assert "at most 200 characters" in long["errors"][0]["message"]
    empty = gp.data(OTHER_NEED, i={"description": " "})["recordOtherUnmetNeed"]
    assert empty["errors"][0]["code"] == "REQUIRED"
    with world.db.session() as s:
        need = s.scalars(
            select(UnmetNeed).where(UnmetNeed.description == "A men's choir for beginners")
        ).one()
        assert need.domain is None


def test_statements_per_page_do_not_grow_with_the_page_size(world: CareWorld) -> None:
    """DataLoaders for every relation; the audit events of a page go in one batch."""
    from tests.conftest import StatementCounter

    for _ in range(12):
        prepared(world)
    query = """query($n: Int) { referrals(first: $n) { edges { node {
      id status practice { odsCode } linkWorker { name } locality { name } domains
      person { givenName nhsNumber } assessment { supportLevel }
      history { status note } signposts { session { title } attendance { date } }
      outcomes { total instrument { key } } nhsUse { period }
      messageBack { status activities { sessionTitle sessionsAttended }
        outcomes { instrumentKey } codes { code } }
    } } } }"""
    counts = []
    for size in (2, 12):
        with StatementCounter(world.db) as counter:
            page = world.api("lead").data(query, n=size)["referrals"]["edges"]
        assert len(page) == size
        assert all(edge["node"]["messageBack"]["codes"] for edge in page)
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
