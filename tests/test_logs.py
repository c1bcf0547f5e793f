"""No log line carries what a caller sent in a GraphQL document or its variables.

Every operation of the schema (read from the schema itself, so new ones are covered) is sent
to a real `petunia serve` process, logging at DEBUG, with fictional identifiers (an NHS number,
names, a date of birth, a phone number, an email, a reason) written inline and as variables,
over POST and GET, anonymously, with a bad token and with several roles; then with an unknown field,
values of the wrong type and a syntax error; then while the database refuses every write (a
full disk), and against a server whose database is down. Every byte the processes wrote to
stdout and stderr is searched for the identifiers. Genuine server errors must still be logged,
and a caller's mistake never writes a traceback.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from api.access import tokens
from api.db import make_engine
from api.logs import FORMAT, SafeFormatter, protect
from api.outcomes.instruments import load_instruments
from tests.conftest import DEMO, ROOT, _loaded, engine_name
from tests.referral_support import CLIENTS, ENCRYPTION_KEY
from tests.schema_operations import (
    GIVEN,
    NHS,
    TEXT,
    Ids,
    leaks,
    operations,
    operations_by_name,
    wrong_types,
)

ROLES = ("gp", "lead", "admin")
BAD_TOKEN = "not-a-real-token"


# -- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(database_url: str, folder: Path) -> Server:
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "server.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "PETUNIA_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "PETUNIA_LOG_LEVEL": "DEBUG",
        "PYTHONUNBUFFERED": "1",
    }
    handle = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)]
        + ["--data-dir", str(folder / "data")],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,  # both streams, in order, in one file
        cwd=ROOT,
    )
    handle.close()
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server stopped:\n{server.text()}")
        try:
            httpx.get(f"{server.url}/healthz", timeout=2)
            return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.stop()
    raise AssertionError(f"the server did not start:\n{server.text()}")


@dataclass
class Tally:
    """What the callers saw: successes by operation, and the server errors the log must show."""

    succeeded: dict[str, int] = field(default_factory=dict)
    server_errors: int = 0
    requests: int = 0

    def note(self, name: str, response: httpx.Response) -> None:
        self.requests += 1
        if response.status_code >= 500:
            self.server_errors += 1
            return
        try:
            body = response.json()
        except ValueError:
            return
        errors = body.get("errors") or []
        if any(e.get("message") == "Unexpected error." for e in errors):
            self.server_errors += 1
        data = (body.get("data") or {}).get(name)
        payload_errors = data.get("errors") if isinstance(data, dict) else None
        if data is not None and not errors and not payload_errors:
            self.succeeded[name] = self.succeeded.get(name, 0) + 1


@dataclass
class Caller:
    http: httpx.Client
    tokens: dict[str, str]
    tally: Tally = field(default_factory=Tally)

    def headers(self, who: str | None) -> dict[str, str]:
        if who is None:
            return {}
        return {"Authorization": f"Bearer {self.tokens.get(who, BAD_TOKEN)}"}

    def send(self, method: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, "/graphql", **kwargs)
        except (httpx.ReadError, httpx.RemoteProtocolError):
            # uvicorn closes a connection after a 500; a request already on its way is lost.
            return self.http.request(method, "/graphql", **kwargs)

    def post(self, name: str, who: str | None, document: str, variables: dict | None = None):
        body: dict[str, object] = {"query": document}
        if variables:
            body["variables"] = variables
        response = self.send("POST", json=body, headers=self.headers(who))
        self.tally.note(name, response)
        return response

    def get(self, name: str, who: str | None, document: str, variables: dict | None = None):
        params = {"query": document}
        if variables:
            params["variables"] = json.dumps(variables)
        response = self.send("GET", params=params, headers=self.headers(who))
        self.tally.note(name, response)
        return response


def send_everything(
    caller: Caller,
    ids: Ids,
    variables_as: tuple[str | None, ...],
    inline_as: tuple[str | None, ...],
    *,
    over_get: bool = True,
) -> None:
    """Every operation: with variables and written inline, over POST as each caller given, and
    over GET (anonymously inline, as ADMIN with variables)."""
    for op in operations():
        inline = op.inline(ids)
        document, variables = op.with_variables(ids)
        for who in variables_as:
            caller.post(op.name, who, document, variables)
        for who in inline_as:
            caller.post(op.name, who, inline)
        if over_get:
            caller.get(op.name, None, inline)
            caller.get(op.name, "admin", document, variables)


def send_mistakes(caller: Caller, ids: Ids) -> None:
    """Every operation with an unknown field, values of the wrong type and a syntax error."""
    for op in operations():
        caller.post(op.name, "admin", op.inline(ids, extra=f"unknownField: {json.dumps(TEXT)}"))
        document, variables = op.with_variables(ids)
        if variables:
            caller.post(op.name, "gp", document, wrong_types(variables))
        if any(isinstance(v, dict) for v in variables.values()):
            # One unknown field in an input: graphql-core's message quotes the whole input.
            unknown = {
                k: {**v, "unknownField": TEXT} if isinstance(v, dict) else v
                for k, v in variables.items()
            }
            caller.post(op.name, "admin", document, unknown)
        caller.post(op.name, "gp", op.inline(ids) + f' }} {GIVEN} "{TEXT}" {{')


def refuse_writes(url: str) -> None:
    """Make every write fail inside the database, as a full disk does."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    keep = {"api_clients", "alembic_version"}
    with engine.begin() as conn:
        # (Full-text index tables take no triggers; writes to them fail with their table's.)
        tables = [t for t in inspect(conn).get_table_names() if t not in keep and "_fts" not in t]
        if engine.dialect.name == "sqlite":
            for table in tables:
                for event in ("INSERT", "UPDATE"):
                    conn.execute(
                        text(
                            f'CREATE TRIGGER "full_{event}_{table}" BEFORE {event} ON "{table}" '
                            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
                        )
                    )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION disk_full() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'could not extend file: No space left on device'; "
                    "END $$ LANGUAGE plpgsql"
                )
            )
            for table in tables:
                conn.execute(
                    text(
                        f'CREATE TRIGGER full_writes BEFORE INSERT OR UPDATE ON "{table}" '
                        "FOR EACH ROW EXECUTE FUNCTION disk_full()"
                    )
                )
    engine.dispose()


