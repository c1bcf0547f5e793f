"""The public site in a real browser: Debian's Chromium driven by Playwright, the site
served by a plain static file server (no backend), axe-core for WCAG 2.1 AA, and a corpus
of hostile strings typed into a listing by a stranger."""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from icalendar import Calendar

from api.config import get_settings
from api.db import Database
from api.directory.enums import (
    Delivery,
    Domain,
    Frequency,
    HowToJoin,
    ListedBy,
    ProviderKind,
    Relationship,
)
from api.directory.models import (
    Locality,
    Provider,
    Schedule,
    Session,
    SessionBreak,
    SessionDomain,
    SessionLanguage,
    Venue,
)
from api.directory.search import refresh_search_text
from api.web.headers import read_headers_file
from sitegen.build import build_site
from tests.conftest import DEMO, ROOT, _loaded

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("PETUNIA_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
TODAY = dt.date(2026, 11, 16)

PWN = "window.__pwned=1"
HOSTILE = [
    f"<script>{PWN}</script>",
    f'"><img src=x onerror="{PWN}">',
    f"'><svg onload={PWN}>",
    f"[click me](javascript:{PWN})",
    "![tracker](https://evil.example/pixel.png)",
    f"javascript:{PWN}",
    f"</script><script>{PWN}</script>",
    "{{ 7*7 }} {% raw %} ${7*7}",
    "Line one\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:injected",
    "@@PETUNIA:CONTENT@@",
    '<a href="https://evil.example">evil link</a>',
    "\u2028\u2029 & < > \" '",
]
EVIL_NAME = f'Evil <script>{PWN}</script> "Group"'
EVIL_TITLE = f'Knit "><img src=x onerror="{PWN}"> club'

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium")


def add_hostile_listing(db: Database) -> None:
    text = "\n".join(HOSTILE)
    with db.session() as s:
        locality = s.query(Locality).first()
        venue = Venue(
            key="evil-hall",
            name=f"Hall {HOSTILE[1]}",
            address=HOSTILE[0],
            postcode="AT1 2AB",
            latitude=52.6301,
            longitude=-1.1302,
            locality_id=locality.id,
        )
        provider = Provider(
            key="evil-group",
            name=EVIL_NAME,
            description=text,
            kind=ProviderKind.NTP,
            relationship=Relationship.INFORMAL,
            locality_id=locality.id,
            website=f"javascript:{PWN}",
            email=f'"><script>{PWN}</script>@evil.example',
            phone=f"javascript:{PWN}",
            listed_by=ListedBy.SELF_REGISTERED,
            last_confirmed_at=TODAY,
        )
        s.add_all([venue, provider])
        s.flush()
        session = Session(
            provider_id=provider.id,
            key="evil-knit",
            title=EVIL_TITLE,
            description=text,
            delivery=Delivery.AT_VENUE,
            venue_id=venue.id,
            is_free=True,
            cost_concessions=HOSTILE[3],
            how_to_join=HowToJoin.DROP_IN,
            who_for_notes=HOSTILE[2],
            contact_name=HOSTILE[6],
            contact_email=f"javascript:{PWN}",
            contact_phone="0\r\nEND:VEVENT\r\nBEGIN:VEVENT",  # fits String(40)
        )
        s.add(session)
        s.flush()
        s.add_all(
            [
                SessionDomain(session_id=session.id, domain=Domain.ARTS_FOR_HEALTH),
                SessionLanguage(session_id=session.id, language="en"),
                Schedule(
                    session_id=session.id,
                    freq=Frequency.WEEKLY,
                    interval=1,
                    byday="TU",
                    days_mask=2,
                    opens_at=dt.time(10),
                    closes_at=dt.time(12),
                    note=HOSTILE[8],
                ),
                SessionBreak(
                    session_id=session.id,
                    starts_on=dt.date(2026, 12, 22),
                    ends_on=dt.date(2026, 12, 29),
                    reason=HOSTILE[0],
                ),
            ]
        )
        refresh_search_text(s, [session.id])


class _Quiet(http.server.SimpleHTTPRequestHandler):
    """A static host that sends the headers the build wrote to _headers (as Netlify or
    Cloudflare Pages do), so every page is tried under the site's Content-Security-Policy."""

    def end_headers(self) -> None:
        for name, value in read_headers_file(Path(self.directory) / "_headers").items():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(new_database_url: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = _loaded(new_database_url(), DEMO)
    add_hostile_listing(db)
    tmp = tmp_path_factory.mktemp("browser-site")
    out = tmp / "site"
    settings = get_settings(data_dir=tmp, site_url="https://directory.example/")
    build_site(db, settings, out, today=TODAY)
    db.dispose()
    return out


@pytest.fixture(scope="module")
def base(site: Path) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    # A script, style or request the Content-Security-Policy blocked is an error too.
    tab.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    tab.errors = errors
    yield tab
    context.close()
    assert not errors, errors


def search(page: object, base: str, query: str) -> list[str]:
    page.goto(f"{base}/search/?q={query}")  # type: ignore[attr-defined]
    # A locator, not a JavaScript predicate: polling one needs eval, which the site's
    # Content-Security-Policy (rightly) forbids.
    page.locator(  # type: ignore[attr-defined]
        "#pt-status", has_text=re.compile(r"\S"), has_not_text="Searching"
    ).wait_for(state="attached")
    return page.locator("#pt-results li .pt-item__title").all_text_contents()  # type: ignore[attr-defined]


def not_pwned(page: object) -> None:
    assert page.evaluate("() => window.__pwned") is None  # type: ignore[attr-defined]
    assert page.locator("img[src='x'], svg[onload], a[href^='javascript:' i]").count() == 0  # type: ignore[attr-defined]
    assert page.locator("a[href*='evil.example']").count() == 0  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# Search with no server


def test_search_finds_dog_walking_and_knit(page: object, base: str) -> None:
    assert "Dog walking" in search(page, base, "dog+walking")
    knit = search(page, base, "knit")
    assert any("Knit and natter" in title for title in knit), knit
    assert "Dog walking" in search(page, base, "dogs+walkng")  # plural, and one typo
    assert search(page, base, "zzzzqqq") == []
    assert "Nothing found" in page.locator("#pt-status").text_content()  # type: ignore[attr-defined]


def test_filters_work_without_a_backend(page: object, base: str) -> None:
    page.goto(f"{base}/search/?day=Saturday&cost=Free")  # type: ignore[attr-defined]
    page.wait_for_selector("#pt-results li")  # type: ignore[attr-defined]
    assert page.locator("input[name=day][value=Saturday]").is_checked()  # type: ignore[attr-defined]
    # The chosen filters are named above the results (the panel stays closed).
    assert "Saturday, Free" in page.locator("#pt-chosen").text_content()  # type: ignore[attr-defined]
    urls = page.locator("#pt-results li a").evaluate_all("as => as.map(a => a.href)")  # type: ignore[attr-defined]
    assert urls
    for url in urls[:8]:
        page.goto(url)  # type: ignore[attr-defined]
        text = page.locator("article").inner_text()  # type: ignore[attr-defined]
        assert "Saturday" in text and "Free" in text, url


def test_near_you_by_postcode(page: object, base: str) -> None:
    page.goto(f"{base}/search/")  # type: ignore[attr-defined]
    page.fill("#postcode", "at1 2ab")  # type: ignore[attr-defined]
    page.click("#pt-search button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("#pt-results li")  # type: ignore[attr-defined]
    first = page.locator("#pt-results li .pt-item__meta").first.text_content()  # type: ignore[attr-defined]
    assert "miles away" in first or "mile away" in first
    page.fill("#postcode", "not a postcode")  # type: ignore[attr-defined]
    page.click("#pt-search button[type=submit]")  # type: ignore[attr-defined]
    page.locator("#place-error", has_text="is not a UK postcode").wait_for()  # type: ignore[attr-defined]
    assert page.get_attribute("#postcode", "aria-invalid") == "true"  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# Accessibility


def axe_violations(page: object) -> list[dict]:
    # Evaluated through the DevTools protocol: a <script> tag would be an inline script, which
    # the site's Content-Security-Policy rightly blocks.
    page.evaluate(AXE.read_text())  # type: ignore[attr-defined]
    result = page.evaluate(  # type: ignore[attr-defined]
        "() => axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
    ]


@pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed (scripts/test does it)")
@pytest.mark.parametrize(
    "path",
    [
        "",
        "activities/physical-activity/",
        "providers/anytown-cat-and-dog-shelter/",
        "providers/anytown-cat-and-dog-shelter/dog-walking/",
        "search/?q=dog+walking",
        "whats-on/",
        "search/?postcode=AT1+2AB",
        "shortlist/",
    ],
)
def test_no_axe_violations(page: object, base: str, path: str) -> None:
    page.goto(f"{base}/{path}")  # type: ignore[attr-defined]
    if "?" in path:
        page.wait_for_selector("#pt-results li")  # type: ignore[attr-defined]
    assert axe_violations(page) == []


@pytest.mark.parametrize(
    "path",
    ["", "providers/anytown-cat-and-dog-shelter/dog-walking/", "search/?q=knit", "search/"],
)
def test_pages_work_at_320_pixels(browser: object, base: str, path: str) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 640})  # type: ignore[attr-defined]
    tab = context.new_page()
    tab.goto(f"{base}/{path}")
    tab.wait_for_load_state("networkidle")
    assert tab.evaluate("() => document.documentElement.scrollWidth") <= 320
    context.close()


def test_search_by_keyboard(page: object, base: str) -> None:
    page.goto(f"{base}/")  # type: ignore[attr-defined]
    for _ in range(40):
        page.keyboard.press("Tab")  # type: ignore[attr-defined]
        if page.evaluate("() => document.activeElement.id") == "home-q":  # type: ignore[attr-defined]
            break
    else:
        pytest.fail("the search box cannot be reached with Tab")
    page.keyboard.type("dog walking")  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    page.wait_for_selector("#pt-results li a")  # type: ignore[attr-defined]
    for _ in range(80):
        page.keyboard.press("Tab")  # type: ignore[attr-defined]
        if page.evaluate("() => !!document.activeElement.closest('#pt-results')"):  # type: ignore[attr-defined]
            break
    else:
        pytest.fail("the results cannot be reached with Tab")
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"/providers/.+/.+/"))  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# Print and shortlist


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


