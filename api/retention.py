"""Removing personal data past its time, in one pass: what `petunia purge` does, and what the
periodic jobs of `petunia up` and `petunia worker` do daily (api/jobs.py).

The parts live with their data: referrals (api/referrals/purge.py, with their data keys),
unconfirmed and decided registrations and problem reporters' addresses (api/registration/),
sent emails (api/mail/queue.py). This module only runs them in order, with the settings'
retention periods unless given others."""

from __future__ import annotations

from dataclasses import dataclass

from api.config import Settings
from api.db import Database


@dataclass(frozen=True)
class PurgeReport:
    referrals: int
    referral_days: int
    unconfirmed: int
    unconfirmed_days: int
    decided: int
    decided_days: int
    reports: int
    report_days: int
    emails: int

    def __str__(self) -> str:
        return (
            f"{self.referrals} referral(s) purged, {self.unconfirmed} unconfirmed "
            f"registration(s) deleted, {self.decided} decided registration(s) and "
            f"{self.reports} problem report(s) without their email address, {self.emails} "
            "sent email(s) deleted"
        )


def purge(
    db: Database,
    settings: Settings,
    *,
    referral_days: int | None = None,
    unconfirmed_days: int | None = None,
) -> PurgeReport:
    """Purge everything past its retention period; ValueError for a negative period."""
    from api.mail.queue import purge_finished
    from api.referrals.protection import protector
    from api.referrals.purge import purge as purge_referrals
    from api.referrals.rekey import rotate_lookup_key
    from api.registration.retention import forget_decided_registrations, forget_reporter_emails
    from api.registration.upkeep import purge_unconfirmed

    days = settings.referral_retention_days if referral_days is None else referral_days
    unconfirmed_days = (
        settings.unconfirmed_registration_days if unconfirmed_days is None else unconfirmed_days
    )
    decided_days = settings.decided_registration_days
    report_days = settings.problem_report_email_days
    for name, value in (
        ("the referral retention period", days),
        ("the unconfirmed registration period", unconfirmed_days),
        ("PETUNIA_DECIDED_REGISTRATION_DAYS", decided_days),
        ("PETUNIA_PROBLEM_REPORT_EMAIL_DAYS", report_days),
    ):
        if value < 0:
            raise ValueError(f"{name} cannot be negative")
    guard = protector(settings)
    with db.session() as session:
        count = purge_referrals(session, retention_days=days, keys=guard.keys)
        unconfirmed = purge_unconfirmed(session, days=unconfirmed_days)
        decided = forget_decided_registrations(session, days=decided_days)
        reports = forget_reporter_emails(session, days=report_days)
    emails = purge_finished(db, settings.mail_retention_days)
    if count:
        # The purged referrals' NHS-number hashes stay in old row versions and backups: a new
        # lookup key makes them untestable.
        with db.session() as session:
            rotate_lookup_key(session, guard)
    return PurgeReport(
        count,
        days,
        unconfirmed,
        unconfirmed_days,
        decided,
        decided_days,
        reports,
        report_days,
        emails,
    )
