"""What goes back to the GP: the Social Prescribing Information Standard's "message back to
GP and referrer" (status, activities referred to, outcomes with consent, and the goals of
the person's plan with their consent to share them), carrying the
SNOMED CT concepts GP systems record for social prescribing so practice systems can code it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import orm, select

from api.directory.models import GpPractice, Provider, Session
from api.outcomes.enums import Direction, TimePoint
from api.outcomes.models import OutcomeInstrument, OutcomeMeasurement
from api.referrals import plans
from api.referrals.enums import ReferralStatus
from api.referrals.models import Attendance, Referral, ReferralEvent, Signpost
from api.referrals.plan_models import PlanRevision
from api.referrals.protection import Protector
from api.referrals.working_days import local_date

SNOMED = "http://snomed.info/sct"
REFERRAL_TO_SOCIAL_PRESCRIBING = ("871731000000106", "Referral to social prescribing service")
SOCIAL_PRESCRIBING_DECLINED = ("871711000000103", "Social prescribing declined")


@dataclass(frozen=True)
class CodedEntry:
    system: str
    code: str
    display: str
    date: dt.date


@dataclass(frozen=True)
class Activity:
    session_id: int
    session_title: str
    provider_name: str
    signposted_on: dt.date
    sessions_attended: int
    sessions_missed: int


@dataclass(frozen=True)
class ItemChange:
    item: str
    text: str
    baseline: int | None
    latest: int | None
    change: int | None
    improved: bool | None  # None: no change, or nothing to compare


@dataclass(frozen=True)
class OutcomeSummary:
    instrument_key: str
    instrument_name: str
    baseline_on: dt.date | None
    latest_on: dt.date | None
    latest_time_point: TimePoint | None
    items: list[ItemChange]


@dataclass
class MessageBack:
    referral_id: int
    practice_ods_code: str
    status: ReferralStatus
    received_on: dt.date
    first_contact_on: dt.date | None
    status_since: dt.date
    activities: list[Activity] = field(default_factory=list)
    # None when the person did not consent to outcomes going back to the practice.
    outcomes: list[OutcomeSummary] | None = None
    outcomes_withheld: bool = False
    codes: list[CodedEntry] = field(default_factory=list)
    # The current plan's goals, when the person agreed to share them: read with ``goals_of``
    # (they are encrypted; ``goals_sealed`` is the current plan revision as stored).
    goals_withheld: bool = True
    goals_sealed: str | None = None


def goals_of(message: MessageBack, guard: Protector, key: bytes | None) -> list[str] | None:
    """The shared goals (None when withheld); ``key`` is the referral's data key."""
    if message.goals_withheld or message.goals_sealed is None:
        return None
    plan = guard.decrypt_json(plans.FIELD, message.goals_sealed, key) or {}
    return list(plan.get("goals", []))


def _summaries(
    measurements: list[OutcomeMeasurement], instruments: dict[int, OutcomeInstrument]
) -> list[OutcomeSummary]:
    order = {TimePoint.BASELINE: 0, TimePoint.END: 1, TimePoint.FOLLOW_UP: 2}
    by_instrument: dict[int, list[OutcomeMeasurement]] = {}
    for m in measurements:
        by_instrument.setdefault(m.instrument_id, []).append(m)
    found = []
    for instrument_id, rows in by_instrument.items():
        instrument = instruments[instrument_id]
        rows.sort(key=lambda m: (order[m.time_point], m.follow_up_months, m.taken_on))
        baseline = next((m for m in rows if m.time_point is TimePoint.BASELINE), None)
        later = [m for m in rows if m.time_point is not TimePoint.BASELINE]
        latest = later[-1] if later else None
        items = []
        for item in instrument.items:
            before = baseline.scores.get(item["key"]) if baseline else None
            after = latest.scores.get(item["key"]) if latest else None
            change = after - before if before is not None and after is not None else None
            better = None
            if change:
                higher = Direction(item["direction"]) is Direction.HIGHER_IS_BETTER
                better = change > 0 if higher else change < 0
            items.append(ItemChange(item["key"], item["text"], before, after, change, better))
        found.append(
            OutcomeSummary(
                instrument.key,
                instrument.name,
                baseline.taken_on if baseline else None,
                latest.taken_on if latest else None,
                latest.time_point if latest else None,
                items,
            )
        )
    return sorted(found, key=lambda s: s.instrument_name)


