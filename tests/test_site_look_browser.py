"""The public site as a UK public service, in a real browser (Chromium) at a phone's width
(375 px) and a desktop's (1280 px): header with the service name and a skip link, footer
pages, breadcrumbs, "List your group or activity" on every page, a session's actions at the
top, what's on by date, times as people say them, the accessibility statement, axe-core
(WCAG 2.2 AA) on every page type, and every control reached by keyboard at 320 px with a
visible focus and nothing scrolling sideways."""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from api.config import get_settings
from api.directory.enums import Domain, Frequency
from api.directory.models import Schedule, Session, SessionDomain
from api.directory.search import refresh_search_text
from sitegen.build import build_site
from tests.conftest import DEMO, _loaded
from tests.test_site_browser import AXE, CHROMIUM, _Quiet

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium")

TODAY = dt.date(2026, 11, 29)  # a Sunday, the last of November
MORNING = dt.datetime(2026, 11, 29, 9, 0)
PUBLIC = "https://app.directory.example"
SESSION = "providers/anytown-cat-and-dog-shelter/dog-walking/"
WIDTHS = [375, 1280]
PAGE_TYPES = [
    "",
    "activities/physical-activity/",
    "areas/",
    "areas/anytown-north/",
    "providers/anytown-cat-and-dog-shelter/",
    SESSION,
    "search/?q=dog+walking",
    "search/?postcode=AT1+2AB",
    "whats-on/",
    "shortlist/",
    "open-data/",
    "privacy/",
    "accessibility/",
    "contact/",
    "no-such-page/",
]


