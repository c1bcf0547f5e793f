"""Odd text as a person sees it, in Chromium on a phone-sized screen: a description keeps
its line breaks, and a very long word wraps instead of pushing the page sideways."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from api.directory.models import Session
from sitegen.build import build_site
from tests.conftest import MINI, _loaded
from tests.test_site_browser import CHROMIUM, _Quiet, browser  # noqa: F401 - a fixture
from tests.test_site_build import TODAY, settings_for

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium")

LONG_WORD = "Supercalifragilistic" * 6  # 120 letters, no break
DESCRIPTION = f"Bring needles.\nOr borrow ours.\n\nAll welcome: {LONG_WORD}."


@pytest.fixture(scope="module")
def base(
    new_database_url: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    db = _loaded(new_database_url(), MINI)
    with db.session() as s:
        s.execute(
            update(Session)
            .where(Session.key == "knit")
            .values(title=f"Knit {LONG_WORD}", description=DESCRIPTION)
        )
    tmp = tmp_path_factory.mktemp("odd-browser")
    build_site(db, settings_for(tmp), tmp / "site", today=TODAY)
    db.dispose()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp / "site"))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_line_breaks_show_and_long_words_wrap_on_a_phone(browser: object, base: str) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": 360, "height": 800})  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        for path in ("providers/knitters/knit/", "providers/knitters/"):
            page.goto(f"{base}/{path}")
            description = page.locator("p.pt-text", has_text="Bring needles").first
            assert description.evaluate("p => getComputedStyle(p).whiteSpace") == "pre-line"
            assert description.inner_text() == DESCRIPTION  # the breaks are shown
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, (path, overflow)
    finally:
        context.close()
