"""GraphiQL in Chromium, served by Petunia under its Content-Security-Policy: it loads from
Petunia's own files only (nothing from a CDN) and runs a query."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from api.app import create_app
from api.config import get_settings
from api.db import Database

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("PETUNIA_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium")


@pytest.fixture()
def base(mini_db: Database, tmp_path: Path) -> Iterator[str]:
    (tmp_path / "site").mkdir()
    app = create_app(get_settings(data_dir=tmp_path), db=mini_db)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def test_graphiql_runs_a_query_from_petunias_own_files(base: str) -> None:
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            tab = browser.new_page()
            problems: list[str] = []
            requested: list[str] = []
            tab.on("pageerror", lambda e: problems.append(str(e)))
            tab.on(
                "console",
                lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
            )
            tab.on("request", lambda r: requested.append(r.url))
            tab.goto(f"{base}/graphql")
            tab.click(".graphiql-execute-button", timeout=60_000)
            # A locator, not a JavaScript string: the page's CSP (rightly) forbids eval.
            tab.locator(".result-window", has_text="Getting").wait_for(timeout=60_000)
        finally:
            browser.close()
    assert not problems, problems
    assert requested and all(url.startswith(base) for url in requested), requested
