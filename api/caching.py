"""Less to send and less to compute again, for /graphql and /oruk (issue 15, section 5).

``PublicReads`` wraps an ASGI app whose GET answers are public directory data, the same for
everyone, changing only when the directory does:

- a GET (no ``Authorization``) answered 200 without GraphQL errors carries a weak ``ETag``
  made of the directory's version (``directory_version``, raised by database triggers on
  every write to the directory's tables: migration 0015), today's date in London (what is
  shown depends on it: next dates, the freshness rule) and a token of this server's code and
  settings; and ``Cache-Control: public, no-cache``: caches keep it and ask again each time,
  so a change is seen at once;
- a GET whose ``If-None-Match`` names the current ETag is answered ``304`` without running
  the query: one primary-key read instead of the search;
- a request with ``Authorization`` (a person's own data, or staff work) gets
  ``Cache-Control: no-store`` and is never compressed (``Compressed``).

``Compressed`` negotiates brotli (``br``) or gzip from ``Accept-Encoding`` with brotli-asgi
(gzip is Starlette's GZipMiddleware), for bodies over ``MINIMUM_SIZE``. Only requests without
``Authorization`` are compressed: BREACH needs a secret and attacker-chosen text in one
compressed body, and public directory data holds no secret; personal answers are sent as
they are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from zoneinfo import ZoneInfo

from brotli_asgi import BrotliMiddleware
from sqlalchemy import select
from starlette.datastructures import Headers, MutableHeaders

from api.db import Database
from api.directory.models import DirectoryVersion

Scope = dict[str, Any]
ASGIApp = Any

PUBLIC = "public, no-cache"
PERSONAL = "no-store"
# Smaller bodies gain nothing worth the work (a GraphQL error, a one-session answer).
MINIMUM_SIZE = 500
# Set in the ASGI scope by the GraphQL view when the answer has errors: never cached.
GRAPHQL_ERRORS = "petunia.graphql_errors"


def directory_version(db: Any) -> int:
    """The directory's version: raised by every write to its tables (migration 0015)."""
    return db.scalar(select(DirectoryVersion.version).where(DirectoryVersion.id == 1)) or 0


def server_token(*parts: object) -> str:
    """What, besides the data, decides an answer: Petunia's version and the settings given."""
    try:
        code = version("petunia")
    except PackageNotFoundError:  # run from a checkout
        code = "dev"
    text = "\n".join(map(str, (code, *parts)))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Europe/London")).date()


def _matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2): the same answer whatever its encoding."""
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def personal(scope: Scope) -> bool:
    return any(name == b"authorization" for name, _ in scope.get("headers", ()))


class PublicReads:
    """ETag, Cache-Control and 304 for public GET reads; no-store for personal requests."""

    def __init__(self, app: ASGIApp, db: Database, token: str, *, graphql: bool) -> None:
        self.app = app
        self.db = db
        self.token = token
        self.graphql = graphql

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if personal(scope):
            await self.app(scope, receive, self._with(send, {"cache-control": PERSONAL}))
            return
        if scope["method"] not in ("GET", "HEAD") or not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        number = await self.db.run_sync(directory_version)
        etag = f'W/"{self.token}-{_today():%Y%m%d}-{number}"'
        headers = {"etag": etag, "cache-control": PUBLIC}
        if _matches(Headers(scope=scope).get("if-none-match", ""), etag):
            raw = [(k.encode(), v.encode()) for k, v in headers.items()]
            await send({"type": "http.response.start", "status": 304, "headers": raw})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, self._with(send, headers, scope=scope))

    def _cacheable(self, scope: Scope) -> bool:
        # GET /graphql without an operation is GraphiQL's page, not data.
        query = scope.get("query_string", b"")
        return not self.graphql or b"query=" in query or b"extensions=" in query

    @staticmethod
    def _with(send: Any, headers: dict[str, str], scope: Scope | None = None) -> Any:
        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                ok = message["status"] == 200 and not (scope or {}).get(GRAPHQL_ERRORS)
                if scope is None or ok:
                    out = MutableHeaders(scope=message)
                    for name, value in headers.items():
                        out[name] = value
            await send(message)

        return sending


class Compressed:
    """brotli or gzip, as the client asks, for requests without ``Authorization``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.compressing = BrotliMiddleware(
            app, quality=4, minimum_size=MINIMUM_SIZE, gzip_fallback=True
        )

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not personal(scope):
            await self.compressing(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def public_reads(app: ASGIApp, db: Database, token: str, *, graphql: bool) -> ASGIApp:
    """Both, in order: compress what the cache layer lets through."""
    return Compressed(PublicReads(app, db, token, graphql=graphql))
