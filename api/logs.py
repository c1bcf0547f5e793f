"""What Petunia, and every library it runs on, may write to a log: the one place for it.

The rule: no log line, at any level, holds what a caller sent (a GraphQL document, its
variables, a query string, a secret link), because that is where personal data travels.

- GraphQL errors (``log_graphql_errors``): a caller's mistakes (parse or validation errors,
  ``BAD_USER_INPUT``, ``UNAUTHENTICATED``, ``FORBIDDEN``) are at most one DEBUG line per
  request with their codes. A server error is one ERROR line with an error id (also given
  to the client), the exception's type, the database's error code, the schema field and the
  place in the code, followed by the traceback's frames. strawberry's own error log, which
  prints the failed document, is not used.
- Exception messages are never logged, by anyone: they carry values (a database driver's
  message holds the row it refused, ``ValueError`` the value). Every handler formats
  exceptions with ``SafeFormatter``: type and frames (file, line, function, code), no
  message, no local variables. That covers uvicorn's "Exception in ASGI application" too.
- uvicorn's access log (``AccessLogFilter``): method, path and status, without the query
  string (GraphQL over GET carries the document there) and without the secret in link paths.
- httpx (webhook calls) logs warnings only: its INFO line is the URL a caller registered.
- SQLAlchemy: engines never put bound parameters in logs or exception messages
  (``hide_parameters``, in ``api.db.make_engine``), and result rows are never logged, even at
  DEBUG (``SqlFilter``). It logs statements at DEBUG only; at other levels, warnings.

``config(level)`` is the logging configuration, handed to uvicorn by ``petunia serve`` and
``petunia up`` (so every worker process applies it) and applied by every other command.
"""

from __future__ import annotations

import logging
import logging.config
import re
import traceback
import uuid
from pathlib import Path
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode

log = logging.getLogger("petunia.graphql")

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
WITHHELD = "(message withheld: it may hold what a caller sent)"
_ROOT = str(Path(__file__).resolve().parent.parent) + "/"


def config(level: str = "INFO") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` configuration: one handler on stderr, every logger
    through it with the filters above."""
    level = level.strip().upper()
    if level not in LEVELS:
        raise ValueError(f"PETUNIA_LOG_LEVEL must be one of {', '.join(LEVELS)}, not {level!r}")
    debug = level == "DEBUG"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "access": {"()": AccessLogFilter},
            "sql": {"()": SqlFilter},
        },
        "formatters": {"safe": {"()": SafeFormatter, "fmt": FORMAT}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "safe",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            # uvicorn's loggers keep no handlers of their own: all go to the root's.
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {
                "level": level,
                "handlers": [],
                "propagate": True,
                "filters": ["access"],
            },
            # Statements only when asked for (DEBUG); never parameters or rows.
            "sqlalchemy": {"level": level if debug else "WARNING"},
            "sqlalchemy.engine.Engine": {"filters": ["sql"]},
            # httpx logs each request's URL at INFO: a webhook's URL is a caller's text.
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
        },
        "root": {"level": level, "handlers": ["stderr"]},
    }


def configure(level: str = "INFO") -> None:
    logging.config.dictConfig(config(level))


def protect() -> None:
    """The filters alone, on whatever logging is configured: for an app started some other
    way than `petunia serve` (``uvicorn api.app:create_app --factory``, tests). Idempotent."""
    for name, kind in (
        ("uvicorn.access", AccessLogFilter),
        ("sqlalchemy.engine.Engine", SqlFilter),
    ):
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())


# -- exceptions -------------------------------------------------------------------------------


def safe_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` and its causes: exception types and frames, no messages and
    no local variables."""
    chain: list[tuple[traceback.TracebackException, str]] = []
    seen: set[int] = set()
    current: traceback.TracebackException | None = traceback.TracebackException.from_exception(
        exc, capture_locals=False
    )
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    parts = []
    # Oldest first, as Python prints them: each followed by how it led to the next.
    for item, led_on in reversed(chain):
        parts.append("Traceback (most recent call last):\n")
        parts.extend(item.stack.format())
        parts.append(f"{_type_name(item)} {WITHHELD}\n")
        if led_on:
            parts.append(led_on)
    return "".join(parts).rstrip("\n")


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _type_name(item: traceback.TracebackException) -> str:
    named = getattr(item, "exc_type_str", None)  # Python 3.13
    if named:
        return str(named)
    kind = item.exc_type
    if kind is None:
        return "Exception"
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def where(exc: BaseException) -> str:
    """The innermost frame of Petunia's own code the exception passed through (or the
    innermost frame at all): ``api/x.py:12 in fn``."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f.filename.startswith(_ROOT)] or frames
    if not ours:
        return "unknown place"
    frame = ours[-1]
    return f"{frame.filename.removeprefix(_ROOT)}:{frame.lineno} in {frame.name}"


