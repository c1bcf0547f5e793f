# ruff: noqa: F811  (the `world` fixture is imported, then used as an argument)
"""Creating referrals (validation, routing, idempotency, also under concurrent retries) and
their lifecycle (every transition)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from sqlalchemy import func, select

from api.access import tokens
from api.config import get_settings
from api.referrals import intake, lifecycle
from api.referrals.enums import ContactMethod
from api.referrals.enums import ReferralStatus as S
from api.referrals.errors import Rejected
from api.referrals.models import Referral, ReferralEvent
from api.referrals.nhs_number import InvalidNhsNumber, normalise_nhs_number
from api.referrals.protection import protector
from tests.referral_support import (
    ENCRYPTION_KEY,
    SET_STATUS,
    CareWorld,
    assess,
    create,
    move,
    new_referral,
    nhs_number,
    referral_input,
    world,  # noqa: F401 (fixture)
)

GET = """query($id: ID!) { referral(id: $id) {
  id status history { fromStatus status by note } contactedAt contactWorkingDays closedAt
} }"""


def count_referrals(world: CareWorld) -> int:
    with world.db.session() as s:
        return s.scalar(select(func.count()).select_from(Referral))


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("943 476 5919", True),
        ("943-476-5919", True),
        ("9434765919", True),
        ("9990000019", False),  # valid would end in 8
        ("9434765918", False),  # wrong check digit
        ("94347659", False),
        ("94347659AB", False),
        ("", False),
    ],
)
def test_nhs_numbers_are_checked_with_modulus_11(value: str, ok: bool) -> None:
    if ok:
        assert normalise_nhs_number(value) == "9434765919"
    else:
        with pytest.raises(InvalidNhsNumber):
            normalise_nhs_number(value)


def test_a_referral_is_routed_to_the_practices_named_link_worker(world: CareWorld) -> None:
    result = create(world)
    assert result["errors"] == []
    assert result["created"] is True
    referral = result["referral"]
    assert referral["status"] == "RECEIVED"
    assert referral["practice"]["odsCode"] == "C81001"
    assert referral["linkWorker"]["name"] == "Priya Shah"
    with world.db.session() as s:
        row = s.get(Referral, int(_pk(referral["id"])))
        assert row.locality_id == s.scalar(
            select(func.min(Referral.locality_id)).where(Referral.id == row.id)
        )
        assert row.contact_due_on > row.received_at.date()


def _pk(global_id: str) -> str:
    import base64

    return base64.b64decode(global_id).decode().split(":")[1]


def test_a_retry_returns_the_same_referral_and_creates_nothing(world: CareWorld) -> None:
    key = str(uuid.uuid4())
    data = referral_input()
    from tests.referral_support import CREATE

    api = world.api("gp")
    first = api.data(CREATE, input=data, key=key)["createReferral"]
    before = count_referrals(world)
    again = api.data(CREATE, input=data, key=key)["createReferral"]
    assert again["created"] is False and again["errors"] == []
    assert again["referral"]["id"] == first["referral"]["id"]
    assert count_referrals(world) == before

    changed = dict(data, reason="Something else entirely")
    reused = api.data(CREATE, input=changed, key=key)["createReferral"]
    assert reused["referral"] is None
    assert reused["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert reused["errors"][0]["field"] == "idempotencyKey"
    assert count_referrals(world) == before

    # Keys belong to a practice: another practice's same key is a different referral.
    other = api.__class__(world.http, world.tokens["gp_other"]).data(CREATE, input=data, key=key)
    assert other["createReferral"]["created"] is True


def test_concurrent_retries_create_exactly_one_referral(world: CareWorld) -> None:
    """Eight requests with one key at the same moment, each in its own transaction."""
    settings = get_settings(encryption_key=ENCRYPTION_KEY)
    guard = protector(settings)
    key = str(uuid.uuid4())
    person = intake.PersonIn(
        nhs_number=nhs_number(),
        given_name="Concurrent",
        family_name="Retry",
        date_of_birth=dt.date(1961, 1, 2),
        contact=intake.ContactIn(ContactMethod.PHONE, phone="07700 900999"),
    )
    data = intake.ReferralIn(
        person=person, reason="Low mood", consent_to_refer=True, consent_share_outcomes=False
    )
    with world.db.session() as s:
        principal = tokens.authenticate(s, world.tokens["gp"])
    before = count_referrals(world)
    barrier = threading.Barrier(8)
    results: list[tuple[int, bool]] = []
    failures: list[BaseException] = []

    def attempt() -> None:
        try:
            barrier.wait()
            referral, created = world.db.write(
                lambda s: intake.create_referral(s, principal, data, key, guard)
            )
            results.append((referral.id, created))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len({rid for rid, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert count_referrals(world) == before + 1


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"person": {"nhsNumber": "9434765918"}}, "input.person.nhsNumber", "INVALID"),
        ({"person": {"nhsNumber": "12345"}}, "input.person.nhsNumber", "INVALID"),
        ({"person": {"givenName": "  "}}, "input.person.givenName", "REQUIRED"),
        ({"person": {"familyName": ""}}, "input.person.familyName", "REQUIRED"),
        ({"person": {"givenName": "x" * 101}}, "input.person.givenName", "INVALID"),
        ({"person": {"dateOfBirth": "2999-01-01"}}, "input.person.dateOfBirth", "INVALID"),
        ({"person": {"dateOfBirth": "1850-01-01"}}, "input.person.dateOfBirth", "INVALID"),
        ({"person": {"preferredLanguage": "Bengali"}}, "input.person.preferredLanguage", "INVALID"),
        (
            {"person": {"contact": {"preferredMethod": "EMAIL"}}},
            "input.person.contact.email",
            "REQUIRED",
        ),
        (
            {"person": {"contact": {"preferredMethod": "LETTER", "phone": "07700 900123"}}},
            "input.person.contact.address",
            "REQUIRED",
        ),
        (
            {"person": {"contact": {"preferredMethod": "PHONE", "phone": "12"}}},
            "input.person.contact.phone",
            "INVALID",
        ),
        (
            {"person": {"contact": {"preferredMethod": "EMAIL", "email": "not-an-email"}}},
            "input.person.contact.email",
            "INVALID",
        ),
        (
            {
                "person": {
                    "contact": {
                        "preferredMethod": "LETTER",
                        "address": "1 High St",
                        "postcode": "NOT A POSTCODE",
                    }
                }
            },
            "input.person.contact.postcode",
            "INVALID",
        ),
        ({"reason": " "}, "input.reason", "REQUIRED"),
        ({"reason": "x" * 2001}, "input.reason", "INVALID"),
        ({"whatMatters": "x" * 2001}, "input.whatMatters", "INVALID"),
        ({"notes": "x" * 2001}, "input.notes", "INVALID"),
        (
            {"consent": {"toBeReferred": False, "toShareOutcomesWithPractice": True}},
            "input.consent.toBeReferred",
            "CONSENT_REQUIRED",
        ),
        (
            {
                "consent": {
                    "toBeReferred": True,
                    "toShareOutcomesWithPractice": True,
                    "recordedAt": "2999-01-01T00:00:00+00:00",
                }
            },
            "input.consent.recordedAt",
            "INVALID",
        ),
    ],
)
def test_every_validation_gives_a_typed_error_and_creates_nothing(
    world: CareWorld, overrides: dict, field: str, code: str
) -> None:
    before = count_referrals(world)
    result = create(world, **overrides)
    assert result["referral"] is None
    assert {"field": field, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in result["errors"]
    ], result["errors"]
    assert all(e["message"] for e in result["errors"])
    assert count_referrals(world) == before


def test_every_problem_is_reported_at_once(world: CareWorld) -> None:
    result = create(
        world,
        person={"nhsNumber": "1", "givenName": ""},
        reason="",
        consent={"toBeReferred": False, "toShareOutcomesWithPractice": False},
    )
    fields = {e["field"] for e in result["errors"]}
    assert fields == {
        "input.person.nhsNumber",
        "input.person.givenName",
        "input.reason",
        "input.consent.toBeReferred",
    }


@pytest.mark.parametrize("key", ["", "k" * 201])
def test_a_bad_idempotency_key_is_refused(world: CareWorld, key: str) -> None:
    from tests.referral_support import CREATE

    result = world.api("gp").data(CREATE, input=referral_input(), key=key)["createReferral"]
    assert result["errors"][0]["field"] == "idempotencyKey"


ALL = list(S)


def reach(world: CareWorld, target: S) -> str:
    """A new referral brought to ``target`` by a valid path."""
    paths = {
        S.RECEIVED: [],
        S.CONTACTED: ["CONTACTED"],
        S.ASSESSED: ["CONTACTED", "ASSESSED"],
        S.ACTIVE: ["CONTACTED", "ASSESSED", "ACTIVE"],
        S.COMPLETED: ["CONTACTED", "ASSESSED", "ACTIVE", "COMPLETED"],
        S.DID_NOT_ATTEND: ["CONTACTED", "DID_NOT_ATTEND"],
        S.DECLINED: ["DECLINED"],
        S.CLOSED: ["CLOSED"],
    }
    referral_id = new_referral(world)
    move(world, referral_id, *paths[target])
    return referral_id


@pytest.mark.parametrize("start", ALL, ids=str)
def test_every_transition_is_allowed_or_a_typed_error(world: CareWorld, start: S) -> None:
    for target in ALL:
        referral_id = reach(world, start)
        if (
            target is S.ASSESSED
            and start in lifecycle.TRANSITIONS
            and target in (lifecycle.TRANSITIONS[start])
        ):
            assess(world, referral_id)
        result = world.api("lead").data(
            SET_STATUS, id=referral_id, status=target.value, note=f"{start}->{target}"
        )["updateReferralStatus"]
        if target in lifecycle.TRANSITIONS[start]:
            assert result["errors"] == [], (start, target, result)
            assert result["referral"]["status"] == target.value
        else:
            assert result["referral"] is None
            assert result["errors"][0]["code"] == "INVALID_TRANSITION", (start, target)
            assert start.value in result["errors"][0]["message"]
            now = world.api("lead").data(GET, id=referral_id)["referral"]["status"]
            assert now == start.value


def test_the_expected_paths_exist() -> None:
    t = lifecycle.TRANSITIONS
    assert S.CONTACTED in t[S.RECEIVED] and S.ASSESSED in t[S.CONTACTED]
    assert S.ACTIVE in t[S.ASSESSED] and S.COMPLETED in t[S.ACTIVE]
    assert all(not t[s] for s in (S.COMPLETED, S.DECLINED, S.CLOSED))
    assert S.COMPLETED not in t[S.RECEIVED]


def test_assessed_needs_an_assessment_first(world: CareWorld) -> None:
    referral_id = reach(world, S.CONTACTED)
    result = world.api("lead").data(SET_STATUS, id=referral_id, status="ASSESSED")
    assert result["updateReferralStatus"]["errors"][0]["code"] == "INVALID_STATE"


def test_each_change_records_who_when_and_the_note(world: CareWorld) -> None:
    referral_id = new_referral(world)
    world.api("lead").data(SET_STATUS, id=referral_id, status="CONTACTED", note="Rang her")
    got = world.api("lead").data(GET, id=referral_id)["referral"]
    assert [(h["fromStatus"], h["status"]) for h in got["history"]] == [
        (None, "RECEIVED"),
        ("RECEIVED", "CONTACTED"),
    ]
    assert got["history"][0]["by"] == "GP_PRACTICE:gp"
    assert (
        got["history"][1]["by"] == "LEAD_PROVIDER:lead" and got["history"][1]["note"] == "Rang her"
    )
    assert got["contactedAt"] is not None and got["contactWorkingDays"] == 0
    # The practice sees the history but not the care team's notes.
    as_gp = world.api("gp").data(GET, id=referral_id)["referral"]
    assert as_gp["history"][1]["note"] is None
    # Ends are timestamped.
    world.api("lead").data(SET_STATUS, id=referral_id, status="CLOSED")
    assert world.api("lead").data(GET, id=referral_id)["referral"]["closedAt"] is not None


def test_domain_functions_refuse_without_changing(world: CareWorld) -> None:
    referral_id = int(_pk(new_referral(world)))
    guard = protector(get_settings(encryption_key=ENCRYPTION_KEY))
    with world.db.session() as s:
        principal = tokens.authenticate(s, world.tokens["lead"])
    with pytest.raises(Rejected), world.db.session() as s:
        referral = s.get(Referral, referral_id)
        lifecycle.change_status(s, principal, referral, S.COMPLETED, guard)
    with world.db.session() as s:
        assert s.get(Referral, referral_id).status is S.RECEIVED
        assert s.scalar(select(func.count()).where(ReferralEvent.referral_id == referral_id)) == 1
