"""Staff sign-in and account pages in real Chromium, JavaScript off, on a phone: a
coordinator signs in (email link from a real SMTP server, then the authenticator app),
invites a link worker, and deactivates them after confirming; a moderator reaches the
moderation queue through the same sign-in. Every page passes axe-core's checks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, expect

from api.access.models import Role
from api.db import Database
from api.outcomes.instruments import load_instruments
from benchmarks.registrations import prepare, serve
from tests.conftest import DEMO
from tests.mailbox import Mailbox
from tests.staff_support import browser_sign_in, invite
from tests.test_cat_and_dog_shelter import CHROMIUM, accessible, browser, fits_a_phone

__all__ = ["browser"]  # the module-scoped Chromium fixture
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")


# WCAG 2.0, 2.1 and 2.2 A and AA: the 2.2 rules (target size) are off in axe by default.
WCAG_22_AA = {
    "resultTypes": ["violations"],
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
}


def wcag22(page) -> None:  # type: ignore[no-untyped-def]
    """axe-core's WCAG 2.2 AA rules on what ``page`` shows (JavaScript off there, so axe runs
    in a second page given the same HTML at the same URL, as in the shelter test)."""
    checker = page.context.browser.new_page()
    try:
        html = page.content()
        checker.route(
            "**/*",
            lambda route: (
                route.fulfill(body=html, content_type="text/html")
                if route.request.url == page.url
                else route.continue_()
            ),
        )
        checker.goto(page.url)
        results = Axe().run(checker, options=WCAG_22_AA)
    finally:
        checker.close()
    assert results.violations_count == 0, results.generate_report()


def check(page) -> None:  # type: ignore[no-untyped-def]
    accessible(page)
    wcag22(page)
    fits_a_phone(page)


def test_a_coordinator_signs_in_and_manages_accounts(
    browser: Browser, mailbox: Mailbox, new_database_url: Callable[[], str], tmp_path: Path
) -> None:
    url = new_database_url()
    prepare(url)
    db = Database.from_url(url)
    invite(db, "boss@lead.example", coordinator=True)
    db.dispose()
    smtp = {"PETUNIA_SMTP_HOST": mailbox.host, "PETUNIA_SMTP_PORT": str(mailbox.port)}
    with serve(url, tmp_path, workers=1, env=smtp) as (base, _log):
        context = browser.new_context(
            java_script_enabled=False, viewport={"width": 375, "height": 740}
        )
        page = context.new_page()
        # Moderation sends people to the staff sign-in, and back after it.
        page.goto(f"{base}/moderation")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        browser_sign_in(page, base, mailbox, "boss@lead.example", check)
        expect(page.get_by_role("heading", name="Listings to check")).to_be_visible()
        check(page)

        page.goto(f"{base}/staff")
        expect(page.get_by_role("heading", name="Hello, Boss")).to_be_visible()
        check(page)
        page.get_by_role("link", name="Staff accounts").click()
        check(page)
        page.get_by_role("link", name="Invite someone").click()
        check(page)
        page.get_by_role("button", name="Send the invitation").click()
        assert page.title().startswith("Error:")
        check(page)
        page.get_by_label("Full name").fill("Alex Link")
        page.get_by_label("Work email address").fill("alex@lead.example")
        page.get_by_label("Yes: Alex Link").check()
        page.get_by_role("button", name="Send the invitation").click()
        expect(page.get_by_text("Alex Link is invited")).to_be_visible()
        check(page)
        assert "You have an account" in mailbox.last("alex@lead.example")["Subject"]

        page.get_by_role("link", name="Deactivate this account").click()
        check(page)
        page.get_by_role("button", name="Deactivate the account").click()
        expect(page.get_by_text("The account is deactivated")).to_be_visible()

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
        check(page)
        page.goto(f"{base}/staff/accounts")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        context.close()


def test_a_practice_refers_and_the_link_worker_works_it(
    browser: Browser, mailbox: Mailbox, new_database_url: Callable[[], str], tmp_path: Path
) -> None:
    """Practice staff refer through the form; the link worker contacts, assesses, agrees a
    plan, signposts two sessions and completes from the caseload; the coordinator reassigns
    the referral (and back); the practice reads the message back. A phone, JavaScript off,
    axe-core on every page."""
    from tests.referral_support import nhs_number

    url = new_database_url()
    prepare(url)
    db = Database.from_url(url)
    with db.session() as s:
        load_instruments(s, DEMO / "outcomes")
        from sqlalchemy import update

        from api.directory.models import Session

        s.execute(
            update(Session)
            .where(Session.title == "Knit and natter")
            .values(contact_email="knit@group.example")
        )
        # A second link worker, for the coordinator to reassign to.
        from sqlalchemy import select

        from api.directory.models import LinkWorker, Provider

        lead = s.scalars(select(Provider).where(Provider.key == "lead-north")).one()
        s.add(LinkWorker(key="tom", name="Tom Second", lead_provider_id=lead.id))
    invite(db, "gp@north.example", Role.GP_PRACTICE)
    invite(db, "alex@lead.example", link_worker="alex")
    invite(db, "boss@lead.example", coordinator=True)
    invite(db, "icb@icb.example", Role.COMMISSIONER)
    db.dispose()
    smtp = {"PETUNIA_SMTP_HOST": mailbox.host, "PETUNIA_SMTP_PORT": str(mailbox.port)}
    phone = {"java_script_enabled": False, "viewport": {"width": 375, "height": 740}}
    with serve(url, tmp_path, workers=1, env=smtp) as (base, _log):
        gp = browser.new_context(**phone).new_page()
        browser_sign_in(gp, base, mailbox, "gp@north.example")
        gp.get_by_role("link", name="Refer someone").click()
        check(gp)
        gp.get_by_role("button", name="Send the referral").click()
        assert gp.title().startswith("Error:")
        check(gp)
        gp.get_by_label("NHS number").fill(nhs_number())
        gp.get_by_label("First name").fill("Ada")
        gp.get_by_label("Last name").fill("Browser")
        gp.get_by_label("Day").fill("14")
        gp.get_by_label("Month").fill("3")
        gp.get_by_label("Year").fill("1950")
        gp.get_by_label("Phone call").check()
        gp.get_by_label("Phone number").fill("07700 900123")
        gp.get_by_label("Reason for the referral").fill("Lonely since a bereavement.")
        gp.get_by_label("They agree to be referred").check()
        gp.get_by_role("group", name="Do they agree").get_by_label("Yes").check()
        gp.get_by_role("button", name="Send the referral").click()
        expect(gp.get_by_text("The referral is sent to the link worker")).to_be_visible()
        check(gp)

        worker = browser.new_context(**phone).new_page()
        browser_sign_in(worker, base, mailbox, "alex@lead.example")
        worker.get_by_role("link", name="My caseload").click()
        expect(worker.get_by_text("working days left")).to_be_visible()
        check(worker)
        worker.get_by_role("link", name="Ada Browser").click()
        check(worker)
        # Contact within the target: an attempt that fails, then one that reaches them.
        for outcome in ("No answer", "Reached them"):
            worker.locator("summary", has_text="Record a contact attempt").click()
            worker.get_by_label("Phone call").check()
            worker.get_by_label(outcome).check()
            worker.get_by_role("button", name="Record the attempt").click()
        expect(worker.get_by_text("First contact is recorded")).to_be_visible()
        expect(worker.get_by_text("after 0 working days")).to_be_visible()
        check(worker)
        worker.get_by_text("Record the assessment").click()
        worker.get_by_label("Medium").check()
        worker.get_by_label("Long-term conditions").fill("2")
        worker.get_by_label("Goals").fill("Meet people")
        worker.get_by_label("Action plan").fill("Knit and natter on Tuesdays.")
        worker.get_by_role("button", name="Save the assessment").click()
        expect(worker.get_by_text("The assessment is recorded")).to_be_visible()
        worker.get_by_role("button", name="Mark as assessed").click()
        worker.get_by_role("button", name="Plan agreed: mark as active").click()
        worker.get_by_label("Search the directory").fill("knit")
        worker.get_by_role("button", name="Search").click()
        check(worker)
        worker.get_by_label("Knit and natter").check()
        worker.get_by_role("button", name="Signpost to the chosen sessions").click()
        expect(worker.get_by_text("Signposted to 1 session(s)")).to_be_visible()
        check(worker)
        expect(worker.get_by_text("1 provider(s) were sent a register link")).to_be_visible()
        # A second session: the lead provider's own cookery club.
        worker.get_by_label("Search the directory").fill("cookery")
        worker.get_by_role("button", name="Search").click()
        worker.get_by_label("Bengali men's cookery club").check()
        worker.get_by_role("button", name="Signpost to the chosen sessions").click()
        expect(worker.get_by_text("Signposted to 1 session(s)")).to_be_visible()
        check(worker)

        # The coordinator sees every caseload and reassigns the referral (to Tom, and back).
        boss = browser.new_context(**phone).new_page()
        browser_sign_in(boss, base, mailbox, "boss@lead.example")
        boss.get_by_role("link", name="Caseloads").click()
        boss.get_by_role("link", name="Alex Link").click()
        check(boss)
        boss.get_by_role("link", name="Ada Browser").click()
        for name in ("Tom Second", "Alex Link"):
            option = boss.locator("#f-link_worker option", has_text=name)
            boss.get_by_label("Reassign to").select_option(option.get_attribute("value"))
            boss.get_by_role("button", name="Reassign").click()
            expect(boss.get_by_text("The referral is reassigned")).to_be_visible()
        expect(boss.get_by_text("Reassigned from Alex Link to Tom Second")).to_be_visible()
        check(boss)
        worker.reload()

        # The knitting group opens its register link (no account) and ticks who came.
        knit = browser.new_context(**phone).new_page()
        knit.goto(mailbox.link(mailbox.last("knit@group.example"), "/attendance/"))
        expect(knit.get_by_role("heading", name="Who came to Knit and natter?")).to_be_visible()
        assert "Browser" not in knit.content()  # the given name only
        check(knit)
        knit.get_by_role("button", name="Ada came").click()
        expect(knit.get_by_text("Saved. Thank you.")).to_be_visible()
        check(knit)
        for point, score in (("At the start (baseline)", "4"), ("At the end", "8")):
            worker.get_by_role("link", name="Record ONS4").click()
            check(worker)
            worker.get_by_label(point).check()
            for name in worker.locator("input[type=radio][name^=score_]").evaluate_all(
                "els => [...new Set(els.map(e => e.name))]"
            ):
                worker.locator(f"input[name={name}][value='{score}']").check()
            worker.get_by_role("button", name="Save the answers").click()
            expect(worker.get_by_text("is recorded").first).to_be_visible()
        check(worker)
        worker.get_by_role("button", name="Complete").click()
        expect(worker.get_by_role("heading", name="Are you sure")).to_be_visible()
        check(worker)
        worker.get_by_role("button", name="Complete").click()
        expect(worker.get_by_text("The referral is now: Completed")).to_be_visible()
        check(worker)

        gp.goto(f"{base}/staff/referrals")
        check(gp)
        gp.get_by_role("link", name="Ada Browser").click()
        expect(gp.get_by_text("Knit and natter (Knit")).to_be_visible()
        expect(gp.get_by_text("attended 1, missed 0")).to_be_visible()

        boss.goto(f"{base}/staff")
        boss.get_by_role("link", name="Caseloads").click()
        expect(boss.get_by_role("link", name="Alex Link")).to_be_visible()
        check(boss)

        # The commissioner (no second factor: aggregates only) reads the report.
        icb = browser.new_context(**phone).new_page()
        icb.goto(f"{base}/staff/sign-in")
        icb.get_by_label("Work email address").fill("icb@icb.example")
        icb.get_by_role("button", name="Email me a sign-in link").click()
        icb.goto(mailbox.link(mailbox.last("icb@icb.example"), "/staff/sign-in/"))
        icb.get_by_role("button", name="Continue").click()
        icb.get_by_role("link", name="Commissioning report").click()
        check(icb)
        icb.get_by_role("button", name="Show the report").click()
        expect(icb.get_by_role("link", name="Read the report")).to_be_visible()
        check(icb)
        with icb.expect_download() as download:
            icb.get_by_role("link", name="Download the report (HTML)").click()
        assert download.value.suggested_filename == "report.html"
