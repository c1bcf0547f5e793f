"""The link worker's work on a referral: the assessment (support level, goals, action plan),
signposting to sessions in the directory, and attendance at them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import orm, select

from api.access import policy
from api.access.tokens import Principal
from api.audit.log import record
from api.directory.enums import ListingStatus
from api.directory.models import Provider, Session, utcnow
from api.referrals import levels, plans, reviews
from api.referrals.enums import ReferralStatus as S
from api.referrals.enums import SupportLevel
from api.referrals.errors import ErrorCode, Problem, Rejected, reject
from api.referrals.intake import actor_of
from api.referrals.lifecycle import find_for_change
from api.referrals.models import Attendance, Referral, Signpost
from api.referrals.protection import Protector

MAX_GOALS = 10
MAX_TEXT = 2000
# Assessment and signposting belong to the work between first contact and the end.
WORKING_STATES = frozenset({S.CONTACTED, S.ASSESSED, S.ACTIVE})


@dataclass(frozen=True)
class AssessmentIn:
    support_level: SupportLevel
    goals: tuple[str, ...]
    action_plan: str
    # What the support level was judged on.
    co_morbidities: int = 0  # number of long-term conditions
    mental_health_need: bool = False
    mobility_need: bool = False
    missed_appointments: int = 0  # in the last 12 months
    # What stands in the way (part of the plan); when to review it (default: review_weeks on).
    barriers: str = ""
    review_on: dt.date | None = None


def _working(referral: Referral, what: str) -> None:
    if referral.status not in WORKING_STATES:
        raise reject(
            "referralId",
            f"{what} is recorded once the person is contacted and until the referral ends; "
            f"this one is {referral.status.value}",
            ErrorCode.INVALID_STATE,
        )


def record_assessment(
    db: orm.Session,
    principal: Principal,
    referral_id: int,
    data: AssessmentIn,
    protector: Protector,
    *,
    now: dt.datetime | None = None,
    review_weeks: int = plans.REVIEW_WEEKS,
) -> Referral:
    """Record the assessment and plan. Recording it again is a new revision of the plan (the
    earlier ones are kept) and a reassessment of the support level."""
    referral = find_for_change(db, principal, referral_id)
    problems: list[Problem] = []
    goals = tuple(g.strip() for g in data.goals if g.strip())
    if not goals:
        problems.append(
            Problem(
                "input.goals", "give at least one goal, in the person's words", ErrorCode.REQUIRED
            )
        )
    if len(goals) > MAX_GOALS or any(len(g) > 500 for g in goals):
        problems.append(
            Problem(
                "input.goals",
                f"give at most {MAX_GOALS} goals of up to 500 characters each",
                ErrorCode.INVALID,
            )
        )
    plan = (data.action_plan or "").strip()
    if not plan:
        problems.append(
            Problem("input.actionPlan", "the action plan is required", ErrorCode.REQUIRED)
        )
    elif len(plan) > MAX_TEXT:
        problems.append(
            Problem("input.actionPlan", f"keep it under {MAX_TEXT} characters", ErrorCode.INVALID)
        )
    for name, value in (
        ("coMorbidities", data.co_morbidities),
        ("missedAppointments", data.missed_appointments),
    ):
        if not 0 <= value <= 50:
            problems.append(
                Problem(f"input.{name}", "give a number from 0 to 50", ErrorCode.INVALID)
            )
    barriers = (data.barriers or "").strip()
    if len(barriers) > MAX_TEXT:
        problems.append(
            Problem("input.barriers", f"keep it under {MAX_TEXT} characters", ErrorCode.INVALID)
        )
    now = now or utcnow()
    today = plans.set_on(now)
    if data.review_on is not None and not today < data.review_on <= today + dt.timedelta(days=366):
        problems.append(
            Problem(
                "input.reviewOn",
                "give a review date after today and within a year",
                ErrorCode.INVALID,
            )
        )
    if problems:
        raise Rejected(problems)
    _working(referral, "an assessment")
    referral.support_level = data.support_level
    referral.support_factors = {
        "coMorbidities": data.co_morbidities,
        "mentalHealthNeed": data.mental_health_need,
        "mobilityNeed": data.mobility_need,
        "missedAppointments": data.missed_appointments,
    }
    referral.plan_enc = protector.encrypt_json(
        "plan", {"goals": list(goals), "actionPlan": plan}, protector.data_key(referral.key_id)
    )
    referral.assessed_at = now
    review_on = plans.review_date(today, review_weeks, data.review_on)
    plans.add_revision(
        db,
        referral,
        protector,
        goals=list(goals),
        actions=plan,
        barriers=barriers,
        review_on=review_on,
        actor=actor_of(principal),
        now=now,
    )
    levels.record_level(db, referral, data.support_level, today, actor_of(principal))
    reviews.schedule_review(db, referral, review_on)
    record(
        db,
        principal,
        "referral.assess",
        "referral",
        referral.id,
        support_level=data.support_level.value,
    )
    return referral


def signpost(
    db: orm.Session,
    principal: Principal,
    referral_id: int,
    session_ids: list[int],
    *,
    now: dt.datetime | None = None,
) -> list[Signpost]:
    """Link the referral to sessions (published ones); signposting one twice changes
    nothing. Returns the referral's signposts."""
    referral = find_for_change(db, principal, referral_id)
    _working(referral, "signposting")
    if not session_ids:
        raise reject("sessionIds", "give at least one session", ErrorCode.REQUIRED)
    found = {
        s.id: s
        for s in db.scalars(
            select(Session)
            .join(Provider, Provider.id == Session.provider_id)
            .where(
                Session.id.in_(set(session_ids)),
                Provider.status == ListingStatus.PUBLISHED,
                Session.status == ListingStatus.PUBLISHED,
            )
        )
    }
    missing = [i for i in session_ids if i not in found]
    if missing:
        raise reject(
            "sessionIds",
            f"{len(missing)} of these sessions are not in the directory: signpost published "
            "sessions, by their `id`",
            ErrorCode.NOT_FOUND,
        )
    existing = {
        s.session_id: s
        for s in db.scalars(select(Signpost).where(Signpost.referral_id == referral.id))
    }
    now = now or utcnow()
    for session_id in dict.fromkeys(session_ids):
        if session_id in existing:
            continue
        row = Signpost(
            referral_id=referral.id,
            session_id=session_id,
            provider_id=found[session_id].provider_id,
            signposted_at=now,
            actor=actor_of(principal),
        )
        db.add(row)
        existing[session_id] = row
        db.flush()
        record(db, principal, "referral.signpost", "referral", referral.id, session_id=session_id)
    return sorted(existing.values(), key=lambda s: s.id)


