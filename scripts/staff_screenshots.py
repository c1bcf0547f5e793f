"""Screenshots of the staff pages for the README, one set per role, taken in Chromium from
the demo data with the demo sign-ins (`python3 scripts/staff_screenshots.py`). Run it after
changing a staff page: it rewrites docs/screenshots/*.png."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from api import migrations  # noqa: E402
from api.config import get_settings  # noqa: E402
from api.db import Database  # noqa: E402
from api.directory.loading import load_directory  # noqa: E402
from api.referrals.loading import load_referral_data  # noqa: E402
from api.staff.demo import create_demo_accounts  # noqa: E402
from benchmarks.registrations import serve  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
DEMO = ROOT / "directory_data"
CHROMIUM = os.environ.get("PETUNIA_CHROMIUM", "/usr/bin/chromium")


def prepare(folder: Path) -> str:
    url = f"sqlite:///{folder / 'petunia.db'}"
    db = Database.from_url(url)
    migrations.upgrade(db.engine)
    settings = get_settings(data_dir=folder, encryption_key="screenshots-encryption-key-0123")
    with db.session() as session:
        report = load_directory(session, DEMO)
        load_referral_data(session, DEMO, settings, report)
        create_demo_accounts(session, settings)
    db.dispose()
    return url


def sign_in(page: Page, base: str, who: str) -> None:
    page.goto(f"{base}/staff/sign-in")
    page.get_by_label("Work email address").fill(f"{who}@demo.petunia.invalid")
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_role("link", name="Open the sign-in link").click()
    page.get_by_role("button", name="Continue").click()
    shown = page.locator("text=the code now is").count()
    if shown:
        code = re.search(r"the code now is (\d{6})", page.inner_text("main")).group(1)  # type: ignore[union-attr]
        page.get_by_label("Code from your authenticator app").fill(code)
        page.get_by_role("button", name="Sign in").click()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print(f"docs/screenshots/{name}.png")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = prepare(folder)
        env = {"PETUNIA_ENCRYPTION_KEY": "screenshots-encryption-key-0123"}
        with serve(url, folder, workers=1, env=env) as (base, _log), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            size = {"viewport": {"width": 1000, "height": 800}}

            page = browser.new_context(**size).new_page()
            page.goto(f"{base}/staff/sign-in")
            shot(page, "sign-in")
            sign_in(page, base, "link-worker")
            page.get_by_role("link", name="My caseload").click()
            shot(page, "link-worker-caseload")
            page.locator("table a[href^='/staff/referrals/']").first.click()
            shot(page, "link-worker-referral")

            page = browser.new_context(**size).new_page()
            sign_in(page, base, "coordinator")
            page.get_by_role("link", name="Caseloads").click()
            shot(page, "coordinator-caseloads")

            page = browser.new_context(**size).new_page()
            sign_in(page, base, "practice")
            page.get_by_role("link", name="Refer someone").click()
            shot(page, "practice-refer")

            page = browser.new_context(**size).new_page()
            sign_in(page, base, "commissioner")
            page.get_by_role("link", name="Commissioning report").click()
            page.get_by_role("button", name="Show the report").click()
            shot(page, "commissioner-report")
            browser.close()


if __name__ == "__main__":
    main()