def message_backs(db: orm.Session, referral_ids: Sequence[int]) -> dict[int, MessageBack]:
    """The message back of each of these referrals, by id: a fixed number of statements
    however many referrals there are (a practice system may ask for a whole page). Who may
    see it is the caller's to decide."""
    referrals = db.scalars(select(Referral).where(Referral.id.in_(set(referral_ids)))).all()
    ids = [r.id for r in referrals]
    practices: dict[int, str] = {
        practice_id: ods_code
        for practice_id, ods_code in db.execute(
            select(GpPractice.id, GpPractice.ods_code).where(
                GpPractice.id.in_({r.practice_id for r in referrals})
            )
        )
    }
    signposts = db.execute(
        select(Signpost, Session.title, Provider.name)
        .join(Session, Session.id == Signpost.session_id)
        .join(Provider, Provider.id == Signpost.provider_id)
        .where(Signpost.referral_id.in_(ids))
        .order_by(Signpost.id)
    ).all()
    attendance: dict[int, list[bool]] = defaultdict(list)
    for signpost_id, attended in db.execute(
        select(Attendance.signpost_id, Attendance.attended).where(
            Attendance.signpost_id.in_([s.id for s, _t, _p in signposts])
        )
    ):
        attendance[signpost_id].append(attended)
    activities: dict[int, list[Activity]] = defaultdict(list)
    for signpost, title, provider in signposts:
        marks = attendance.get(signpost.id, [])
        activities[signpost.referral_id].append(
            Activity(
                signpost.session_id,
                title,
                provider,
                local_date(signpost.signposted_at),
                sum(marks),
                len(marks) - sum(marks),
            )
        )
    consented = [r.id for r in referrals if r.consent_share_outcomes_at is not None]
    measurements: dict[int, list[OutcomeMeasurement]] = defaultdict(list)
    for m in db.scalars(
        select(OutcomeMeasurement).where(OutcomeMeasurement.referral_id.in_(consented))
    ):
        measurements[m.referral_id].append(m)
    instruments = {
        i.id: i
        for i in db.scalars(
            select(OutcomeInstrument).where(
                OutcomeInstrument.id.in_(
                    {m.instrument_id for rows in measurements.values() for m in rows}
                )
            )
        )
    }
    sealed: dict[int, str] = {}
    for referral_id, plan_enc in db.execute(
        select(PlanRevision.referral_id, PlanRevision.plan_enc)
        .where(
            PlanRevision.referral_id.in_(
                [r.id for r in referrals if r.consent_share_goals_at is not None]
            ),
            PlanRevision.plan_enc.is_not(None),
        )
        .order_by(PlanRevision.number)
    ):
        sealed[referral_id] = plan_enc  # the newest revision wins
    declined_at: dict[int, dt.datetime] = {}
    for referral_id, at in db.execute(
        select(ReferralEvent.referral_id, ReferralEvent.at)
        .where(
            ReferralEvent.referral_id.in_(
                [r.id for r in referrals if r.status is ReferralStatus.DECLINED]
            ),
            ReferralEvent.to_status == ReferralStatus.DECLINED,
        )
        .order_by(ReferralEvent.id)
    ):
        declined_at[referral_id] = at  # the last one wins

    found = {}
    for referral in referrals:
        received = local_date(referral.received_at)
        message = MessageBack(
            referral_id=referral.id,
            practice_ods_code=practices[referral.practice_id],
            status=referral.status,
            received_on=received,
            first_contact_on=local_date(referral.contacted_at) if referral.contacted_at else None,
            status_since=local_date(referral.status_changed_at),
            activities=activities.get(referral.id, []),
        )
        if referral.consent_share_outcomes_at is None:
            message.outcomes_withheld = True
        else:
            message.outcomes = _summaries(measurements.get(referral.id, []), instruments)
        if referral.consent_share_goals_at is not None and referral.id in sealed:
            message.goals_withheld, message.goals_sealed = False, sealed[referral.id]
        code, display = REFERRAL_TO_SOCIAL_PRESCRIBING
        message.codes.append(CodedEntry(SNOMED, code, display, received))
        if referral.status is ReferralStatus.DECLINED:
            code, display = SOCIAL_PRESCRIBING_DECLINED
            on = local_date(declined_at.get(referral.id) or referral.status_changed_at)
            message.codes.append(CodedEntry(SNOMED, code, display, on))
        found[referral.id] = message
    return found
