"""Maps in real Chromium: with a tile server configured (a local one here), a session's page
and a search near a place show a Leaflet map of the venue or the results; without one (the
default) no map, no Leaflet and no request leaves the site, and the directions link is there
either way."""

from __future__ import annotations

import base64
import functools
import http.server
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from api.config import get_settings
from api.web.headers import read_headers_file
from sitegen.build import BuildError, build_site
from tests.conftest import DEMO, _loaded
from tests.test_site_browser import (  # noqa: F401  (fixtures)
    AXE,
    CHROMIUM,
    TODAY,
    _Quiet,
    base,
    browser,
    site,
)

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium")

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
SESSION = "providers/anytown-cat-and-dog-shelter/dog-walking/"


class Tiles(http.server.BaseHTTPRequestHandler):
    asked: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        Tiles.asked.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def tiles() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def map_base(
    new_database_url: Callable[[], str], tmp_path_factory: pytest.TempPathFactory, tiles: str
) -> Iterator[str]:
    db = _loaded(new_database_url(), DEMO)
    tmp = tmp_path_factory.mktemp("map-site")
    settings = get_settings(
        data_dir=tmp,
        site_url="https://directory.example/",
        map_tiles=tiles + "/tiles/{z}/{x}/{y}.png",
        map_attribution="Test tiles",
    )
    build_site(db, settings, tmp / "site", today=TODAY)
    db.dispose()
    csp = read_headers_file(tmp / "site" / "_headers")["Content-Security-Policy"]
    assert f"img-src 'self' data: {tiles};" in csp
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp / "site"))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def open_page(browser: object, width: int = 1280) -> tuple[object, object, list[str], list[str]]:  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("request", lambda r: requests.append(r.url))
    return context, page, errors, requests


def wcag_violations(page: object) -> list[tuple[str, list]]:
    """axe-core's WCAG 2.2 AA rules on the page as it stands (with its map)."""
    if not AXE.exists():
        return []
    page.evaluate(AXE.read_text())  # type: ignore[attr-defined]
    result = page.evaluate(  # type: ignore[attr-defined]
        "() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', "
        "'wcag21a', 'wcag21aa', 'wcag22aa']}})"
    )
    return [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]


def test_a_session_page_shows_its_venue_on_a_map(browser: object, map_base: str) -> None:  # noqa: F811
    Tiles.asked.clear()
    context, page, errors, requests = open_page(browser)
    page.goto(f"{map_base}/{SESSION}")  # type: ignore[attr-defined]
    page.locator(".pt-map .leaflet-marker-icon").wait_for()  # type: ignore[attr-defined]
    page.locator(".pt-map img.leaflet-tile-loaded").first.wait_for()  # type: ignore[attr-defined]
    assert page.locator(".pt-map .leaflet-marker-icon").count() == 1  # type: ignore[attr-defined]
    assert "Test tiles" in page.locator(".pt-map").inner_text()  # type: ignore[attr-defined]
    assert any(re.search(r"/tiles/\d+/\d+/\d+\.png$", path) for path in Tiles.asked)
    assert any(u.endswith("vendor/leaflet/leaflet.js") for u in requests)
    assert wcag_violations(page) == []
    context.close()
    assert errors == []


def test_a_search_near_a_place_shows_the_results_on_a_map(
    browser: object,  # noqa: F811
    map_base: str,
) -> None:
    context, page, errors, _ = open_page(browser, 375)
    page.goto(f"{map_base}/search/?q=walk&postcode=AT1+2AB")  # type: ignore[attr-defined]
    page.locator("#pt-results-map .leaflet-marker-icon").first.wait_for()  # type: ignore[attr-defined]
    shown = page.locator("#pt-results li").count()  # type: ignore[attr-defined]
    assert page.locator("#pt-results-map .leaflet-marker-icon").count() == shown  # type: ignore[attr-defined]
    assert wcag_violations(page) == []
    # Without a place there is nothing to put on a map.
    page.goto(f"{map_base}/search/?q=walk")  # type: ignore[attr-defined]
    page.wait_for_selector("#pt-results li")  # type: ignore[attr-defined]
    assert not page.locator("#pt-results-map").is_visible()  # type: ignore[attr-defined]
    context.close()
    assert errors == []


def test_without_a_tile_server_there_is_no_map_and_nothing_fetched_elsewhere(
    browser: object,  # noqa: F811
    base: str,  # noqa: F811
) -> None:
    context, page, errors, requests = open_page(browser)
    page.goto(f"{base}/{SESSION}")  # type: ignore[attr-defined]
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    assert page.locator(".pt-map").count() == 0  # type: ignore[attr-defined]
    directions = page.locator("a", has_text="Directions to").first  # type: ignore[attr-defined]
    href = directions.get_attribute("href")
    assert re.fullmatch(
        r"https://www\.openstreetmap\.org/directions\?route=%3B52\.\d+%2C-1\.\d+#map=16/.+", href
    ), href
    page.goto(f"{base}/search/?q=walk&postcode=AT1+2AB")  # type: ignore[attr-defined]
    page.wait_for_selector("#pt-results li")  # type: ignore[attr-defined]
    assert page.locator("#pt-results-map").count() == 0  # type: ignore[attr-defined]
    assert [u for u in requests if not u.startswith(base)] == []
    assert not any("leaflet" in u for u in requests)
    context.close()
    assert errors == []


def test_a_bad_tile_template_stops_the_build_with_a_clear_message(
    new_database_url: Callable[[], str], tmp_path: Path
) -> None:
    db = _loaded(new_database_url(), None)
    settings = get_settings(data_dir=tmp_path, map_tiles="https://tiles.example/{z}/{x}.png")
    with pytest.raises(BuildError, match=r"PETUNIA_MAP_TILES needs \{y\}"):
        build_site(db, settings, tmp_path / "site", today=TODAY)
    db.dispose()
