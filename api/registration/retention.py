"""Forgetting email addresses once they have served (part of `petunia purge`): a registration's
address (and the phone typed with it) some time after it was approved or rejected (an approved
listing's private address lives on in ListingContact, where edit links and reminders use it),
and the address of whoever reported a problem, some time after the report was resolved."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import orm, select

from api.audit.log import record
from api.directory.models import utcnow
from api.registration.models import ProblemReport, Registration, RegistrationStatus, ReportStatus

DECIDED = (RegistrationStatus.APPROVED, RegistrationStatus.REJECTED)
# The answers that reach a person; the rest (organisation, sessions) is about the listing.
PERSONAL_ANSWERS = ("email", "phone")


def _cutoff(days: int, now: dt.datetime | None) -> dt.datetime:
    if days < 0:
        raise ValueError("the number of days cannot be negative")
    return (now or utcnow()) - dt.timedelta(days=days)


def forget_decided_registrations(
    db: orm.Session, *, days: int, now: dt.datetime | None = None
) -> int:
    """Blank the address and phone of registrations decided over ``days`` ago (the address
    reads as empty); how many were changed. Running it again changes nothing more."""
    cutoff = _cutoff(days, now)
    due = db.scalars(
        select(Registration).where(
            Registration.status.in_(DECIDED),
            Registration.decided_at < cutoff,
            Registration.email != "",
        )
    ).all()
    for registration in due:
        registration.email = ""
        registration.answers = {
            k: v for k, v in registration.answers.items() if k not in PERSONAL_ANSWERS
        }
        record(db, None, "registration.forget_email", "registration", registration.id)
    return len(due)


def forget_reporter_emails(db: orm.Session, *, days: int, now: dt.datetime | None = None) -> int:
    """Remove the reporter's address from problem reports resolved over ``days`` ago."""
    cutoff = _cutoff(days, now)
    due = db.scalars(
        select(ProblemReport).where(
            ProblemReport.status == ReportStatus.RESOLVED,
            ProblemReport.resolved_at < cutoff,
            ProblemReport.reporter_email.is_not(None),
        )
    ).all()
    for report in due:
        report.reporter_email = None
        record(db, None, "problem_report.forget_email", "problem_report", report.id)
    return len(due)
