"""The registration journey and the moderation pages in real Chromium, on a phone (375 px)
and a desktop (1280 px), each new page checked by axe-core (WCAG 2.2 AA): six required
questions, "check your answers" with Change links that lose nothing, the confirmation page
and email naming the lead provider, conditional reveal with and without JavaScript, the
duplicate path, and the moderation fixes (tables that do not break words, a required note,
links from a report, "are you sure" before a rejection, languages by name)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from api.db import Database
from api.directory.models import Provider
from benchmarks.registrations import prepare, serve
from tests.mailbox import Mailbox
from tests.staff_support import browser_sign_in, invite
from tests.test_cat_and_dog_shelter import CHROMIUM, browser, fits_a_phone
from tests.test_staff_browser import wcag22

__all__ = ["browser"]  # the module-scoped Chromium fixture
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")
LEAD = "Better Services Testtown"  # the mini directory's lead provider

# Words split across lines inside table cells ("Activit / y"): each word of each cell must
# sit on one line.
BROKEN_WORDS = """() => {
  const broken = [];
  for (const cell of document.querySelectorAll("table th, table td")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.textContent.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (tops.size > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""


def check(page: Page) -> None:
    wcag22(page)
    fits_a_phone(page)


def _smtp(mailbox: Mailbox) -> dict[str, str]:
    return {"PETUNIA_SMTP_HOST": mailbox.host, "PETUNIA_SMTP_PORT": str(mailbox.port)}


def _context(browser: Browser, width: int, *, javascript: bool):  # type: ignore[no-untyped-def]
    return browser.new_context(
        java_script_enabled=javascript, viewport={"width": width, "height": 800}
    )


def _fill_required(page: Page, organisation: str, postcode: str, email: str) -> None:
    page.get_by_label("Name of your organisation or group").fill(organisation)
    page.get_by_label("What is it called?").fill("Dog walking")
    page.get_by_label("Describe it in a few sentences").fill(
        "Walk one of our dogs around the fields with a volunteer."
    )
    page.get_by_label("At a place", exact=True).check()
    page.get_by_label("Postcode of the place").fill(postcode)
    page.get_by_label("On set days and times").check()
    page.get_by_label("Saturday").check()
    page.get_by_label("Start time").fill("10am")
    page.get_by_label("Email address").fill(email)


@pytest.mark.parametrize("width", [375, 1280])
def test_a_registration_through_check_your_answers_to_the_email(
    browser: Browser,
    mailbox: Mailbox,
    new_database_url: Callable[[], str],
    tmp_path: Path,
    width: int,
) -> None:
    url = new_database_url()
    prepare(url)
    with serve(url, tmp_path, workers=1, env=_smtp(mailbox)) as (base, _log):
        # The phone without JavaScript, the desktop with it.
        context = _context(browser, width, javascript=width > 375)
        page = context.new_page()
        page.goto(f"{base}/register")
        check(page)
        # At most six required questions: sending it empty says exactly which.
        page.get_by_role("button", name="Continue").click()
        problems = page.locator(".error-summary li")
        assert problems.count() == 6, problems.all_inner_texts()

        _fill_required(page, "Anytown Cat and Dog Shelter", "at2 1aa", "walks@shelter.example")
        page.get_by_role("button", name="Continue").click()
        expect(
            page.get_by_role("heading", name="Check your answers before sending")
        ).to_be_visible()
        check(page)
        answers = page.locator(".summary-list")
        expect(answers).to_contain_text("Dog walking")
        expect(answers).to_contain_text("Every Saturday, 10")
        expect(page.get_by_text(f"{LEAD} checks your listing")).to_be_visible()

        # Change goes back to the question, with every answer kept.
        page.get_by_role("button", name="Change what it is called").click()
        expect(page.get_by_label("Name of your organisation or group")).to_have_value(
            "Anytown Cat and Dog Shelter"
        )
        expect(page.get_by_label("Start time")).to_have_value("10am")
        expect(page.get_by_label("Saturday")).to_be_checked()
        page.get_by_label("What is it called?").fill("Dog walks")
        page.get_by_role("button", name="Continue").click()
        expect(page.locator(".summary-list")).to_contain_text("Dog walks")
        page.get_by_role("button", name="Accept and send").click()
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        expect(page.get_by_text(f"{LEAD} then checks the listing")).to_be_visible()
        check(page)

        # The email restates what was sent and what happens next.
        email = mailbox.last("walks@shelter.example")
        body = Mailbox.text(email)
        assert "What it is called: Dog walks" in body and "AT2 1AA" in body
        assert f"2. {LEAD} then checks your listing, usually within 5 days" in body

        # Confirming the address is not the check.
        page.goto(mailbox.link(email, "/register/confirm/"))
        expect(page.get_by_role("heading", name="Email confirmed")).to_be_visible()
        expect(
            page.get_by_text(f"{LEAD} will check it, usually within 5 days").first
        ).to_be_visible()
        check(page)
        context.close()


def test_follow_up_questions_reveal_with_javascript_and_stay_labelled_without(
    browser: Browser, mailbox: Mailbox, new_database_url: Callable[[], str], tmp_path: Path
) -> None:
    url = new_database_url()
    prepare(url)
    follow_ups = [
        "Postcode of the place",
        "If every other week: a date it next happens",
        "If there is a charge: what does it cost each time, in pounds?",
    ]
    with serve(url, tmp_path, workers=1, env=_smtp(mailbox)) as (base, _log):
        # With JavaScript: hidden until the answer that calls for them.
        context = _context(browser, 375, javascript=True)
        page = context.new_page()
        page.goto(f"{base}/register")
        page.get_by_text("More about it (optional)").click()
        for label in follow_ups:
            expect(page.get_by_label(label)).to_be_hidden()
        expect(page.get_by_label("At a place", exact=True)).to_have_attribute(
            "aria-controls", "conditional-where-venue"
        )
        page.get_by_label("At a place", exact=True).check()
        expect(page.get_by_label("Postcode of the place")).to_be_visible()
        page.get_by_label("Online", exact=True).check()
        expect(page.get_by_label("Postcode of the place")).to_be_hidden()
        page.get_by_label("On set days and times").check()
        expect(page.get_by_label(follow_ups[1])).to_be_hidden()
        page.get_by_label("Every other week", exact=True).check()
        expect(page.get_by_label(follow_ups[1])).to_be_visible()
        page.get_by_label("No, there is a charge", exact=True).check()
        expect(page.get_by_label(follow_ups[2])).to_be_visible()
        check(page)
        context.close()

        # Without JavaScript: every follow-up is there, labelled for its condition, and the
        # answers go through.
        context = _context(browser, 375, javascript=False)
        page = context.new_page()
        page.goto(f"{base}/register")
        page.get_by_text("More about it (optional)").click()
        for label in follow_ups:
            expect(page.get_by_label(label)).to_be_visible()
        _fill_required(page, "Anytown Knitters", "at1 2ab", "knit@example.org")
        page.get_by_label("No, there is a charge", exact=True).check()
        page.get_by_label(follow_ups[2]).fill("2.50")
        page.get_by_role("button", name="Continue").click()
        expect(page.locator(".summary-list")).to_contain_text("£2.50 each time")
        check(page)
        context.close()


def test_a_volunteer_of_a_listed_organisation_is_not_at_a_dead_end(
    browser: Browser, mailbox: Mailbox, new_database_url: Callable[[], str], tmp_path: Path
) -> None:
    url = new_database_url()
    prepare(url)
    with serve(url, tmp_path, workers=1, env=_smtp(mailbox)) as (base, _log):
        context = _context(browser, 375, javascript=False)
        page = context.new_page()
        page.goto(f"{base}/register")
        _fill_required(page, "Testtown Cat and Dog Shelter", "AT2 1AA", "vol@example.org")
        page.get_by_role("button", name="Continue").click()
        expect(page.locator(".error-summary")).to_contain_text("already in the directory")
        check(page)
        page.get_by_role("button", name=f"send your activity to {LEAD} to add to it").click()
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        check(page)
        assert "Confirm your email" in mailbox.last("vol@example.org")["Subject"]
        context.close()


def _registration_and_report(base: str, mailbox: Mailbox) -> None:
    """A confirmed registration and an open problem report, sent as a browser would."""
    with httpx.Client(base_url=base) as client:
        key = re.search(r'name="submission_key" value="([^"]+)"', client.get("/register").text)
        answers = {
            "organisation": "Anytown Knitters",
            "title": "Knit and natter",
            "description": "Bring wool.",
            "domains": "ARTS_FOR_HEALTH",
            "where": "ONLINE",
            "when": "ASK",
            "email": "knit@example.org",
            "show_email": "yes",
            "submission_key": key.group(1),
            "send": "yes",
        }
        assert client.post("/register", data=answers).status_code == 200
        confirm = mailbox.link(mailbox.last("knit@example.org"), "/register/confirm/")
        assert client.get(confirm.removeprefix(base)).status_code == 200
        reported = client.post(
            "/report-a-problem",
            data={"provider": "shelter", "session": "dog-walking", "kind": "WRONG_TIME"},
        )
        assert reported.status_code == 200


@pytest.mark.parametrize("width", [375, 1280])
def test_moderation_pages_on_a_phone_and_a_desktop(
    browser: Browser,
    mailbox: Mailbox,
    new_database_url: Callable[[], str],
    tmp_path: Path,
    width: int,
) -> None:
    url = new_database_url()
    prepare(url)
    db = Database.from_url(url)
    invite(db, "mod@lead.example", coordinator=True)
    with db.session() as s:
        s.scalars(
            select(Provider).where(Provider.key == "shelter")
        ).one().email = "dogs@shelter.example"
    db.dispose()
    with serve(url, tmp_path, workers=1, env=_smtp(mailbox)) as (base, _log):
        _registration_and_report(base, mailbox)
        context = _context(browser, width, javascript=False)
        page = context.new_page()
        page.goto(f"{base}/moderation")
        browser_sign_in(page, base, mailbox, "mod@lead.example")
        page.goto(f"{base}/moderation")
        expect(page.get_by_role("heading", name="Listings to check")).to_be_visible()
        check(page)
        # No word broken mid-letter in the tables.
        assert page.evaluate(BROKEN_WORDS) == []

        # A report links to the listing on the site and to the provider's contact.
        listing = page.get_by_role(
            "link", name=re.compile(r"^Dog walking, Testtown Cat and Dog Shelter \(its page")
        )
        assert listing.get_attribute("href") == f"{base}/providers/shelter/dog-walking/"
        expect(page.locator('a[href="mailto:dogs@shelter.example"]')).to_be_visible()

        # Resolving with an empty note is refused, with an error summary.
        page.get_by_role("button", name=re.compile("^Resolve")).click()
        expect(page.locator(".error-summary")).to_contain_text("Write what was done")
        summary_link = page.locator(".error-summary a").first
        target = summary_link.get_attribute("href")
        assert target and page.locator(target).count() == 1
        check(page)
        assert page.evaluate(BROKEN_WORDS) == []

        # The registration: languages by name; reject asks "are you sure" first.
        page.get_by_role("link", name="Anytown Knitters").click()
        expect(page.locator(".summary")).to_contain_text("English")
        page.get_by_label("Reject it").fill("Not a community group.")
        page.get_by_role("button", name="Reject").click()
        expect(
            page.get_by_role("heading", name="Are you sure you want to reject Anytown Knitters?")
        ).to_be_visible()
        check(page)
        page.get_by_role("button", name="Yes, reject it").click()
        expect(page.get_by_text("Anytown Knitters is rejected.")).to_be_visible()
        context.close()
