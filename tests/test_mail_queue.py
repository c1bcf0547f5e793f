"""The mail queue: emails written in the transaction of their change, delivered with retries
through a real SMTP server (aiosmtpd), surviving a process killed with SIGKILL between the
commit and the send, never sent twice by concurrent deliverers, deleted after retention."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from api.cli import app as cli
from api.config import get_settings
from api.db import Database
from api.directory.models import utcnow
from api.mail.background import Deliverer
from api.mail.models import MailStatus, QueuedEmail
from api.mail.outbox import Email
from api.mail.queue import CLAIM, deliver_due, enqueue
from api.registration.models import Registration
from tests.conftest import client_for
from tests.mailbox import Mailbox
from tests.test_registration_flow import REGISTER, SHELTER_INPUT, gql

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret-for-the-mail-queue"
ADDRESS = SHELTER_INPUT["email"]


def settings_for(mailbox: Mailbox, tmp_path: Path, **more: object):
    return get_settings(
        **{
            "data_dir": tmp_path,
            "secret_key": SECRET,
            "public_url": "http://petunia.test",
            **mailbox.settings(),
            **more,
        }
    )


def rows(db: Database) -> list[QueuedEmail]:
    with db.session() as s:
        return list(s.scalars(select(QueuedEmail).order_by(QueuedEmail.id)))


def queue_some(db: Database, count: int, to: str = "someone@example.org") -> list[int]:
    with db.session() as s:
        return [
            enqueue(s, Email(to=to, subject=f"Email {n}", text=f"Body {n}\n")).id
            for n in range(count)
        ]


@pytest.fixture()
def black_hole() -> Iterator[int]:
    """A port that takes connections and never answers: an SMTP client waits there for the
    server's greeting, so a sender is caught after the commit, in the middle of the send."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(50)
        yield server.getsockname()[1]


CHILD = textwrap.dedent(
    """
    import json, sys
    from starlette.testclient import TestClient
    from api.app import create_app
    from api.config import get_settings
    query, variables = json.loads(sys.argv[1])
    with TestClient(create_app(get_settings())) as client:
        client.post("/graphql", json={"query": query, "variables": variables})
    """
)


def test_a_registration_committed_just_before_a_crash_still_gets_its_email_once(
    db: Database, mailbox: Mailbox, black_hole: int, tmp_path: Path
) -> None:
    """A real process registers through GraphQL and is killed with SIGKILL after its
    transaction committed, while it sends the email (its SMTP server never answers). The
    retry with the same submissionKey returns the stored registration and sends nothing
    more; delivery then sends the confirmation exactly once."""
    import json

    url = db.engine.url.render_as_string(hide_password=False)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": url,
        "PETUNIA_DATA_DIR": str(tmp_path),
        "PETUNIA_SECRET_KEY": SECRET,
        "PETUNIA_PUBLIC_URL": "http://petunia.test",
        "PETUNIA_SMTP_HOST": "127.0.0.1",
        "PETUNIA_SMTP_PORT": str(black_hole),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps([REGISTER, {"input": SHELTER_INPUT}])],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            with db.session() as s:
                if s.scalar(select(func.count()).select_from(Registration)):
                    break
            time.sleep(0.05)
        else:
            raise AssertionError("the registration was not committed")
        time.sleep(0.3)  # well inside the SMTP client's wait for a greeting
        assert child.poll() is None, "the child should be stuck sending"
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(30)
    assert mailbox.messages == []

    settings = settings_for(mailbox, tmp_path)
    with client_for(db, **settings.model_dump()) as app:
        again = gql(app, REGISTER, input=SHELTER_INPUT)["data"]["registerProvider"]
    assert (
        again["errors"] == [] and again["registration"]["organisation"] == "Southfield Dog Rescue"
    )
    assert mailbox.to(ADDRESS) == []  # the retry sends nothing of its own

    # The killed process had taken the email; once its claim runs out, delivery sends it.
    later = utcnow() + CLAIM + dt.timedelta(seconds=1)
    assert deliver_due(db, settings, now=later).sent == 1
    assert deliver_due(db, settings, now=later + dt.timedelta(hours=1)).sent == 0
    sent = mailbox.to(ADDRESS)
    assert len(sent) == 1 and "Confirm your listing" in sent[0]["Subject"]
    assert Mailbox.link(mailbox, sent[0], "/register/confirm/")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Registration)) == 1
    [row] = rows(db)
    assert row.status is MailStatus.SENT and row.attempts == 2


def test_a_refusing_server_is_retried_with_backoff_and_the_email_goes_once(
    db: Database, mailbox: Mailbox, tmp_path: Path
) -> None:
    settings = settings_for(mailbox, tmp_path)
    mailbox.refuse = "451 4.3.0 Try again later"
    with client_for(db, **settings.model_dump()) as app:
        done = gql(app, REGISTER, input=SHELTER_INPUT)["data"]["registerProvider"]
    # Saved, and the caller is told the email is late, not lost.
    assert done["registration"]["organisation"] == "Southfield Dog Rescue"
    assert [e["code"] for e in done["errors"]] == ["INVALID_STATE"]
    assert "keeps trying" in done["errors"][0]["message"]
    [row] = rows(db)
    assert (row.status, row.attempts, row.last_error) == (
        MailStatus.PENDING,
        1,
        "SMTPDataError 451",
    )
    first_retry = row.next_attempt_at

    now = utcnow()
    assert deliver_due(db, settings, now=now).sent == 0  # not due: back-off
    failed = deliver_due(db, settings, now=now + dt.timedelta(seconds=31))
    assert (failed.sent, failed.retrying) == (0, 1)
    [row] = rows(db)
    assert row.attempts == 2 and row.next_attempt_at - first_retry >= dt.timedelta(seconds=60)

    mailbox.refuse = None
    assert deliver_due(db, settings, now=now + dt.timedelta(minutes=5)).sent == 1
    assert deliver_due(db, settings, now=now + dt.timedelta(hours=5)).sent == 0
    assert len(mailbox.to(ADDRESS)) == 1
    assert rows(db)[0].status is MailStatus.SENT


