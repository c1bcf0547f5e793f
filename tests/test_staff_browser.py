"""Staff sign-in and account pages in real Chromium, JavaScript off, on a phone: a
coordinator signs in (email link from a real SMTP server, then the authenticator app),
invites a link worker, and deactivates them after confirming; a moderator reaches the
moderation queue through the same sign-in. Every page passes axe-core's checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from api.db import Database
from benchmarks.registrations import prepare, serve
from tests.mailbox import Mailbox, running_mailbox
from tests.staff_support import browser_sign_in, invite
from tests.test_cat_and_dog_shelter import CHROMIUM, accessible, browser, fits_a_phone

__all__ = ["browser"]  # the module-scoped Chromium fixture
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")


@pytest.fixture()
def mailbox() -> Iterator[Mailbox]:
    yield from running_mailbox()


def check(page) -> None:  # type: ignore[no-untyped-def]
    accessible(page)
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