def real_ids(caller: Caller) -> Ids:
    """A referral, session, provider, registration, problem report and webhook to act on."""
    ids = Ids()
    create = operations_by_name()["createReferral"]
    document, variables = create.with_variables(ids)
    body = caller.post("createReferral", "gp", document, variables).json()
    referral = body["data"]["createReferral"]["referral"]["id"]
    sessions = caller.post(
        "sessions", None, "{ sessions(first: 1) { edges { node { id provider { id } } } } }"
    ).json()["data"]["sessions"]["edges"][0]["node"]
    register = operations_by_name()["registerProvider"]
    document, variables = register.with_variables(ids)
    caller.post("registerProvider", None, document, variables)
    queue = caller.post(
        "moderationQueue", "admin", "{ moderationQueue(first: 1) { edges { node { id } } } }"
    ).json()["data"]["moderationQueue"]["edges"]
    report = operations_by_name()["reportProblem"]
    ids.by_arg.update(
        {
            ("*", "id"): referral,
            ("*", "referralId"): referral,
            ("*", "sessionId"): sessions["id"],
            ("*", "sessionIds"): sessions["id"],
            ("*", "providerId"): sessions["provider"]["id"],
            ("session", "id"): sessions["id"],
            ("node", "id"): sessions["id"],
            ("provider", "id"): sessions["provider"]["id"],
        }
    )
    if queue:
        for op in ("approveRegistration", "requestChanges", "rejectRegistration"):
            ids.by_arg[(op, "id")] = queue[0]["node"]["id"]
    document, variables = report.with_variables(ids)
    caller.post("reportProblem", None, document, variables)
    reports = caller.post(
        "problemReports", "admin", "{ problemReports(first: 1) { edges { node { id } } } }"
    ).json()["data"]["problemReports"]["edges"]
    if reports:
        ids.by_arg[("resolveProblemReport", "id")] = reports[0]["node"]["id"]
    return ids


def records(log: str) -> list[str]:
    """The log's records ("LEVEL name: message" and the lines that follow it)."""
    stamp = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ "
    return [r for r in re.split(stamp, log, flags=re.MULTILINE) if r.strip()]


@pytest.fixture(scope="module")
def database(new_database_url: Callable[[], str]) -> Iterator[tuple[str, dict[str, str]]]:
    url = new_database_url()
    db = _loaded(url, DEMO)
    with db.session() as s:
        load_instruments(s, DEMO / "outcomes")
    made = {}
    with db.session() as s:
        for name in ROLES:
            _client, token = tokens.create_client(s, name=name, **CLIENTS[name])
            made[name] = token
    db.dispose()
    yield url, made


