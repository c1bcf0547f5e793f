"""`petunia nudge`: remind link workers of referrals not yet contacted, then their lead
provider once the 5-working-day target has passed; and of overdue reviews and follow-ups
(api/referrals/review_nudge.py). Each referral is nudged at most once at
each step. Emails carry references and dates only, never personal data. They are queued
(api/mail/queue.py) in the transaction that marks the referrals nudged: committed together."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import orm, select

from api.audit.log import record
from api.config import Settings
from api.directory.models import GpPractice, LinkWorker, Locality, Provider, utcnow
from api.mail.outbox import Email
from api.mail.queue import enqueue
from api.referrals.enums import ReferralStatus
from api.referrals.models import Referral
from api.referrals.review_nudge import nudge_reviews
from api.referrals.webhooks import referral_global_id
from api.referrals.working_days import local_date, working_days_between

# Remind the link worker once this many working days have gone by without contact.
REMIND_AFTER_WORKING_DAYS = 3


@dataclass
class NudgeReport:
    link_worker_emails: int = 0
    lead_provider_emails: int = 0
    referrals_reminded: int = 0
    referrals_escalated: int = 0
    no_address: int = 0  # referrals whose recipient has no email address
    reviews_reminded: int = 0  # overdue reviews and follow-ups (api/referrals/review_nudge.py)
    review_emails: int = 0
    mail: list[int] = field(default_factory=list)  # the queued emails

    def __str__(self) -> str:
        text = (
            f"{self.referrals_reminded} referral(s) in {self.link_worker_emails} reminder(s) "
            f"to link workers; {self.referrals_escalated} in {self.lead_provider_emails} to "
            "lead providers"
        )
        text += (
            f"; {self.reviews_reminded} overdue review(s) or follow-up(s) in "
            f"{self.review_emails} reminder(s)"
        )
        return text + (f"; {self.no_address} with no email address" if self.no_address else "")


def _line(referral: Referral, practice: GpPractice, today: dt.date) -> str:
    waited = working_days_between(local_date(referral.received_at), today)
    urgent = "  URGENT" if referral.urgency.value == "URGENT" else ""
    return (
        f"- {referral_global_id(referral.id)}  from {practice.name} ({practice.ods_code}), "
        f"received {local_date(referral.received_at):%d %b %Y}, "
        f"due {referral.contact_due_on:%d %b}, {waited} working day(s) so far{urgent}"
    )


def _email(settings: Settings, to: str, greeting: str, intro: str, lines: list[str]) -> Email:
    body = "\n".join(
        [
            f"Hello {greeting},",
            "",
            intro,
            "",
            *lines,
            "",
            "Contact within 5 working days is the target. Open each referral in Petunia "
            f"({settings.public_url}) with its ID to see who to contact.",
            "",
            "This email holds no personal details on purpose.",
        ]
    )
    return Email(to=to, subject=f"Petunia: {len(lines)} referral(s) waiting for contact", text=body)


def nudge(
    db: orm.Session,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> NudgeReport:
    now = now or utcnow()
    today = local_date(now)
    report = NudgeReport()
    waiting = db.execute(
        select(Referral, GpPractice)
        .join(GpPractice, GpPractice.id == Referral.practice_id)
        .where(Referral.status == ReferralStatus.RECEIVED, Referral.purged_at.is_(None))
        .order_by(Referral.received_at, Referral.id)
    ).all()
    workers = {w.id: w for w in db.scalars(select(LinkWorker))}
    leads = {
        loc.id: db.get(Provider, loc.lead_provider_id) if loc.lead_provider_id else None
        for loc in db.scalars(select(Locality))
    }
    remind: dict[int, list[tuple[Referral, GpPractice]]] = defaultdict(list)
    escalate: dict[int, list[tuple[Referral, GpPractice]]] = defaultdict(list)
    for referral, practice in waiting:
        overdue = today > referral.contact_due_on
        lead = leads.get(referral.locality_id)
        if overdue and referral.nudged_lead_provider_at is None and lead is not None:
            escalate[lead.id].append((referral, practice))
        elif (
            referral.nudged_link_worker_at is None
            and working_days_between(local_date(referral.received_at), today)
            >= REMIND_AFTER_WORKING_DAYS
        ):
            # No named link worker: the reminder goes to the lead provider straight away.
            key = referral.link_worker_id or -(lead.id if lead else 0)
            remind[key].append((referral, practice))
    for key, items in remind.items():
        worker = workers.get(key) if key > 0 else None
        lead = leads.get(items[0][0].locality_id)
        to = worker.email if worker else (lead.email if lead else None)
        if not to:
            report.no_address += len(items)
            continue
        queued = enqueue(
            db,
            _email(
                settings,
                to,
                worker.name if worker else (lead.name if lead else "there"),
                "These referrals to you have not been contacted yet:",
                [_line(r, p, today) for r, p in items],
            ),
        )
        report.mail.append(queued.id)
        report.link_worker_emails += 1
        for referral, _practice in items:
            referral.nudged_link_worker_at = now
            record(db, None, "referral.nudge", "referral", referral.id, to="link_worker")
            report.referrals_reminded += 1
    for lead_id, items in escalate.items():
        lead = db.get(Provider, lead_id)
        if lead is None or not lead.email:
            report.no_address += len(items)
            continue
        names = {
            r.link_worker_id: workers[r.link_worker_id].name
            for r, _p in items
            if r.link_worker_id in workers
        }
        queued = enqueue(
            db,
            _email(
                settings,
                lead.email,
                lead.name,
                "These referrals are past the 5-working-day contact target"
                + (f" (link workers: {', '.join(sorted(names.values()))})" if names else "")
                + ":",
                [_line(r, p, today) for r, p in items],
            ),
        )
        report.mail.append(queued.id)
        report.lead_provider_emails += 1
        for referral, _practice in items:
            referral.nudged_lead_provider_at = now
            record(db, None, "referral.nudge", "referral", referral.id, to="lead_provider")
            report.referrals_escalated += 1
    reviews = nudge_reviews(db, settings, now=now, today=today)
    report.reviews_reminded, report.review_emails = reviews.reviews, reviews.emails
    report.no_address += reviews.no_address
    report.mail += reviews.mail
    return report