class SafeFormatter(logging.Formatter):
    """Formats exceptions as ``safe_traceback`` does, whichever logger logged them."""

    def format(self, record: logging.LogRecord) -> str:
        # Another handler may have cached the full text on the record: never reuse it.
        cached, record.exc_text = record.exc_text, None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        exc = ei[1] if isinstance(ei, tuple) else None
        if exc is None:
            return ""
        return safe_traceback(exc)


# -- filters on the loggers that would otherwise write a caller's data --------------------


# Paths that carry a secret: edit and confirmation links, staff sign-in links, providers'
# register links. Anyone holding one could use it.
_SECRET_PATHS = re.compile(r"^(/listing|/register/confirm|/staff/sign-in|/attendance)/[^/?]+")


def safe_path(path: str) -> str:
    """A request path as the access log may show it: no query string, and no secret in the
    links that carry a secret (anyone holding one could use it)."""
    path, question, _query = path.partition("?")
    path = _SECRET_PATHS.sub(r"\1/(link)", path)
    return path + ("?(query hidden)" if question else "")


class AccessLogFilter(logging.Filter):
    """On ``uvicorn.access``: its arguments are (client, method, path?query, version,
    status); the path loses its query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], safe_path(args[2]), *args[3:])
        return True


class SqlFilter(logging.Filter):
    """On SQLAlchemy's engine logger: result rows are never logged, nor parameters (also
    from an engine made without ``hide_parameters``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Row %r":
            return False
        if record.msg == "[%s] %r" and isinstance(record.args, tuple) and record.args:
            record.args = (record.args[0], "[parameters hidden]")
        return True


# -- GraphQL -----------------------------------------------------------------------------------


def client_error_code(error: GraphQLError) -> str:
    """The code of a caller's mistake: ours from the error's extensions, else graphql-core's
    kind (its messages quote the document, so they are not logged)."""
    code = (error.extensions or {}).get("code")
    if isinstance(code, str) and code.isidentifier():
        return code
    if error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    return "GRAPHQL_VALIDATION_FAILED"


def is_client_error(error: GraphQLError) -> bool:
    """A caller's mistake: graphql-core's own errors and ours carry no other exception."""
    original = error.original_error
    return original is None or isinstance(original, GraphQLError)


def log_graphql_errors(errors: list[GraphQLError]) -> list[tuple[GraphQLError, str]]:
    """Log a request's GraphQL errors by the rule above: its mistakes in one DEBUG line, each
    server error in its own ERROR record. Returns the server errors with their ids."""
    mistakes = sorted({client_error_code(e) for e in errors if is_client_error(e)})
    if mistakes:
        log.debug("client error %s", ", ".join(mistakes))
    return [(e, _log_server_error(e)) for e in errors if not is_client_error(e)]


def _log_server_error(error: GraphQLError) -> str:
    original = error.original_error
    assert original is not None
    error_id = uuid.uuid4().hex[:12]
    log.error(
        "unexpected error %s in %s: %s%s at %s\n%s",
        error_id,
        _field(error),
        _type_name(traceback.TracebackException.from_exception(original)),
        "".join(f" ({code})" for code in database_codes(original)),
        where(original),
        safe_traceback(original),
    )
    return error_id


def database_codes(exc: BaseException) -> list[str]:
    """The database's own error codes in an exception's chain (SQLite's SQLITE_FULL,
    PostgreSQL's SQLSTATE 53100...): what went wrong, with no value in it."""
    codes: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for attribute in ("sqlite_errorname", "sqlstate"):
            code = getattr(current, attribute, None)
            if isinstance(code, str) and code.replace("_", "").isalnum() and code not in codes:
                codes.append(code)
        current = current.__cause__ or current.__context__
    return codes


def _field(error: GraphQLError) -> str:
    # The schema's name of the field, never the path: aliases are the caller's text.
    node = (error.nodes or [None])[0]
    if node is None or isinstance(node, OperationDefinitionNode):
        return "the operation"
    name = getattr(getattr(node, "name", None), "value", None)
    return f"field {name}" if isinstance(name, str) and name.isidentifier() else "a field"
