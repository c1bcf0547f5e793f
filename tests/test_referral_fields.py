# ruff: noqa: F811  (the `world` fixture is imported, then used as an argument)
"""Field-level visibility: for each role and a referral it reaches, every field of `Referral`
(found by introspecting the schema, so a new field is covered the day it is added) is read,
and exactly the fields api/access/policy.py gives the role are non-null. README.md's table is
the one the policy writes."""

from __future__ import annotations

import base64
import datetime as dt
import re
from pathlib import Path

import pytest

from api.access import policy
from api.access.fields_table import END, START, markdown_table
from api.access.models import Role
from api.config import get_settings
from api.referrals.protection import protector
from api.referrals.purge import purge
from tests.referral_support import (
    ENCRYPTION_KEY,
    SET_STATUS,
    CareWorld,
    move,
    new_referral,
    world,  # noqa: F401 (fixture)
)

ROOT = Path(__file__).resolve().parent.parent
ROLE_OF = {
    "gp": Role.GP_PRACTICE,
    "lead": Role.LEAD_PROVIDER,
    "provider": Role.PROVIDER,
    "provider_informal": Role.PROVIDER,
    "admin": Role.ADMIN,
}

INTROSPECT = """query($name: String!) { __type(name: $name) { fields { name type {
  kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }"""


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _named(t: dict) -> dict:
    while t.get("ofType"):
        t = t["ofType"]
    return t


def selection(world: CareWorld, type_name: str, prefix: str = "") -> tuple[str, set[str]]:
    """Every field of ``type_name`` as a selection set, descending into the nested types the
    policy rules field by field; and every path it selects."""
    fields = world.api(None).data(INTROSPECT, name=type_name)["__type"]["fields"]
    parts, paths = [], set()
    for f in fields:
        path = prefix + snake(f["name"])
        paths.add(path)
        named = _named(f["type"])
        if named["kind"] in ("OBJECT", "INTERFACE"):
            if any(p.startswith(path + ".") for p in policy.ALL_REFERRAL_FIELDS):
                inner, inner_paths = selection(world, named["name"], path + ".")
                parts.append(f"{f['name']} {{ {inner} }}")
                paths |= inner_paths
            else:
                parts.append(f"{f['name']} {{ __typename }}")
        else:
            parts.append(f["name"])
    return " ".join(parts), paths


def non_null(value: object, prefix: str = "") -> set[str]:
    """The paths of ``value`` (a referral as read) that hold something ([] counts)."""
    found: set[str] = set()
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, dict):
            continue
        for key, v in item.items():
            if key == "__typename" or v is None:
                continue
            path = prefix + snake(key)
            found.add(path)
            if isinstance(v, dict | list):
                found |= non_null(v, path + ".") if _nested(path) else set()
    return found


def _nested(path: str) -> bool:
    return any(p.startswith(path + ".") for p in policy.ALL_REFERRAL_FIELDS)


