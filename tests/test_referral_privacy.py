# ruff: noqa: F811  (the `world` fixture is imported, then used as an argument)
"""Personal data: encrypted at rest (the raw database holds neither the NHS number nor the
name), never logged, and every read and change audited without the personal data itself."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from api.audit.models import AuditEvent
from api.referrals.protection import DecryptionError, Protector
from tests.conftest import engine_name
from tests.referral_support import (
    SET_STATUS,
    CareWorld,
    create,
    nhs_number,
    world,  # noqa: F401 (fixture)
)

NAME = "Zebedee"
FAMILY = "Quokkaworth"
PHONE = "01632 960777"


def raw_database(world: CareWorld) -> bytes:
    """Everything stored: the SQLite file and its WAL, or every PostgreSQL table's rows."""
    world.db.engine.dispose()  # flush SQLite's WAL into view (both files are read anyway)
    if engine_name() == "sqlite":
        path = Path(world.db.engine.url.database)
        files = [path, path.with_name(path.name + "-wal")]
        return b"".join(p.read_bytes() for p in files if p.exists())
    chunks = []
    with world.db.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                chunks.append(repr(tuple(row)).encode())
    return b"\n".join(chunks)


def test_the_raw_database_holds_neither_nhs_number_nor_name(
    world: CareWorld, caplog: pytest.LogCaptureFixture
) -> None:
    number = nhs_number(424242)
    caplog.set_level(logging.DEBUG)
    result = create(
        world,
        person={
            "nhsNumber": number,
            "givenName": NAME,
            "familyName": FAMILY,
            "contact": {"preferredMethod": "PHONE", "phone": PHONE},
        },
        reason=f"{NAME} needs company",
    )
    assert result["errors"] == []
    # The API gives it back to those allowed...
    read = world.api("lead").data(
        "query($id: ID!) { referral(id: $id) { person { nhsNumber givenName } } }",
        id=result["referral"]["id"],
    )
    assert read["referral"]["person"]["givenName"] == NAME
    assert read["referral"]["person"]["nhsNumber"].replace(" ", "") == number
    # ...the stored bytes do not hold it.
    dump = raw_database(world)
    assert len(dump) > 10_000  # the dump is real
    assert b"Ada" in dump or b"Priya Shah" in dump  # plain text is readable in it
    for secret in (number, f"{number[:3]} {number[3:6]} {number[6:]}", NAME, FAMILY, PHONE):
        assert secret.encode() not in dump, secret
    # Nor the log.
    for secret in (number, NAME, FAMILY, PHONE):
        assert secret not in caplog.text


def test_a_wrong_key_cannot_read_and_the_lookup_hash_is_keyed() -> None:
    a, b = Protector("a-key-of-sixteen-chars"), Protector("another-key-of-sixteen")
    sealed = a.encrypt("nhs_number", "9434765919")
    assert a.decrypt("nhs_number", sealed) == "9434765919"
    with pytest.raises(DecryptionError):
        b.decrypt("nhs_number", sealed)
    with pytest.raises(DecryptionError):  # bound to its field
        a.decrypt("person", sealed)
    assert a.encrypt("nhs_number", "9434765919") != sealed  # a fresh nonce each time
    assert a.lookup_hash("9434765919") == a.lookup_hash("9434765919")
    assert a.lookup_hash("9434765919") != b.lookup_hash("9434765919")


def test_the_nhs_number_finds_the_referral_by_its_keyed_hash(world: CareWorld) -> None:
    number = nhs_number(515151)
    created = create(world, person={"nhsNumber": number})["referral"]["id"]
    query = """query($n: String) { referrals(filter: {nhsNumber: $n}) {
      totalCount edges { node { id } } } }"""
    spaced = f"{number[:3]} {number[3:6]} {number[6:]}"
    found = world.api("gp").data(query, n=spaced)["referrals"]
    assert [e["node"]["id"] for e in found["edges"]] == [created]
    assert world.api("gp_other").data(query, n=number)["referrals"]["totalCount"] == 0
    bad = world.api("gp").execute(query, n="123")
    assert bad["errors"][0]["extensions"]["field"] == "filter.nhsNumber"


def test_every_read_and_change_is_audited_without_personal_data(world: CareWorld) -> None:
    number = nhs_number(616161)
    result = create(world, person={"nhsNumber": number, "givenName": NAME})
    referral_id = result["referral"]["id"]
    world.api("gp").data("query($id: ID!) { referral(id: $id) { id } }", id=referral_id)
    world.api("lead").data(SET_STATUS, id=referral_id, status="CONTACTED", note=f"{NAME} ok")
    world.api("gp_other").data("query($id: ID!) { referral(id: $id) { id } }", id=referral_id)

    log = world.api("admin").data(
        """query($id: ID!) { auditLog(filter: {recordType: "referral", recordId: $id}, first: 50) {
          totalCount edges { node { actor action recordId detail at } } } }""",
        id=referral_id,
    )["auditLog"]
    actions = [(e["node"]["actor"], e["node"]["action"]) for e in reversed(log["edges"])]
    assert actions == [
        ("GP_PRACTICE:gp", "referral.create"),
        ("GP_PRACTICE:gp", "referral.read"),
        ("LEAD_PROVIDER:lead", "referral.status"),
    ]  # the other practice's attempt read nothing, so nothing was read
    assert log["edges"][0]["node"]["detail"] == {"status": "CONTACTED", "was": "RECEIVED"}
    with world.db.session() as s:
        rows = s.scalars(select(AuditEvent)).all()
        dump = repr([(r.actor, r.action, r.record_type, r.record_id, r.detail) for r in rows])
    assert number not in dump and NAME not in dump

    # Listing is audited per referral returned.
    before = log["totalCount"]
    world.api("lead").data(
        "query($n: String) { referrals(filter: {nhsNumber: $n}) { totalCount } }", n=number
    )
    after = world.api("admin").data(
        """query($id: ID!) { auditLog(filter: {recordId: $id, action: "referral.read"}) {
          totalCount } }""",
        id=referral_id,
    )["auditLog"]["totalCount"]
    assert after == 2 and before == 3


def test_an_audit_record_id_past_any_database_id_is_bad_input(world: CareWorld) -> None:
    # PostgreSQL refused it as out of range, and the caller got "Unexpected error.".
    errors = world.api("admin").execute(
        """query($id: ID!) { auditLog(filter: {recordId: $id}) { totalCount } }""",
        id="99999999999999999999",
    )["errors"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert errors[0]["extensions"]["field"] == "filter.recordId"
