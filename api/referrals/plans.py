"""Care and support plans that are kept, not overwritten: each revision of the goals,
actions and barriers is a new row (encrypted with the referral's data key, as all its
personal data), with its date, its author and the review date set with it. The newest is the
current plan; the history is read by those the policy lets read the plan (``assessment``
in api/access/policy.py), and reading it is audited with the referral."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, orm, select

from api.referrals.models import Referral
from api.referrals.plan_models import PlanRevision
from api.referrals.protection import Protector
from api.referrals.working_days import local_date, on_working_day

# The plan is reviewed this many weeks after it is set, unless the link worker says when
# (Settings.review_weeks overrides it).
REVIEW_WEEKS = 6
FIELD = "plan_revision"  # the encryption's associated data


@dataclass(frozen=True)
class PlanVersion:
    number: int
    at: dt.datetime
    by: str
    goals: list[str]
    actions: str
    barriers: str
    review_on: dt.date | None
    current: bool


def review_date(
    set_on: dt.date, weeks: int = REVIEW_WEEKS, asked: dt.date | None = None
) -> dt.date:
    """When a plan set on ``set_on`` is reviewed: the day asked for, or ``weeks`` later; on a
    working day (moved on past weekends and bank holidays)."""
    return on_working_day(asked or set_on + dt.timedelta(weeks=weeks))


def add_revision(
    db: orm.Session,
    referral: Referral,
    protector: Protector,
    *,
    goals: list[str],
    actions: str,
    barriers: str,
    review_on: dt.date,
    actor: str,
    now: dt.datetime,
) -> PlanRevision:
    latest = db.scalar(
        select(func.max(PlanRevision.number)).where(PlanRevision.referral_id == referral.id)
    )
    row = PlanRevision(
        referral_id=referral.id,
        number=(latest or 0) + 1,
        created_at=now,
        actor=actor,
        plan_enc=protector.encrypt_json(
            FIELD,
            {"goals": goals, "actions": actions, "barriers": barriers},
            protector.data_key(referral.key_id),
        ),
        review_on=review_on,
    )
    db.add(row)
    db.flush()
    return row


def plan_history(db: orm.Session, protector: Protector, referral: Referral) -> list[PlanVersion]:
    """Every revision, newest first (the first is the current plan). The caller has decided
    the reader may read the plan. Empty once purged."""
    rows = list(
        db.scalars(
            select(PlanRevision)
            .where(PlanRevision.referral_id == referral.id, PlanRevision.plan_enc.is_not(None))
            .order_by(PlanRevision.number.desc())
        )
    )
    if not rows or referral.purged_at is not None:
        return []
    key = protector.data_key(referral.key_id)
    found = []
    for i, row in enumerate(rows):
        plan = protector.decrypt_json(FIELD, row.plan_enc, key) or {}
        found.append(
            PlanVersion(
                number=row.number,
                at=row.created_at,
                by=row.actor,
                goals=list(plan.get("goals", [])),
                actions=plan.get("actions", ""),
                barriers=plan.get("barriers", ""),
                review_on=row.review_on,
                current=i == 0,
            )
        )
    return found


def current_plan(db: orm.Session, protector: Protector, referral: Referral) -> PlanVersion | None:
    history = plan_history(db, protector, referral)
    return history[0] if history else None


def set_on(now: dt.datetime) -> dt.date:
    return local_date(now)
