"""Publishing that tells the truth, in Chromium at 375 px and 1280 px, against a real
`petunia up` process: a volunteer registers through "check your answers" and confirms their
email, a lead provider approves it and it is on the public site within a minute (no
`petunia build-site`); the provider then says the activity has stopped from its edit link,
and it leaves the site and the open data (/oruk and the site's ORUK files) within a
minute."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api import migrations
from api.db import Database
from api.directory.loading import load_directory
from tests.conftest import MINI, PG_URL
from tests.mailbox import Mailbox
from tests.staff_support import browser_sign_in, invite

CHROMIUM = os.environ.get("PETUNIA_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
SECRET = "publishing-browser-test-secret-key-0123456789"
MINUTE = 60.0

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium"),
    pytest.mark.skipif(bool(PG_URL), reason="`up` on its embedded default (SQLite) only"),
]


def answers(width: int) -> dict[str, str]:
    return {
        "organisation": f"Riverside Walkers {width}",
        "title": f"Riverside health walk {width}",
        "email": f"walks{width}@riverside.example",
    }


def prepare(url: str) -> None:
    """The small test directory and a lead provider's account."""
    db = Database.from_url(url)
    migrations.upgrade(db.engine)
    with db.session() as s:
        load_directory(s, MINI)
    invite(db, "lead@north.example")
    db.dispose()


def register(page, base: str, mailbox: Mailbox, width: int) -> None:  # type: ignore[no-untyped-def]
    """The form as a volunteer fills it, through check your answers, then the email link."""
    from playwright.sync_api import expect

    said = answers(width)
    page.goto(f"{base}/register")
    page.get_by_label("Name of your organisation or group").fill(said["organisation"])
    page.get_by_label("What is it called?").fill(said["title"])
    page.get_by_label("Describe it in a few sentences").fill(
        "A gentle walk along the river with a trained walk leader."
    )
    page.get_by_label("At a place", exact=True).check()
    page.get_by_label("Postcode of the place").fill("at1 2ab")
    page.get_by_label("On set days and times").check()
    page.get_by_label("Tuesday").check()
    page.get_by_label("Start time").fill("10am")
    page.get_by_label("Email address").fill(said["email"])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Check your answers before sending")).to_be_visible()
    expect(page.locator(".summary-list")).to_contain_text(said["title"])
    page.get_by_role("button", name="Accept and send").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    page.goto(mailbox.link(mailbox.last(said["email"]), "/register/confirm/"))
    expect(page.get_by_role("heading", name="Email confirmed")).to_be_visible()


def wait_for(check, what: str, timeout: float = MINUTE) -> float:  # type: ignore[no-untyped-def]
    """Poll ``check`` until it is true; how long it took. Fails after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


@pytest.mark.parametrize("width", [375, 1280])
def test_approved_is_on_the_site_within_a_minute_and_stopped_leaves_it(
    width: int, tmp_path: Path, mailbox: Mailbox
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.test_cli import free_port, stop, wait_until_up

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"sqlite:///{tmp_path / 'petunia.db'}"
    prepare(url)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": url,
        "PETUNIA_SECRET_KEY": SECRET,
        "PETUNIA_SMTP_HOST": mailbox.host,
        "PETUNIA_SMTP_PORT": str(mailbox.port),
        "PETUNIA_MAIL_POLL_SECONDS": "0.2",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "up", "--port", str(port), "--data-dir", str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    organisation, title = answers(width)["organisation"], answers(width)["title"]
    site_page = f"{base}/providers/riverside-walkers-{width}/riverside-health-walk-{width}/"
    try:
        wait_until_up(base, proc, timeout=120)
        wait_for(lambda: httpx.get(f"{base}/").status_code == 200, "the first build", 120)
        assert httpx.get(site_page).status_code == 404  # not approved yet
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            context = browser.new_context(viewport={"width": width, "height": 800})
            page = context.new_page()
            register(page, base, mailbox, width)
            browser_sign_in(page, base, mailbox, "lead@north.example")
            page.goto(f"{base}/moderation")
            page.get_by_role("link", name=str(organisation)).click()
            page.get_by_role("button", name="Approve and publish").click()
            expect(
                page.get_by_text("It will be on the public site within a minute.")
            ).to_be_visible()

            # The real page, as a person opens it, until it is there.
            def on_site() -> bool:
                response = page.goto(site_page)
                return bool(response and response.ok and page.get_by_text(str(title)).count())

            waited = wait_for(on_site, "the approved listing on the site")
            print(f"\n{width} px: approved listing on the site after {waited:.1f} s")
            assert (
                httpx.get(f"{base}/oruk/services", params={"search": "riverside"}).json()[
                    "total_items"
                ]
                == 1
            )

            # The provider stops the activity from the edit link in the approval email.
            edit = mailbox.link(mailbox.last(f"walks{width}@riverside.example"), "/listing/")
            page.goto(edit)
            page.get_by_role("link", name=f"Stopped or on a break? {title}").click()
            page.get_by_label("We have stopped this activity").check()
            page.get_by_role("button", name="Tell us").click()
            expect(
                page.get_by_text(
                    "It will be off the public site and its open data within a minute."
                )
            ).to_be_visible()

            def gone() -> bool:
                response = page.goto(site_page)
                return bool(response and response.status == 404)

            waited = wait_for(gone, "the stopped listing off the site")
            print(f"{width} px: stopped listing off the site after {waited:.1f} s")
            browser.close()
        oruk = httpx.get(f"{base}/oruk/services", params={"search": "riverside"}).json()
        assert oruk["total_items"] == 0
        services = httpx.get(f"{base}/open-data/oruk/services.json").text
        assert str(title) not in services
        assert str(title) not in httpx.get(f"{base}/sitemap.xml").text
    finally:
        log = stop(proc)
    assert "site rebuilt" in log
    assert f"walks{width}@riverside.example" not in log  # no address in the log
