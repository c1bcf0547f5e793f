"""How /graphql reads a request over HTTP: a body within MAX_BODY_BYTES (413 past it), UTF-8
JSON nested at most MAX_JSON_DEPTH deep and, for a POST, a JSON object. Anything else is a
400 whose text says what to send, never a 500."""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException

from api.limits import BadJson, BodyLimit, Receive, Scope, Send, load_json


class RequestLimits:
    """Mixed into the strawberry GraphQL view (before it in the bases)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        view = super().__call__  # type: ignore[misc]
        await BodyLimit(view, errors="graphql")(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        try:
            value: Any = load_json(data)
        except BadJson as exc:
            raise HTTPException(400, str(exc)) from None
        # A POST body arrives as bytes; `variables` and `extensions` of a GET as text, and
        # strawberry checks those are objects itself.
        if isinstance(data, bytes) and not isinstance(value, dict):
            raise HTTPException(
                400,
                "The request body must be a JSON object: "
                '{"query": "...", "variables": {...}, "operationName": "..."}.',
            )
        return value
