"""One search for what and where, in real Chromium at a phone's and a desktop's width: words and
a postcode in one form, nearest first in miles, 20 at a time, everything in the URL, through
to a session's page, its calendar file and the shortlist; and the search page's bugs (the
"Show more results" button, the filter panel, the count, clearing filters)."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from icalendar import Calendar

from tests.test_site_browser import (  # noqa: F401  (fixtures)
    AXE,
    CHROMIUM,
    base,
    browser,
    site,
)

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason="no Chromium")

WIDTHS = {"phone": (375, 740), "desktop": (1280, 900)}


@pytest.fixture(params=sorted(WIDTHS))
def tab(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:  # noqa: F811
    width, height = WIDTHS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield page
    context.close()
    assert not errors, errors


def settled(page: object) -> str:
    page.locator(  # type: ignore[attr-defined]
        "#pt-status", has_text=re.compile(r"\S"), has_not_text=re.compile(r"Searching|Finding")
    ).wait_for(state="attached")
    return page.locator("#pt-status").text_content()  # type: ignore[attr-defined]


def miles_of(page: object) -> list[float]:
    metas = page.locator("#pt-results li .pt-item__meta").all_text_contents()  # type: ignore[attr-defined]
    found = [re.search(r"(under )?([\d.]+) miles? away", m) for m in metas]
    assert all(found), metas
    return [float(m.group(2)) for m in found if m]


def test_cookery_near_a_postcode_to_a_session_its_calendar_and_the_shortlist(
    tab: object,
    base: str,  # noqa: F811
) -> None:
    page = tab
    page.goto(f"{base}/search/")  # type: ignore[attr-defined]
    page.fill("#q", "cookery near AT1 2AB")  # type: ignore[attr-defined]
    page.press("#q", "Enter")  # type: ignore[attr-defined]
    status = settled(page)
    assert "for \u201ccookery\u201d within 5 miles of AT1 2AB, nearest first" in status, status
    # The place moved to its own box, and the whole search is in the URL to send.
    assert page.input_value("#postcode") == "AT1 2AB"  # type: ignore[attr-defined]
    query = parse_qs(urlsplit(page.url).query)  # type: ignore[attr-defined]
    assert query["q"] == ["cookery"] and query["postcode"] == ["AT1 2AB"]
    titles = page.locator("#pt-results li .pt-item__title").all_text_contents()  # type: ignore[attr-defined]
    # Stemming and synonyms: "cookery" finds the cooking sessions, not only "cookery" ones.
    assert any("cooking" in t.lower() for t in titles), titles
    assert any("cookery" in t.lower() for t in titles), titles
    distances = miles_of(page)
    assert distances == sorted(distances) and distances[-1] <= 5
    # The link a worker sends opens the same search.
    sent = page.url  # type: ignore[attr-defined]
    page.goto("about:blank")  # type: ignore[attr-defined]
    page.goto(sent)  # type: ignore[attr-defined]
    settled(page)
    assert page.locator("#pt-results li .pt-item__title").all_text_contents() == titles  # type: ignore[attr-defined]

    page.locator("#pt-results li a").first.click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"/providers/.+/.+/"))  # type: ignore[attr-defined]
    title = page.locator("h1").text_content().strip()  # type: ignore[attr-defined]
    assert title == titles[0]
    ics = page.locator("a[href$='.ics']").first.get_attribute("href")  # type: ignore[attr-defined]
    with urllib.request.urlopen(page.url + ics) as answer:  # type: ignore[attr-defined]
        (event,) = Calendar.from_ical(answer.read()).walk("VEVENT")
    assert str(event["SUMMARY"]) == title
    page.locator("[data-shortlist-add]").first.click()  # type: ignore[attr-defined]
    page.goto(f"{base}/shortlist/")  # type: ignore[attr-defined]
    page.wait_for_selector("#pt-shortlist li")  # type: ignore[attr-defined]
    assert page.locator("#pt-shortlist li .pt-item__title").all_text_contents() == [title]  # type: ignore[attr-defined]


def test_a_postcode_alone_lists_what_meets_nearby_in_miles(tab: object, base: str) -> None:  # noqa: F811
    page = tab
    page.goto(f"{base}/search/?postcode=at1+2ab&miles=1")  # type: ignore[attr-defined]
    status = settled(page)
    assert "within 1 mile of AT1 2AB" in status, status
    distances = miles_of(page)
    assert distances and distances == sorted(distances) and distances[-1] <= 1
    # An outward code is the middle of its district.
    page.goto(f"{base}/search/?q=walk&postcode=AT1")  # type: ignore[attr-defined]
    assert "of AT1," in settled(page)
    assert miles_of(page)
    page.fill("#postcode", "not a postcode")  # type: ignore[attr-defined]
    page.click("#pt-search button[type=submit]")  # type: ignore[attr-defined]
    page.locator("#place-error", has_text="is not a UK postcode").wait_for()  # type: ignore[attr-defined]
    assert page.get_attribute("#postcode", "aria-invalid") == "true"  # type: ignore[attr-defined]


def test_near_you_links_land_on_the_search(tab: object, base: str) -> None:  # noqa: F811
    page = tab
    page.goto(f"{base}/near/?postcode=AT1+2AB&radius=2&free=1")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"/search/\?"))  # type: ignore[attr-defined]
    assert "within 3 miles of AT1 2AB" in settled(page)
    assert page.locator("input[name=cost][value=Free]").is_checked()  # type: ignore[attr-defined]


def test_show_more_results_only_when_there_are_more_and_it_shows_them(
    tab: object,
    base: str,  # noqa: F811
) -> None:
    page = tab
    page.goto(f"{base}/search/?q=knit")  # type: ignore[attr-defined]
    settled(page)
    assert 0 < page.locator("#pt-results li").count() < 20  # type: ignore[attr-defined]
    assert not page.locator("#pt-more").is_visible()  # type: ignore[attr-defined]

    page.goto(f"{base}/search/?cost=Free")  # type: ignore[attr-defined]
    status = settled(page)
    total = int(status.split()[0])
    assert total > 40
    assert page.locator("#pt-results li").count() == 20  # type: ignore[attr-defined]
    page.click("#pt-more")  # type: ignore[attr-defined]
    page.locator("#pt-results li:nth-child(40)").wait_for()  # type: ignore[attr-defined]
    assert page.locator("#pt-results li").count() == 40  # type: ignore[attr-defined]
    # Focus moves to the first new result; the page is in the URL.
    assert page.evaluate(  # type: ignore[attr-defined]
        "() => document.activeElement.closest('li')"
        " === document.querySelector('#pt-results li:nth-child(21)')"
    )
    assert parse_qs(urlsplit(page.url).query)["page"] == ["2"]  # type: ignore[attr-defined]
    page.reload()  # type: ignore[attr-defined]
    settled(page)
    assert page.locator("#pt-results li").count() == 40  # type: ignore[attr-defined]


def test_apply_filters_closes_the_panel_and_the_results_come_next(
    tab: object,
    base: str,  # noqa: F811
) -> None:
    page = tab
    page.goto(f"{base}/search/?q=walk")  # type: ignore[attr-defined]
    settled(page)
    page.click(".pt-filters summary")  # type: ignore[attr-defined]
    page.check("input[name=cost][value=Free]")  # type: ignore[attr-defined]
    page.check("input[name=day][value=Saturday]")  # type: ignore[attr-defined]
    page.click("text=Apply filters")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"cost=Free"))  # type: ignore[attr-defined]
    settled(page)
    assert page.evaluate("() => document.querySelector('.pt-filters').open") is False  # type: ignore[attr-defined]
    height = page.viewport_size["height"]  # type: ignore[attr-defined]
    top = page.locator("#pt-status").bounding_box()["y"]  # type: ignore[attr-defined]
    header = page.evaluate(  # type: ignore[attr-defined]
        "() => document.querySelector('[data-md-component=header]').getBoundingClientRect().bottom"
    )
    # Below the header (not hidden under it), in the top half of the screen.
    assert header - 1 <= top < height / 2, (top, header, height)
    first = page.locator("#pt-results li").first.bounding_box()  # type: ignore[attr-defined]
    assert first["y"] < height, (first, height)


def test_the_count_names_the_filters_and_they_can_be_cleared(
    tab: object,
    base: str,  # noqa: F811
) -> None:
    page = tab
    page.goto(f"{base}/search/?q=walk&cost=Free&day=Saturday")  # type: ignore[attr-defined]
    status = settled(page)
    assert "with the filters Saturday, Free." in status, status
    filtered = int(status.split()[0])
    page.click("#pt-chosen >> text=Clear filters")  # type: ignore[attr-defined]
    page.locator("#pt-status", has_not_text="filter").wait_for()  # type: ignore[attr-defined]
    status = settled(page)
    assert int(status.split()[0]) > filtered, status
    assert page.locator("input[type=checkbox]:checked").count() == 0  # type: ignore[attr-defined]
    assert parse_qs(urlsplit(page.url).query) == {"q": ["walk"]}  # type: ignore[attr-defined]
    assert page.locator("#pt-chosen").text_content() == ""  # type: ignore[attr-defined]


@pytest.mark.skipif(not AXE.exists(), reason="no axe-core (npm ci --prefix tests/browser)")
@pytest.mark.parametrize(
    "path", ["search/", "search/?q=cookery&postcode=AT1+2AB&cost=Free", "search/?q=zzzzqq"]
)
def test_the_search_page_has_no_wcag_2_2_aa_violations(
    tab: object,
    base: str,  # noqa: F811
    path: str,
) -> None:
    page = tab
    page.goto(f"{base}/{path}")  # type: ignore[attr-defined]
    if "?" in path:
        settled(page)
    page.evaluate(AXE.read_text())  # type: ignore[attr-defined]
    result = page.evaluate(  # type: ignore[attr-defined]
        "() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', "
        "'wcag21a', 'wcag21aa', 'wcag22aa']}})"
    )
    assert [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]] == []


def test_use_my_location_orders_by_distance_from_where_you_are(
    browser: object,  # noqa: F811
    base: str,  # noqa: F811
) -> None:
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 375, "height": 740},
        geolocation={"latitude": 52.6301, "longitude": -1.1302},
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.goto(f"{base}/search/?q=walk")
    settled(page)
    page.click("#pt-locate")
    page.locator("#pt-status", has_text="of your location").wait_for()
    assert "within 5 miles of your location, nearest first" in settled(page)
    distances = miles_of(page)
    assert distances == sorted(distances)
    # About 100 m, no closer: what goes in a link that may be sent on.
    query = parse_qs(urlsplit(page.url).query)
    assert query["lat"] == ["52.630"] and query["lon"] == ["-1.130"]
    context.close()
