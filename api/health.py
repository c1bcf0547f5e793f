"""`/healthz`: whether this instance can serve, for load balancers and the image's
HEALTHCHECK. It checks that the database answers a read *and accepts a write*: a database
that is read-only, or on a full disk, answers reads while every registration, referral and
sign-in fails, and a load balancer should send the traffic elsewhere.

The write is made at most once every WRITE_EVERY seconds per worker process (calls in between,
and while it runs, answer with the last result): probes from several load balancers must not
queue up behind each other for the database's write lock."""

from __future__ import annotations

import logging
import time

from sqlalchemy import orm, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.db import Database

log = logging.getLogger("petunia.health")

# A write every migrated database can take and that changes nothing: the one row of alembic's
# version table set to itself. It is committed, so a full disk or a read-only database
# (file, mount, or PostgreSQL's default_transaction_read_only) fails it.
_WRITE = text("UPDATE alembic_version SET version_num = version_num")
_READ = text("SELECT 1")
WRITE_EVERY = 5.0  # seconds


def _read(session: orm.Session) -> None:
    session.execute(_READ)


def _write(session: orm.Session) -> None:
    session.execute(_WRITE)


class WriteCheck:
    """The result of the last write, made again once it is WRITE_EVERY seconds old."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.checked_at = -WRITE_EVERY
        self.problem: str | None = None

    async def __call__(self) -> str | None:
        if time.monotonic() - self.checked_at >= WRITE_EVERY:
            self.checked_at = time.monotonic()  # this call writes; the others need not
            self.problem = await self._write()
        return self.problem

    async def _write(self) -> str | None:
        try:
            await self.db.run_sync_write(_write)
        except SQLAlchemyError as exc:
            log.warning("health: the database refuses writes (%s)", type(exc).__name__)
            return "the database refuses writes (read-only, or its disk is full)"
        return None


async def check(db: Database, write_check: WriteCheck) -> str | None:
    """None when the database reads and writes; otherwise what fails, in words."""
    try:
        await db.run_sync(_read)
    except SQLAlchemyError as exc:
        log.warning("health: the database cannot be read (%s)", type(exc).__name__)
        return "the database cannot be reached"
    return await write_check()


def healthz(db: Database):  # noqa: ANN201 - a Starlette endpoint
    write_check = WriteCheck(db)

    async def endpoint(_request: Request) -> Response:
        problem = await check(db, write_check)
        if problem:
            return JSONResponse({"status": "unavailable", "problem": problem}, status_code=503)
        return JSONResponse({"status": "ok"})

    return endpoint
