"""Webhooks: a GP system registers an HTTPS URL and is told when its practice's referrals
change status.

A status change queues one delivery per webhook in the same transaction (nothing is lost if
the process stops); ``deliver_due`` sends what is due. Each call is a POST of
``{"referralId": ..., "status": ...}`` and nothing more, signed with HMAC-SHA256 of
``"<timestamp>.<body>"`` under the webhook's secret (header ``Petunia-Signature:
t=<unix seconds>,v1=<hex>``). A failed call is retried with exponential back-off (1, 4, 16,
64 minutes, ...) up to ``PETUNIA_WEBHOOK_MAX_ATTEMPTS`` attempts, then marked FAILED.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from sqlalchemy import orm, select

from api.access.tokens import Principal
from api.audit.log import record
from api.directory.models import utcnow
from api.referrals.enums import WebhookDeliveryStatus
from api.referrals.errors import not_found, reject
from api.referrals.models import Referral, Webhook, WebhookDelivery
from api.referrals.protection import Protector

FIRST_RETRY = dt.timedelta(minutes=1)
MAX_BACKOFF = dt.timedelta(hours=6)
TIMEOUT_SECONDS = 10.0
SIGNATURE_HEADER = "Petunia-Signature"


def referral_global_id(referral_id: int) -> str:
    # The same global ID the GraphQL API gives the referral (api/graphql/relay.py).
    return base64.b64encode(f"Referral:{referral_id}".encode()).decode()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# NAT64 (RFC 6052): the IPv4 address sits in the last 32 bits of the well-known prefix.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Local-use NAT64 (RFC 8215): never globally reachable, and where the IPv4 address sits
# depends on the operator's prefix length, so the whole block counts as internal.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
# IPv4-compatible (::a.b.c.d, deprecated) and IPv4-translated (::ffff:0:a.b.c.d, RFC 2765).
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries and would be routed to: mapped,
    compatible, translated, NAT64, 6to4 and Teredo (its server and its client)."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address in _COMPATIBLE or address in _TRANSLATED or address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def is_internal_address(text: str) -> bool:
    """An IP address no GP system should be reached at from here: loopback, private,
    link-local (cloud metadata) or otherwise not globally routable, judging an IPv6 address
    that embeds an IPv4 one (``[64:ff9b::7f00:1]``, ``[2002:7f00:1::]``) by the IPv4 inside.
    Raises ValueError when ``text`` is not an IP address."""
    # IPv6 addresses may carry a zone ("fe80::1%eth0"): the address is what comes before it.
    address = ipaddress.ip_address(text.split("%")[0])
    if not address.is_global:
        return True
    if isinstance(address, ipaddress.IPv6Address):
        if address in _LOCAL_NAT64:
            return True
        return any(not inner.is_global for inner in embedded_ipv4(address))
    return False


def _is_internal(host: str) -> bool:
    """A host that is, or resolves to, an internal address (``is_internal_address``). A name
    counts when any address it resolves to does; a name that does not resolve here cannot be
    judged, and is not."""
    try:
        return is_internal_address(host)
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    return any(is_internal_address(str(info[4][0])) for info in found)


def check_url(url: str, *, production: bool) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if len(url) > 2000 or not parts.hostname or parts.scheme not in ("https", "http"):
        raise reject("url", "give a full URL, like https://gp-system.example/petunia-hook")
    if parts.username or parts.password:
        raise reject("url", "do not put a user name or password in the URL")
    if parts.scheme == "http" and (production or not _is_loopback(parts.hostname)):
        raise reject(
            "url",
            "webhook URLs must use HTTPS (plain http is allowed only for 127.0.0.1 or "
            "localhost outside production, for testing)",
        )
    if production and _is_internal(parts.hostname):
        raise reject(
            "url",
            "webhook URLs must name a host on the internet, not one at a private, loopback "
            "or link-local address",
        )
    return url


def register(
    db: orm.Session, principal: Principal, url: str, protector: Protector, *, production: bool
) -> tuple[Webhook, str]:
    """A new webhook for the principal's practice, and its signing secret (shown once)."""
    if principal.practice_id is None:
        raise reject(None, "only a GP practice's token can register webhooks")
    clean = check_url(url, production=production)
    secret = "whsec_" + secrets.token_urlsafe(32)
    hook = Webhook(
        practice_id=principal.practice_id,
        client_id=principal.client_id,
        url=clean,
        secret_enc=protector.encrypt("webhook_secret", secret),
    )
    db.add(hook)
    db.flush()
    record(db, principal, "webhook.register", "webhook", hook.id)
    return hook, secret