@pytest.fixture(scope="module")
def site(new_database_url: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = _loaded(new_database_url(), DEMO)
    with db.session() as s:
        walk = s.query(Session).filter_by(key="dog-walking").one()
        lunch = Session(
            provider_id=walk.provider_id,
            key="first-sunday-lunch",
            title="First Sunday lunch club",
            delivery=walk.delivery,
            venue_id=walk.venue_id,
            is_free=True,
            how_to_join=walk.how_to_join,
        )
        s.add(lunch)
        s.flush()
        s.add_all(
            [
                SessionDomain(session_id=lunch.id, domain=Domain.HEALTHY_EATING),
                Schedule(
                    session_id=lunch.id,
                    freq=Frequency.MONTHLY,
                    interval=1,
                    byday="1SU",
                    days_mask=64,
                    opens_at=dt.time(12),
                    closes_at=dt.time(13, 30),
                ),
            ]
        )
        refresh_search_text(s, [lunch.id])
    tmp = tmp_path_factory.mktemp("look-site")
    out = tmp / "site"
    settings = get_settings(
        data_dir=tmp,
        site_url="https://directory.example/",
        public_url=PUBLIC,
        site_operator="Anytown Social Prescribing",
        site_contact_email="hello@directory.example",
    )
    build_site(db, settings, out, today=TODAY)
    db.dispose()
    return out


@pytest.fixture(scope="module")
def base(site: Path) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


def open_page(browser: object, width: int, when: dt.datetime = MORNING) -> object:
    context = browser.new_context(viewport={"width": width, "height": 800})  # type: ignore[attr-defined]
    tab = context.new_page()
    tab.clock.install(time=when)  # the reader's "today", whatever day the tests run
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    tab.errors = errors
    return tab


def done(tab: object) -> None:
    """Close the tab; no script error and nothing the Content-Security-Policy blocked."""
    tab.context.close()  # type: ignore[attr-defined]
    assert tab.errors == []  # type: ignore[attr-defined]


def go(tab: object, base: str, path: str) -> None:
    tab.goto(f"{base}/{path}")  # type: ignore[attr-defined]
    if "?" in path:
        tab.wait_for_selector("#pt-results li")  # type: ignore[attr-defined]


@pytest.mark.parametrize("width", WIDTHS)
def test_header_skip_link_and_footer(browser: object, base: str, width: int) -> None:
    tab = open_page(browser, width)
    go(tab, base, SESSION)
    tab.keyboard.press("Tab")  # type: ignore[attr-defined]
    skip = tab.locator(":focus")  # type: ignore[attr-defined]
    assert skip.inner_text() == "Skip to main content" and skip.is_visible()
    tab.keyboard.press("Enter")  # type: ignore[attr-defined]
    assert tab.evaluate("() => document.activeElement.id") == "main-content"  # type: ignore[attr-defined]
    header = tab.locator("header.pt-header")  # type: ignore[attr-defined]
    assert header.locator("a.pt-header__service").inner_text() == "Community activities directory"
    assert header.locator("a", has_text="List your group or activity").get_attribute("href") == (
        f"{PUBLIC}/register"
    )
    footer = tab.locator("footer.pt-footer")  # type: ignore[attr-defined]
    for name in ("Privacy notice", "Accessibility statement", "Contact"):
        assert footer.get_by_role("link", name=name).is_visible()
    assert "Anytown Social Prescribing" in footer.inner_text()
    assert "Made with" not in tab.content() and "Material for MkDocs" not in tab.content()  # type: ignore[attr-defined]
    crumbs = tab.locator("nav.pt-crumbs a").all_inner_texts()  # type: ignore[attr-defined]
    assert crumbs == ["Home", "Anytown Cat and Dog Shelter"]
    colour = tab.locator("h1").evaluate("h => getComputedStyle(h).color")  # type: ignore[attr-defined]
    assert colour == "rgb(11, 12, 12)"  # full contrast, not the theme's light grey
    footer.get_by_role("link", name="Accessibility statement").click()
    assert tab.locator("h1").inner_text().startswith("Accessibility statement")  # type: ignore[attr-defined]
    done(tab)


@pytest.mark.parametrize("path", PAGE_TYPES)
def test_every_page_links_to_the_registration_form(site: Path, path: str) -> None:
    folder = path.split("?")[0]
    html = (
        (site / "404.html") if folder == "no-such-page/" else (site / folder / "index.html")
    ).read_text()
    assert f'href="{PUBLIC}/register"' in html and "List your group or activity" in html


@pytest.mark.parametrize("width", WIDTHS)
def test_session_actions_at_the_top(browser: object, base: str, width: int) -> None:
    tab = open_page(browser, width)
    go(tab, base, SESSION)
    actions = tab.locator("ul.pt-actions--top")  # type: ignore[attr-defined]
    names = actions.locator("a, button").all_inner_texts()
    assert names[0].startswith("Call ") and names[1].startswith("Get directions")
    assert names[2:] == ["Add to calendar", "Add to shortlist", "Print this page"]
    # Above the description and the facts, in sight without scrolling.
    top = actions.bounding_box()["y"]
    assert top < tab.locator("dl.pt-facts").bounding_box()["y"]  # type: ignore[attr-defined]
    assert top + 40 < 800
    calendar = actions.get_by_role("link", name="Add to calendar")
    assert calendar.get_attribute("download") == "dog-walking.ics"
    with tab.expect_download() as download:  # type: ignore[attr-defined]
        calendar.click()
    assert download.value.suggested_filename == "dog-walking.ics"
    # The printed "what to do next" list is for paper only.
    assert not tab.locator("ol.pt-steps").is_visible()  # type: ignore[attr-defined]
    tab.emulate_media(media="print")  # type: ignore[attr-defined]
    assert tab.locator("ol.pt-steps").is_visible()  # type: ignore[attr-defined]
    assert "10am to midday" in tab.locator("article").inner_text()  # type: ignore[attr-defined]
    done(tab)


@pytest.mark.parametrize("width", WIDTHS)
def test_printed_shortlist_says_when_where_phone_and_how_to_join(
    browser: object, base: str, width: int
) -> None:
    tab = open_page(browser, width)
    go(tab, base, SESSION)
    tab.get_by_role("button", name="Add to shortlist").click()  # type: ignore[attr-defined]
    go(tab, base, "shortlist/")
    tab.emulate_media(media="print")  # type: ignore[attr-defined]
    item = tab.locator("#pt-shortlist li").first.inner_text()  # type: ignore[attr-defined]
    assert "Dog walking" in item
    assert "When: Every Saturday and Sunday, 10am to midday" in item
    assert "Where: Anytown Cat and Dog Shelter, Kennel Lane, Anytown, AT8 9WH" in item
    assert "Phone: 07700 900123" in item
    assert "How to join: Drop in" in item
    done(tab)


@pytest.mark.parametrize("width", WIDTHS)
def test_whats_on_today_by_date(browser: object, base: str, width: int) -> None:
    tab = open_page(browser, width)
    go(tab, base, "whats-on/")
    today = tab.locator("section[data-date='2026-11-29']")  # type: ignore[attr-defined]
    assert today.locator("h2").inner_text() == "Today, Sunday 29 November"
    walk = today.locator("li", has_text="Dog walking")
    assert walk.is_visible()
    assert "10am to midday" in walk.inner_text() and "every week" in walk.inner_text()
    # A monthly session shows on its date only: the first Sunday of December.
    assert today.locator("li", has_text="First Sunday lunch club").count() == 0
    first = tab.locator("section[data-date='2026-12-06'] li", has_text="First Sunday lunch club")  # type: ignore[attr-defined]
    assert "midday to 1:30pm" in first.inner_text()
    assert "first Sunday of the month" in first.inner_text()
    assert tab.locator("li", has_text="First Sunday lunch club").count() == 1  # type: ignore[attr-defined]
    assert not tab.locator("#pt-dates-note").is_visible()  # type: ignore[attr-defined]
    done(tab)


def test_whats_on_read_days_later_hides_the_past(browser: object, base: str) -> None:
    tab = open_page(browser, 375, dt.datetime(2026, 12, 2, 9, 0))
    go(tab, base, "whats-on/")
    assert not tab.locator("section[data-date='2026-11-29']").is_visible()  # type: ignore[attr-defined]
    assert not tab.locator("section[data-date='2026-12-01']").is_visible()  # type: ignore[attr-defined]
    assert tab.locator("section[data-date='2026-12-02']").is_visible()  # type: ignore[attr-defined]
    note = tab.locator("#pt-dates-note")  # type: ignore[attr-defined]
    assert note.is_visible() and "Sunday 29 November 2026" in note.inner_text()
    done(tab)


def test_accessibility_statement(site: Path, browser: object, base: str) -> None:
    tab = open_page(browser, 1280)
    go(tab, base, "accessibility/")
    text = tab.locator("article").inner_text()  # type: ignore[attr-defined]
    for words in (
        "Accessibility statement for Community activities directory",
        "Web Content Accessibility Guidelines version 2.2",
        "How accessible this website is",
        "Reporting accessibility problems",
        "Enforcement procedure",
        "Equality and Human Rights Commission",
        "Equality Advisory and Support Service",
        "hello@directory.example",
        "Anytown Social Prescribing",
    ):
        assert words in text, words
    done(tab)


def axe_violations(tab: object) -> list[dict]:
    tab.evaluate(AXE.read_text())  # type: ignore[attr-defined]
    result = tab.evaluate(  # type: ignore[attr-defined]
        "() => axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})"
    )
    return [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
    ]


@pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed")
@pytest.mark.parametrize("width", WIDTHS)
def test_axe_wcag22_on_every_page_type(browser: object, base: str, width: int) -> None:
    tab = open_page(browser, width)
    found = {}
    for path in PAGE_TYPES:
        go(tab, base, path)
        violations = axe_violations(tab)
        if violations:
            found[path] = violations
    assert found == {}
    done(tab)


# Every visible control, and whether the focused one shows the focus style.
_CONTROLS = """() => [...document.querySelectorAll(
  'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex="0"]')]
  .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden'
    && !e.closest('[hidden], [aria-hidden=true]') && !e.disabled
    && !(e.closest('details:not([open])') && e.tagName !== 'SUMMARY'))
  .map(e => {
    e.dataset.ptControl = e.dataset.ptControl || String(Math.random());
    return e.dataset.ptControl;
  })"""
_FOCUSED = """() => { const e = document.activeElement; if (!e || e === document.body) return null;
  const s = getComputedStyle(e); const r = e.getBoundingClientRect();
  return {id: e.dataset.ptControl || null,
    tag: e.tagName + ' ' + (e.textContent || e.name || '').trim().slice(0, 30),
    shown: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none',
    inside: r.right <= innerWidth + 1 && r.left >= -1}; }"""


@pytest.mark.parametrize("path", PAGE_TYPES)
def test_keyboard_at_320_pixels(browser: object, base: str, path: str) -> None:
    tab = open_page(browser, 320)
    go(tab, base, path)
    assert tab.evaluate("() => document.documentElement.scrollWidth") <= 320  # type: ignore[attr-defined]
    controls = set(tab.evaluate(_CONTROLS))  # type: ignore[attr-defined]
    reached: set[str] = set()
    unseen: list[str] = []
    for _ in range(len(controls) + 40):
        tab.keyboard.press("Tab")  # type: ignore[attr-defined]
        focused = tab.evaluate(_FOCUSED)  # type: ignore[attr-defined]
        if focused is None or focused["id"] in reached:
            break
        if focused["id"]:
            reached.add(focused["id"])
        if not (focused["shown"] and focused["inside"]):
            unseen.append(focused["tag"])
    assert unseen == []
    assert controls <= reached, len(controls - reached)
    # Checkboxes and radios are at least 24 px.
    sizes = tab.evaluate(  # type: ignore[attr-defined]
        "() => [...document.querySelectorAll('input[type=checkbox], input[type=radio]')]"
        ".filter(e => e.getClientRects().length).map(e => e.getBoundingClientRect().width)"
    )
    assert all(size >= 24 for size in sizes), sizes
    done(tab)
