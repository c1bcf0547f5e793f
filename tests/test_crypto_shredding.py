# ruff: noqa: F811  (the `world` fixture is imported, then used as an argument)
"""Purged personal data cannot be read back from anything that stays behind: each referral's
data is encrypted with its own data key, and `petunia purge` destroys the key. Checked on the
raw bytes (the SQLite file and its WAL; PostgreSQL's heap files and WAL segments, read
directly when this process may read the server's data folder), on PostgreSQL's statistics,
on the key store's own file, and on a backup taken before the purge (a copy of the SQLite
file; `pg_dump`), which no longer decrypts. Also: decided registrations' and resolved problem
reports' email addresses are forgotten after their retention period."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from api.cli import app
from api.config import get_settings
from api.directory.models import Provider
from api.referrals.keys import data_keys
from api.referrals.models import Referral, ReferralEvent
from api.referrals.protection import DecryptionError, KeyDestroyed, protector
from api.referrals.purge import purge
from api.referrals.rekey import rekey, rotate_lookup_key
from api.registration.models import (
    ProblemReport,
    Registration,
    RegistrationKind,
    RegistrationStatus,
    ReportKind,
    ReportStatus,
)
from tests.conftest import engine_name
from tests.referral_support import (
    ENCRYPTION_KEY,
    SET_STATUS,
    CareWorld,
    new_referral,
    nhs_number,
    world,  # noqa: F401 (fixture)
)

GUARD = protector(get_settings(encryption_key=ENCRYPTION_KEY))
TOKEN = re.compile(rb"v[12]:[A-Za-z0-9+/]{20,}={0,2}")
FIELDS = ("nhs_number", "person", "plan", "note")


def _pk(global_id: str) -> int:
    import base64

    return int(base64.b64decode(global_id).decode().split(":")[1])


def opens(token: bytes | str, key_id: str | None) -> bool:
    """Whether anything that exists now decrypts ``token``: the master key, or the key in
    the store under ``key_id``."""
    token = token.decode() if isinstance(token, bytes) else token
    key = GUARD.keys.get_many([key_id]).get(key_id) if key_id else None
    for field in FIELDS:
        try:
            GUARD.decrypt(field, token, key)
            return True
        except (DecryptionError, KeyDestroyed, ValueError):
            continue
    return False


def closed_referral(world: CareWorld, name: str, number: str) -> Referral:
    r = new_referral(world, person={"nhsNumber": number, "givenName": name})
    world.api("lead").data(SET_STATUS, id=r, status="CONTACTED", note=f"{name} is keen")
    world.api("lead").data(SET_STATUS, id=r, status="CLOSED")
    with world.db.session() as s:
        return s.get(Referral, _pk(r))


def purge_now(world: CareWorld) -> None:
    with world.db.session() as s:
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        assert purge(s, retention_days=0, keys=GUARD.keys, now=later) >= 1


def tokens_of(row: Referral, world: CareWorld) -> list[str]:
    with world.db.session() as s:
        notes = s.scalars(
            select(ReferralEvent.note_enc).where(
                ReferralEvent.referral_id == row.id, ReferralEvent.note_enc.is_not(None)
            )
        ).all()
    found = [row.nhs_number_enc, row.person_enc, *notes]
    assert all(found) and len(found) == 3
    return found


# ---------------------------------------------------------------------------------------------
# Backups taken before the purge


def backup(world: CareWorld, tmp_path: Path) -> bytes:
    """A backup as an operator would take it: a copy of the SQLite database (and WAL), or
    `pg_dump` of the database."""
    if engine_name() == "sqlite":
        path = Path(world.db.engine.url.database)
        copy = tmp_path / "backup.db"
        with sqlite3.connect(path) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        return copy.read_bytes()
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    url = world.db.engine.url.set(drivername="postgresql")
    dump = subprocess.run(
        ["pg_dump", "--data-only", url.render_as_string(hide_password=False)],
        capture_output=True,
        check=True,
    )
    return dump.stdout


def test_an_old_backup_does_not_decrypt_after_the_purge(world: CareWorld, tmp_path: Path) -> None:
    row = closed_referral(world, "Backupella", nhs_number(717171))
    sealed = tokens_of(row, world)
    before = backup(world, tmp_path)
    for token in sealed:  # the backup holds the ciphertext, and it decrypts today
        assert token.encode() in before
        assert opens(token, row.key_id)
    purge_now(world)
    # The same backup, after the purge, with the same master key: nothing opens.
    in_backup = [t for t in TOKEN.findall(before) if t.decode() in sealed]
    assert sorted(t.decode() for t in in_backup) == sorted(sealed)
    assert not [t for t in in_backup if opens(t, row.key_id)]
    assert row.key_id is not None and GUARD.keys.get_many([row.key_id]) == {}


# ---------------------------------------------------------------------------------------------
# Raw pages and WAL


def _pg_files(world: CareWorld, start_lsn: str) -> bytes | None:
    """The heap files of the referral tables and the WAL segments written since
    ``start_lsn``, read directly; None when this process may not read them."""
    with world.db.engine.connect() as conn:
        conn.execute(text("CHECKPOINT"))
        data = Path(conn.scalar(text("SHOW data_directory")))
        heaps = [
            conn.scalar(text("SELECT pg_relation_filepath(:t)"), {"t": t})
            for t in ("referrals", "referral_events")
        ]
        first = conn.scalar(text("SELECT pg_walfile_name(CAST(:l AS pg_lsn))"), {"l": start_lsn})
        last = conn.scalar(text("SELECT pg_walfile_name(pg_current_wal_lsn())"))
    try:
        chunks = [(data / h).read_bytes() for h in heaps]
        wal = sorted(p for p in (data / "pg_wal").iterdir() if first <= p.name <= last)
        chunks += [p.read_bytes() for p in wal if len(p.name) == 24]
    except PermissionError:
        return None
    return b"".join(chunks)


def test_raw_pages_and_wal_hold_nothing_readable_after_the_purge(world: CareWorld) -> None:
    start_lsn = None
    if engine_name() == "postgresql":
        with world.db.engine.connect() as conn:
            start_lsn = conn.scalar(text("SELECT CAST(pg_current_wal_lsn() AS text)"))
    name, number = "Rawpagella", nhs_number(727272)
    row = closed_referral(world, name, number)
    sealed = tokens_of(row, world)
    with GUARD.keys.engine.connect() as conn:
        wrapped = conn.scalar(select(data_keys.c.wrapped).where(data_keys.c.key_id == row.key_id))
    assert wrapped
    purge_now(world)

    if engine_name() == "sqlite":
        # The file and its WAL as they are (the WAL still holds the pages as they were before
        # the purge), then after a checkpoint.
        path = Path(world.db.engine.url.database)
        files = (path, Path(f"{path}-wal"))
        raw = b"".join(p.read_bytes() for p in files if p.exists())
        assert any(t.encode() in raw for t in sealed)  # the ciphertext is really there
        world.db.engine.dispose()  # the last connection checkpoints the WAL into the file
        raw += b"".join(p.read_bytes() for p in files if p.exists())
    else:
        raw = _pg_files(world, start_lsn)
        if raw is None:
            pytest.skip("the PostgreSQL data folder is not readable by this user")
        # PostgreSQL keeps the old row versions and the WAL: the ciphertext is really there.
        assert any(t.encode() in raw for t in sealed)
    assert len(raw) > 10_000
    for secret in (name, number):
        assert secret.encode() not in raw
    # Whatever ciphertext is left of this referral, nothing that exists now opens it.
    left = [t for t in TOKEN.findall(raw) if t.decode() in sealed]
    assert not [t for t in left if opens(t, row.key_id)]
    # ...and the key store's own file holds neither the wrapped key nor its id any more.
    store = GUARD.keys.engine.url.database
    GUARD.keys.engine.dispose()
    store_bytes = b"".join(
        p.read_bytes()
        for p in (Path(store), Path(f"{store}-journal"), Path(f"{store}-wal"))
        if p.exists()
    )
    assert wrapped not in store_bytes and row.key_id.encode() not in store_bytes


@pytest.mark.skipif(engine_name() != "postgresql", reason="PostgreSQL's planner statistics")
def test_postgresql_statistics_sample_no_personal_data(world: CareWorld) -> None:
    for i in range(5):
        closed_referral(world, f"Statistica{i}", nhs_number(737370 + i))
    with world.db.engine.connect() as conn:
        conn.execute(text("ANALYZE referrals"))
        conn.execute(text("ANALYZE referral_events"))
        sampled = conn.scalars(
            text(
                "SELECT c.relname || '.' || a.attname FROM pg_statistic s "
                "JOIN pg_class c ON c.oid = s.starelid "
                "JOIN pg_attribute a ON a.attrelid = s.starelid AND a.attnum = s.staattnum "
                "WHERE c.relname IN ('referrals', 'referral_events', 'registrations', "
                "'problem_reports', 'listing_contacts')"
            )
        ).all()
    assert sampled  # ANALYZE ran: other columns have statistics
    personal = {
        "referrals.nhs_number_enc",
        "referrals.nhs_number_hash",
        "referrals.person_enc",
        "referrals.plan_enc",
        "referral_events.note_enc",
        "registrations.email",
        "problem_reports.reporter_email",
        "listing_contacts.email",
    }
    assert personal.isdisjoint(sampled), personal & set(sampled)


def test_a_purged_referrals_old_lookup_hash_cannot_be_tested_any_more(world: CareWorld) -> None:
    """The NHS-number hash of a purged referral stays in old row versions and backups; with a
    replaced lookup key nobody can test guessed NHS numbers against it."""
    number, other = nhs_number(757575), nhs_number(767676)
    row = closed_referral(world, "Hashella", number)
    live = new_referral(world, person={"nhsNumber": other})
    assert row.nhs_number_hash in GUARD.nhs_hashes(number)  # testable today
    purge_now(world)
    with world.db.session() as s:
        assert rotate_lookup_key(s, GUARD) >= 1
    assert row.nhs_number_hash not in GUARD.nhs_hashes(number)
    # The live referral is still found by its NHS number.
    query = "query($n: String) { referrals(filter: {nhsNumber: $n}) { edges { node { id } } } }"
    found = world.api("lead").data(query, n=other)["referrals"]["edges"]
    assert [e["node"]["id"] for e in found] == [live]


def test_a_key_whose_referral_was_never_written_is_destroyed_a_day_on(world: CareWorld) -> None:
    old_id, fresh_id = str(uuid.uuid4()), GUARD.keys.create()[0]
    with GUARD.keys.engine.begin() as conn:  # as left by a request that failed two days ago
        conn.execute(
            data_keys.insert().values(
                key_id=old_id,
                kek_id=GUARD.keys.kek_id,
                wrapped=b"\0" * 60,
                created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2),
            )
        )
    used = closed_referral(world, "Orphanella", nhs_number(747474)).key_id
    with world.db.session() as s:
        purge(s, retention_days=10_000, keys=GUARD.keys)
    with GUARD.keys.engine.connect() as conn:
        left = set(conn.scalars(select(data_keys.c.key_id)))
    assert old_id not in left and {fresh_id, used} <= left
    GUARD.keys.destroy([fresh_id])


def test_a_referral_whose_key_is_gone_reads_as_purged(world: CareWorld) -> None:
    """The key is destroyed first; until the rest of the purge runs, nothing is readable."""
    r = new_referral(world, person={"givenName": "Halfpurgella"})
    with world.db.session() as s:
        GUARD.keys.destroy([s.get(Referral, _pk(r)).key_id])
    read = world.api("lead").data(
        "query($id: ID!) { referral(id: $id) { status person { givenName } reason } }", id=r
    )["referral"]
    assert read == {"status": "RECEIVED", "person": None, "reason": None}


# ---------------------------------------------------------------------------------------------
# Referrals from before data keys


def test_rekey_moves_old_referrals_onto_a_key_of_their_own(world: CareWorld) -> None:
    r = new_referral(world, person={"givenName": "Oldkeyella"})
    query = "query($id: ID!) { referral(id: $id) { person { givenName } reason } }"
    expected = world.api("lead").data(query, id=r)
    with world.db.session() as s:  # as written before data keys: under the master key
        row = s.get(Referral, _pk(r))
        key = GUARD.keys.get(row.key_id)
        for column, field in (("nhs_number_enc", "nhs_number"), ("person_enc", "person")):
            plain = GUARD.decrypt(field, getattr(row, column), key)
            setattr(row, column, GUARD.encrypt(field, plain))
        GUARD.keys.destroy([row.key_id])
        row.key_id = None
    assert world.api("lead").data(query, id=r) == expected  # still readable
    with world.db.session() as s:
        assert rekey(s, GUARD) >= 1
        assert rekey(s, GUARD) == 0
    with world.db.session() as s:
        row = s.get(Referral, _pk(r))
        assert row.key_id and row.person_enc.startswith("v2:")
        assert not opens(row.person_enc, None)  # the master key alone no longer opens it
    assert world.api("lead").data(query, id=r) == expected


# ---------------------------------------------------------------------------------------------
# Email addresses past their use


def test_purge_forgets_the_addresses_of_decided_registrations_and_of_reporters(
    world: CareWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=91)
    recently = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    addresses = {}
    with world.db.session() as s:
        provider_id = s.scalar(select(Provider.id).order_by(Provider.id))
        for label, status, decided in (
            ("approved-old", RegistrationStatus.APPROVED, long_ago),
            ("rejected-old", RegistrationStatus.REJECTED, long_ago),
            ("approved-new", RegistrationStatus.APPROVED, recently),
            ("pending", RegistrationStatus.PENDING_REVIEW, None),
        ):
            email = f"{label}-{uuid.uuid4().hex[:6]}@example.org"
            s.add(
                Registration(
                    submission_key=uuid.uuid4().hex,
                    kind=RegistrationKind.NEW,
                    status=status,
                    organisation=f"Group {label}",
                    name_key=f"group {label}",
                    email=email,
                    answers={"organisation": f"Group {label}", "email": email, "phone": "0"},
                    decided_at=decided,
                )
            )
            addresses[label] = email
        for label, status, resolved in (
            ("report-old", ReportStatus.RESOLVED, long_ago),
            ("report-new", ReportStatus.RESOLVED, recently),
            ("report-open", ReportStatus.OPEN, None),
        ):
            email = f"{label}-{uuid.uuid4().hex[:6]}@example.org"
            s.add(
                ProblemReport(
                    provider_id=provider_id,
                    kind=ReportKind.OTHER,
                    reporter_email=email,
                    status=status,
                    resolved_at=resolved,
                )
            )
            addresses[label] = email
    monkeypatch.setenv("DATABASE_URL", world.db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PETUNIA_ENCRYPTION_KEY", ENCRYPTION_KEY)
    done = CliRunner().invoke(app, ["purge"])
    assert done.exit_code == 0, done.output
    with world.db.session() as s:
        kept = set(s.scalars(select(Registration.email)))
        kept |= set(s.scalars(select(ProblemReport.reporter_email)))
        answers = [r.answers for r in s.scalars(select(Registration))]
    gone = {"approved-old", "rejected-old", "report-old"}
    assert {label for label, a in addresses.items() if a in kept} == set(addresses) - gone
    assert not [a for a in answers if addresses["approved-old"] in str(a)]
    if engine_name() == "sqlite":  # secure_delete: not in the file's free space either
        world.db.engine.dispose()
        raw = Path(world.db.engine.url.database).read_bytes()
        assert not [label for label in gone if addresses[label].encode() in raw]
