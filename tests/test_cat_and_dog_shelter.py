"""The cat and dog shelter test, end to end in real Chromium with JavaScript off: the
shelter fills in only the required fields, confirms by the emailed link (a real SMTP
server), a lead provider signs in as staff and approves it, and the dog walking session is found by
the GraphQL `sessions` search for "dog", and after the site is rebuilt it is on the public
site and in its search. Every page passes axe-core's checks."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from api.config import get_settings
from api.db import Database
from benchmarks.registrations import prepare, serve
from sitegen.build import build_site
from tests.mailbox import Mailbox
from tests.staff_support import browser_sign_in, invite

CHROMIUM = os.environ.get("PETUNIA_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (scripts/test installs it)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        yield browser
        browser.close()


def accessible(page: Page) -> None:
    """axe-core's checks on what ``page`` shows. The person's browser runs with JavaScript
    off, so axe runs in a second page (JavaScript on) given the same HTML at the same URL."""
    checker = page.context.browser.new_page()  # type: ignore[union-attr]
    try:
        checker.route(
            "**/*",
            lambda route: (
                route.fulfill(body=page.content(), content_type="text/html")
                if route.request.url == page.url
                else route.continue_()
            ),
        )
        checker.goto(page.url)
        results = Axe().run(checker)
    finally:
        checker.close()
    assert results.violations_count == 0, results.generate_report()


def fits_a_phone(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


def test_the_cat_and_dog_shelter_lists_itself(
    browser: Browser, mailbox: Mailbox, new_database_url: Callable[[], str], tmp_path: Path
) -> None:
    url = new_database_url()
    prepare(url)
    smtp = {"PETUNIA_SMTP_HOST": mailbox.host, "PETUNIA_SMTP_PORT": str(mailbox.port)}
    with serve(url, tmp_path, workers=1, env=smtp) as (base, _log):
        # A phone, JavaScript off.
        shelter = browser.new_context(
            java_script_enabled=False, viewport={"width": 375, "height": 740}
        )
        page = shelter.new_page()
        page.goto(f"{base}/register")
        accessible(page)
        fits_a_phone(page)

        # Sending it empty shows every problem, linked from the summary.
        page.get_by_role("button", name="Continue").click()
        assert page.title().startswith("Error:")
        summary = page.locator(".error-summary")
        assert summary.get_by_role("link", name="Enter the name of your organisation").count() == 1
        accessible(page)

        # Only the required questions.
        page.get_by_label("Name of your organisation or group").fill("Anytown Cat and Dog Shelter")
        page.get_by_label("What is it called?").fill("Dog walking")
        page.get_by_label("Describe it in a few sentences").fill(
            "Walk one of our dogs around the fields with a volunteer."
        )
        page.get_by_label("At a place").check()
        page.get_by_label("Name of the place").fill("Cat and Dog Shelter")
        page.get_by_label("Postcode").fill("at2 1aa")
        page.get_by_label("On set days and times").check()
        page.get_by_label("Saturday").check()
        page.get_by_label("Sunday").check()
        page.get_by_label("Start time").fill("10am")
        page.get_by_label("Email address").fill("walks@shelter.example")
        page.get_by_role("button", name="Continue").click()
        expect(
            page.get_by_role("heading", name="Check your answers before sending")
        ).to_be_visible()
        accessible(page)
        page.get_by_role("button", name="Accept and send").click()
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        accessible(page)

        # The emailed link confirms it.
        confirm = mailbox.link(mailbox.last("walks@shelter.example"), "/register/confirm/")
        assert confirm.startswith(base)
        page.goto(confirm)
        expect(page.get_by_role("heading", name="Email confirmed")).to_be_visible()
        accessible(page)
        shelter.close()

        # Not public yet.
        search = (
            '{ sessions(filter: {text: "dog"}) '
            "{ edges { node { title provider { name provenance } } } } }"
        )

        def found() -> list[dict]:
            body = httpx.post(f"{base}/graphql", json={"query": search}).json()
            return [e["node"] for e in body["data"]["sessions"]["edges"]]

        assert not any(n["provider"]["name"] == "Anytown Cat and Dog Shelter" for n in found())

        # A lead provider's coordinator signs in (email link, authenticator app) and
        # approves it.
        db = Database.from_url(url)
        invite(db, "mod@lead.example", coordinator=True)
        db.dispose()
        staff = browser.new_context(java_script_enabled=False)
        page = staff.new_page()
        page.goto(f"{base}/moderation")
        browser_sign_in(page, base, mailbox, "mod@lead.example", accessible)
        expect(page.get_by_role("heading", name="Listings to check")).to_be_visible()
        accessible(page)
        page.get_by_role("link", name="Anytown Cat and Dog Shelter").click()
        expect(page.get_by_text("Every Saturday and Sunday, 10am")).to_be_visible()
        accessible(page)
        page.get_by_role("button", name="Approve and publish").click()
        expect(
            page.get_by_text("It will be on the public site when the site is next built")
        ).to_be_visible()
        staff.close()

        # In the API at once.
        ours = [n for n in found() if n["provider"]["name"] == "Anytown Cat and Dog Shelter"]
        assert [n["title"] for n in ours] == ["Dog walking"]
        assert ours[0]["provider"]["provenance"].startswith(
            "Listed by the organisation; checked by Better Services Testtown on"
        )
        live = mailbox.last("walks@shelter.example")
        assert "Your listing is approved" in live["Subject"]

        # On the public site at its next build (served by the same app at /).
        site_db = Database.from_url(url)
        settings = get_settings(data_dir=tmp_path, database_url=url, public_url=base)
        build_site(site_db, settings, settings.resolved_site_dir)
        site_db.dispose()
        public = browser.new_context(viewport={"width": 375, "height": 740})
        page = public.new_page()
        page.goto(f"{base}/search/?q=dog")
        # A locator, not a JavaScript predicate: the site's CSP forbids the eval polling needs.
        page.locator("#pt-status", has_text=re.compile(r"\S"), has_not_text="Searching").wait_for(
            state="attached"
        )
        results = page.locator("#pt-results li")
        assert (
            results.filter(has_text="Dog walking")
            .filter(has_text="Anytown Cat and Dog Shelter")
            .count()
            == 1
        )
        page.locator("#pt-results li", has_text="Anytown Cat and Dog Shelter").get_by_role(
            "link", name="Dog walking"
        ).first.click()
        page.wait_for_url("**/providers/anytown-cat-and-dog-shelter/dog-walking/")
        expect(page.get_by_role("heading", name="Dog walking").first).to_be_visible()
        expect(
            page.get_by_text(
                "Listed by the organisation; checked by Better Services Testtown on"
            ).first
        ).to_be_visible()
        public.close()

        # Later: the shelter opens its edit link; a member of the public reports a problem.
        later = browser.new_context(
            java_script_enabled=False, viewport={"width": 375, "height": 740}
        )
        page = later.new_page()
        page.goto(mailbox.link(live, "/listing/"))
        expect(
            page.get_by_role("heading", name="Your listing: Anytown Cat and Dog Shelter")
        ).to_be_visible()
        accessible(page)
        fits_a_phone(page)
        page.goto(
            f"{base}/report-a-problem?provider=anytown-cat-and-dog-shelter&session=dog-walking"
        )
        accessible(page)
        page.get_by_label("The day or time is wrong").check()
        page.get_by_role("button", name="Send the report").click()
        expect(page.get_by_role("heading", name="Thank you for telling us")).to_be_visible()
        later.close()
