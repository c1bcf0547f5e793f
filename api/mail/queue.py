"""The mail queue: every email Petunia sends is first a row of ``mail_queue``, written by
``enqueue`` in the transaction of the change it announces. So an email exists exactly when
its change was committed: a rollback takes it away, and a crash right after the commit
leaves it queued instead of lost.

``deliver_due`` sends what is due, each row taken by a short "claim" transaction first
(a conditional UPDATE: two deliverers running at once, in threads, processes or hosts,
never both take a row), sent outside any transaction, then marked SENT. A failed attempt
is retried with back-off (30 s, 1, 2, 4 ... minutes, at most 2 hours between tries) up to
``PETUNIA_MAIL_MAX_ATTEMPTS``; a permanent refusal (an SMTP 5xx) is given up at once.
Should a deliverer stop between handing an email over and marking it SENT, the claim runs
out and it is sent again, with the same Message-ID: at least once, never lost.

Sent and given-up rows hold the email's address and body: ``purge_finished`` deletes them
``PETUNIA_MAIL_RETENTION_DAYS`` after (each delivery pass runs it).
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, func, or_, orm, select, update

from api.config import Settings
from api.db import Database
from api.directory.models import utcnow
from api.mail import outbox
from api.mail.models import MailStatus, QueuedEmail

log = logging.getLogger("petunia.mail")

FIRST_RETRY = dt.timedelta(seconds=30)
MAX_BACKOFF = dt.timedelta(hours=2)
# How long a deliverer may take to hand one email over before another may try it.
CLAIM = dt.timedelta(minutes=5)
BATCH = 200

Send = Callable[[Settings, outbox.Email], str]


def enqueue(db: orm.Session, email: outbox.Email) -> QueuedEmail:
    """Queue ``email`` in the caller's transaction; it is sent only once that commits."""
    now = utcnow()
    row = QueuedEmail(
        to_address=email.to,
        subject=email.subject[:300],
        text=email.text,
        html=email.html,
        message_id=outbox.new_message_id(),
        created_at=now,
        status=MailStatus.PENDING,
        next_attempt_at=now,
        attempts=0,
    )
    db.add(row)
    db.flush()
    return row


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 1, 2, 4 ... min, at most 2 h."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), MAX_BACKOFF)


@dataclass
class MailReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    purged: int = 0
    # Ids of the emails tried in this pass and not sent (still queued, or given up).
    unsent: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.sent} sent, {self.retrying} to retry later, {self.failed} given up"
        return text + (f", {self.purged} old email(s) deleted" if self.purged else "")


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes (stored as UTC).
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _claim(db: Database, email_id: int, now: dt.datetime) -> outbox.Email | None:
    """Take one due row for this deliverer, or None when it is not due or another has it."""
    with db.session() as session:
        taken = session.execute(
            update(QueuedEmail)
            .where(
                QueuedEmail.id == email_id,
                QueuedEmail.status == MailStatus.PENDING,
                QueuedEmail.next_attempt_at <= now,
                or_(QueuedEmail.claimed_until.is_(None), QueuedEmail.claimed_until <= now),
            )
            .values(claimed_until=now + CLAIM, attempts=QueuedEmail.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            return None
        row = session.get(QueuedEmail, email_id)
        assert row is not None
        return outbox.Email(
            to=row.to_address,
            subject=row.subject,
            text=row.text,
            html=row.html,
            message_id=row.message_id,
            date=_aware(row.created_at),
        )


def _permanent(exc: Exception) -> bool:
    """An SMTP refusal that trying again will not change (5xx), as opposed to a server that
    is down, busy or answers 4xx."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def _describe(exc: Exception) -> str:
    # The kind of failure and the server's code: never the address or the content.
    code = getattr(exc, "smtp_code", None)
    return type(exc).__name__ + (f" {code}" if code else "")


def deliver_due(
    db: Database,
    settings: Settings,
    *,
    only: Iterable[int] | None = None,
    now: dt.datetime | None = None,
    send: Send = outbox.send,
    purge: bool = True,
) -> MailReport:
    """Send the queued emails that are due (``only``: just these ids, if due), each claimed
    first so that concurrent deliverers never send one twice; then delete finished rows past
    the retention period. Safe to run any time, from any number of places."""
    now = now or utcnow()
    report = MailReport()
    wanted = list(only) if only is not None else None
    if wanted == []:
        return report
    with db.session() as session:
        stmt = select(QueuedEmail.id).where(
            QueuedEmail.status == MailStatus.PENDING,
            QueuedEmail.next_attempt_at <= now,
            or_(QueuedEmail.claimed_until.is_(None), QueuedEmail.claimed_until <= now),
        )
        if wanted is not None:
            stmt = stmt.where(QueuedEmail.id.in_(wanted))
        due = list(session.scalars(stmt.order_by(QueuedEmail.id).limit(BATCH)))
    for email_id in due:
        email = _claim(db, email_id, now)
        if email is None:
            continue  # another deliverer took it
        error: Exception | None = None
        try:
            send(settings, email)
        except Exception as exc:  # noqa: BLE001 - any failure: record it, try again later
            error = exc
        _finish(db, settings, email_id, error, now, report)
    if purge:
        report.purged = purge_finished(db, settings.mail_retention_days, now=now)
    return report


def _finish(
    db: Database,
    settings: Settings,
    email_id: int,
    error: Exception | None,
    now: dt.datetime,
    report: MailReport,
) -> None:
    with db.session() as session:
        row = session.get(QueuedEmail, email_id)
        if row is None:
            return
        row.claimed_until = None
        if error is None:
            row.status = MailStatus.SENT
            row.finished_at = now
            row.last_error = None
            report.sent += 1
            log.info("email %d sent (attempt %d)", email_id, row.attempts)
            return
        row.last_error = _describe(error)
        report.unsent.append(email_id)
        if _permanent(error) or row.attempts >= settings.mail_max_attempts:
            row.status = MailStatus.FAILED
            row.finished_at = now
            report.failed += 1
            log.warning(
                "email %d given up after %d attempt(s): %s", email_id, row.attempts, row.last_error
            )
        else:
            row.next_attempt_at = now + backoff(row.attempts)
            report.retrying += 1
            log.warning(
                "email %d not sent (attempt %d, %s): retrying from %s",
                email_id,
                row.attempts,
                row.last_error,
                f"{row.next_attempt_at:%H:%M:%S}",
            )


def purge_finished(db: Database, days: int, *, now: dt.datetime | None = None) -> int:
    """Delete emails sent or given up more than ``days`` ago: their addresses and bodies
    have no use after that. Returns how many."""
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    with db.session() as session:
        gone = session.execute(
            delete(QueuedEmail).where(
                QueuedEmail.status != MailStatus.PENDING, QueuedEmail.finished_at < cutoff
            )
        )
        return gone.rowcount or 0


def counts(session: orm.Session) -> dict[MailStatus, int]:
    """How many emails are in each state (for the command's summary)."""
    rows = session.execute(
        select(QueuedEmail.status, func.count()).group_by(QueuedEmail.status)
    ).all()
    return {MailStatus(status): number for status, number in rows}
