"""Engine, sessions and the declarative base shared by every domain's models.

Petunia uses a synchronous SQLAlchemy engine. Async request handlers run database work in a
worker thread (``run_sync``), each unit of work with its own ``orm.Session``, so concurrent
GraphQL resolvers never share a session and nothing blocks the event loop.
"""

from __future__ import annotations

import asyncio
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


def make_engine(url: str, **kwargs: Any) -> Engine:
    # hide_parameters: bound values (what callers sent) never appear in SQLAlchemy's log nor
    # in its exception messages, which are logged and shown in tracebacks (see api/logs.py).
    kwargs.setdefault("hide_parameters", True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Database:
    """An engine and its session factory: what every layer is handed to reach the data."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # expire_on_commit=False: rows read in a worker thread stay readable after it returns.
        self._sessions = orm.sessionmaker(engine, expire_on_commit=False)
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
        with self._sessions() as db:
            return fn(db)

    async def run_sync(self, fn: Callable[[orm.Session], T]) -> T:
        """Run ``fn`` with its own session in a worker thread (read-only work)."""
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