@pytest.mark.parametrize(
    "path",
    [
        "providers/anytown-cat-and-dog-shelter/dog-walking/",
        "providers/better-services/",
    ],
)
def test_a_session_prints_on_one_a4_page(page: object, base: str, path: str) -> None:
    if path.split("/", 1)[1] == "better-services/":
        # A session of the lead provider with the most details.
        page.goto(f"{base}/{path}")  # type: ignore[attr-defined]
        path = page.locator(".pt-session a.md-button").first.get_attribute("href")  # type: ignore[attr-defined]
        page.goto(f"{base}/providers/better-services/{path}")  # type: ignore[attr-defined]
    else:
        page.goto(f"{base}/{path}")  # type: ignore[attr-defined]
    page.emulate_media(media="print")  # type: ignore[attr-defined]
    assert page.locator("h2:has-text('What to do next')").is_visible()  # type: ignore[attr-defined]
    assert not page.locator(".md-header").is_visible()  # type: ignore[attr-defined]
    pdf = page.pdf(format="A4", print_background=False)  # type: ignore[attr-defined]
    assert pdf_pages(pdf) == 1


def test_shortlist_print_and_share(browser: object, base: str) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    tab = context.new_page()
    for path in [
        "providers/anytown-cat-and-dog-shelter/dog-walking/",
        "providers/st-marks-knit-and-natter/",
    ]:
        tab.goto(f"{base}/{path}")
        tab.locator("[data-shortlist-add]").first.click()
    tab.goto(f"{base}/shortlist/")
    titles = tab.locator("#pt-shortlist li .pt-item__title").all_text_contents()
    assert "Dog walking" in titles and len(titles) == 2
    share = tab.input_value("#pt-share-url")
    assert "?s=" in share
    context.close()
    # Someone else opens the link: a fresh browser with no shortlist of its own.
    other = browser.new_context()  # type: ignore[attr-defined]
    tab = other.new_page()
    tab.goto(share)
    tab.wait_for_selector("#pt-shortlist li")
    assert tab.locator("#pt-shortlist li .pt-item__title").all_text_contents() == titles
    other.close()


