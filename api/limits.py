"""Limits on what a request may send to the APIs (/graphql, /oruk): the size of its body and
how deeply its JSON nests. Both are checked before the body is used, so an oversized or
hostile body costs the server at most MAX_BODY_BYTES of memory and one linear scan."""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Awaitable, Callable, MutableMapping
from itertools import accumulate
from typing import Any

# The largest request body the APIs read. A GraphQL request is at most 2,000 tokens of query
# and a few kilobytes of variables (every text field has its own, smaller, limit).
MAX_BODY_BYTES = 100 * 1024
# How deeply the JSON of a request may nest. A GraphQL request needs about six levels (body,
# variables, input, a list, an object in it); deeper JSON is refused before it is parsed, so
# it can never exhaust the parser's recursion.
MAX_JSON_DEPTH = 32

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BadJson(ValueError):
    """A request body that is not UTF-8 JSON, or JSON nested too deeply."""


_ADVICE = {
    "graphql": "send a shorter query or fewer variables",
    "oruk": "this API's requests need no body: send none",
}


def too_large_message(limit: int, api: str) -> str:
    return (
        f"The request body is larger than {limit // 1024} KB ({limit:,} bytes), the most this "
        f"API reads: {_ADVICE[api]}."
    )


class BodyLimit:
    """ASGI middleware: refuse (413) a request whose body is larger than ``limit`` bytes.

    A declared Content-Length over the limit is refused before any of the body is read; a
    body sent without one (chunked) is read only until it passes the limit. A body within
    the limit is read here and handed on whole, so the app never reads more than the limit.
    ``errors`` shapes the JSON answer to the API behind: "graphql" (``errors``, as a GraphQL
    client expects) or "oruk" (``error``, as the ORUK API's other errors).
    """

    def __init__(self, app: ASGIApp, *, limit: int = MAX_BODY_BYTES, errors: str) -> None:
        self.app = app
        self.limit = limit
        self.errors = errors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([], message, receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(chunks, None, receive), send)

    async def _refuse(self, send: Send) -> None:
        text = too_large_message(self.limit, self.errors)
        if self.errors == "graphql":
            payload: object = {"errors": [{"message": text, "extensions": {"code": "TOO_LARGE"}}]}
        else:
            payload = {"error": text, "field": None}
        body = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    # The rest of the body is never read: the connection cannot be reused.
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _replay(chunks: list[bytes], pending: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that gives the body already read as one message, then defers to the
    server's (for the disconnect a streaming response waits for)."""
    first: Message | None = pending or {
        "type": "http.request",
        "body": b"".join(chunks),
        "more_body": False,
    }

    async def replay() -> Message:
        nonlocal first
        if first is not None:
            message, first = first, None
            return message
        return await receive()

    return replay


# JSON strings (where brackets mean nothing), and every byte that is not a bracket.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# Opening brackets to +1, closing ones to -1 (255 as a signed byte).
_STEPS = bytes.maketrans(b"[{]}", bytes([1, 1, 255, 255]))


def json_depth(data: bytes) -> int:
    """How deeply ``data`` nests (0 for a scalar), counted without parsing it."""
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(accumulate(array("b", brackets.translate(_STEPS))), default=0)


def load_json(data: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``data`` parsed as JSON; BadJson with a message for a person if it is not UTF-8, not
    JSON, or nested deeper than ``max_depth``."""
    raw = data.encode() if isinstance(data, str) else data
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadJson("The request is not UTF-8: send JSON encoded as UTF-8.") from None
    if json_depth(raw) > max_depth:
        raise BadJson(
            f"The JSON sent nests deeper than {max_depth} levels, more than any request "
            "needs: send flatter variables."
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadJson(f"The JSON sent is not valid: {exc}.") from None
