"""Read-only units of work (issue 15, part 2): a public read sends its statements alone, with
no BEGIN and no ROLLBACK on PostgreSQL (autocommit), and a write through one fails loudly
instead of being committed or dropped; write units stay transactions. On both engines."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select, text, update
from starlette.testclient import TestClient

from api.db import Database, ReadOnlyError
from api.directory.models import Provider, Session
from tests.conftest import client_for

SEARCH = """query ($filter: SessionFilter!) {
  sessions(filter: $filter, first: 20) {
    totalCount edges { node { id title provider { name } venue { name postcode } } }
  }
}"""


def _in_transaction(dbapi_connection: Any) -> bool:
    """Whether the driver has a transaction open on the server: psycopg opens one (sends
    BEGIN) before the first statement unless the connection is in autocommit."""
    info = getattr(dbapi_connection, "info", None)
    if hasattr(info, "transaction_status"):
        return info.transaction_status != 0  # psycopg.pq.TransactionStatus.IDLE
    return bool(dbapi_connection.in_transaction)  # sqlite3


class Statements:
    """Every statement sent, and whether a transaction was open on the server after it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sent: list[tuple[str, bool]] = []

    def _after(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        in_transaction = _in_transaction(conn.connection.dbapi_connection)
        self.sent.append((statement.split(None, 1)[0].upper(), in_transaction))

    def __enter__(self) -> Statements:
        event.listen(self.db.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.db.engine, "after_cursor_execute", self._after)


@pytest.fixture()
def client(db: Database) -> Iterator[TestClient]:
    with client_for(db) as c:
        yield c


def test_a_graphql_search_sends_its_selects_and_no_begin(db: Database, client: TestClient) -> None:
    client.post("/graphql", json={"query": "{ localities { name } }"})  # pool warmed up
    with Statements(db) as seen:
        response = client.post(
            "/graphql", json={"query": SEARCH, "variables": {"filter": {"text": "walk"}}}
        )
    assert response.status_code == 200 and not response.json().get("errors")
    assert response.json()["data"]["sessions"]["edges"]
    assert seen.sent, "the search sent nothing"
    assert {kind for kind, _ in seen.sent} == {"SELECT"}
    # No transaction was opened on the server: no BEGIN went before, no ROLLBACK after.
    assert not any(open_ for _, open_ in seen.sent), seen.sent


def test_an_oruk_list_sends_no_begin(db: Database, client: TestClient) -> None:
    client.get("/oruk/services", params={"per_page": 5})
    with Statements(db) as seen:
        response = client.get("/oruk/services", params={"per_page": 5})
    assert response.status_code == 200 and response.json()["contents"]
    assert seen.sent and {kind for kind, _ in seen.sent} == {"SELECT"}
    assert not any(open_ for _, open_ in seen.sent), seen.sent


def _first_title(db: Database) -> tuple[int, str]:
    with db.session() as s:
        row = s.scalars(select(Session).order_by(Session.id)).first()
        assert row is not None
        return row.id, row.title


def test_a_write_through_a_read_only_unit_fails_loudly(db: Database) -> None:
    pk, title = _first_title(db)

    def flushed(s: Any) -> None:
        s.get(Session, pk).title = "Changed in a read"
        s.flush()

    def left_unflushed(s: Any) -> None:
        s.get(Session, pk).title = "Changed in a read"

    def added(s: Any) -> None:
        s.add(Provider(key="read-only", name="Added in a read"))

    writes = [
        flushed,
        left_unflushed,
        added,
        lambda s: s.execute(update(Session).where(Session.id == pk).values(title="x")),
        lambda s: s.execute(text("DELETE FROM session_domains")),
    ]
    if db.dialect == "postgresql":  # SQLite has no row locks (FOR UPDATE is not sent)
        writes.append(
            lambda s: s.execute(select(Session).where(Session.id == pk).with_for_update())
        )
    for write in writes:
        with pytest.raises(ReadOnlyError):
            db.read(write)
    with pytest.raises(ReadOnlyError):
        asyncio.run(db.run_sync(lambda s: s.execute(update(Session).values(title="x"))))
    assert _first_title(db) == (pk, title)
    with db.session() as s:
        assert s.scalar(text("SELECT count(*) FROM session_domains"))
        assert s.scalar(select(Provider).where(Provider.key == "read-only")) is None


def test_a_write_unit_after_a_read_still_rolls_back(db: Database) -> None:
    """The pooled connection a read lent in autocommit is a transaction again for a write."""
    pk, title = _first_title(db)
    for _ in range(3):
        db.read(lambda s: s.scalar(select(Session.title).where(Session.id == pk)))
    with pytest.raises(RuntimeError, match="undone"), db.session() as s:
        s.execute(update(Session).where(Session.id == pk).values(title="Not kept"))
        raise RuntimeError("undone")
    assert _first_title(db) == (pk, title)
    db.write(lambda s: s.execute(update(Session).where(Session.id == pk).values(title="Kept")))
    assert _first_title(db) == (pk, "Kept")


def test_postgresql_plans_each_run_for_its_values(db: Database) -> None:
    """Reads keep their prepared statements now (no ROLLBACK discards them): a generic plan,
    made without the values, must not replace the plan for the values (it scanned every
    session for a search near a place); and random reads are priced for cached data."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL's plan cache")
    mode, cost = db.read(
        lambda s: s.execute(
            text("SELECT current_setting('plan_cache_mode'), current_setting('random_page_cost')")
        ).one()
    )
    assert (mode, cost) == ("force_custom_plan", "1.1")
