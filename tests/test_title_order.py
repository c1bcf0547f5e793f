"""Lists in title order (issue 15: /oruk/services was 13 to 44 times the baseline): the page
is read from ``ix_sessions_status_title`` (migration 0016) and stops when full, and its total
is counted once per version of the directory instead of with every page. On both engines."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select, update
from starlette.testclient import TestClient

from api.db import Database
from api.directory.enums import ListingStatus
from api.directory.models import Session
from api.directory.search import SessionQuery, search_sessions
from benchmarks.synthetic import generate
from tests.conftest import client_for


class Sent:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.statements: list[tuple[str, Any]] = []

    def _before(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        self.statements.append((statement, params))

    def __enter__(self) -> Sent:
        event.listen(self.db.engine, "before_cursor_execute", self._before)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.db.engine, "before_cursor_execute", self._before)

    def counts(self) -> int:
        return sum("count(" in statement.lower() for statement, _ in self.statements)


def test_a_page_in_title_order_is_read_from_the_index(empty_db: Database) -> None:
    generate(empty_db, providers=100, sessions=1000)
    empty_db.analyze()
    with Sent(empty_db) as sent:
        page = empty_db.read(lambda s: search_sessions(s, SessionQuery(), limit=20))
    assert len(page.items) == 20 and page.total == 1000
    statement, params = next(
        (st, p) for st, p in sent.statements if "ORDER BY sessions.title" in st
    )
    assert "OVER" not in statement  # a count over the window would read every row
    with empty_db.engine.connect() as conn:
        if empty_db.dialect == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
            plan = "\n".join(row[-1] for row in rows)
            assert "USING INDEX ix_sessions_status_title" in plan, plan
            assert "TEMP B-TREE" not in plan, plan  # nothing sorted
        else:
            plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {statement}", params).scalars())
            assert "Index Scan using ix_sessions_status_title" in plan, plan
            assert "Sort" not in plan, plan
    # The same rows, in the same order, as sorting them all.
    with empty_db.session() as s:
        titled = s.scalars(select(Session.id).order_by(Session.title, Session.id).limit(20)).all()
    assert page.items == titled


@pytest.fixture()
def client(db: Database) -> Iterator[TestClient]:
    with client_for(db) as c:
        yield c


def test_the_total_is_counted_once_per_version_of_the_directory(
    db: Database, client: TestClient
) -> None:
    def services() -> tuple[int, int]:
        with Sent(db) as sent:
            body = client.get("/oruk/services", params={"per_page": 2}).json()
        return body["total_items"], sent.counts()

    total, counted = services()
    with db.session() as s:
        published = s.scalar(
            select(Session.id).where(Session.status == ListingStatus.PUBLISHED).order_by(Session.id)
        )
    assert total > 2 and counted == 1
    assert services() == (total, 0)  # the same directory: the total is known
    assert (
        client.get("/oruk/services", params={"per_page": 2, "page": 2}).json()["total_items"]
        == total
    )
    db.write(
        lambda s: s.execute(
            update(Session).where(Session.id == published).values(status=ListingStatus.WITHDRAWN)
        )
    )
    assert services() == (total - 1, 1)  # the directory changed: counted again
    assert services() == (total - 1, 0)