# ---------------------------------------------------------------------------------------------
# Hostile strings


def test_hostile_listing_is_shown_as_text_everywhere(page: object, base: str, site: Path) -> None:
    # Read on the day the site was built for (what's on hides the days that have passed).
    page.clock.install(time=dt.datetime.combine(TODAY, dt.time(9)))  # type: ignore[attr-defined]
    for path in [
        "providers/evil-group/",
        "providers/evil-group/evil-knit/",
        "activities/arts-for-health/",
        "whats-on/",
    ]:
        page.goto(f"{base}/{path}")  # type: ignore[attr-defined]
        not_pwned(page)
        text = page.locator("article").inner_text()  # type: ignore[attr-defined]
        assert EVIL_TITLE in text or EVIL_NAME in text, path
    page.goto(f"{base}/providers/evil-group/")  # type: ignore[attr-defined]
    text = page.locator("article").inner_text()  # type: ignore[attr-defined]
    for hostile in HOSTILE[:8]:
        assert hostile.strip() in text, hostile
    # The page title, description meta and JSON-LD carry the raw strings, encoded.
    assert EVIL_NAME in page.title()  # type: ignore[attr-defined]
    data = page.evaluate(  # type: ignore[attr-defined]
        "() => [...document.querySelectorAll('script[type=\"application/ld+json\"]')]"
        ".map(s => JSON.parse(s.textContent))"
    )
    assert [d["name"] for d in data] == [EVIL_NAME]
    assert "url" in data[0] and not data[0]["url"].startswith("javascript")
    scripts = page.evaluate("() => document.scripts.length")  # type: ignore[attr-defined]
    page.goto(f"{base}/providers/anytown-cat-and-dog-shelter/")  # type: ignore[attr-defined]
    assert page.evaluate("() => document.scripts.length") == scripts  # type: ignore[attr-defined]