def gid(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def everything_recorded(world: CareWorld, *, consent: bool = True) -> str:
    """A referral with something in every field: contacted (with a note), assessed,
    signposted to a sub-contracted and an informal provider, attendance, outcome, NHS use."""
    r = new_referral(
        world,
        consent={"toBeReferred": True, "toShareOutcomesWithPractice": consent},
        equality={"sex": "2", "ethnicCategory": "A", "longTermConditions": ["asthma"]},
    )
    world.api("lead").data(SET_STATUS, id=r, status="CONTACTED", note="rang, all fine")
    move(world, r, "ASSESSED")
    sessions = {
        who: gid("Session", world.session_id(key))
        for who, key in (
            ("provider", "anytown-carers-centre"),
            ("provider_informal", "anytown-cat-and-dog-shelter"),
        )
    }
    world.api("lead").data(
        """mutation($r: ID!, $s: [ID!]!) { signpostReferral(referralId: $r, sessionIds: $s) {
          errors { code } } }""",
        r=r,
        s=list(sessions.values()),
    )
    today = dt.date.today().isoformat()
    for who, session in sessions.items():
        world.api(who).data(
            """mutation($i: AttendanceInput!) { recordAttendance(input: $i) {
              errors { code } } }""",
            i={"referralId": r, "sessionId": session, "date": today, "attended": True},
        )
    scores = [
        {"item": k, "score": 5} for k in ("life_satisfaction", "worthwhile", "happiness", "anxiety")
    ]
    out = world.api("lead").data(
        """mutation($i: RecordOutcomeInput!) { recordOutcome(input: $i) { errors { code } } }""",
        i={
            "referralId": r,
            "instrumentKey": "ons4",
            "timePoint": "BASELINE",
            "takenOn": today,
            "scores": scores,
        },
    )
    assert out["recordOutcome"]["errors"] == []
    use = world.api("gp").data(
        """mutation($i: RecordNhsUseInput!) { recordNhsUse(input: $i) { errors { code } } }""",
        i={
            "referralId": r,
            "period": "BEFORE",
            "gpAppointments": 6,
            "aeAttendances": 1,
            "unplannedAdmissions": 0,
            "prescriptions": 12,
        },
    )
    assert use["recordNhsUse"]["errors"] == []
    if consent:
        agreed = world.api("lead").data(
            """mutation($i: PlanConsentInput!) { recordPlanConsent(input: $i) {
              errors { code } } }""",
            i={"referralId": r, "toShareGoalsWithPractice": True, "toReceiveOwnCopy": True},
        )
        assert agreed["recordPlanConsent"]["errors"] == []
    move(world, r, "ACTIVE")
    return r


def read_all(world: CareWorld, who: str, referral_id: str) -> tuple[dict | None, set[str]]:
    fields, paths = selection(world, "Referral")
    body = world.api(who).data(
        f"query($id: ID!) {{ referral(id: $id) {{ {fields} }} }}", id=referral_id
    )
    return body["referral"], paths


def test_each_role_reads_exactly_the_fields_the_policy_gives_it(world: CareWorld) -> None:
    r = everything_recorded(world)
    admin, paths = read_all(world, "admin", r)
    # The policy names every field the schema has (a new field must be given a row).
    assert paths == set(policy.ALL_REFERRAL_FIELDS), paths ^ set(policy.ALL_REFERRAL_FIELDS)
    # The referral really has something in every field but the ones an open referral lacks.
    has_data = non_null(admin)
    assert policy.ALL_REFERRAL_FIELDS - has_data == {"closed_at", "purged_at"}
    for who, role in ROLE_OF.items():
        seen, _ = read_all(world, who, r)
        assert seen is not None, who
        expected = policy.referral_fields(role, consent_share_outcomes=True) & has_data
        assert non_null(seen) == expected, (who, non_null(seen) ^ expected)
    # A provider sees its own signposts only.
    for who in ("provider", "provider_informal"):
        seen, _ = read_all(world, who, r)
        assert len(seen["signposts"]) == 1 and len(admin["signposts"]) == 2


def test_without_consent_the_practice_reads_no_outcomes(world: CareWorld) -> None:
    r = everything_recorded(world, consent=False)
    admin, _ = read_all(world, "admin", r)
    gp, _ = read_all(world, "gp", r)
    expected = policy.referral_fields(Role.GP_PRACTICE, consent_share_outcomes=False)
    assert non_null(gp) == expected & non_null(admin)
    assert "outcomes" in non_null(admin) and gp["messageBack"]["outcomesWithheld"] is True


def test_a_provider_reads_nothing_of_a_referral_that_has_ended(world: CareWorld) -> None:
    r = everything_recorded(world)
    move(world, r, "COMPLETED")
    for who in ("provider", "provider_informal"):
        assert read_all(world, who, r)[0] is None
        listed = world.api(who).data("{ referrals(first: 100) { edges { node { id } } } }")
        assert r not in [e["node"]["id"] for e in listed["referrals"]["edges"]]
    # The care team and the practice still read it; closed, then purged.
    admin, _ = read_all(world, "admin", r)
    assert admin["closedAt"] is not None
    for who, role in (("gp", Role.GP_PRACTICE), ("lead", Role.LEAD_PROVIDER)):
        seen, _ = read_all(world, who, r)
        expected = policy.referral_fields(role, consent_share_outcomes=True) & non_null(admin)
        assert non_null(seen) == expected, who
    with world.db.session() as s:
        keys = protector(get_settings(encryption_key=ENCRYPTION_KEY)).keys
        assert purge(
            s, retention_days=0, keys=keys, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        )
    admin, _ = read_all(world, "admin", r)
    assert admin["purgedAt"] is not None and admin["person"] is None
    assert read_all(world, "gp", r)[0]["purgedAt"] == admin["purgedAt"]


def test_a_subcontracted_provider_still_records_end_scores_after_the_end(
    world: CareWorld,
) -> None:
    r = everything_recorded(world)
    move(world, r, "COMPLETED")
    scores = [
        {"item": k, "score": 6} for k in ("life_satisfaction", "worthwhile", "happiness", "anxiety")
    ]
    body = world.api("provider").data(
        """mutation($i: RecordOutcomeInput!) { recordOutcome(input: $i) {
          outcome { timePoint } errors { code } } }""",
        i={
            "referralId": r,
            "instrumentKey": "ons4",
            "timePoint": "END",
            "takenOn": dt.date.today().isoformat(),
            "scores": scores,
        },
    )["recordOutcome"]
    assert body == {"outcome": {"timePoint": "END"}, "errors": []}
    assert read_all(world, "provider", r)[0] is None  # written, not read


@pytest.mark.parametrize("role", list(Role))
def test_readable_fields_is_a_plain_function_of_the_role(role: Role) -> None:
    fields = policy.readable_fields(role)
    assert isinstance(fields, frozenset) and fields <= policy.ALL_REFERRAL_FIELDS
    if role is Role.PROVIDER:
        assert fields == {
            "id",
            "preferred_language",
            "needs_interpreter",
            "person",
            "person.given_name",
            "person.preferred_language",
            "person.needs_interpreter",
            "signposts",
            "signposts.signposted_at",
            "signposts.session",
            "signposts.attendance",
        }


def test_the_readme_table_is_the_one_the_policy_writes() -> None:
    readme = (ROOT / "README.md").read_text()
    assert START in readme and END in readme, "README.md has no generated referral-fields table"
    written = readme[readme.index(START) : readme.index(END) + len(END)]
    assert written == markdown_table(), "run: python3 -m api.access.fields_table"
