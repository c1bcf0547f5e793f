"""First-view page weight of the public site: bytes a cold browser transfers to show each type
of page (HTML, CSS, JavaScript, fonts and data it actually loads), measured in real
Chromium through the DevTools protocol, the site served by the app's own static files
(api/web/site.py: the precompressed copy the browser's Accept-Encoding allows).

    python3 -m benchmarks.page_weight [--site DIR]

Without --site, the demo directory (directory_data/) is loaded into a temporary SQLite
database and built. Prints one table: per page type, the requests, the bytes transferred
(as Chromium counts them: encoded bodies plus response headers), the content coding the
server sent, the same resources summed from their brotli copies on disk, and the target
(first view under 100 KB compressed) met or not.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from api.web.site import SiteFiles

CHROMIUM = os.environ.get("PETUNIA_CHROMIUM", "/usr/bin/chromium")
TARGET = 100 * 1024
PAGES = [
    ("Home", ""),
    ("Type of activity", "activities/physical-activity/"),
    ("Area", "areas/anytown-north/"),
    ("Organisation", "providers/anytown-cat-and-dog-shelter/"),
    ("Session", "providers/anytown-cat-and-dog-shelter/dog-walking/"),
    ("Search, with results", "search/?q=dog+walking"),
    ("Near you, with results", "near/?postcode=AT1+2AB"),
    ("What's on", "whats-on/"),
    ("Shortlist", "shortlist/"),
    ("Accessibility statement", "accessibility/"),
]


def build_demo(folder: Path) -> Path:
    from api import migrations
    from api.config import get_settings
    from api.db import Database
    from api.directory.loading import load_directory
    from sitegen.build import build_site

    db = Database.from_url(f"sqlite:///{folder / 'demo.sqlite'}")
    migrations.upgrade(db.engine)
    with db.session() as session:
        load_directory(session, Path(__file__).resolve().parent.parent / "directory_data")
    out = folder / "site"
    build_site(db, get_settings(data_dir=folder), out, today=dt.date(2026, 11, 29))
    db.dispose()
    return out


@contextlib.contextmanager
def serve(site: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = Starlette(routes=[Mount("/", app=SiteFiles(site))])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


def first_view(browser: object, base: str, site: Path, path: str) -> dict[str, object]:
    """One cold page load: every response's encoded bytes, as Chromium received them."""
    context = browser.new_context(viewport={"width": 375, "height": 800})  # type: ignore[attr-defined]
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    urls: dict[str, str] = {}
    codings: dict[str, str] = {}
    sizes: dict[str, int] = {}

    def response(event: dict) -> None:
        urls[event["requestId"]] = event["response"]["url"]
        headers = {k.lower(): v for k, v in event["response"]["headers"].items()}
        codings[event["requestId"]] = headers.get("content-encoding", "none")

    def finished(event: dict) -> None:
        sizes[event["requestId"]] = int(event["encodedDataLength"])

    cdp.on("Network.responseReceived", response)
    cdp.on("Network.loadingFinished", finished)
    page.goto(f"{base}/{path}")
    if "?" in path:
        page.wait_for_selector("#pt-results li")
    page.wait_for_load_state("networkidle")
    context.close()
    on_disk = 0
    for request_id, url in urls.items():
        local = urlsplit(url).path.lstrip("/")
        file = site / local
        if file.is_dir() or not local:
            file = file / "index.html"
        br = file.with_name(file.name + ".br")
        on_disk += (br if br.is_file() else file).stat().st_size if file.is_file() else 0
        sizes.setdefault(request_id, 0)
    return {
        "requests": len(urls),
        "transferred": sum(sizes.values()),
        "codings": ",".join(sorted(set(codings.values()))),
        "brotli": on_disk,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, help="a built site (default: build the demo)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with contextlib.ExitStack() as stack:
        site = args.site
        if site is None:
            site = build_demo(Path(stack.enter_context(tempfile.TemporaryDirectory())))
        base = stack.enter_context(serve(site))
        p = stack.enter_context(sync_playwright())
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        rows = [(name, first_view(browser, base, site, path)) for name, path in PAGES]
        browser.close()
    print(f"First view, cold cache, 375 px; target under {TARGET // 1024} KB compressed")
    print(
        f"{'page':<26} {'requests':>8} {'transferred':>12} {'coding':>10} "
        f"{'brotli files':>13}  target"
    )
    for name, row in rows:
        met = "met" if int(row["transferred"]) < TARGET else "NOT met"  # type: ignore[arg-type]
        print(
            f"{name:<26} {row['requests']:>8} {int(row['transferred']) / 1024:>9.1f} KB "  # type: ignore[arg-type]
            f"{row['codings']:>10} {int(row['brotli']) / 1024:>10.1f} KB  {met}"  # type: ignore[arg-type]
        )


if __name__ == "__main__":
    main()
