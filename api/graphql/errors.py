"""Errors a client can act on. Anything else is logged (by ``api.logs``'s rule: an error id,
no values) and masked as "Unexpected error." with that id."""

from __future__ import annotations

import re

import strawberry
from graphql import GraphQLError
from sqlalchemy.exc import OperationalError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext

from api.logs import is_client_error, log_graphql_errors


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
    """Mask errors that came from a bug, not from the request.

    Errors raised as GraphQLError (ours, and graphql-core's own parse and validation errors)
    carry no other ``original_error`` and reach the client as they are.
    """
    return not is_client_error(error)


class Schema(strawberry.Schema):
    """strawberry's schema, logging errors by Petunia's rule instead of strawberry's (which
    logs the failed document, values and all, with a traceback for every caller's mistake)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error, error_id in log_graphql_errors(errors):
            # Read by MaskUnexpected, which runs after this on the same error.
            error.extensions = {**(error.extensions or {}), "errorId": error_id}


def database_unreachable(error: GraphQLError) -> bool:
    """The database could not be reached (no connection, or it went away): SQLAlchemy's
    OperationalError that says so, as opposed to one about a query or its data."""
    original = error.original_error
    if not isinstance(original, OperationalError):
        return False
    return (
        bool(original.connection_invalidated) or _UNREACHABLE.search(str(original.orig)) is not None
    )


# What drivers say when there is no database to talk to (PostgreSQL down, a SQLite file or
# folder gone). Matched, not logged: the message never leaves this function.
_UNREACHABLE = re.compile(
    r"connection (?:refused|failed|is closed)|could not connect|server closed the connection"
    r"|terminating connection|unable to open database file|no such table: alembic_version",
    re.IGNORECASE,
)


class MaskUnexpected(MaskErrors):
    """Masks a server error as "Unexpected error." with the error id its log line carries,
    so a person reporting it can be matched to it."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=should_mask)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if database_unreachable(error):
            # Not a bug: the database is down or unreachable. Say so, and answer 503 so that
            # clients and load balancers retry (as with a bearer token, api/app.py).
            response = getattr(self.execution_context.context, "response", None)
            if response is not None:
                response.status_code = 503
                response.headers["Retry-After"] = "5"
            return GraphQLError(
                "The service cannot reach its database just now: try again shortly.",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": "SERVICE_UNAVAILABLE"},
            )
        masked = super().anonymise_error(error)
        error_id = (error.extensions or {}).get("errorId")
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR"}
        if error_id:
            masked.extensions["errorId"] = error_id
        return masked
