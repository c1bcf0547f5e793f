"""`petunia staff ...` run in-process on a real database, and the demo sign-ins that
`petunia up` creates: usable in development without email, refused in production."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from api.access.models import Role
from api.app import create_app
from api.cli import app as cli
from api.config import get_settings
from api.staff import commands
from api.staff.demo import DEMO_TOTP_SECRET, create_demo_accounts, demo_accounts
from api.staff.models import StaffAccount, StaffSession
from tests.conftest import client_for
from tests.staff_support import PUBLIC, csrf_in, follow_link, sign_in_first_time

runner = CliRunner()


def invoke(*args: str):  # noqa: ANN201
    return runner.invoke(cli, ["staff", *args], catch_exceptions=False)


def test_the_staff_commands(db, mailbox, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PETUNIA_SMTP_HOST", mailbox.host)
    monkeypatch.setenv("PETUNIA_SMTP_PORT", str(mailbox.port))
    monkeypatch.setenv("PETUNIA_PUBLIC_URL", PUBLIC)
    monkeypatch.setattr(commands.console, "width", 200)  # a table not wrapped
    made = invoke(
        "invite", "--email", "alex@lead.example", "--name", "Alex Link",
        "--role", "LEAD_PROVIDER", "--provider", "lead-north", "--link-worker", "alex",
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert made.exit_code == 0 and "Invited Alex Link (account 1)" in made.output
    assert "You have an account on Petunia" in mailbox.last("alex@lead.example")["Subject"]
    bad = invoke(
        "invite", "--email", "x@y.example", "--name", "X", "--role", "GP_PRACTICE",
        "--practice", "NOPE", "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert bad.exit_code == 1 and "no GP practice with ODS code 'NOPE'" in bad.output
    assert "Traceback" not in bad.output
    again = invoke(
        "invite", "--email", "ALEX@lead.example", "--name", "A", "--role", "COMMISSIONER",
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert again.exit_code == 1 and "already an account with this email" in again.output

    with client_for(db, data_dir=tmp_path, public_url=PUBLIC, **mailbox.settings()) as app:
        sign_in_first_time(app, mailbox, "alex@lead.example")
        listed = invoke("list", "--data-dir", str(tmp_path))
        assert (
            "alex@lead.example" in listed.output and "LEAD_PROVIDER (link worker)" in listed.output
        )
        assert "set up" in listed.output
        assert invoke("sign-out", "1", "--data-dir", str(tmp_path)).exit_code == 0
        assert app.get("/staff", follow_redirects=False).status_code == 303
        reset = invoke("reset-second-factor", "1", "--data-dir", str(tmp_path))
        assert reset.exit_code == 0
        # The next sign-in enrols again.
        sign_in_first_time(app, mailbox, "alex@lead.example")
        gone = invoke("deactivate", "1", "--data-dir", str(tmp_path))
        assert gone.exit_code == 0 and "Deactivated account 1" in gone.output
        assert app.get("/staff", follow_redirects=False).status_code == 303
    assert invoke("deactivate", "9", "--data-dir", str(tmp_path)).exit_code == 1


def test_demo_sign_ins_work_in_development_without_email(db, mailbox, tmp_path) -> None:
    settings = get_settings(data_dir=tmp_path, public_url=PUBLIC, **mailbox.settings())
    with db.session() as s:
        create_demo_accounts(s, settings)
        create_demo_accounts(s, settings)  # only once
    with db.session() as s:
        listed = demo_accounts(s)
        roles = [
            s.scalar(select(StaffAccount.role).where(StaffAccount.email == a.email)) for a in listed
        ]
    assert [a.email for a in listed] == [
        "practice@demo.petunia.invalid",
        "link-worker@demo.petunia.invalid",
        "coordinator@demo.petunia.invalid",
        "provider@demo.petunia.invalid",
        "commissioner@demo.petunia.invalid",
        "admin@demo.petunia.invalid",
    ]
    assert set(roles) == set(Role)

    with client_for(db, data_dir=tmp_path, public_url=PUBLIC, **mailbox.settings()) as app:
        page = app.get("/staff/sign-in")
        sent = app.post(
            "/staff/sign-in",
            data={"csrf": csrf_in(page.text), "email": "link-worker@demo.petunia.invalid"},
        )
        assert "Demo account" in sent.text
        assert mailbox.to("link-worker@demo.petunia.invalid") == []
        link = re.search(r'href="(/staff/sign-in/[^"]+)"', sent.text).group(1)
        page = follow_link(app, link)
        shown = re.search(r"the code now is <code>(\d{6})</code>", page.text).group(1)
        import pyotp

        assert shown == pyotp.TOTP(DEMO_TOTP_SECRET).now()
        done = app.post("/staff/second-factor", data={"csrf": csrf_in(page.text), "code": shown})
        assert "Hello, Demo link worker" in done.text


def test_demo_accounts_cannot_sign_in_in_production(db, mailbox, tmp_path: Path) -> None:
    with db.session() as s:
        create_demo_accounts(s, get_settings(data_dir=tmp_path, encryption_key="k" * 32))
    settings = get_settings(
        mode="production",
        data_dir=tmp_path,
        public_url="https://petunia.test",
        secret_key="s" * 32,
        encryption_key="k" * 32,
        **mailbox.settings(),
    )
    with TestClient(create_app(settings, db=db), base_url="https://testserver") as app:
        page = app.get("/staff/sign-in")
        sent = app.post(
            "/staff/sign-in",
            data={"csrf": csrf_in(page.text), "email": "admin@demo.petunia.invalid"},
        )
        assert sent.status_code == 200 and "Demo account" not in sent.text
    assert mailbox.to("admin@demo.petunia.invalid") == []
    with db.session() as s:
        assert s.scalars(select(StaffSession)).all() == []
