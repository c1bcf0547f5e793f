# ruff: noqa: F811  (the `world` fixture is imported, then used as an argument)
"""Working days, `petunia nudge` (through a real SMTP server), `petunia purge`, webhooks
(through a real HTTP receiver, with an injected clock for the back-off) and the demo
referrals."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from typer.testing import CliRunner

from api.access import tokens
from api.cli import app
from api.config import get_settings
from api.directory.loading import LoadReport
from api.mail.queue import deliver_due as deliver_mail
from api.referrals import intake
from api.referrals.demo import DemoFile, seed_demo_referrals
from api.referrals.enums import ContactMethod, WebhookDeliveryStatus
from api.referrals.enums import ReferralStatus as S
from api.referrals.loading import load_referral_data
from api.referrals.models import Referral, WebhookDelivery
from api.referrals.nhs_number import normalise_nhs_number
from api.referrals.nudge import nudge
from api.referrals.protection import protector
from api.referrals.purge import purge
from api.referrals.webhooks import backoff, check_url, deliver_due, referral_global_id
from api.referrals.working_days import add_working_days, working_days_between
from tests.conftest import DEMO, _loaded
from tests.referral_support import (
    ENCRYPTION_KEY,
    SET_STATUS,
    CareWorld,
    new_referral,
    nhs_number,
    world,  # noqa: F401 (fixture)
)
from tests.test_referral_privacy import raw_database

SETTINGS = get_settings(encryption_key=ENCRYPTION_KEY)
GUARD = protector(SETTINGS)
UTC = dt.UTC


@pytest.mark.parametrize(
    ("start", "due"),
    [
        ("2026-11-16", "2026-11-23"),  # Monday -> next Monday
        ("2026-11-20", "2026-11-27"),  # Friday -> next Friday
        ("2026-12-24", "2027-01-05"),  # Christmas, Boxing Day (observed), New Year
        ("2026-04-02", "2026-04-13"),  # Good Friday and Easter Monday
        ("2026-05-22", "2026-06-01"),  # the spring bank holiday
    ],
)
def test_the_contact_target_counts_working_days_in_england_and_wales(start: str, due: str) -> None:
    begin = dt.date.fromisoformat(start)
    assert add_working_days(begin, 5) == dt.date.fromisoformat(due)
    assert working_days_between(begin, dt.date.fromisoformat(due)) == 5


def _referral_at(world: CareWorld, when: dt.datetime, who: str = "gp") -> Referral:
    with world.db.session() as s:
        principal = tokens.authenticate(s, world.tokens[who])
    person = intake.PersonIn(
        nhs_number=nhs_number(),
        given_name="Nudge",
        family_name="Person",
        date_of_birth=dt.date(1950, 5, 5),
        contact=intake.ContactIn(ContactMethod.PHONE, phone="07700 900111"),
    )
    data = intake.ReferralIn(person, "Isolated", consent_to_refer=True,
                             consent_share_outcomes=True)  # fmt: skip
    referral, _ = world.db.write(
        lambda s: intake.create_referral(s, principal, data, f"k-{when}-{who}", GUARD, now=when)
    )
    return referral


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, _server, _session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(
            (envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default))
        )
        return "250 OK"


@pytest.fixture()
def smtp() -> Iterator[tuple[Inbox, int]]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_nudge_reminds_the_link_worker_then_the_lead_provider_once_each(
    world: CareWorld, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    settings = get_settings(encryption_key=ENCRYPTION_KEY, smtp_host="127.0.0.1", smtp_port=port)
    monday = dt.datetime(2026, 3, 2, 10, tzinfo=UTC)
    waiting = _referral_at(world, monday)
    contacted = _referral_at(world, monday, who="gp_other")
    with world.db.session() as s:
        s.get(Referral, contacted.id).status = S.CONTACTED
    wanted = referral_global_id(waiting.id)

    def run(now: dt.datetime) -> list:
        before = len(inbox.messages)
        with world.db.session() as s:
            nudge(s, settings, now=now)
        deliver_mail(world.db, settings)
        return [m for m in inbox.messages[before:] if wanted in m[1].get_content()]

    assert run(dt.datetime(2026, 3, 4, 9, tzinfo=UTC)) == []  # 2 working days: too soon
    reminders = run(dt.datetime(2026, 3, 5, 9, tzinfo=UTC))  # 3 working days
    assert [to for to, _m in reminders] == [["priya.shah@betterservices.example"]]
    body = reminders[0][1].get_content()
    assert "Nudge" not in body and "07700 900111" not in body  # no personal data
    assert "C81001" in body and "due 09 Mar" in body
    assert run(dt.datetime(2026, 3, 6, 9, tzinfo=UTC)) == []  # once only
    escalated = run(dt.datetime(2026, 3, 10, 9, tzinfo=UTC))  # past the 5-day target
    assert [to for to, _m in escalated] == [["hello@betterservices.example"]]
    assert "past the 5-working-day contact target" in escalated[0][1].get_content()
    assert run(dt.datetime(2026, 3, 11, 9, tzinfo=UTC)) == []
    for _to, message in inbox.messages:
        assert referral_global_id(contacted.id) not in message.get_content()


def test_purge_removes_personal_data_and_keeps_the_facts(world: CareWorld) -> None:
    closed = new_referral(world)
    world.api("lead").data(SET_STATUS, id=closed, status="CONTACTED", note="Spoke to Ada")
    world.api("lead").data(SET_STATUS, id=closed, status="DECLINED")
    still_open = new_referral(world)
    query = """query($id: ID!) { referral(id: $id) { status person { givenName } reason
      ageAtReferral domains purgedAt history { status note } } }"""
    with world.db.session() as s:
        row = s.get(Referral, int(_pk(closed)))
        sealed = row.person_enc
        closed_at = row.closed_at

    now = closed_at.replace(tzinfo=closed_at.tzinfo or UTC) + dt.timedelta(days=31)
    with world.db.session() as s:
        assert purge(s, retention_days=60, keys=GUARD.keys, now=now) == 0  # not due yet
    with world.db.session() as s:
        assert purge(s, retention_days=30, keys=GUARD.keys, now=now) >= 1
    with world.db.session() as s:
        assert purge(s, retention_days=30, keys=GUARD.keys, now=now) == 0  # nothing more

    after = world.api("lead").data(query, id=closed)["referral"]
    assert after["person"] is None and after["reason"] is None
    assert after["purgedAt"] is not None
    assert after["status"] == "DECLINED" and after["ageAtReferral"] == 76  # a kept fact
    assert after["domains"] == ["PHYSICAL_ACTIVITY", "BEFRIENDING"]
    assert [h["note"] for h in after["history"]] == [None, None, None]
    with world.db.session() as s:
        row = s.get(Referral, int(_pk(closed)))
        assert row.nhs_number_enc is None and row.nhs_number_hash is None
    assert sealed.encode() not in raw_database(world)
    assert world.api("lead").data(query, id=still_open)["referral"]["person"] is not None


def test_purge_command(world: CareWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", world.db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PETUNIA_ENCRYPTION_KEY", ENCRYPTION_KEY)
    runner = CliRunner()
    bad = runner.invoke(app, ["purge", "--retention-days", "-1"])
    assert bad.exit_code == 1 and "cannot be negative" in bad.output
    r = new_referral(world)
    world.api("lead").data(SET_STATUS, id=r, status="CLOSED")
    done = runner.invoke(app, ["purge", "--retention-days", "0"])
    assert done.exit_code == 0 and "Purged personal data from" in done.output
    with world.db.session() as s:
        assert s.get(Referral, int(_pk(r))).purged_at is not None


def _pk(global_id: str) -> str:
    import base64

    return base64.b64decode(global_id).decode().split(":")[1]


class Receiver:
    """A real HTTP endpoint on 127.0.0.1 that records calls and answers with the next
    status code from ``codes`` (200 once they run out)."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict, bytes]] = []
        self.codes: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append((dict(self.headers), body))
                self.send_response(receiver.codes.pop(0) if receiver.codes else 200)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


