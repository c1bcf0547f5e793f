"""The part of `petunia nudge` for reviews and follow-ups: each overdue one is sent, once,
to the referral's link worker (or, with none named, the locality's lead provider). Like the
first-contact reminders, the email carries references, kinds and dates only: no name, no
clinical detail, in the subject, the preview or the body."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import orm, select

from api.audit.log import record
from api.config import Settings
from api.directory.models import LinkWorker, Locality, Provider
from api.mail.outbox import Email
from api.mail.queue import enqueue
from api.referrals.models import Referral
from api.referrals.plan_models import Review, ReviewState
from api.referrals.reviews import KIND_LABELS
from api.referrals.webhooks import referral_global_id


@dataclass
class ReviewNudges:
    emails: int = 0
    reviews: int = 0
    no_address: int = 0
    mail: list[int] = field(default_factory=list)


def _email(settings: Settings, to: str, greeting: str, lines: list[str]) -> Email:
    body = "\n".join(
        [
            f"Hello {greeting},",
            "",
            "These reviews and follow-ups on your caseload are overdue:",
            "",
            *lines,
            "",
            f"Open each referral in Petunia ({settings.public_url}) with its ID; your caseload "
            "page lists what is due this week.",
            "",
            "This email holds no personal details on purpose.",
        ]
    )
    subject = f"Petunia: {len(lines)} review(s) or follow-up(s) overdue"
    return Email(to=to, subject=subject, text=body)


def nudge_reviews(
    db: orm.Session, settings: Settings, *, now: dt.datetime, today: dt.date
) -> ReviewNudges:
    report = ReviewNudges()
    overdue = db.execute(
        select(Review, Referral)
        .join(Referral, Referral.id == Review.referral_id)
        .where(
            Review.state == ReviewState.DUE,
            Review.due_on < today,
            Review.nudged_at.is_(None),
            Referral.purged_at.is_(None),
        )
        .order_by(Review.due_on, Review.id)
    ).all()
    workers = {w.id: w for w in db.scalars(select(LinkWorker))}
    by_recipient: dict[tuple[str, str], list[tuple[Review, Referral]]] = defaultdict(list)
    for review, referral in overdue:
        worker = workers.get(referral.link_worker_id or 0)
        if worker is not None and worker.email:
            by_recipient[(worker.email, worker.name)].append((review, referral))
            continue
        locality = db.get(Locality, referral.locality_id)
        lead = (
            db.get(Provider, locality.lead_provider_id)
            if locality and locality.lead_provider_id
            else None
        )
        if lead is None or not lead.email:
            report.no_address += 1
            continue
        by_recipient[(lead.email, lead.name)].append((review, referral))
    for (to, name), items in by_recipient.items():
        lines = [
            f"- {referral_global_id(referral.id)}  {KIND_LABELS[review.kind]}, "
            f"due {review.due_on:%d %b %Y}"
            for review, referral in items
        ]
        queued = enqueue(db, _email(settings, to, name, lines))
        report.mail.append(queued.id)
        report.emails += 1
        for review, referral in items:
            review.nudged_at = now
            record(
                db, None, "referral.nudge", "referral", referral.id, to="link_worker",
                review=review.kind.value,
            )  # fmt: skip
            report.reviews += 1
    return report
