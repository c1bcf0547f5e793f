"""Engine, sessions and the declarative base shared by every domain's models.

Petunia uses a synchronous SQLAlchemy engine. Async request handlers run database work in a
worker thread (``run_sync``), each unit of work with its own ``orm.Session``, so concurrent
GraphQL resolvers never share a session and nothing blocks the event loop.

Units of work come in two kinds. A write unit (``session``, ``write``, ``run_sync_write``) is a
transaction that commits. A read-only unit (``read``, ``run_sync``: every public directory
read over GraphQL and /oruk, and the pages' reads) runs on PostgreSQL in autocommit, so a
search is its statements alone, without a ``BEGIN`` and a ``ROLLBACK`` round trip each; and on
both engines it refuses to write (``ReadOnlyError``), because in autocommit a stray write
would be committed at once, where a read unit used to drop it silently. PostgreSQL's default
isolation, READ COMMITTED, gives each statement its own snapshot inside a transaction too, so
reading outside one loses no consistency: an answer that must be consistent is one statement
(a page carries its count in the same statement).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import MetaData, create_engine, event, orm
from sqlalchemy.engine import Engine

T = TypeVar("T")

# Stable constraint names, so alembic can drop and alter them on every engine.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(orm.DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ReadOnlyError(RuntimeError):
    """A read-only unit of work tried to write: the caller should have used ``write``."""


# What a read-only unit may send: a query that starts as one and neither changes rows
# (a data-modifying WITH) nor locks them (FOR UPDATE means nothing outside a transaction).
_READS = re.compile(r"\s*(SELECT|WITH|EXPLAIN|SHOW|PRAGMA|VALUES)\b", re.IGNORECASE)
_WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|FOR\s+SHARE)\b", re.IGNORECASE)


def _refuse_writes(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    if not _READS.match(statement) or _WRITES.search(statement):
        raise ReadOnlyError(f"a read-only unit of work sent: {statement.split(None, 1)[0]}")


def _refuse_flush(session: orm.Session, *_args: Any) -> None:
    raise ReadOnlyError("a read-only unit of work changed rows (use Database.write)")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while one writer writes; busy_timeout waits for the lock
    # instead of failing at once when two writers meet.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Overwrite deleted content (purged personal data) instead of leaving it in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _postgresql_settings(dbapi_connection: Any, _record: Any) -> None:
    # Once per pooled connection, one round trip.
    # - psycopg prepares a statement on the server after its fifth use on a connection
    #   (reads in autocommit keep them: a ROLLBACK used to discard them all), and after five
    #   more runs PostgreSQL may switch to a generic plan, made without the values: for the
    #   search near a place it scanned every session (100 ms where the plan for the values
    #   takes 2 ms). Plan each run for its values; preparing still saves the parsing.
    # - random_page_cost 4, PostgreSQL's default, prices a random read as on a spinning
    #   disk: for 20 sessions by id the planner hashed every provider and venue (15 ms)
    #   instead of 40 primary-key look-ups (0.5 ms). A directory's tables are small enough
    #   to stay in memory, so 1.1 (PostgreSQL's advice for SSDs and cached data), unless
    #   the server's operator set it already.
    with dbapi_connection.cursor() as cursor:
        cursor.execute(
            f"SET plan_cache_mode = {PLAN_CACHE_MODE}; "
            "SELECT set_config('random_page_cost', '1.1', false) "
            "WHERE current_setting('random_page_cost') = '4'"
        )
    dbapi_connection.commit()


PLAN_CACHE_MODE = "force_custom_plan"


def make_engine(url: str, **kwargs: Any) -> Engine:
    # hide_parameters: bound values (what callers sent) never appear in SQLAlchemy's log nor
    # in its exception messages, which are logged and shown in tracebacks (see api/logs.py).
    kwargs.setdefault("hide_parameters", True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgresql_settings)
    return engine


class Database:
    """An engine and its session factory: what every layer is handed to reach the data."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # expire_on_commit=False: rows read in a worker thread stay readable after it returns.
        self._sessions = orm.sessionmaker(engine, expire_on_commit=False)
        # Read-only units: the same pool, each connection lent in autocommit on PostgreSQL
        # (psycopg then sends no BEGIN; SQLAlchemy restores the default when it is given
        # back). SQLite's driver sends no BEGIN before a SELECT anyway. The listeners are on
        # this option engine only, so write units are not checked.
        autocommit = {"isolation_level": "AUTOCOMMIT"} if self.dialect == "postgresql" else {}
        reads = engine.execution_options(**autocommit)
        event.listen(reads, "before_cursor_execute", _refuse_writes)
        self._reads = orm.sessionmaker(reads, expire_on_commit=False)
        event.listen(self._reads, "before_flush", _refuse_flush)
        self._threads = _worker_threads()

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[orm.Session]:
        """A unit of work: committed when the block ends normally, rolled back otherwise."""
        with self._sessions() as db:
            try:
                yield db
                db.commit()
            except BaseException:
                db.rollback()
                raise

    def read(self, fn: Callable[[orm.Session], T]) -> T:
        """A read-only unit of work: ``ReadOnlyError`` if ``fn`` writes, or leaves rows
        added, changed or deleted that it never flushed."""
        with self._reads() as db:
            result = fn(db)
            if db.new or db.deleted or any(db.is_modified(row) for row in db.dirty):
                raise ReadOnlyError("a read-only unit of work changed rows (use Database.write)")
            return result

    async def run_sync(self, fn: Callable[[orm.Session], T]) -> T:
        """Run ``fn`` with its own session in a worker thread, as a read-only unit."""
        return await asyncio.get_running_loop().run_in_executor(self._threads, self.read, fn)

    def write(self, fn: Callable[[orm.Session], T]) -> T:
        with self.session() as db:
            return fn(db)

    async def run_sync_write(self, fn: Callable[[orm.Session], T]) -> T:
        """Run ``fn`` in a worker thread in a unit of work that commits."""
        return await asyncio.get_running_loop().run_in_executor(self._threads, self.write, fn)

    def analyze(self) -> None:
        """Gather the planner's statistics, after a load or an import has changed many rows:
        SQLite has none until ANALYZE runs, and without them it scans the directory's tables
        instead of using their indexes (a page of /oruk/services read 4x slower at 20,000
        sessions); PostgreSQL's autovacuum catches up only later."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")

    def dispose(self) -> None:
        """Close the pooled connections and idle threads; like the engine, the database
        stays usable and opens new ones when next asked."""
        self._threads.shutdown(wait=False)
        self._threads = _worker_threads()
        self.engine.dispose()


def _worker_threads() -> ThreadPoolExecutor:
    # As many as the connection pool lends (5 + 10 overflow). asyncio's executor hands work
    # over in about 0.19 ms here, anyio's to_thread in 0.31 ms, and most reads take well
    # under a millisecond.
    return ThreadPoolExecutor(max_workers=15, thread_name_prefix="petunia-db")
