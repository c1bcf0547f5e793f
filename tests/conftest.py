"""Shared fixtures. Tests run on a real SQLite file by default, and on a real PostgreSQL
server when TEST_DATABASE_URL points at one (scripts/test starts a throwaway cluster)."""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from api import migrations
from api.app import create_app
from api.config import get_settings
from api.db import Database
from api.directory.loading import load_directory
from tests.mailbox import Mailbox, running_mailbox

ROOT = Path(__file__).resolve().parent.parent
MINI = Path(__file__).resolve().parent / "data" / "mini"
DEMO = ROOT / "directory_data"
PG_URL = os.environ.get("TEST_DATABASE_URL")
# Referrals' data keys (api/referrals/keys.py) go to a key store of the test run, not var/.
_KEYS = Path(tempfile.mkdtemp(prefix="petunia-keys-"))
atexit.register(shutil.rmtree, _KEYS, ignore_errors=True)
os.environ.setdefault("PETUNIA_KEY_STORE_URL", f"sqlite:///{_KEYS / 'keys.db'}")
_counter = itertools.count()


def engine_name() -> str:
    return "postgresql" if PG_URL else "sqlite"


@pytest.fixture(scope="session")
def new_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], str]]:
    """A factory of empty databases: SQLite files, or fresh PostgreSQL databases."""
    created: list[str] = []

    def make() -> str:
        if not PG_URL:
            return f"sqlite:///{tmp_path_factory.mktemp('db') / 'petunia.db'}"
        name = f"petunia_t{next(_counter)}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        created.append(name)
        return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    yield make
    if PG_URL and created:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _loaded(url: str, folder: Path | None) -> Database:
    db = Database.from_url(url)
    migrations.upgrade(db.engine)
    if folder is not None:
        with db.session() as session:
            load_directory(session, folder)
    return db


@pytest.fixture()
def empty_db(new_database_url: Callable[[], str]) -> Iterator[Database]:
    db = _loaded(new_database_url(), None)
    yield db
    db.dispose()


@pytest.fixture()
def db(empty_db: Database) -> Database:
    """The small directory in tests/data/mini, in a database of the test's own (writable)."""
    with empty_db.session() as session:
        load_directory(session, MINI)
    return empty_db


@pytest.fixture()
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on a free loopback port, and what it received."""
    yield from running_mailbox()


@pytest.fixture(scope="session")
def mini_db(new_database_url: Callable[[], str]) -> Iterator[Database]:
    """The small fixed directory in tests/data/mini (read-only: do not change it)."""
    db = _loaded(new_database_url(), MINI)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def demo_db(new_database_url: Callable[[], str]) -> Iterator[Database]:
    """The shipped demo directory (read-only: do not change it)."""
    db = _loaded(new_database_url(), DEMO)
    yield db
    db.dispose()


def client_for(db: Database, **settings: object) -> TestClient:
    return TestClient(create_app(get_settings(**settings), db=db))


class GraphQLClient:
    def __init__(self, client: TestClient) -> None:
        self.http = client

    def execute(self, query: str, **variables: object) -> dict:
        response = self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, query: str, **variables: object) -> dict:
        body = self.execute(query, **variables)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def errors(self, query: str, **variables: object) -> list[dict]:
        body = self.execute(query, **variables)
        assert body.get("errors"), f"expected errors, got {body}"
        return body["errors"]


@pytest.fixture(scope="session")
def mini_api(mini_db: Database) -> Iterator[GraphQLClient]:
    with client_for(mini_db) as client:
        yield GraphQLClient(client)


@pytest.fixture(scope="session")
def demo_api(demo_db: Database) -> Iterator[GraphQLClient]:
    with client_for(demo_db) as client:
        yield GraphQLClient(client)


class StatementCounter:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.count = 0

    def _on_execute(self, *_args: object) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        event.listen(self.db.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.db.engine, "before_cursor_execute", self._on_execute)
