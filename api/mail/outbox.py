"""One function sends every email Petunia writes.

With ``PETUNIA_SMTP_HOST`` set it goes to that SMTP server; otherwise it is written as an
``.eml`` file to ``$PETUNIA_DATA_DIR/outbox/`` and logged, so a one-machine install works
with no mail server and nothing is lost.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from api.config import Settings
from api.directory.models import utcnow

log = logging.getLogger("petunia.mail")


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str | None = None


def build(settings: Settings, email: Email) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain="petunia")
    message.set_content(email.text)
    if email.html is not None:
        message.add_alternative(email.html, subtype="html")
    return message


def send(settings: Settings, email: Email) -> str:
    """Send (or file) one email; returns where it went, for the caller's records."""
    message = build(settings, email)
    if settings.smtp_host:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            smtp.send_message(message)
        # Where it went, not its subject: subjects hold names people typed into forms.
        log.info("sent an email by SMTP")
        return f"smtp:{settings.smtp_host}"
    outbox = Path(settings.data_dir) / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
    path.write_bytes(bytes(message))
    log.info("email written to %s (no SMTP server configured)", path)
    return str(path)
