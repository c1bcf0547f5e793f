"""Meilisearch: what the official client sends when the site is built (recorded by a small
HTTP server on 127.0.0.1 that answers like Meilisearch), what the site's search page asks
with the search-only key, and a live test against a real Meilisearch when MEILI_URL is set."""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from api.config import get_settings
from api.db import Database
from api.directory.loading import load_directory
from api.directory.models import Session
from sitegen.build import BuildError, build_site
from sitegen.meili import SETTINGS
from tests.conftest import MINI

TODAY = dt.date(2026, 11, 16)
NOW = "2026-11-16T10:00:00.000000Z"
CHROMIUM = os.environ.get("PETUNIA_CHROMIUM", "/usr/bin/chromium")


class FakeMeili:
    """Records requests; keeps indexes and documents so later calls see earlier ones."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.indexes: set[str] = set()
        self.documents: dict[str, dict[str, Any]] = {}
        self.tasks = 0

    def task(self, kind: str, uid: str) -> dict[str, Any]:
        self.tasks += 1
        return {
            "taskUid": self.tasks,
            "indexUid": uid,
            "status": "enqueued",
            "type": kind,
            "enqueuedAt": NOW,
        }


def make_handler(state: FakeMeili) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(data)

        def do_OPTIONS(self) -> None:  # noqa: N802 - the browser's CORS preflight
            self.send_response(204)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type")
            self.send_header("Access-Control-Allow-Methods", "POST, GET")
            self.end_headers()

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            url = urlsplit(self.path)
            parts = url.path.strip("/").split("/")
            state.requests.append(
                {
                    "method": self.command,
                    "path": url.path,
                    "query": url.query,
                    "auth": self.headers.get("Authorization"),
                    "body": body,
                }
            )
            if parts[0] == "keys":
                key = {
                    "uid": "k1",
                    "name": "Default Search API Key",
                    "description": None,
                    "key": "search-only-key",
                    "actions": ["search"],
                    "indexes": ["*"],
                    "expiresAt": None,
                    "createdAt": NOW,
                    "updatedAt": NOW,
                }
                return self._send(200, {"results": [key], "offset": 0, "limit": 100, "total": 1})
            if parts[0] == "tasks":
                return self._send(
                    200,
                    {"uid": int(parts[1]), "status": "succeeded", "type": "x", "enqueuedAt": NOW},
                )
            if parts == ["indexes"] and self.command == "POST":
                state.indexes.add(body["uid"])
                return self._send(202, state.task("indexCreation", body["uid"]))
            uid = parts[1]
            if len(parts) == 2:
                if uid not in state.indexes:
                    return self._send(
                        404,
                        {
                            "message": f"Index `{uid}` not found.",
                            "code": "index_not_found",
                            "type": "invalid_request",
                            "link": "",
                        },
                    )
                return self._send(
                    200, {"uid": uid, "primaryKey": "id", "createdAt": NOW, "updatedAt": NOW}
                )
            if parts[2] == "settings":
                return self._send(202, state.task("settingsUpdate", uid))
            if parts[2] == "documents" and len(parts) == 3:
                for doc in body:
                    state.documents[doc["id"]] = doc
                return self._send(202, state.task("documentAdditionOrUpdate", uid))
            if parts[2:] == ["documents", "delete-batch"]:
                for doc_id in body:
                    state.documents.pop(doc_id, None)
                return self._send(202, state.task("documentDeletion", uid))
            if parts[2] == "search":
                q = (body.get("q") or "").lower()
                hits = [d for d in state.documents.values() if q in d["title"].lower()]
                return self._send(200, {"hits": hits, "query": q, "estimatedTotalHits": len(hits)})
            return self._send(
                404, {"message": "unknown route", "code": "x", "type": "x", "link": ""}
            )

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle  # noqa: N815

    return Handler


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture()
def fake_meili() -> Iterator[tuple[FakeMeili, str]]:
    state = FakeMeili()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture()
def db(empty_db: Database) -> Database:
    with empty_db.session() as s:
        load_directory(s, MINI)
    return empty_db


def sent(state: FakeMeili, method: str, suffix: str) -> list[dict[str, Any]]:
    return [r for r in state.requests if r["method"] == method and r["path"].endswith(suffix)]


def test_indexing_sends_settings_documents_and_only_changes(
    db: Database, fake_meili: tuple[FakeMeili, str], tmp_path: Path
) -> None:
    state, url = fake_meili
    settings = get_settings(data_dir=tmp_path, meili_url=url, meili_master_key="master-key")
    out = tmp_path / "site"
    report = build_site(db, settings, out, today=TODAY)

    assert report.meili_documents == 8  # 5 sessions and 3 providers
    (patch,) = sent(state, "PATCH", "/indexes/petunia-directory/settings")
    body = patch["body"]
    assert {k: v for k, v in body.items() if k in SETTINGS} == SETTINGS
    assert "_geo" in body["filterableAttributes"] and "_geo" in body["sortableAttributes"]
    # What the static index does with Snowball and the synonyms file, as settings: a
    # synonym group, and the forms of a word of the listings that share a stem.
    assert "cooking" in body["synonyms"]["cookery"] and "cookery" in body["synonyms"]["cook"]
    assert "walk" in body["synonyms"]["walking"] and "friendship" in body["synonyms"]["lonely"]
    assert "the" in body["stopWords"]
    assert {"searchableAttributes", "sortableAttributes"} <= set(patch["body"])
    assert all(r["auth"] == "Bearer master-key" for r in state.requests)
    dog = next(d for d in state.documents.values() if d["title"] == "Dog walking")
    assert dog["_geo"]["lat"] == pytest.approx(52.6101, abs=0.05)
    assert dog["day"] == ["Saturday", "Sunday"] and dog["cost"] == "Free"
    assert dog["url"] == "providers/shelter/dog-walking/" and dog["type"] == "Activity"
    assert dog["activity"] == ["Getting active", "Volunteering"]
    assert {d["type"] for d in state.documents.values()} == {"Activity", "Organisation"}

    # The browser gets the search-only key, never the master key.
    search_page = (out / "search" / "index.html").read_text()
    assert "search-only-key" in search_page and "master-key" not in search_page
    assert 'data-engine="meilisearch"' in search_page

    state.requests.clear()
    again = build_site(db, settings, out, today=TODAY)
    assert again.meili_documents == 0 and not sent(state, "POST", "/documents")
    with db.session() as s:
        s.execute(update(Session).where(Session.key == "knit").values(title="Crochet circle"))
    build_site(db, settings, out, today=TODAY)
    (post,) = sent(state, "POST", "/indexes/petunia-directory/documents")
    assert [d["title"] for d in post["body"]] == ["Crochet circle"]


def test_a_stopped_activity_is_deleted_from_meilisearch_at_the_next_build(
    db: Database, fake_meili: tuple[FakeMeili, str], tmp_path: Path
) -> None:
    from api.directory import lifecycle
    from api.directory.models import Provider

    state, url = fake_meili
    settings = get_settings(data_dir=tmp_path, meili_url=url, meili_master_key="master-key")
    build_site(db, settings, tmp_path / "site", today=TODAY)
    assert any(d["title"] == "Dog walking" for d in state.documents.values())
    with db.session() as s:
        shelter = s.scalars(select(Provider).where(Provider.key == "shelter")).one()
        walking = s.scalars(select(Session).where(Session.key == "dog-walking")).one()
        assert lifecycle.stop(s, shelter, walking.id).ok
    build_site(db, settings, tmp_path / "site", today=TODAY)
    assert not any(d["title"] == "Dog walking" for d in state.documents.values())
    assert sent(state, "POST", "/documents/delete-batch")


def test_an_unreachable_meilisearch_fails_the_build_cleanly(db: Database, tmp_path: Path) -> None:
    settings = get_settings(data_dir=tmp_path, meili_url="http://127.0.0.1:9", meili_search_key="k")
    with pytest.raises(BuildError, match="Meilisearch"):
        build_site(db, settings, tmp_path / "site", today=TODAY)
    assert not (tmp_path / "site").exists()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium")
def test_the_site_searches_meilisearch_with_the_search_key(
    db: Database, fake_meili: tuple[FakeMeili, str], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    state, url = fake_meili
    settings = get_settings(data_dir=tmp_path, meili_url=url, meili_master_key="master-key")
    out = tmp_path / "site"
    build_site(db, settings, out, today=TODAY)
    handler = functools.partial(_QuietFiles, directory=str(out))
    static = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=static.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{static.server_address[1]}/search/")
            page.fill("#q", "dog")
            page.click("#pt-search summary")  # open the filters
            page.check("input[name=day][value=Saturday]")
            page.click("#pt-search button[type=submit]")
            page.wait_for_selector("#pt-results li")
            # (The fake does not filter: what matters is what was asked, checked below.)
            titles = page.locator("#pt-results li .pt-item__title").all_text_contents()
            assert "Dog walking" in titles
            # With a place: Meilisearch's geo search, within the radius and nearest first.
            page.fill("#postcode", "AT1 1AA")
            page.click("#pt-search button[type=submit]")
            page.locator("#pt-status", has_text="within 5 miles of AT1 1AA").wait_for()
            browser.close()
    finally:
        static.shutdown()
    query, near = sent(state, "POST", "/indexes/petunia-directory/search")
    assert query["auth"] == "Bearer search-only-key"
    assert query["body"]["q"] == "dog" and query["body"]["filter"] == [['day = "Saturday"']]
    assert "sort" not in query["body"]
    assert near["body"]["filter"][0] == ['day = "Saturday"']
    assert re.fullmatch(r"_geoRadius\([\d.]+, -?[\d.]+, 8047\)", near["body"]["filter"][1])
    assert re.fullmatch(r"_geoPoint\([\d.]+, -?[\d.]+\):asc", near["body"]["sort"][0])


@pytest.mark.skipif(not os.environ.get("MEILI_URL"), reason="MEILI_URL is not set")
def test_live_meilisearch(db: Database, tmp_path: Path) -> None:
    import meilisearch

    settings = get_settings(data_dir=tmp_path, meili_index_prefix=f"petunia-test-{os.getpid()}")
    build_site(db, settings, tmp_path / "site", today=TODAY)
    from sitegen.meili import index_uid, search_key

    client = meilisearch.Client(settings.meili_url, search_key(settings))
    index = client.index(index_uid(settings))
    assert index.search("dog walking")["hits"][0]["title"] == "Dog walking"
    assert index.search("dgo walkign")["hits"][0]["title"] == "Dog walking"  # typos
    hits = index.search("", {"filter": ['day = "Saturday"', 'type = "Activity"']})["hits"]
    assert {h["title"] for h in hits} == {"Dog walking"}
    meilisearch.Client(settings.meili_url, settings.meili_master_key).delete_index(
        index_uid(settings)
    )
