"""The equality form in real Chromium, JavaScript off, on a phone: the link worker follows
"Change" from the referral page, sends a contradictory answer (an error summary, the answers
kept), then records the person's answers and sees them on the referral page. axe-core's
WCAG 2.2 AA checks on every page."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from api.access import tokens
from api.access.models import Role
from api.db import Database
from benchmarks.registrations import prepare, serve
from tests.mailbox import Mailbox
from tests.referral_support import CREATE, referral_input
from tests.staff_support import browser_sign_in, invite
from tests.test_cat_and_dog_shelter import CHROMIUM, browser
from tests.test_staff_browser import check

__all__ = ["browser"]  # the module-scoped Chromium fixture
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")


def test_the_link_worker_records_the_equality_data(
    browser: Browser, mailbox: Mailbox, new_database_url: Callable[[], str], tmp_path: Path
) -> None:
    url = new_database_url()
    prepare(url)
    db = Database.from_url(url)
    with db.session() as s:
        _client, token = tokens.create_client(
            s, name="practice", role=Role.GP_PRACTICE, practice="T00001"
        )
    invite(db, "alex@lead.example", link_worker="alex")
    db.dispose()
    smtp = {"PETUNIA_SMTP_HOST": mailbox.host, "PETUNIA_SMTP_PORT": str(mailbox.port)}
    with serve(url, tmp_path, workers=1, env=smtp) as (base, _log):
        made = httpx.post(
            f"{base}/graphql",
            json={
                "query": CREATE,
                "variables": {
                    "input": referral_input(equality={"sex": "2"}),
                    "key": "equality-browser-1",
                },
            },
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert made["data"]["createReferral"]["errors"] == [], made
        gid = made["data"]["createReferral"]["referral"]["id"]
        pk = base64.b64decode(gid).decode().split(":")[1]

        phone = {"java_script_enabled": False, "viewport": {"width": 375, "height": 740}}
        page = browser.new_context(**phone).new_page()
        browser_sign_in(page, base, mailbox, "alex@lead.example")
        page.goto(f"{base}/staff/referrals/{pk}")
        expect(page.get_by_role("heading", name="Equality monitoring")).to_be_visible()
        check(page)
        page.get_by_role("link", name="Change ethnic group").click()
        expect(page.get_by_role("heading", name="Equality monitoring")).to_be_visible()
        check(page)

        # A condition and "Prefer not to say" at once: named, and nothing is lost.
        page.get_by_role("group", name="Sex").get_by_label("Prefer not to say").check()
        page.get_by_label("Ethnic group").select_option(label="Caribbean")
        conditions = page.get_by_role("group", name="Long-term conditions")
        conditions.get_by_label("Asthma").check()
        conditions.get_by_label("Prefer not to say").check()
        page.get_by_role("button", name="Save the equality data").click()
        assert page.title().startswith("Error:")
        expect(page.get_by_role("link", name="not both")).to_be_visible()
        check(page)
        expect(
            page.get_by_role("group", name="Sex").get_by_label("Prefer not to say")
        ).to_be_checked()
        expect(page.get_by_label("Ethnic group")).to_have_value("M")

        conditions = page.get_by_role("group", name="Long-term conditions")
        conditions.get_by_label("Prefer not to say").uncheck()
        conditions.get_by_label("Diabetes").check()
        page.get_by_role("button", name="Save the equality data").click()
        expect(page.get_by_text("The equality data is saved")).to_be_visible()
        check(page)
        summary = page.locator("dl.summary-list")
        expect(summary).to_contain_text("Prefer not to say")
        expect(summary).to_contain_text("Black or Black British: Caribbean")
        expect(summary).to_contain_text("Asthma")
        expect(summary).to_contain_text("Diabetes")