def test_a_permanent_refusal_or_the_last_attempt_gives_up(
    db: Database, mailbox: Mailbox, tmp_path: Path
) -> None:
    settings = settings_for(mailbox, tmp_path, mail_max_attempts=2)
    [refused] = queue_some(db, 1)
    mailbox.refuse = "550 5.1.1 No such mailbox"
    report = deliver_due(db, settings)
    assert report.failed == 1 and rows(db)[0].status is MailStatus.FAILED

    mailbox.refuse = None
    [down] = queue_some(db, 1, to="other@example.org")
    closed = settings_for(mailbox, tmp_path, mail_max_attempts=2, smtp_port=9)  # not listening
    now = utcnow()
    assert deliver_due(db, closed, now=now).retrying == 1
    assert deliver_due(db, closed, now=now + dt.timedelta(minutes=1)).failed == 1
    assert {r.id: r.status for r in rows(db)} == {
        refused: MailStatus.FAILED,
        down: MailStatus.FAILED,
    }
    assert deliver_due(db, settings, now=now + dt.timedelta(hours=3)).sent == 0
    assert mailbox.messages == []


def test_an_email_exists_only_if_its_change_commits(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as s:
        enqueue(s, Email(to="a@example.org", subject="Never", text="x"))
        raise RuntimeError("the change failed")
    assert rows(db) == []


def test_concurrent_deliverers_send_each_email_once(
    db: Database, mailbox: Mailbox, tmp_path: Path
) -> None:
    """Four deliverers at once (threads, each with its own connections), as `petunia up`,
    cron and a request's own attempt may be: every email goes exactly once."""
    settings = settings_for(mailbox, tmp_path)
    queued = queue_some(db, 24)
    start = threading.Barrier(4)

    def deliver(_n: int) -> int:
        start.wait()
        return deliver_due(db, settings).sent

    with ThreadPoolExecutor(4) as pool:
        sent = sum(pool.map(deliver, range(4)))
    assert sent == len(queued) == len(mailbox.messages)
    assert len({m["Message-ID"] for m in mailbox.messages}) == len(queued)
    assert {m["Subject"] for m in mailbox.messages} == {f"Email {n}" for n in range(24)}


def test_sent_emails_are_deleted_after_the_retention_period(
    db: Database, mailbox: Mailbox, tmp_path: Path
) -> None:
    settings = settings_for(mailbox, tmp_path, mail_retention_days=7)
    queue_some(db, 2)
    now = utcnow()
    assert deliver_due(db, settings, now=now).sent == 2
    assert deliver_due(db, settings, now=now + dt.timedelta(days=6)).purged == 0
    [waiting] = queue_some(db, 1)
    report = deliver_due(db, settings, only=[], now=now + dt.timedelta(days=8))
    assert report.purged == 0  # an attempt at nothing purges nothing
    report = deliver_due(db, settings, now=now + dt.timedelta(days=8))
    assert report.purged == 2 and report.sent == 1
    assert [r.id for r in rows(db)] == [waiting]


def test_the_background_deliverer_and_the_command_send_what_is_queued(
    db: Database, mailbox: Mailbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(mailbox, tmp_path, mail_poll_seconds=0.05)
    queue_some(db, 1, to="background@example.org")
    with Deliverer(settings, Database(db.engine)):
        assert mailbox.last("background@example.org", timeout=10)
    assert len(mailbox.to("background@example.org")) == 1

    queue_some(db, 2, to="cron@example.org")
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PETUNIA_SMTP_HOST", mailbox.host)
    monkeypatch.setenv("PETUNIA_SMTP_PORT", str(mailbox.port))
    result = CliRunner().invoke(cli, ["mail", "deliver", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "2 sent" in result.output and "0 waiting" in result.output
    assert len(mailbox.to("cron@example.org")) == 2


def test_petunia_up_delivers_queued_email_in_the_background(
    db: Database, mailbox: Mailbox, tmp_path: Path
) -> None:
    """An email left queued (by a crash, or a mail server that was down) goes out once
    `petunia up` runs: no cron needed on the embedded default."""
    from tests.test_cli import free_port, stop, wait_until_up

    queue_some(db, 1, to="left-behind@example.org")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
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
    try:
        wait_until_up(f"http://127.0.0.1:{port}", proc)
        assert mailbox.last("left-behind@example.org", timeout=30)
    finally:
        log = stop(proc)
    assert len(mailbox.to("left-behind@example.org")) == 1
    assert "left-behind@example.org" not in log  # no address in the log
    assert rows(db)[0].status is MailStatus.SENT