REGISTER = """mutation($url: String!) { registerWebhook(url: $url) {
  webhook { id url } secret errors { field code message } } }"""


def test_webhooks_are_signed_carry_only_id_and_status_and_retry_with_backoff(
    world: CareWorld, receiver: Receiver
) -> None:
    registered = world.api("gp_other").data(REGISTER, url=receiver.url)["registerWebhook"]
    secret = registered["secret"]
    assert secret.startswith("whsec_") and registered["errors"] == []
    r = new_referral(world, who="gp_other")
    world.api("lead_other").data(SET_STATUS, id=r, status="CONTACTED")
    deliver: Callable[..., object] = lambda now, **kw: deliver_due(  # noqa: E731
        world.db.session, GUARD, http, now=now, **kw
    )
    t0 = dt.datetime.now(UTC)
    receiver.codes = [500]
    with httpx.Client() as http:
        first = deliver(t0)
        assert (first.delivered, first.retrying) == (0, 1)
        assert (
            str(deliver(t0 + dt.timedelta(seconds=30)))
            == "0 delivered, 0 to retry later, 0 given up"
        )
        again = deliver(t0 + dt.timedelta(seconds=61))
        assert again.delivered == 1
    assert len(receiver.calls) == 2
    headers, body = receiver.calls[-1]
    assert json.loads(body) == {"referralId": r, "status": "CONTACTED"}
    timestamp, signature = (
        part.split("=", 1)[1] for part in headers["Petunia-Signature"].split(",")
    )
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(signature, expected.hexdigest())
    # The other practice's status changes are not sent here.
    mine = new_referral(world, who="gp")
    world.api("lead").data(SET_STATUS, id=mine, status="CONTACTED")
    with httpx.Client() as http:
        deliver(t0 + dt.timedelta(minutes=5))
    assert all(json.loads(b)["referralId"] != mine for _h, b in receiver.calls)


