# ruff: noqa: F811  (the `world` fixture is imported, then used as an argument)
"""Assessment, signposting, attendance, outcomes (validated against their instruments),
NHS use, a lead provider's own star scales, and the message back to the GP with its
SNOMED CT codes."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.referral_support import (
    ASSESS,
    SET_STATUS,
    CareWorld,
    assess,
    move,
    new_referral,
    world,  # noqa: F401 (fixture)
)
from tests.test_referral_access import SIGNPOST, gid

TODAY = dt.date.today().isoformat()
OUTCOME = """mutation($i: RecordOutcomeInput!) { recordOutcome(input: $i) {
  outcome { timePoint followUpMonths total scores { item score } instrument { key } }
  errors { field code message } } }"""
ONS4 = ("life_satisfaction", "worthwhile", "happiness", "anxiety")


def scores(*values: int, keys: tuple[str, ...] = ONS4) -> list[dict]:
    return [{"item": k, "score": v} for k, v in zip(keys, values, strict=False)]


def active(world: CareWorld) -> str:
    r = new_referral(world)
    move(world, r, "CONTACTED", "ASSESSED", "ACTIVE")
    return r


def test_assessment_is_validated_and_kept_encrypted(world: CareWorld) -> None:
    r = new_referral(world)
    early = world.api("lead").data(
        ASSESS, input={"referralId": r, "supportLevel": "LOW", "goals": ["g"], "actionPlan": "p"}
    )["recordAssessment"]
    assert early["errors"][0]["code"] == "INVALID_STATE"  # not contacted yet
    move(world, r, "CONTACTED")
    bad = world.api("lead").data(
        ASSESS,
        input={"referralId": r, "supportLevel": "LOW", "goals": [" "], "actionPlan": "",
               "coMorbidities": -1},
    )["recordAssessment"]  # fmt: skip
    assert {e["field"] for e in bad["errors"]} == {
        "input.goals",
        "input.actionPlan",
        "input.coMorbidities",
    }
    done = assess(world, r)["referral"]["assessment"]
    assert done == {
        "supportLevel": "MEDIUM",
        "goals": ["Walk to the shops again"],
        "actionPlan": "Try the Tuesday walking group with a buddy.",
    }


def test_signposting_and_attendance(world: CareWorld) -> None:
    r = active(world)
    walk = gid("Session", world.session_id("anytown-ramblers"))
    first = world.api("lead").data(SIGNPOST, r=r, s=[walk, walk])["signpostReferral"]
    assert first["errors"] == []
    again = world.api("lead").data(SIGNPOST, r=r, s=[walk])["signpostReferral"]
    assert again["errors"] == []
    unknown = world.api("lead").data(SIGNPOST, r=r, s=[gid("Session", 10**8)])
    assert unknown["signpostReferral"]["errors"][0]["code"] == "NOT_FOUND"
    attend = """mutation($i: AttendanceInput!) { recordAttendance(input: $i) {
      attendance { date attended } errors { field code } } }"""
    day = {"referralId": r, "sessionId": walk, "date": TODAY, "attended": True}
    assert world.api("lead").data(attend, i=day)["recordAttendance"]["attendance"] == {
        "date": TODAY,
        "attended": True,
    }
    # Recording the same day again corrects it.
    world.api("lead").data(attend, i=dict(day, attended=False))
    future = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    late = world.api("lead").data(attend, i=dict(day, date=future))["recordAttendance"]
    assert late["errors"][0]["field"] == "input.date"
    other = gid("Session", world.session_id("anytown-harriers"))
    never = world.api("lead").data(attend, i=dict(day, sessionId=other))["recordAttendance"]
    assert never["errors"][0]["code"] == "NOT_FOUND"
    got = world.api("lead").data(
        """query($id: ID!) { referral(id: $id) { signposts { session { title }
           attendance { date attended } } } }""",
        id=r,
    )["referral"]["signposts"]
    assert len(got) == 1 and got[0]["attendance"] == [{"date": TODAY, "attended": False}]


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"instrumentKey": "nope"}, "input.instrumentKey", "NOT_FOUND"),
        ({"scores": scores(5, 5, 5)}, "input.scores", "REQUIRED"),
        ({"scores": scores(5, 5, 5, 11)}, "input.scores.anxiety", "INVALID"),
        ({"scores": scores(5, 5, 5, -1)}, "input.scores.anxiety", "INVALID"),
        ({"scores": [*scores(5, 5, 5, 5), {"item": "mood", "score": 1}]}, "input.scores",
         "INVALID"),
        ({"scores": [*scores(5, 5, 5, 5), {"item": "anxiety", "score": 1}]}, "input.scores",
         "INVALID"),
        ({"timePoint": "FOLLOW_UP"}, "input.followUpMonths", "REQUIRED"),
        ({"timePoint": "FOLLOW_UP", "followUpMonths": 30}, "input.followUpMonths", "INVALID"),
        ({"followUpMonths": 6}, "input.followUpMonths", "INVALID"),
        ({"takenOn": "2999-01-01"}, "input.takenOn", "INVALID"),
        ({"takenOn": "2001-01-01"}, "input.takenOn", "INVALID"),
    ],
)  # fmt: skip
def test_outcomes_are_validated_against_the_instrument(
    world: CareWorld, change: dict, field: str, code: str
) -> None:
    r = active(world)
    base = {"referralId": r, "instrumentKey": "ons4", "timePoint": "BASELINE",
            "takenOn": TODAY, "scores": scores(5, 6, 7, 3)}  # fmt: skip
    result = world.api("lead").data(OUTCOME, i=dict(base, **change))["recordOutcome"]
    assert result["outcome"] is None
    assert (result["errors"][0]["field"], result["errors"][0]["code"]) == (field, code)


def test_outcomes_at_each_time_point_and_no_duplicates(world: CareWorld) -> None:
    r = active(world)
    base = {"referralId": r, "instrumentKey": "ltc6", "takenOn": TODAY}
    keys = ("information", "confidence", "support", "involvement", "care_plan", "living_well")
    ok = world.api("lead").data(
        OUTCOME, i=dict(base, timePoint="BASELINE", scores=scores(1, 1, 0, 2, 0, 1, keys=keys))
    )["recordOutcome"]
    assert ok["errors"] == [] and ok["outcome"]["total"] == 5
    dup = world.api("lead").data(
        OUTCOME, i=dict(base, timePoint="BASELINE", scores=scores(1, 1, 1, 1, 1, 1, keys=keys))
    )["recordOutcome"]
    assert dup["errors"][0]["code"] == "DUPLICATE"
    for months in (6, 12):
        follow = world.api("lead").data(
            OUTCOME,
            i=dict(base, timePoint="FOLLOW_UP", followUpMonths=months,
                   scores=scores(3, 3, 2, 2, 2, 3, keys=keys)),
        )["recordOutcome"]  # fmt: skip
        assert follow["outcome"]["followUpMonths"] == months


def test_a_sub_contracted_provider_records_outcomes_for_its_referrals(world: CareWorld) -> None:
    r = active(world)
    carers = gid("Session", world.session_id("anytown-carers-centre"))
    world.api("lead").data(SIGNPOST, r=r, s=[carers])
    i = {"referralId": r, "instrumentKey": "ons4", "timePoint": "BASELINE", "takenOn": TODAY,
         "scores": scores(4, 4, 4, 6)}  # fmt: skip
    assert world.api("provider").data(OUTCOME, i=i)["recordOutcome"]["errors"] == []


def test_a_lead_provider_sets_its_own_star_scales(world: CareWorld) -> None:
    configure = """mutation($i: ConfigureStarInstrumentInput!) {
      configureStarInstrument(input: $i) {
      instrument { key name scaleMin scaleMax items { key text } } errors { field code } } }"""
    made = world.api("lead").data(
        configure, i={"name": "Better star", "scales": ["Health", "Money", "Friends & family"]}
    )["configureStarInstrument"]
    instrument = made["instrument"]
    assert instrument["key"] == "star-better-services"
    assert (instrument["scaleMin"], instrument["scaleMax"]) == (1, 10)
    assert [i["key"] for i in instrument["items"]] == ["health", "money", "friends_family"]
    bad = world.api("lead").data(configure, i={"name": "x", "scales": ["Only one"]})
    assert bad["configureStarInstrument"]["errors"][0]["field"] == "input.scales"
    template = world.api("lead").data(
        configure, i={"templateKey": "ons4", "name": "x", "scales": ["a", "b"]}
    )
    assert template["configureStarInstrument"]["errors"][0]["code"] == "NOT_FOUND"

    r = active(world)
    i = {
        "referralId": r,
        "instrumentKey": "star-better-services",
        "timePoint": "BASELINE",
        "takenOn": TODAY,
        "scores": scores(3, 4, 5, keys=("health", "money", "friends_family")),
    }
    assert world.api("lead").data(OUTCOME, i=i)["recordOutcome"]["errors"] == []
    # Another lead provider's referrals cannot use it, and do not see it.
    keys = [x["key"] for x in world.api("lead_other").data("{ outcomeInstruments { key } }")[
        "outcomeInstruments"]]  # fmt: skip
    assert "star-better-services" not in keys and {"ons4", "ltc6", "star"} <= set(keys)


def test_nhs_use_before_and_after(world: CareWorld) -> None:
    r = active(world)
    use = """mutation($i: RecordNhsUseInput!) { recordNhsUse(input: $i) {
      nhsUse { period gpAppointments } errors { field code } } }"""
    counts = {"gpAppointments": 8, "aeAttendances": 2, "unplannedAdmissions": 1,
              "prescriptions": 20}  # fmt: skip
    for period in ("BEFORE", "AFTER"):
        result = world.api("gp").data(use, i=dict(counts, referralId=r, period=period))
        assert result["recordNhsUse"]["errors"] == []
    corrected = world.api("gp").data(
        use, i=dict(counts, referralId=r, period="AFTER", gpAppointments=3)
    )["recordNhsUse"]["nhsUse"]
    assert corrected == {"period": "AFTER", "gpAppointments": 3}
    bad = world.api("gp").data(use, i=dict(counts, referralId=r, period="AFTER", prescriptions=-2))
    assert bad["recordNhsUse"]["errors"] == [{"field": "input.prescriptions", "code": "INVALID"}]
    got = world.api("gp").data(
        "query($id: ID!) { referral(id: $id) { nhsUse { period gpAppointments } } }", id=r
    )
    assert got["referral"]["nhsUse"] == [
        {"period": "AFTER", "gpAppointments": 3},
        {"period": "BEFORE", "gpAppointments": 8},
    ]


MESSAGE = """query($id: ID!) { referral(id: $id) { messageBack {
  status receivedOn firstContactOn outcomesWithheld
  activities { sessionTitle providerName sessionsAttended sessionsMissed }
  outcomes { instrumentKey items { item baseline latest change improved } }
  codes { system code display date }
} } }"""


def test_the_message_back_to_the_gp_is_coded_and_respects_consent(world: CareWorld) -> None:
    r = active(world)
    walk = gid("Session", world.session_id("anytown-ramblers"))
    world.api("lead").data(SIGNPOST, r=r, s=[walk])
    base = {"referralId": r, "instrumentKey": "ons4", "takenOn": TODAY}
    world.api("lead").data(OUTCOME, i=dict(base, timePoint="BASELINE", scores=scores(3, 4, 4, 8)))
    world.api("lead").data(OUTCOME, i=dict(base, timePoint="END", scores=scores(6, 4, 3, 5)))
    message = world.api("gp").data(MESSAGE, id=r)["referral"]["messageBack"]
    assert message["status"] == "ACTIVE" and message["outcomesWithheld"] is False
    assert message["codes"] == [
        {
            "system": "http://snomed.info/sct",
            "code": "871731000000106",
            "display": "Referral to social prescribing service",
            "date": message["receivedOn"],
        }
    ]
    assert message["activities"][0]["providerName"] == "Anytown Ramblers"
    items = {i["item"]: i for i in message["outcomes"][0]["items"]}
    assert items["life_satisfaction"]["change"] == 3 and items["life_satisfaction"]["improved"]
    assert items["anxiety"]["change"] == -3 and items["anxiety"]["improved"]  # lower is better
    assert items["happiness"]["improved"] is False
    assert items["worthwhile"]["improved"] is None

    declined = new_referral(
        world, consent={"toBeReferred": True, "toShareOutcomesWithPractice": False}
    )
    world.api("lead").data(SET_STATUS, id=declined, status="DECLINED")
    message = world.api("gp").data(MESSAGE, id=declined)["referral"]["messageBack"]
    assert [c["code"] for c in message["codes"]] == ["871731000000106", "871711000000103"]
    assert message["codes"][1]["display"] == "Social prescribing declined"
    assert message["outcomes"] is None and message["outcomesWithheld"] is True
