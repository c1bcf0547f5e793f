"""The mail queue table: one row per email, written in the transaction of the change it
announces and delivered from there (api/mail/queue.py)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base
from api.directory.models import enum_column, utcnow


class MailStatus(StrEnum):
    PENDING = "PENDING"  # to send (again) from next_attempt_at
    SENT = "SENT"
    FAILED = "FAILED"  # refused for good, or out of attempts


class QueuedEmail(Base):
    """One email. It holds what the email holds (address, subject, bodies): sent rows are
    deleted ``PETUNIA_MAIL_RETENTION_DAYS`` after sending, failed ones after giving up."""

    __tablename__ = "mail_queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    # Fixed when queued, so a resend after a crash carries the same Message-ID and date
    # (a receiving server or mail client can tell it is the same email).
    message_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[MailStatus] = mapped_column(
        enum_column(MailStatus), default=MailStatus.PENDING, index=True
    )
    next_attempt_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A deliverer that took the row sends it before this time; after it, another may (the
    # first one stopped half way).
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # When it was sent or given up: the retention period counts from here.
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # What went wrong last (the error's kind and the server's code; no address, no content).
    last_error: Mapped[str | None] = mapped_column(String(300))


__all__ = ["MailStatus", "QueuedEmail"]
