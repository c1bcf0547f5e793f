"""Errors a client can act on. Anything else is logged and masked as "Unexpected error."."""

from __future__ import annotations

import logging

from graphql import GraphQLError

log = logging.getLogger("petunia.graphql")


class UserInputError(GraphQLError):
    """A request the client can correct: a bad ID, cursor, page size, postcode or value."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "BAD_USER_INPUT"):
        extensions: dict[str, object] = {"code": code}
        if field:
            extensions["field"] = field
        super().__init__(message, extensions=extensions)


class AccessError(GraphQLError):
    """Not signed in (UNAUTHENTICATED) or not allowed (FORBIDDEN): a top-level error."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, extensions={"code": code})


def should_mask(error: GraphQLError) -> bool:
    """Mask (and log) errors that came from a bug, not from the request.

    Errors raised as GraphQLError (ours, and graphql-core's own parse and validation errors)
    carry no ``original_error`` and reach the client as they are.
    """
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return False
    log.error("unexpected error at %s", error.path, exc_info=original)
    return True