def record_attendance(
    db: orm.Session,
    principal: Principal,
    referral_id: int,
    session_id: int,
    on_date: dt.date,
    attended: bool,
    *,
    now: dt.datetime | None = None,
) -> Attendance:
    """Whether the person came to a signposted session on a date (recording the same date
    again corrects it)."""
    row = db.scalars(
        select(Signpost).where(
            Signpost.referral_id == referral_id,
            Signpost.session_id == session_id,
            policy.signpost_scope(principal),
        )
    ).first()
    if row is None:
        raise reject(
            "input.sessionId",
            "this referral was not signposted to this session (or you cannot see it): "
            "signpost it first",
            ErrorCode.NOT_FOUND,
        )
    now = now or utcnow()
    if on_date > now.date() + dt.timedelta(days=1):
        raise reject("input.date", "attendance cannot be recorded for a future date")
    attendance = db.scalars(
        select(Attendance).where(Attendance.signpost_id == row.id, Attendance.on_date == on_date)
    ).first()
    if attendance is None:
        attendance = Attendance(signpost_id=row.id, on_date=on_date, attended=attended)
        db.add(attendance)
    attendance.attended = attended
    attendance.recorded_at = now
    attendance.actor = actor_of(principal)
    db.flush()
    record(
        db,
        principal,
        "referral.attendance",
        "referral",
        referral_id,
        session_id=session_id,
        attended=attended,
    )
    return attendance
