"""Less to send, less to compute again (issue 15, section 5): ETags and 304s from the
directory's version, no-store on personal requests, brotli/gzip negotiation, persisted
queries; and the directory version and search index of migration 0015, on both engines."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator

import brotli
import pytest
from sqlalchemy import inspect, select, text, update
from starlette.testclient import TestClient

from api.access import tokens
from api.access.models import Role
from api.caching import directory_version
from api.db import Database
from api.directory.models import Session
from api.directory.search import SessionQuery, search_sessions
from tests.conftest import client_for, engine_name

SEARCH = "{ sessions(first: 20) { totalCount edges { node { title description } } } }"
PERSONAL = "{ me { name role } }"
# Over the compression threshold on the small test directory.
BIG = (
    "{ sessions(first: 20) { totalCount edges { node { id title description howToJoin "
    "provider { id name description } venue { name address postcode } } } } }"
)


@pytest.fixture()
def client(db: Database) -> Iterator[TestClient]:
    with client_for(db) as c:
        yield c


def get(client: TestClient, query: str = SEARCH, **headers: str):
    return client.get("/graphql", params={"query": query}, headers=headers)


def token_for(db: Database) -> str:
    with db.session() as s:
        return tokens.create_client(s, role=Role.ADMIN)[1]


# ---------------------------------------------------------------------------------------------
# ETag, Cache-Control, 304


def test_a_public_get_is_answered_304_until_the_directory_changes(
    db: Database, client: TestClient
) -> None:
    first = get(client)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    assert first.headers["cache-control"] == "public, no-cache"

    again = get(client, **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag

    with db.session() as s:  # any write to the directory's tables
        s.execute(update(Session).where(Session.id == 1).values(title="Renamed walk"))
    changed = get(client, **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert "Renamed walk" in changed.text


def test_oruk_lists_and_items_carry_etags_and_answer_304(client: TestClient) -> None:
    for path in ("/oruk/services", "/oruk/organizations", "/oruk/taxonomies"):
        first = client.get(path)
        assert first.status_code == 200, path
        assert first.headers["cache-control"] == "public, no-cache"
        again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304, path
    # Errors are not kept.
    missing = client.get("/oruk/services/not-an-id")
    assert missing.status_code in (400, 404)
    assert "etag" not in missing.headers


def test_graphql_answers_with_errors_and_posts_carry_no_etag(client: TestClient) -> None:
    bad = get(client, "{ sessions(first: 2) { nope } }")
    assert "etag" not in bad.headers
    posted = client.post("/graphql", json={"query": SEARCH})
    assert posted.status_code == 200
    assert "etag" not in posted.headers


def test_personal_requests_are_no_store_and_never_304(db: Database, client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {token_for(db)}"}
    me = client.get("/graphql", params={"query": PERSONAL}, headers=auth)
    assert me.status_code == 200 and me.json()["data"]["me"]["role"] == "ADMIN"
    assert me.headers["cache-control"] == "no-store"
    assert "etag" not in me.headers
    public_etag = get(client).headers["etag"]
    again = get(client, **auth, **{"If-None-Match": public_etag})
    assert again.status_code == 200
    assert again.headers["cache-control"] == "no-store"
    posted = client.post("/graphql", json={"query": PERSONAL}, headers=auth)
    assert posted.headers["cache-control"] == "no-store"


# ---------------------------------------------------------------------------------------------
# Compression


@pytest.mark.parametrize("path", ["/graphql?query=" + BIG, "/oruk/services?per_page=50"])
def test_compression_follows_accept_encoding(client: TestClient, path: str) -> None:
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert len(plain.content) > 500, "the body is big enough to compress"
    for encoding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        # The raw bytes, as sent: httpx would decode them.
        with client.stream("GET", path, headers={"Accept-Encoding": encoding}) as r:
            raw = b"".join(r.iter_raw())
            assert r.headers["content-encoding"] == encoding
            assert "accept-encoding" in r.headers["vary"].lower()
        assert len(raw) < len(plain.content)
        assert json.loads(decode(raw)) == plain.json()
    both = client.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert both.headers["content-encoding"] == "br"


def test_personal_answers_are_not_compressed(db: Database, client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {token_for(db)}", "Accept-Encoding": "br, gzip"}
    answer = client.get("/graphql", params={"query": BIG}, headers=auth)
    assert answer.status_code == 200
    assert "content-encoding" not in answer.headers


# ---------------------------------------------------------------------------------------------
# Persisted queries


def persisted(query: str) -> dict:
    digest = hashlib.sha256(query.encode()).hexdigest()
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def test_persisted_query_miss_then_register_then_hit(client: TestClient) -> None:
    extensions = persisted(SEARCH)
    miss = client.post("/graphql", json={"extensions": extensions})
    assert miss.status_code == 200
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"

    first = client.post("/graphql", json={"query": SEARCH, "extensions": extensions})
    assert not first.json().get("errors")

    hit = client.get("/graphql", params={"extensions": json.dumps(extensions)})
    assert hit.status_code == 200
    assert hit.json() == first.json()
    assert "etag" in hit.headers  # a short GET a cache can keep
    again = client.get(
        "/graphql",
        params={"extensions": json.dumps(extensions)},
        headers={"If-None-Match": hit.headers["etag"]},
    )
    assert again.status_code == 304


def test_a_not_found_persisted_query_is_not_cached(client: TestClient) -> None:
    extensions = json.dumps(persisted("{ __typename }"))
    miss = client.get("/graphql", params={"extensions": extensions})
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert "etag" not in miss.headers


def test_a_hash_that_is_not_the_query_s_is_refused(client: TestClient) -> None:
    wrong = persisted("{ __typename }")
    answer = client.post("/graphql", json={"query": SEARCH, "extensions": wrong})
    assert answer.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
    # Nothing was registered under that hash.
    after = client.post("/graphql", json={"extensions": wrong})
    assert after.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    odd = client.post("/graphql", json={"extensions": {"persistedQuery": {"version": 2}}})
    assert odd.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_SUPPORTED"


def test_the_persisted_query_store_is_bounded() -> None:
    from api.graphql.persisted import PersistedQueries

    store = PersistedQueries(max_queries=3, max_characters=100)
    for n in range(5):
        store.add(f"{n:064x}", "x" * 10)
    assert len(store) == 3 and store.get(f"{0:064x}") is None
    store.add(f"{9:064x}", "y" * 95)
    assert len(store) == 1


# ---------------------------------------------------------------------------------------------
# Migration 0015: the directory version and PostgreSQL's search column


def test_every_write_to_the_directory_raises_its_version(db: Database) -> None:
    seen = [db.read(directory_version)]
    writes = [
        "UPDATE sessions SET title = title || '!' WHERE id = 1",
        "UPDATE providers SET name = name || '!' WHERE id = 1",
        "DELETE FROM session_languages WHERE session_id = 1",
        "UPDATE venues SET name = name || '!' WHERE id = (SELECT MIN(id) FROM venues)",
        "DELETE FROM schedules WHERE session_id = 1",
    ]
    for statement in writes:
        with db.session() as s:
            s.execute(text(statement))
        seen.append(db.read(directory_version))
        assert seen[-1] > seen[-2], statement


def test_postgresql_search_uses_a_stored_indexed_tsvector(db: Database) -> None:
    if engine_name() != "postgresql":
        pytest.skip("PostgreSQL only")
    columns = {c["name"]: c for c in inspect(db.engine).get_columns("sessions")}
    assert "search_vector" in columns
    with db.engine.connect() as conn:
        index = conn.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_sessions_search'")
        )
    assert "gin (search_vector)" in index


def _reference_ids(db: Database, words: str) -> list[int]:
    """Published sessions matching ``words`` (each a prefix), by the index itself."""
    terms = words.split()
    with db.engine.connect() as conn:
        if db.dialect == "sqlite":
            match = " ".join(f'"{t}"*' for t in terms)
            found = "SELECT rowid FROM sessions_fts WHERE sessions_fts MATCH :m"
        else:  # the expression of the index before 0015
            match = " & ".join(f"{t}:*" for t in terms)
            found = (
                "SELECT id FROM sessions WHERE to_tsvector('english', search_text) "
                "@@ to_tsquery('english', :m)"
            )
        rows = conn.execute(
            text(
                f"SELECT s.id FROM sessions s JOIN providers p ON p.id = s.provider_id "
                f"WHERE p.status = 'PUBLISHED' AND s.id IN ({found})"
            ),
            {"m": match},
        )
        return sorted(r[0] for r in rows)


@pytest.mark.parametrize("words", ["walk", "dog walking", "cook", "sing", "club", "zzz"])
def test_search_finds_what_the_text_index_finds_page_by_page(db: Database, words: str) -> None:
    """One round trip per page (the count in a window function) gives the same totals and
    the same sessions as the index, across pages and past the last one."""
    want = _reference_ids(db, words)
    with db.session() as s:
        got: list[int] = []
        for offset in range(0, len(want) + 3, 3):
            page = search_sessions(s, SessionQuery(text=words), offset=offset, limit=3)
            assert page.total == len(want), (words, offset)
            got += page.items
        past = search_sessions(s, SessionQuery(text=words), offset=len(want) + 10, limit=3)
        assert past.items == [] and past.total == len(want)
        ranked = s.scalars(select(Session.id).where(Session.id.in_(got))).all()
    assert sorted(got) == want == sorted(ranked)
