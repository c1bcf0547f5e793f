"""The static site at scale: build, rebuild, size and search download, on a synthetic
2,000 providers / 20,000 sessions directory.

    python3 -m benchmarks.site_build [--providers 2000] [--sessions 20000] [--keep DIR]

Prints one table:

  full build            a first build into an empty folder (MkDocs theme, every page, data
                        files, Open Referral UK export, search index), by stage
  rebuild, one change   the same build again after one session's title changed: unchanged
                        pages are reused, the search index is rebuilt whole (so it is
                        complete: checked by searching for the new title)
  site size             bytes of every file, and how many files
  first search results  bytes a cold browser (real Chromium) downloads to show the first
                        results of "dog walking" on /search/, served by a local HTTP server:
                        the search alone (index file, word shards, result records),
                        and with the search page itself and its theme assets

  incremental rebuild   what the background rebuild of `petunia up` runs after one listing's
                        edit through the ORM (so the change is queued as in production):
                        ``sitegen.build.rebuild`` with what the rebuilder keeps between builds
                        (sitegen/memo.py, warmed by the builds before), until the new site is
                        live, with the target for the size (issue 15 section 3: under 3 s at
                        20,000 sessions, under 5 s at 100,000) and whether it is met; twice:
                        a description, and a title that moves the session in sorted lists

    --keep DIR reuses the synthetic directory generated there by an earlier run of the same
    size (generating 100,000 sessions takes minutes).

Targets (issue 3): full build under 60 s, rebuild under 10 s, first results under 500 KB.

    python3 -m benchmarks.site_build --no-browser   skips the Chromium download measure
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import http.server
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import update

from api import migrations
from api.config import get_settings
from api.db import Database
from api.directory.models import Session
from benchmarks.synthetic import generate
from sitegen.build import build_site, rebuild
from sitegen.memo import BuildMemo

TODAY = dt.date(2026, 11, 16)
CHROMIUM = os.environ.get("PETUNIA_CHROMIUM", "/usr/bin/chromium")


def folder_size(folder: Path) -> tuple[int, int]:
    total = files = 0
    for path in folder.rglob("*"):
        if path.is_file():
            total += path.stat().st_size
            files += 1
    return total, files


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args: object) -> None:
        pass


def search_download(site: Path, query: str) -> tuple[int, int, int, int]:
    """(bytes for the search alone, requests, bytes with the page, results shown)."""
    from playwright.sync_api import sync_playwright

    with serve(site) as base, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        page = browser.new_page()
        sizes: list[tuple[str, int]] = []
        page.on(
            "requestfinished",
            lambda request: sizes.append((request.url, request.sizes()["responseBodySize"])),
        )
        page.goto(f"{base}/search/")
        page.wait_for_load_state("networkidle")
        page_bytes = sum(size for _url, size in sizes)
        sizes.clear()
        page.fill("#q", query)
        page.click("#pt-search button[type=submit]")
        page.wait_for_selector("#pt-results li")
        page.wait_for_load_state("networkidle")
        shown = page.locator("#pt-results li").count()
        search_bytes = sum(size for _url, size in sizes)
        requests = len(sizes)
        browser.close()
    return search_bytes, requests, search_bytes + page_bytes, shown


def searchable(site: Path, text: str) -> bool:
    """Does the published search find ``text``? (Through the real browser and index.)"""
    from playwright.sync_api import sync_playwright

    with serve(site) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"{base}/search/?q={text.replace(' ', '+')}")
        page.wait_for_function(
            "document.getElementById('pt-status').textContent.indexOf('Searching') < 0"
            " && document.getElementById('pt-status').textContent.length > 0"
        )
        found = page.locator("#pt-results li", has_text=text).count() > 0
        browser.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=20000)
    parser.add_argument(
        "--scale", type=int, choices=[20_000, 100_000], help="sessions (sets --providers too)"
    )
    parser.add_argument("--keep", type=Path, help="build here and keep it (default: a temp dir)")
    parser.add_argument(
        "--no-browser", action="store_true", help="skip the measures made in Chromium"
    )
    args = parser.parse_args()
    if args.scale:
        args.sessions, args.providers = args.scale, args.scale // 10
    national = args.sessions >= 100_000  # issue 15's targets

    with tempfile.TemporaryDirectory(prefix="petunia-site-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        db = Database.from_url(f"sqlite:///{work / 'bench.db'}")
        generated = work / "generated.txt"
        size = f"{args.providers} providers, {args.sessions} sessions"
        if generated.exists() and generated.read_text() == size:
            print(f"synthetic directory: {size} (generated by an earlier run)")
        else:
            (work / "bench.db").unlink(missing_ok=True)
            migrations.upgrade(db.engine)
            started = time.perf_counter()
            generate(db, providers=args.providers, sessions=args.sessions)
            generated.write_text(size)
            print(f"synthetic directory: {size} ({time.perf_counter() - started:.1f} s)")
        settings = get_settings(data_dir=work, site_url="https://directory.example/")
        out = settings.resolved_site_dir
        memo = BuildMemo()  # as the background rebuild keeps it

        started = time.perf_counter()
        full = build_site(db, settings, out, today=TODAY, full=True, memo=None)
        full_s = time.perf_counter() - started
        peak_mb = _peak_mb()
        if full.cleanup is not None:
            full.cleanup.join()

        with db.session() as s:
            s.execute(update(Session).where(Session.id == 1).values(title="Zumba gold xylophone"))
        started = time.perf_counter()
        again = build_site(db, settings, out, today=TODAY)
        rebuild_s = time.perf_counter() - started
        if again.cleanup is not None:
            again.cleanup.join()

        # The background rebuild's path: a change through the ORM queues it; rebuild() runs
        # with the rebuilder's memo, which its earlier builds filled (`up` builds at start).
        warm = rebuild(db, settings, today=TODAY, memo=memo)
        if warm.cleanup is not None:
            warm.cleanup.join()
        incremental = []
        stamp = int(time.time())
        for change in ("description", "title"):
            with db.session() as s:
                row = s.get(Session, 2)
                if change == "description":
                    row.description = f"Bring a friend: xylophone lessons after ({stamp})."
                else:  # from near the start of the sorted lists to near their end
                    row.title = f"Yoga {stamp}" if row.title[0] < "M" else f"Aqua {stamp}"
            started = time.perf_counter()
            report = rebuild(db, settings, today=TODAY, memo=memo)
            incremental.append((change, time.perf_counter() - started, report))
            if report.cleanup is not None:
                report.cleanup.join()
        target = 3.0 if args.sessions <= 20000 else 5.0

        complete = None if args.no_browser else searchable(out, "Zumba gold xylophone")
        size, files = folder_size(out)
        search_bytes, requests, with_page, shown = (
            (0, 0, 0, 0) if args.no_browser else search_download(out, "dog walking")
        )

    rows = [
        (
            "full build",
            f"{full_s:.1f} s",
            "< 240 s" if national else "< 60 s",
            f"{'met' if full_s < (240 if national else 60) else 'NOT met'}; "
            + _stages(full.seconds),
        ),
        (
            "peak memory (full build)",
            f"{peak_mb:.0f} MB",
            "< 2048 MB",
            f"{'met' if peak_mb < 2048 else 'NOT met'}; this process and its children",
        ),
        (
            "rebuild, one change",
            f"{rebuild_s:.1f} s",
            "< 10 s",
            f"{again.rendered} pages rendered, {again.reused} reused; "
            f"search finds the change: {_yes(complete)}; " + _stages(again.seconds),
        ),
        *(
            (
                f"incremental rebuild ({change})",
                f"{seconds:.1f} s",
                f"< {target:.0f} s: {'met' if seconds < target else 'NOT met'}",
                f"{report.rendered} pages rendered, {report.reused} reused; "
                + _stages(report.seconds),
            )
            for change, seconds, report in incremental
        ),
        ("site size", f"{size / 1e6:.0f} MB", "", f"{files} files, {full.pages} pages"),
    ]
    if not args.no_browser:
        rows.append(
            (
                "first search results",
                f"{search_bytes / 1e3:.0f} KB",
                "< 30 KB" if national else "< 500 KB",
                f'"dog walking": {requests} requests, {shown} results shown; '
                f"{with_page / 1e3:.0f} KB with the search page and theme (cold cache)",
            )
        )
    print(f"\nload average {os.getloadavg()[0]:.1f}")
    print("| measure | result | target | detail |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def _yes(found: bool | None) -> str:
    return "not measured" if found is None else "yes" if found else "NO"


def _peak_mb() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def _stages(seconds: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.1f} s" for name, value in seconds.items())


if __name__ == "__main__":
    main()
