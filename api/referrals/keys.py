"""The key store: each referral's own data key, kept apart from the database it protects, so
that destroying the key at ``petunia purge`` makes every copy of that referral's personal data
unreadable: the heap, the WAL, the statistics, and backups of the database taken before.

The store also holds the key of the NHS-number lookup hash, which `petunia purge` replaces
(re-hashing the live referrals) so that a purged referral's old hash, left in old row versions
or backups, can no longer be tested against guessed NHS numbers.

A data key is 32 random bytes, stored wrapped (AES-256-GCM, the key's id as associated data)
by a key-encryption key derived from ``PETUNIA_ENCRYPTION_KEY``. The store is a database of
its own (``PETUNIA_KEY_STORE_URL``; by default a SQLite file in the data folder) with one
table. On SQLite it runs with ``secure_delete`` and a rollback journal, so a destroyed key is
overwritten in place and no journal or WAL file keeps it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    Column,
    DateTime,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    event,
    select,
)
from sqlalchemy.engine import Engine

# The store's only table; its name carries the version of its layout.
_metadata = MetaData()
data_keys = Table(
    "referral_data_keys_v1",
    _metadata,
    Column("key_id", String(36), primary_key=True),
    # Which wrapping key (so which PETUNIA_ENCRYPTION_KEY) wrapped it: see lookup_keys.
    Column("kek_id", String(32), nullable=False, index=True),
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


lookup_keys = Table(
    "nhs_lookup_keys_v1",
    _metadata,
    Column("key_id", String(36), primary_key=True),
    # Which wrapping key (so which PETUNIA_ENCRYPTION_KEY) the row belongs to: a store shared
    # by mistake never hands one deployment another's lookup key.
    Column("kek_id", String(32), nullable=False, index=True),
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class KeyDestroyed(LookupError):
    """The referral's data key is gone (purged): its personal data cannot be read."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Overwrite deleted keys with zeros, and keep no WAL: the rollback journal that holds a
    # page while it changes is deleted when the change commits.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_mode=DELETE")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class KeyStore:
    """Create, read and destroy referrals' data keys. Each call is its own transaction."""

    def __init__(self, url: str, wrapping_key: bytes) -> None:
        self.url = url
        self._wrap = AESGCM(wrapping_key)
        self.kek_id = hashlib.sha256(b"petunia key id:" + wrapping_key).hexdigest()[:32]
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            database = self.engine.url.database
            if database and database != ":memory:":
                os.makedirs(os.path.dirname(os.path.abspath(database)), exist_ok=True)
        # The store is a database of its own (not the migrated one): its single table is made
        # on first use; a new layout would be a new table name.
        _metadata.create_all(self.engine, checkfirst=True)

    def _seal(self, key_id: str, key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._wrap.encrypt(nonce, key, key_id.encode())

    def _unseal(self, key_id: str, wrapped: bytes) -> bytes:
        try:
            return self._wrap.decrypt(wrapped[:12], wrapped[12:], key_id.encode())
        except InvalidTag:
            raise KeyDestroyed(
                "a referral's data key does not unwrap: is PETUNIA_ENCRYPTION_KEY the key it "
                "was written with?"
            ) from None

    def create(self) -> tuple[str, bytes]:
        """A new data key, stored (committed) before any data is encrypted with it. Its time
        is the clock's (not a referral's date), so orphans are told by their real age."""
        return self._new(data_keys)

    def _new(self, table: Table) -> tuple[str, bytes]:
        key_id, key = str(uuid.uuid4()), AESGCM.generate_key(bit_length=256)
        with self.engine.begin() as conn:
            conn.execute(
                table.insert().values(
                    key_id=key_id,
                    kek_id=self.kek_id,
                    wrapped=self._seal(key_id, key),
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
        return key_id, key

    # The NHS-number lookup keys: the newest hashes what is written; a search tries each (two
    # exist only while purge replaces one).

    def lookup_keys(self) -> list[tuple[str, bytes]]:
        """The live lookup keys, newest first (one is made on first use)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(lookup_keys.c.key_id, lookup_keys.c.wrapped)
                .where(lookup_keys.c.kek_id == self.kek_id)
                .order_by(lookup_keys.c.created_at.desc(), lookup_keys.c.key_id)
            ).all()
        if not rows:
            return [self._new(lookup_keys)]
        return [(key_id, self._unseal(key_id, wrapped)) for key_id, wrapped in rows]

    def new_lookup_key(self) -> tuple[str, bytes]:
        return self._new(lookup_keys)

    def destroy_lookup_keys(self, key_ids: Iterable[str]) -> int:
        ids = sorted(set(key_ids))
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(lookup_keys).where(
                    lookup_keys.c.key_id.in_(ids), lookup_keys.c.kek_id == self.kek_id
                )
            )
        return result.rowcount or 0

    def get_many(self, key_ids: Iterable[str]) -> dict[str, bytes]:
        """The data keys that still exist, by id (destroyed ones are left out)."""
        wanted = sorted(set(key_ids))
        found: dict[str, bytes] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                rows = conn.execute(
                    select(data_keys.c.key_id, data_keys.c.wrapped).where(
                        data_keys.c.key_id.in_(wanted[start : start + 500])
                    )
                )
                for key_id, wrapped in rows:
                    found[key_id] = self._unseal(key_id, wrapped)
        return found

    def get(self, key_id: str) -> bytes:
        """The data key; KeyDestroyed when it is gone."""
        key = self.get_many([key_id]).get(key_id)
        if key is None:
            raise KeyDestroyed("this referral's data key was destroyed when it was purged")
        return key

    def key_ids(self, *, created_before: dt.datetime) -> list[str]:
        with self.engine.connect() as conn:
            return list(
                conn.scalars(
                    select(data_keys.c.key_id).where(
                        data_keys.c.created_at < created_before,
                        data_keys.c.kek_id == self.kek_id,
                    )
                )
            )

    def destroy(self, key_ids: Iterable[str]) -> int:
        """Delete the keys for good; how many there were."""
        ids = sorted(set(key_ids))
        deleted = 0
        with self.engine.begin() as conn:
            for start in range(0, len(ids), 500):
                result = conn.execute(
                    delete(data_keys).where(data_keys.c.key_id.in_(ids[start : start + 500]))
                )
                deleted += result.rowcount or 0
        return deleted

    def dispose(self) -> None:
        self.engine.dispose()
