"""Persisted queries in the shape Apollo's clients send ("automatic persisted queries"): a
client may send ``extensions.persistedQuery = {"version": 1, "sha256Hash": "<hex>"}`` instead
of the query text, so that a search is a short GET a cache can keep (api/caching.py).

Register on first use, not a file shipped with the server: the clients are other people's
(GP IT, councils), whose queries we cannot list in advance, and Apollo's clients do this by
themselves (send the hash; on PERSISTED_QUERY_NOT_FOUND, send hash and text once). A query is
registered only with text whose SHA-256 is the hash, so nobody can plant another query
under a hash. The store is per process and bounded (least recently used out, by count and by
total characters): a worker that has not seen a hash answers PERSISTED_QUERY_NOT_FOUND and
the client sends the text again.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import replace
from typing import Any

MAX_QUERIES = 2000
MAX_CHARACTERS = 4_000_000
_HASH = re.compile(r"[0-9a-f]{64}")


class PersistedQueryError(Exception):
    """A persisted-query request that cannot run: Apollo's message and code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {
            "data": None,
            "errors": [{"message": self.message, "extensions": {"code": self.code}}],
        }


class PersistedQueries:
    """Query texts by their SHA-256, least recently used out past the bounds."""

    def __init__(self, max_queries: int = MAX_QUERIES, max_characters: int = MAX_CHARACTERS):
        self.max_queries = max_queries
        self.max_characters = max_characters
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._characters = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._texts)

    def get(self, digest: str) -> str | None:
        with self._lock:
            text = self._texts.get(digest)
            if text is not None:
                self._texts.move_to_end(digest)
            return text

    def add(self, digest: str, text: str) -> None:
        if len(text) > self.max_characters:
            return
        with self._lock:
            if digest in self._texts:
                self._texts.move_to_end(digest)
                return
            self._texts[digest] = text
            self._characters += len(text)
            while len(self._texts) > self.max_queries or self._characters > self.max_characters:
                _old, dropped = self._texts.popitem(last=False)
                self._characters -= len(dropped)

    def resolve(self, request: Any) -> Any:
        """``request`` (strawberry's GraphQLRequestData) with its query text filled in from
        the store, or registered in it; unchanged when it names no persisted query."""
        persisted = (request.extensions or {}).get("persistedQuery")
        if persisted is None:
            return request
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise PersistedQueryError(
                "PERSISTED_QUERY_NOT_SUPPORTED",
                'Send extensions.persistedQuery as {"version": 1, "sha256Hash": "<hex>"}.',
            )
        digest = str(persisted.get("sha256Hash", "")).lower()
        if not _HASH.fullmatch(digest):
            raise PersistedQueryError(
                "PERSISTED_QUERY_NOT_SUPPORTED",
                "persistedQuery.sha256Hash must be the SHA-256 of the query, in 64 hex digits.",
            )
        if request.query:
            if hashlib.sha256(request.query.encode()).hexdigest() != digest:
                raise PersistedQueryError(
                    "PERSISTED_QUERY_HASH_MISMATCH",
                    "persistedQuery.sha256Hash is not the SHA-256 of the query sent with it.",
                )
            self.add(digest, request.query)
            return request
        text = self.get(digest)
        if text is None:
            # Apollo's clients look for this message, then send the query with its hash.
            raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
        return replace(request, query=text)
