"""Signing staff in as a person would, for page tests: the emailed link (from a real SMTP
server), then the authenticator app's code computed from the secret the page shows."""

from __future__ import annotations

import datetime as dt
import html
import re

import pyotp
from starlette.testclient import TestClient

from api.access.models import Role
from api.db import Database
from api.staff import accounts
from tests.mailbox import Mailbox

PUBLIC = "http://petunia.test"


def csrf_in(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def invite(db: Database, email: str, role: Role = Role.LEAD_PROVIDER, **binding: object) -> int:
    if role in (Role.LEAD_PROVIDER, Role.PROVIDER):
        binding.setdefault("provider", "lead-north" if role is Role.LEAD_PROVIDER else "knit")
    if role is Role.GP_PRACTICE:
        binding.setdefault("practice", "T00001")
    with db.session() as s:
        account = accounts.invite(
            s,
            None,
            accounts.Invitation(
                name=email.split("@")[0].title(), email=email, role=role, **binding
            ),  # type: ignore[arg-type]
        )
        return account.id


def request_link(app: TestClient, mailbox: Mailbox, email: str) -> str:
    """Ask for a sign-in link; the path of the link that arrives by email."""
    count = len(mailbox.to(email))
    page = app.get("/staff/sign-in")
    sent = app.post("/staff/sign-in", data={"csrf": csrf_in(page.text), "email": email})
    assert sent.status_code == 200 and "Check your email" in sent.text, sent.text
    message = mailbox.last(email)
    assert len(mailbox.to(email)) == count + 1
    return mailbox.link(message, "/staff/sign-in/").removeprefix(PUBLIC)


def follow_link(app: TestClient, path: str):  # type: ignore[no-untyped-def]
    page = app.get(path)
    assert page.status_code == 200 and "Continue signing in" in page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return app.post("/staff/sign-in/continue", data={"csrf": csrf_in(page.text), "token": token})


def secret_on(page: str) -> str:
    match = re.search(r'<p class="secret" id="secret"><code>([A-Z2-7 ]+)</code>', page)
    assert match, page
    return match.group(1).replace(" ", "")


def code(secret: str, ahead: int = 0) -> str:
    """The app's code now (``ahead`` steps on: a code is accepted once, so a second sign-in
    within 30 seconds uses the next one, which the drift window allows)."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(dt.datetime.now(dt.UTC)) + ahead)


class SignedIn:
    def __init__(self, csrf: str, secret: str | None, recovery: list[str]) -> None:
        self.csrf, self.secret, self.recovery = csrf, secret, recovery


def sign_in_first_time(app: TestClient, mailbox: Mailbox, email: str) -> SignedIn:
    """Link, enrol the authenticator app, keep the recovery codes (a commissioner: the
    link alone)."""
    enrol = follow_link(app, request_link(app, mailbox, email))
    if "Hello, " in enrol.text:  # a role without a second factor is signed in already
        return SignedIn(csrf_in(enrol.text), None, [])
    assert enrol.status_code == 200 and "Set up your authenticator app" in enrol.text, enrol.text
    secret = secret_on(enrol.text)
    done = app.post("/staff/enrol", data={"csrf": csrf_in(enrol.text), "code": code(secret)})
    assert done.status_code == 200 and "Your recovery codes" in done.text, done.text
    recovery = [
        html.unescape(c) for c in re.findall(r"<li><code>([a-z2-7-]+)</code></li>", done.text)
    ]
    return SignedIn(csrf_in(done.text), secret, recovery)


def staff_sign_in(
    app: TestClient,
    db: Database,
    mailbox: Mailbox,
    email: str,
    role: Role = Role.LEAD_PROVIDER,
    **binding: object,
) -> SignedIn:
    """A new account, signed in (the usual fixture for page tests)."""
    invite(db, email, role, **binding)
    return sign_in_first_time(app, mailbox, email)


def browser_sign_in(page, base: str, mailbox: Mailbox, email: str, check=None):  # type: ignore[no-untyped-def]
    """Sign in in a real browser as a person would, the first time (enrolling the app);
    ``check`` (e.g. axe-core) runs on every page on the way. Returns the secret."""
    from playwright.sync_api import expect

    def checked() -> None:
        if check:
            check(page)

    page.goto(f"{base}/staff/sign-in")
    checked()
    page.get_by_label("Work email address").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    checked()
    page.goto(mailbox.link(mailbox.last(email), "/staff/sign-in/"))
    checked()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    checked()
    secret = page.locator("#secret code").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(code(secret))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    checked()
    page.get_by_role("link", name="I have kept my recovery codes").click()
    return secret