def test_webhook_delivery_gives_up_after_the_last_attempt(
    world: CareWorld, receiver: Receiver
) -> None:
    world.api("gp_other").data(REGISTER, url=receiver.url)
    r = new_referral(world, who="gp_other")
    world.api("lead_other").data(SET_STATUS, id=r, status="CLOSED")
    receiver.codes = [503] * 10
    now = dt.datetime.now(UTC) + dt.timedelta(hours=1)
    with httpx.Client() as http:
        for attempt in range(1, 4):
            deliver_due(world.db.session, GUARD, http, now=now, max_attempts=3)
            now += backoff(attempt) + dt.timedelta(seconds=1)
    with world.db.session() as s:
        from api.referrals.models import Webhook

        rows = s.scalars(
            select(WebhookDelivery)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(WebhookDelivery.referral_id == int(_pk(r)), Webhook.url == receiver.url)
        ).all()
    assert {(d.status, d.attempts, d.last_error) for d in rows} == {
        (WebhookDeliveryStatus.FAILED, 3, "HTTP 503")
    }
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 240, 960, 3840]
    assert backoff(20) == dt.timedelta(hours=6)


def test_in_production_a_host_that_resolves_inside_is_not_called(
    world: CareWorld, receiver: Receiver
) -> None:
    """A name may be pointed inside the network after its webhook was registered: in
    production every delivery looks the name up again and does not call an internal host.
    (Registered outside production, where loopback is allowed for testing.)"""
    by_name = receiver.url.replace("127.0.0.1", "localhost")  # a name, resolved by the OS
    world.api("gp_other").data(REGISTER, url=by_name)
    r = new_referral(world, who="gp_other")
    world.api("lead_other").data(SET_STATUS, id=r, status="CONTACTED")
    now = dt.datetime.now(UTC) + dt.timedelta(days=1)
    with httpx.Client() as http:
        report = deliver_due(world.db.session, GUARD, http, now=now, production=True)
    assert report.retrying >= 1 and report.delivered == 0
    assert receiver.calls == []
    with world.db.session() as s:
        from api.referrals.models import Webhook

        errors = s.scalars(
            select(WebhookDelivery.last_error)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(Webhook.url == by_name)
        ).all()
    assert errors and all(
        e == "not sent: localhost is, or resolves to, an internal address" for e in errors
    )
    # Outside production the same delivery goes through.
    with httpx.Client() as http:
        deliver_due(world.db.session, GUARD, http, now=now + dt.timedelta(hours=1))
    assert receiver.calls


@pytest.mark.parametrize(
    ("url", "production", "ok"),
    [
        ("https://gp.example/hook", True, True),
        ("http://127.0.0.1:8080/hook", False, True),
        ("http://localhost/hook", False, True),
        ("http://127.0.0.1:8080/hook", True, False),
        ("http://gp.example/hook", False, False),
        # In production, no internal addresses (private, loopback, link-local/metadata).
        ("https://10.0.0.5/hook", True, False),
        ("https://169.254.169.254/latest/meta-data", True, False),
        ("https://[::1]/hook", True, False),
        ("https://localhost/hook", True, False),  # a name: resolved, to 127.0.0.1
        ("https://10.0.0.5/hook", False, True),
        ("https://203.0.113.9/hook", True, False),  # documentation range: not global
        ("https://gp-system.example/hook", True, True),
        # IPv6 forms that carry an internal IPv4 address are judged by the IPv4 inside:
        # NAT64, local-use NAT64, 6to4, mapped, compatible, translated and Teredo.
        ("https://[64:ff9b::7f00:1]/hook", True, False),
        ("https://[64:ff9b::a9fe:a9fe]/hook", True, False),
        ("https://[64:ff9b:1::7f00:1]/hook", True, False),
        ("https://[2002:7f00:1::]/hook", True, False),
        ("https://[2002:a00:5::1]/hook", True, False),
        ("https://[::ffff:127.0.0.1]/hook", True, False),
        ("https://[::127.0.0.1]/hook", True, False),
        ("https://[::ffff:0:7f00:1]/hook", True, False),
        ("https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook", True, False),
        # ... and pass when that IPv4 address is on the internet.
        ("https://[64:ff9b::808:808]/hook", True, True),
        ("https://[2002:808:808::1]/hook", True, True),
        ("https://[2606:4700:4700::1111]/hook", True, True),
        ("ftp://gp.example/hook", False, False),
        ("https://user:pw@gp.example/hook", False, False),
        ("not a url", False, False),
    ],
)
def test_webhook_urls_must_be_https_except_loopback_in_development(
    url: str, production: bool, ok: bool
) -> None:
    from api.referrals.errors import Rejected

    if ok:
        assert check_url(url, production=production) == url
    else:
        with pytest.raises(Rejected):
            check_url(url, production=production)