def test_hostile_listing_in_search_near_and_shortlist(page: object, base: str) -> None:
    titles = search(page, base, "evil")
    assert EVIL_TITLE in titles or EVIL_NAME in titles
    not_pwned(page)
    page.goto(f"{base}/search/?postcode=AT1+2AB&miles=1")  # type: ignore[attr-defined]
    page.wait_for_selector("#pt-results li")  # type: ignore[attr-defined]
    assert EVIL_TITLE in page.locator("#pt-results").inner_text()  # type: ignore[attr-defined]
    not_pwned(page)
    page.goto(f"{base}/providers/evil-group/evil-knit/")  # type: ignore[attr-defined]
    page.locator("[data-shortlist-add]").first.click()  # type: ignore[attr-defined]
    page.goto(f"{base}/shortlist/")  # type: ignore[attr-defined]
    assert EVIL_TITLE in page.locator("#pt-shortlist").inner_text()  # type: ignore[attr-defined]
    not_pwned(page)


def test_hostile_listing_in_the_calendar_and_data_files(site: Path) -> None:
    raw = (site / "providers/evil-group/evil-knit/evil-knit.ics").read_bytes()
    lines = raw.decode().split("\r\n")
    assert lines.count("BEGIN:VEVENT") == 1 and not any(
        x.startswith("SUMMARY:injected") for x in lines
    )
    (event,) = Calendar.from_ical(raw).walk("VEVENT")
    assert str(event["SUMMARY"]) == EVIL_TITLE
    # The line breaks survive as text (CR LF becomes one escaped newline), never as lines.
    assert HOSTILE[8].replace("\r\n", "\n") in str(event["DESCRIPTION"])
    near = json.loads((site / "search-index/index.json").read_text())
    assert near["geo"]["cells"]
    services = json.loads((site / "open-data/oruk/services.json").read_text())
    evil = next(s for s in services["contents"] if s["name"] == EVIL_TITLE)
    assert "email" not in evil and "website" not in evil["organization"]