def test_no_log_line_holds_what_a_caller_sent(
    database: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, role_tokens = database
    server = start_server(url, tmp_path / "up")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            caller = Caller(http, {**role_tokens, "bad": BAD_TOKEN})
            ids = real_ids(caller)
            send_everything(caller, ids, (None, "bad", "gp", "admin"), ("lead",))
            send_mistakes(caller, ids)
            # The README's example: createReferral written inline, by a token that may not.
            create = operations_by_name()["createReferral"]
            for who in (None, "bad", "lead", "gp"):
                caller.post("createReferral", who, create.inline(Ids()))
            found = caller.post(
                "referrals",
                "lead",
                f'{{ referrals(filter: {{nhsNumber: "{NHS}"}}) {{ edges {{ node {{ id }} }} }} }}',
            ).json()
            before_failure = server.text()
            working = caller.tally
            # A full disk: every write fails inside the database.
            refuse_writes(url)
            full = Caller(http, caller.tokens)
            send_everything(full, ids, (None, "gp", "admin"), (), over_get=False)
    finally:
        server.stop()
    log = server.text()
    assert found["data"]["referrals"]["edges"], found
    # The requests really were made and did what they should...
    for name in ("createReferral", "referrals", "registerProvider", "reportProblem", "me"):
        assert working.succeeded.get(name), (name, working.succeeded)
    assert len(working.succeeded) >= 20, sorted(working.succeeded)
    assert len(re.findall('"(GET|POST) /graphql', before_failure)) == working.requests
    assert full.tally.server_errors > 0
    # ...a caller's mistake wrote no traceback, and each server error is logged...
    errors = [r for r in records(before_failure) if r.startswith("ERROR")]
    assert len(errors) <= working.server_errors, errors
    tracebacks = [r for r in records(before_failure) if "Traceback" in r]
    assert all(r in errors for r in tracebacks), tracebacks
    assert log.count("unexpected error") >= full.tally.server_errors
    # The database's own code says what happened (SQLite's name, PostgreSQL's SQLSTATE).
    assert re.search(r"unexpected error \w+ in [^\n]*\((SQLITE_\w+|P0001)\) at ", log)
    # ...and nothing the callers sent is in the log.
    assert leaks(log) == [], "\n".join(leaks(log)[:20])


def test_no_log_line_holds_what_a_caller_sent_while_the_database_is_down(
    database: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    _url, role_tokens = database
    down = (
        f"sqlite:///{tmp_path / 'missing' / 'petunia.db'}"
        if engine_name() == "sqlite"
        else f"postgresql+psycopg://petunia@127.0.0.1:{free_port()}/petunia"
    )
    server = start_server(down, tmp_path / "down")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            caller = Caller(http, role_tokens)
            send_everything(caller, Ids(), (None, "gp"), (), over_get=False)
            for op in operations():
                caller.get(op.name, None, op.inline(Ids()))
    finally:
        server.stop()
    log = server.text()
    assert caller.tally.server_errors > 0
    assert re.search(r"unexpected error|Exception in ASGI application", log), log[-3000:]
    assert leaks(log) == [], "\n".join(leaks(log)[:20])


# -- the parts of the rule, one by one (fast) ----------------------------------------------


@pytest.fixture()
def capture() -> Iterator[Callable[[str], io.StringIO]]:
    """What a logger writes through the safe formatter (its settings restored after)."""
    saved = []

    def start(name: str) -> io.StringIO:
        logger = logging.getLogger(name)
        saved.append((logger, list(logger.handlers), logger.level, logger.propagate))
        stream = io.StringIO()
        # A plain handler first: it caches the full exception text on the record...
        logger.addHandler(logging.StreamHandler(io.StringIO()))
        # ...which the safe formatter must not reuse.
        handler = logging.StreamHandler(stream)
        handler.setFormatter(SafeFormatter(FORMAT))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        return stream

    yield start
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def test_an_exception_is_logged_with_its_type_and_frames_not_its_message(
    capture: Callable[[str], io.StringIO],
) -> None:
    stream = capture("tests.logs.exceptions")
    try:
        try:
            raise KeyError(NHS)
        except KeyError as exc:
            raise ValueError(TEXT) from exc
    except ValueError:
        logging.getLogger("tests.logs.exceptions").exception("it failed")
    written = stream.getvalue()
    assert "it failed" in written and "KeyError" in written and "ValueError" in written
    assert "direct cause" in written and "test_logs.py" in written
    assert leaks(written) == [], written


def test_the_access_log_shows_no_query_string_and_no_link_secret(
    capture: Callable[[str], io.StringIO],
) -> None:
    stream = capture("uvicorn.access")
    access = logging.getLogger("uvicorn.access")
    protect()
    line = '%s - "%s %s HTTP/%s" %d'
    access.info(line, "127.0.0.1:5000", "GET", f"/graphql?query={quote_plus(TEXT)}", "1.1", 200)
    access.info(line, "127.0.0.1:5000", "GET", "/listing/s3cr3t-t0ken/still-right", "1.1", 200)
    access.info(line, "127.0.0.1:5000", "GET", "/staff/sign-in/s3cr3t-signin", "1.1", 200)
    access.info(line, "127.0.0.1:5000", "POST", "/attendance/s3cr3t-register", "1.1", 303)
    written = stream.getvalue()
    assert "GET /graphql?(query hidden)" in written
    assert "/listing/(link)/still-right" in written and "s3cr3t" not in written
    assert "/staff/sign-in/(link)" in written and "/attendance/(link)" in written
    assert leaks(written) == [], written


def test_sqlalchemy_logs_no_bound_values_or_rows_even_at_debug(
    capture: Callable[[str], io.StringIO], tmp_path: Path
) -> None:
    stream = capture("sqlalchemy.engine")
    protect()
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE people (name TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO people VALUES (:name)"), {"name": TEXT})
        assert conn.execute(text("SELECT name FROM people")).scalar() == TEXT
    with pytest.raises(IntegrityError) as refused, engine.begin() as conn:
        conn.execute(text("INSERT INTO people VALUES (:name)"), {"name": TEXT})
    engine.dispose()
    written = stream.getvalue()
    assert "INSERT INTO people" in written  # statements are logged at DEBUG...
    assert leaks(written) == [], written  # ...values and rows are not
    assert leaks(str(refused.value)) == [], str(refused.value)  # nor in exception messages