@pytest.fixture(scope="module")
def demo(new_database_url: Callable[[], str]) -> Iterator:
    db = _loaded(new_database_url(), DEMO)
    with db.session() as s:
        load_referral_data(s, DEMO, SETTINGS, LoadReport())
    yield db
    db.dispose()


def test_the_demo_has_synthetic_referrals_in_every_state(demo) -> None:
    with demo.session() as s:
        rows = s.scalars(select(Referral).order_by(Referral.idempotency_key)).all()
        assert len(rows) == 120
        assert {r.status for r in rows} == set(S)
        for r in rows:
            number = GUARD.decrypt("nhs_number", r.nhs_number_enc, GUARD.data_key(r.key_id))
            assert number.startswith("999") and normalise_nhs_number(number) == number
        from api.outcomes.models import NhsUse, OutcomeMeasurement

        assert s.scalar(select(func.count()).select_from(OutcomeMeasurement)) > 100
        assert s.scalar(select(func.count()).select_from(NhsUse)) > 50
        assert sum(r.support_level is not None for r in rows) > 50
    report = LoadReport()
    with demo.session() as s:
        load_referral_data(s, DEMO, SETTINGS, report)
    assert not report.changed and report.unchanged["demo referral"] == 120


def test_the_demo_is_deterministic(demo, new_database_url: Callable[[], str]) -> None:
    other = _loaded(new_database_url(), DEMO)
    from api.outcomes.instruments import load_instruments

    with other.session() as s:
        load_instruments(s, DEMO / "outcomes")
        spec = DemoFile.model_validate(
            {"seed": 20261122, "count": 12, "from": "2025-11-03", "until": "2026-10-30"}
        )
        seed_demo_referrals(s, spec, SETTINGS, LoadReport())

    def facts(db) -> list:
        with db.session() as s:
            return [
                (r.idempotency_key, r.status, r.received_at, r.nhs_number_hash, r.support_level)
                for r in s.scalars(
                    select(Referral).where(Referral.idempotency_key <= "demo-0012")
                    .order_by(Referral.idempotency_key)
                )
            ]  # fmt: skip

    assert facts(other) == facts(demo) and len(facts(other)) == 12
    other.dispose()


def test_nudge_and_deliver_commands(
    world: CareWorld, monkeypatch: pytest.MonkeyPatch, tmp_path, receiver: Receiver
) -> None:
    monkeypatch.setenv("DATABASE_URL", world.db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PETUNIA_ENCRYPTION_KEY", ENCRYPTION_KEY)
    monkeypatch.delenv("PETUNIA_SMTP_HOST", raising=False)
    old = _referral_at(world, dt.datetime(2025, 1, 6, 10, tzinfo=UTC))
    runner = CliRunner()
    done = runner.invoke(app, ["nudge", "--data-dir", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert "Nudged:" in done.output and "to lead providers" in done.output
    # No SMTP server configured: the emails are in the outbox folder.
    mails = "".join(
        message_from_bytes(p.read_bytes(), policy=default).get_content()
        for p in (tmp_path / "outbox").glob("*.eml")
    )
    assert referral_global_id(old.id) in mails

    world.api("gp").data(REGISTER, url=receiver.url)
    r = new_referral(world)
    world.api("lead").data(SET_STATUS, id=r, status="CONTACTED")
    sent = runner.invoke(app, ["webhooks", "deliver", "--data-dir", str(tmp_path)])
    assert sent.exit_code == 0, sent.output
    assert "Webhooks:" in sent.output
    assert any(json.loads(body) == {"referralId": r, "status": "CONTACTED"}
               for _h, body in receiver.calls)  # fmt: skip
