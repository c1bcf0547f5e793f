"""One referral as the staff pages show it: only what the caller's role may read, decided
by ``policy.referral_view`` (the rule the GraphQL fields apply), so a page never shows a
field the role cannot read through GraphQL. Reading it is audited (reading.get_referral).

When field rules move into the policy (``readable_fields``), this is the one place the pages
take them from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import orm, select

from api.access import policy
from api.access.tokens import Principal
from api.directory.labels import language_name
from api.directory.models import GpPractice, LinkWorker, Locality, Provider, Session
from api.outcomes.models import NhsUse, OutcomeInstrument, OutcomeMeasurement
from api.outcomes.recording import instruments_for
from api.referrals import equality, levels, lifecycle, plans, reviews
from api.referrals.caseload import days_left
from api.referrals.contact import TRYING, attempts
from api.referrals.enums import ReferralStatus, Urgency
from api.referrals.message_back import MessageBack, goals_of, message_backs
from api.referrals.models import Attendance, ContactAttempt, Referral, ReferralEvent, Signpost
from api.referrals.nhs_number import format_nhs_number
from api.referrals.plan_models import LevelChange, Review
from api.referrals.plans import PlanVersion
from api.referrals.protection import Protector
from api.referrals.reading import get_referral
from api.referrals.register_links import active_links
from api.referrals.working_days import local_date


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    from_status: ReferralStatus | None
    to_status: ReferralStatus
    by: str
    note: str | None  # care team only


@dataclass(frozen=True)
class SignpostEntry:
    session_id: int
    title: str
    provider: str
    signposted_on: dt.date
    attended: int
    missed: int


@dataclass
class ReferralSummary:
    id: int
    status: ReferralStatus
    urgency: Urgency
    practice: str
    link_worker: str | None
    received_on: dt.date
    contact_due_on: dt.date
    contacted_on: dt.date | None
    contact_working_days: int | None
    days_left: int | None
    consent_to_refer_at: dt.datetime
    consent_share_outcomes_at: dt.datetime | None
    view: policy.ReferralView
    # The person: keys present only as the role may read them.
    person: dict[str, object] | None = None
    reason: str | None = None
    what_matters: str | None = None
    notes: str | None = None
    assessment: dict[str, object] | None = None
    history: list[HistoryEntry] = field(default_factory=list)
    signposts: list[SignpostEntry] = field(default_factory=list)
    # The statuses the caller may move it to now (empty: none, or not theirs to change).
    next_steps: list[ReferralStatus] = field(default_factory=list)
    message_back: MessageBack | None = None
    can_change: bool = False
    can_reassign: bool = False
    # Outcomes recorded (when the role may read them) and the instruments it may record.
    outcomes: list[dict[str, object]] | None = None
    instruments: list[tuple[str, str]] = field(default_factory=list)
    nhs_use: list[dict[str, object]] | None = None
    can_record_unmet_need: bool = False
    can_record_nhs_use: bool = False
    # Attempts to reach the person (care team only), and whether more may be recorded.
    contact_attempts: list[ContactAttempt] | None = None
    # session id -> (link id, works until) of the providers' register links (care team).
    register_links: dict[int, tuple[int, dt.date]] = field(default_factory=dict)
    trying: bool = False
    # A plan that lives (care team only): revisions newest first, reviews and follow-ups,
    # the support level's history; and the person's consents to the goals going back to the
    # practice and to their own copy.
    plan_history: list[PlanVersion] | None = None
    reviews: list[Review] | None = None
    levels: list[LevelChange] | None = None
    consent_share_goals_at: dt.datetime | None = None
    consent_own_copy_at: dt.datetime | None = None
    goals_shared: list[str] | None = None
    # Equality data (for those who read the person's full details) and whether the caller
    # may record it (api/referrals/equality.py).
    equality: equality.EqualityView | None = None
    can_record_equality: bool = False


def summary(
    db: orm.Session, principal: Principal, guard: Protector, referral_id: int
) -> ReferralSummary | None:
    referral = get_referral(db, principal, referral_id)  # scope + audit
    if referral is None:
        return None
    view = policy.referral_view(
        principal, consent_share_outcomes=referral.consent_share_outcomes_at is not None
    )
    practice = db.get(GpPractice, referral.practice_id)
    worker = db.get(LinkWorker, referral.link_worker_id) if referral.link_worker_id else None
    can_change = principal.role in policy.CHANGE_REFERRAL
    result = ReferralSummary(
        id=referral.id,
        status=referral.status,
        urgency=referral.urgency,
        practice=practice.name if practice else "",
        link_worker=worker.name if worker else None,
        received_on=local_date(referral.received_at),
        contact_due_on=referral.contact_due_on,
        contacted_on=local_date(referral.contacted_at) if referral.contacted_at else None,
        contact_working_days=referral.contact_working_days,
        days_left=days_left(referral, local_date(dt.datetime.now(dt.UTC))),
        consent_to_refer_at=referral.consent_to_refer_at,
        consent_share_outcomes_at=referral.consent_share_outcomes_at,
        view=view,
        can_change=can_change,
        can_reassign=policy.may_reassign(principal),
        next_steps=lifecycle.next_steps(referral) if can_change else [],
    )
    # The referral's own data key (api/referrals/keys.py); KeyDestroyed never reaches here:
    # a purged referral has no personal data left to read.
    key = guard.data_key(referral.key_id) if referral.person_enc else None
    data = guard.decrypt_json("person", referral.person_enc, key) if referral.person_enc else None
    if data is not None and view.person is not None:
        person: dict[str, object] = {
            "given_name": data["givenName"],
            # Shown as people say it ("Somali"), not as stored ("so").
            "preferred_language": language_name(referral.preferred_language)
            if referral.preferred_language
            else None,
            "needs_interpreter": referral.needs_interpreter,
        }
        if view.person is policy.PersonDetail.FULL:
            nhs = (
                guard.decrypt("nhs_number", referral.nhs_number_enc, key)
                if referral.nhs_number_enc
                else None
            )
            person |= {
                "family_name": data["familyName"],
                "nhs_number": format_nhs_number(nhs) if nhs else None,
                "date_of_birth": dt.date.fromisoformat(data["dateOfBirth"]),
                "age_at_referral": referral.age_at_referral,
                "preferred_contact": data["preferredContactMethod"],
                "phone": data.get("phone"),
                "email": data.get("email"),
                "address": data.get("address"),
                "postcode": data.get("postcode"),
            }
        result.person = person
    if data is not None and view.referral_text:
        result.reason, result.what_matters = data.get("reason"), data.get("whatMatters")
        result.notes = data.get("notes")
    if data is not None and view.equality:
        result.equality = equality.view_of(guard, referral)
        result.can_record_equality = principal.role in policy.RECORD_EQUALITY
    if view.care and referral.assessed_at is not None and referral.support_level is not None:
        plan = guard.decrypt_json("plan", referral.plan_enc, guard.data_key(referral.key_id)) or {
            "goals": [],
            "actionPlan": "",
        }
        result.assessment = {
            "support_level": referral.support_level,
            "factors": referral.support_factors or {},
            "goals": plan["goals"],
            "action_plan": plan["actionPlan"],
            "assessed_on": local_date(referral.assessed_at),
        }
    for event in db.scalars(
        select(ReferralEvent)
        .where(ReferralEvent.referral_id == referral.id)
        .order_by(ReferralEvent.at, ReferralEvent.id)
    ):
        note = (
            guard.decrypt("note", event.note_enc, guard.data_key(referral.key_id))
            if view.care and event.note_enc
            else None
        )
        result.history.append(
            HistoryEntry(event.at, event.from_status, event.to_status, event.actor, note)
        )
    signposts = db.execute(
        select(Signpost, Session.title, Provider.name)
        .join(Session, Session.id == Signpost.session_id)
        .join(Provider, Provider.id == Signpost.provider_id)
        .where(Signpost.referral_id == referral.id)
        .order_by(Signpost.id)
    ).all()
    for row, title, provider in signposts:
        if principal.role.value == "PROVIDER" and row.provider_id != principal.provider_id:
            continue  # a provider sees only what was signposted to it (as in GraphQL)
        marks = list(
            db.scalars(select(Attendance.attended).where(Attendance.signpost_id == row.id))
        )
        result.signposts.append(
            SignpostEntry(
                row.session_id,
                title,
                provider,
                local_date(row.signposted_at),
                sum(marks),
                len(marks) - sum(marks),
            )
        )
    if view.outcomes:
        names = {i.id: i for i in db.scalars(select(OutcomeInstrument))}
        result.outcomes = [
            {
                "instrument": names[m.instrument_id].name,
                "time_point": m.time_point,
                "months": m.follow_up_months,
                "taken_on": m.taken_on,
                "total": sum(m.scores.values()),
                "most": names[m.instrument_id].scale_max * len(names[m.instrument_id].items),
            }
            for m in db.scalars(
                select(OutcomeMeasurement)
                .where(OutcomeMeasurement.referral_id == referral.id)
                .order_by(OutcomeMeasurement.taken_on, OutcomeMeasurement.id)
            )
        ]
    if principal.role in policy.RECORD_OUTCOME and db.scalar(
        select(Referral.id).where(Referral.id == referral.id, policy.outcome_scope(principal))
    ):
        locality = db.get(Locality, referral.locality_id)
        lead = locality.lead_provider_id if locality else None
        result.instruments = [(i.key, i.name) for i in instruments_for(db, lead)]
    if view.nhs_use:
        result.nhs_use = [
            {
                "period": u.period,
                "gp": u.gp_appointments,
                "ae": u.ae_attendances,
                "admissions": u.unplanned_admissions,
                "prescriptions": u.prescriptions,
            }
            for u in db.scalars(
                select(NhsUse).where(NhsUse.referral_id == referral.id).order_by(NhsUse.period)
            )
        ]
    if can_change and result.signposts:
        links = active_links(db, [sp.session_id for sp in result.signposts])
        result.register_links = {
            sid: (
                link.id,
                local_date(link.expires_at.replace(tzinfo=link.expires_at.tzinfo or dt.UTC)),
            )
            for sid, link in links.items()
        }
    if view.care:
        result.contact_attempts = attempts(db, [referral.id])[referral.id]
        result.plan_history = plans.plan_history(db, guard, referral)
        result.reviews = reviews.reviews_of(db, referral.id)
        result.levels = levels.history(db, referral.id)
    result.consent_share_goals_at = referral.consent_share_goals_at
    result.consent_own_copy_at = referral.consent_own_copy_at
    result.trying = can_change and referral.status in TRYING
    result.can_record_unmet_need = principal.role in policy.RECORD_UNMET_NEED
    result.can_record_nhs_use = bool(
        db.scalar(
            select(Referral.id).where(Referral.id == referral.id, policy.nhs_use_scope(principal))
        )
    )
    if view.referral_text:
        message = message_backs(db, [referral.id])[referral.id]
        if not view.outcomes:
            message.outcomes = None  # what this caller may not see is left out
        result.message_back = message
        if not message.goals_withheld:
            result.goals_shared = goals_of(message, guard, guard.data_key(referral.key_id))
    return result
