# ruff: noqa: F811  (the `world` fixture is imported, then used as an argument)
"""A referral's equality data after it was made (issue 16, "who is reached"): read through
the policy (`Referral.equality`: the practice and the care team, who read the person's full
details), recorded, changed and cleared in the domain and with `recordEquality` /
`clearEquality` (typed errors for unknown codes; "prefer not to say" kept apart from "not
asked"), audited by the names of the parts that changed and never their values, and gone
with the rest of the personal data when the referral is purged."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json

import pytest
from sqlalchemy import select

from api.access import tokens
from api.audit.models import AuditEvent
from api.config import get_settings
from api.referrals import equality
from api.referrals.errors import ErrorCode, Rejected
from api.referrals.models import Referral
from api.referrals.protection import protector
from api.referrals.purge import purge
from api.reports.imd import import_imd
from tests.referral_support import (
    ENCRYPTION_KEY,
    SET_STATUS,
    CareWorld,
    new_referral,
    world,  # noqa: F401 (fixture)
)

GUARD = protector(get_settings(encryption_key=ENCRYPTION_KEY))

READ = """query($id: ID!) { referral(id: $id) { equality {
  sex { code label } ethnicCategory { code label } longTermConditions { code label }
  imdDecile declined } } }"""
RECORD = """mutation($id: ID!, $e: EqualityInput!) { recordEquality(referralId: $id, equality: $e) {
  referral { id equality { sex { code label } ethnicCategory { code } longTermConditions { code }
  imdDecile declined } } errors { field message code } } }"""
CLEAR = """mutation($id: ID!) { clearEquality(referralId: $id) {
  referral { id equality { imdDecile } } errors { field message code } } }"""


def _pk(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":")[1])


def _principal(world: CareWorld, who: str) -> tokens.Principal:
    with world.db.session() as s:
        found = tokens.authenticate(s, world.tokens[who])
    assert found is not None
    return found


def _stored(world: CareWorld, referral_id: str) -> dict | None:
    with world.db.session() as s:
        row = s.get(Referral, _pk(referral_id))
        assert row is not None
        return equality.read(GUARD, row.key_id, row.equality_enc)


def _audit(world: CareWorld, referral_id: str) -> list[AuditEvent]:
    with world.db.session() as s:
        return list(
            s.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.action == "referral.equality",
                    AuditEvent.record_id == _pk(referral_id),
                )
                .order_by(AuditEvent.id)
            )
        )


def test_prefer_not_to_say_is_kept_apart_from_not_asked() -> None:
    clean = equality.validate(
        equality.EqualityIn(declined=("ethnicCategory", "longTermConditions"))
    )
    # An ethnic category declined is the Data Dictionary's own code for it: Z, Not stated.
    assert clean.ethnic_category == "Z" and clean.declined == ("longTermConditions",)
    with pytest.raises(Rejected) as both:
        equality.validate(equality.EqualityIn(sex="1", declined=("sex", "religion")))
    assert {p.field for p in both.value.problems} == {"input.equality.sex",
                                                      "input.equality.declined"}  # fmt: skip


def test_the_domain_changes_and_clears_it_audited_by_part_never_by_value(
    world: CareWorld,
) -> None:
    with world.db.session() as s:
        import_imd(s, io.StringIO("postcode,imd_decile\nAT1 3AB,2\n"))
    contact = {"preferredMethod": "PHONE", "phone": "07700 900123", "postcode": "AT1 3AB"}
    r = new_referral(world, person={"contact": contact}, equality={"sex": "2"})
    lead = _principal(world, "lead")
    with world.db.session() as s:
        _row, changed = equality.change(
            s, lead, _pk(r), equality.EqualityIn("2", "N", ("asthma",)), GUARD
        )
    assert changed == ["ethnicCategory", "longTermConditions"]
    assert _stored(world, r) == {"sex": "2", "ethnicCategory": "N", "imdDecile": 2,
                                 "longTermConditions": ["asthma"]}  # fmt: skip
    with world.db.session() as s:
        _row, changed = equality.change(
            s, lead, _pk(r), equality.EqualityIn(None, "N", ("asthma",), ("sex",)), GUARD
        )
    assert changed == ["sex", "declined"]
    assert _stored(world, r)["declined"] == ["sex"]  # type: ignore[index]
    with world.db.session() as s:  # the same again: nothing changes, nothing is audited
        assert (
            equality.change(
                s, lead, _pk(r), equality.EqualityIn(None, "N", ("asthma",), ("sex",)), GUARD
            )[1]
            == []
        )
    with world.db.session() as s:
        _row, changed = equality.change(s, lead, _pk(r), None, GUARD)
    assert changed == ["ethnicCategory", "longTermConditions", "declined", "imdDecile"]
    assert _stored(world, r) is None
    events = _audit(world, r)
    assert [e.detail["changed"] for e in events] == [  # type: ignore[index]
        ["ethnicCategory", "longTermConditions"],
        ["sex", "declined"],
        ["ethnicCategory", "longTermConditions", "declined", "imdDecile"],
    ]
    assert [e.detail["cleared"] for e in events] == [False, False, True]  # type: ignore[index]
    text = json.dumps([e.detail for e in events])
    assert "asthma" not in text and '"N"' not in text and "AT1" not in text
    # Not the caller's referral: not found, as for one that does not exist.
    other = _principal(world, "lead_other")
    with world.db.session() as s, pytest.raises(Rejected) as missing:
        equality.change(s, other, _pk(r), equality.EqualityIn(sex="1"), GUARD)
    assert missing.value.problems[0].code is ErrorCode.NOT_FOUND


def test_graphql_reads_records_and_clears_it_with_typed_errors(world: CareWorld) -> None:
    r = new_referral(world, equality={"sex": "1", "longTermConditions": ["copd"]})
    first = world.api("gp").data(READ, id=r)["referral"]["equality"]
    assert first["sex"] == {"code": "1", "label": "Male"}
    assert first["longTermConditions"] == [
        {"code": "copd", "label": "Chronic obstructive pulmonary disease (COPD)"}
    ]
    assert first["ethnicCategory"] is None and first["declined"] == []

    done = world.api("lead").data(
        RECORD, id=r, e={"ethnicCategory": "h", "declined": ["SEX", "LONG_TERM_CONDITIONS"]}
    )["recordEquality"]
    assert done["errors"] == []
    assert done["referral"]["equality"] == {
        "sex": None, "ethnicCategory": {"code": "H"}, "longTermConditions": [],
        "imdDecile": None, "declined": ["SEX", "LONG_TERM_CONDITIONS"],
    }  # fmt: skip

    bad = world.api("lead").data(
        RECORD, id=r, e={"sex": "M", "ethnicCategory": "Q", "longTermConditions": ["gout"]}
    )["recordEquality"]
    assert bad["referral"] is None
    assert {(e["field"], e["code"]) for e in bad["errors"]} == {
        ("equality.sex", "INVALID"),
        ("equality.ethnicCategory", "INVALID"),
        ("equality.longTermConditions", "INVALID"),
    }
    assert "'gout'" in next(e["message"] for e in bad["errors"] if "longTerm" in e["field"])
    assert _stored(world, r)["ethnicCategory"] == "H"  # type: ignore[index]  (nothing changed)

    # The practice that referred may correct it too; another practice's is not found.
    gp = world.api("gp").data(RECORD, id=r, e={"sex": "2"})["recordEquality"]
    assert gp["errors"] == [] and gp["referral"]["equality"]["sex"]["code"] == "2"
    other = world.api("gp_other").data(RECORD, id=r, e={"sex": "2"})["recordEquality"]
    assert [e["code"] for e in other["errors"]] == ["NOT_FOUND"]

    cleared = world.api("admin").data(CLEAR, id=r)["clearEquality"]
    assert cleared == {"referral": {"id": r, "equality": None}, "errors": []}
    assert _stored(world, r) is None


@pytest.mark.parametrize("who", ["provider", "commissioner"])
def test_who_may_not_read_personal_details_gets_a_permission_error(
    world: CareWorld, who: str
) -> None:
    r = new_referral(world, equality={"sex": "2"})
    body = world.api(who).execute(RECORD, id=r, e={"sex": "1"})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    cleared = world.api(who).execute(CLEAR, id=r)
    assert cleared["errors"][0]["extensions"]["code"] == "FORBIDDEN", cleared
    assert _stored(world, r)["sex"] == "2"  # type: ignore[index]
    read = world.api(who).execute(READ, id=r)
    if who == "commissioner":  # reads no referral at all: a top-level permission error
        assert read["errors"][0]["extensions"]["code"] == "FORBIDDEN", read
    else:  # a provider reads the referrals signposted to it, with this part null (as the
        # person's other details): here, none is signposted to it
        assert read.get("errors") is None and read["data"]["referral"] is None


def test_purge_takes_the_equality_data_and_it_cannot_be_written_back(world: CareWorld) -> None:
    r = new_referral(world, equality={"sex": "2", "ethnicCategory": "A"})
    assert world.api("lead").data(RECORD, id=r, e={"sex": "9"})["recordEquality"]["errors"] == []
    world.api("lead").data(SET_STATUS, id=r, status="CLOSED", note="moved away")
    with world.db.session() as s:
        closed_at = s.get(Referral, _pk(r)).closed_at  # type: ignore[union-attr]
    now = closed_at.replace(tzinfo=closed_at.tzinfo or dt.UTC) + dt.timedelta(days=2)
    with world.db.session() as s:
        assert purge(s, retention_days=1, keys=GUARD.keys, now=now) >= 1
    with world.db.session() as s:
        assert s.get(Referral, _pk(r)).equality_enc is None  # type: ignore[union-attr]
    assert world.api("lead").data(READ, id=r)["referral"]["equality"] is None
    again = world.api("lead").data(RECORD, id=r, e={"sex": "2"})["recordEquality"]
    assert [e["code"] for e in again["errors"]] == ["INVALID_STATE"]
    assert _stored(world, r) is None