def practice_webhooks(db: orm.Session, principal: Principal) -> list[Webhook]:
    return list(
        db.scalars(
            select(Webhook)
            .where(Webhook.practice_id == principal.practice_id, Webhook.removed_at.is_(None))
            .order_by(Webhook.id)
        )
    )


def remove(db: orm.Session, principal: Principal, webhook_id: int) -> Webhook:
    hook = db.get(Webhook, webhook_id)
    if hook is None or hook.practice_id != principal.practice_id or hook.removed_at is not None:
        raise not_found("id", "webhook")
    hook.removed_at = utcnow()
    record(db, principal, "webhook.remove", "webhook", hook.id)
    return hook


def enqueue(db: orm.Session, referral: Referral, *, now: dt.datetime | None = None) -> int:
    """Queue a call to each of the practice's webhooks about ``referral``'s new status."""
    now = now or utcnow()
    hooks = db.scalars(
        select(Webhook.id).where(
            Webhook.practice_id == referral.practice_id, Webhook.removed_at.is_(None)
        )
    ).all()
    for hook_id in hooks:
        db.add(
            WebhookDelivery(
                webhook_id=hook_id,
                referral_id=referral.id,
                payload={
                    "referralId": referral_global_id(referral.id),
                    "status": referral.status.value,
                },
                next_attempt_at=now,
                created_at=now,
            )
        )
    return len(hooks)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: 1, 4, 16, 64 minutes... at most 6 h."""
    return min(FIRST_RETRY * 4 ** (attempts - 1), MAX_BACKOFF)


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"{self.delivered} delivered, {self.retrying} to retry later, {self.failed} given up"


class InternalHost(Exception):
    """A webhook's host resolves to an address inside the network."""


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def deliver_due(
    session: Callable[[], AbstractContextManager[orm.Session]],
    protector: Protector,
    http: httpx.Client,
    *,
    now: dt.datetime | None = None,
    max_attempts: int = 6,
    production: bool = False,
) -> DeliveryReport:
    """Send every delivery due at ``now`` (each in its own transaction, so one slow or
    failing endpoint does not hold the others back). ``session`` makes a new unit of work.
    In production a URL whose host now resolves to an internal address is not called: its
    name may have been pointed inside since the webhook was registered."""
    now = now or utcnow()
    report = DeliveryReport()
    with session() as db:
        due = db.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now,
            )
            .order_by(WebhookDelivery.id)
        ).all()
    for delivery_id in due:
        with session() as db:
            delivery = db.get(WebhookDelivery, delivery_id)
            hook = db.get(Webhook, delivery.webhook_id) if delivery else None
            if delivery is None or hook is None:
                continue
            if hook.removed_at is not None:
                delivery.status = WebhookDeliveryStatus.FAILED
                delivery.last_error = "the webhook was removed"
                db.commit()
                report.failed += 1
                continue
            body = json.dumps(delivery.payload, separators=(",", ":")).encode()
            secret = protector.decrypt("webhook_secret", hook.secret_enc)
            error: str | None = None
            host = urlsplit(hook.url).hostname or ""
            try:
                if production and _is_internal(host):
                    raise InternalHost(f"not sent: {host} is, or resolves to, an internal address")
                response = http.post(
                    hook.url,
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        SIGNATURE_HEADER: sign(secret, int(now.timestamp()), body),
                        "Petunia-Delivery": str(delivery.id),
                    },
                    timeout=TIMEOUT_SECONDS,
                    follow_redirects=False,
                )
                if not 200 <= response.status_code < 300:
                    error = f"HTTP {response.status_code}"
            except InternalHost as exc:
                error = str(exc)[:500]
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            delivery.attempts += 1
            if error is None:
                delivery.status = WebhookDeliveryStatus.DELIVERED
                delivery.delivered_at = now
                delivery.last_error = None
                report.delivered += 1
            elif delivery.attempts >= max_attempts:
                delivery.status = WebhookDeliveryStatus.FAILED
                delivery.last_error = error
                report.failed += 1
            else:
                delivery.next_attempt_at = now + backoff(delivery.attempts)
                delivery.last_error = error
                report.retrying += 1
            db.commit()
    return report
