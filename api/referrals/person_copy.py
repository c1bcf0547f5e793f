"""The person's own copy of their plan: plain English, one A4 page, for the link worker to
print or email to the person, only with the person's consent (recorded here; the gate is
this module's, so every way out of Petunia passes it). It holds what matters to them, their
goals, actions and what may get in the way, the sessions they were signposted to (when,
where, how to join, who to ask, the next dates), their scores before and after with what the
change means in words, and who to contact. Making it and emailing it are audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import orm, select

from api.access.tokens import Principal
from api.audit.log import record
from api.directory import related
from api.directory.enums import Delivery, HowToJoin
from api.directory.models import LinkWorker, Locality, Provider, utcnow
from api.directory.schedules import Break, describe, next_occurrences, rule_from
from api.mail.outbox import Email
from api.mail.queue import enqueue
from api.outcomes.enums import Direction, TimePoint
from api.outcomes.models import OutcomeInstrument, OutcomeMeasurement
from api.referrals import plans
from api.referrals.errors import ErrorCode, reject
from api.referrals.lifecycle import find_for_change
from api.referrals.models import Referral, Signpost
from api.referrals.plan_models import Review, ReviewKind, ReviewState
from api.referrals.protection import Protector

NEXT_DATES = 3
JOIN_WORDS = {
    HowToJoin.DROP_IN: "Just turn up: no need to book.",
    HowToJoin.BOOK_FIRST: "Book a place first, using the contact below.",
    HowToJoin.REFERRAL_ONLY: "Your link worker arranges your place.",
}
NO_CONSENT = (
    "the person has not agreed to receive their own copy: ask them, and record their consent "
    "on the referral first"
)


@dataclass(frozen=True)
class CopySession:
    title: str
    provider: str
    when: list[str]  # "Every Tuesday, 10:00 to 12:00"
    where: str
    how_to_join: str
    contact: str
    next_dates: list[dt.date]


@dataclass(frozen=True)
class ScoreChange:
    instrument: str
    before: int
    after: int | None
    most: int
    before_on: dt.date
    after_on: dt.date | None
    meaning: str


@dataclass
class PersonCopy:
    referral_id: int
    given_name: str
    made_on: dt.date
    what_matters: str
    goals: list[str]
    actions: str
    barriers: str
    review_on: dt.date | None
    sessions: list[CopySession] = field(default_factory=list)
    scores: list[ScoreChange] = field(default_factory=list)
    link_worker: str | None = None
    service: str = ""
    phone: str | None = None
    email: str | None = None
    person_email: str | None = None


def record_consents(
    db: orm.Session,
    principal: Principal,
    referral_id: int,
    *,
    share_goals: bool,
    own_copy: bool,
    now: dt.datetime | None = None,
) -> Referral:
    """What the person agreed to: their goals in the message back to the practice, and their
    own copy of the plan. Agreeing again keeps the first date; withdrawing clears it."""
    referral = find_for_change(db, principal, referral_id)
    if referral.purged_at is not None:
        raise reject(
            "referralId", "this referral's personal data is purged", ErrorCode.INVALID_STATE
        )
    now = now or utcnow()
    referral.consent_share_goals_at = (
        (referral.consent_share_goals_at or now) if share_goals else None
    )
    referral.consent_own_copy_at = (referral.consent_own_copy_at or now) if own_copy else None
    record(
        db, principal, "referral.consent", "referral", referral.id,
        share_goals=share_goals, own_copy=own_copy,
    )  # fmt: skip
    return referral


def _oriented(instrument: OutcomeInstrument, scores: dict[str, int]) -> int:
    """The total with every item turned so that higher is better."""
    total = 0
    for item in instrument.items:
        value = scores.get(item["key"], instrument.scale_min)
        if Direction(item["direction"]) is Direction.LOWER_IS_BETTER:
            value = instrument.scale_max + instrument.scale_min - value
        total += value
    return total


def meaning(before: int, after: int | None, most: int) -> str:
    """What a change in score means, in words (higher is better)."""
    if after is None:
        return "We will ask you again later to see how things have changed."
    change = after - before
    small = max(1, most // 20)  # within 5% of the scale: about the same
    if abs(change) < small:
        return "About the same as when you started."
    if change > 0:
        return f"Better than when you started: up {change} points."
    return (
        f"Lower than when you started: down {-change} points. Your link worker can talk "
        "this through with you."
    )


def _scores(db: orm.Session, referral_id: int) -> list[ScoreChange]:
    rows = db.execute(
        select(OutcomeMeasurement, OutcomeInstrument)
        .join(OutcomeInstrument, OutcomeInstrument.id == OutcomeMeasurement.instrument_id)
        .where(OutcomeMeasurement.referral_id == referral_id)
        .order_by(OutcomeMeasurement.taken_on, OutcomeMeasurement.id)
    ).all()
    found = []
    by_instrument: dict[int, list[tuple[OutcomeMeasurement, OutcomeInstrument]]] = {}
    for m, instrument in rows:
        by_instrument.setdefault(instrument.id, []).append((m, instrument))
    for pairs in by_instrument.values():
        instrument = pairs[0][1]
        baseline = next((m for m, _i in pairs if m.time_point is TimePoint.BASELINE), None)
        if baseline is None:
            continue
        later = [m for m, _i in pairs if m.time_point is not TimePoint.BASELINE]
        latest = later[-1] if later else None
        most = instrument.scale_max * len(instrument.items)
        before = _oriented(instrument, baseline.scores)
        after = _oriented(instrument, latest.scores) if latest else None
        found.append(
            ScoreChange(
                instrument.name,
                before,
                after,
                most,
                baseline.taken_on,
                latest.taken_on if latest else None,
                meaning(before, after, most),
            )
        )
    return sorted(found, key=lambda s: s.instrument)


def _sessions(db: orm.Session, referral_id: int, today: dt.date) -> list[CopySession]:
    ids = list(
        db.scalars(
            select(Signpost.session_id)
            .where(Signpost.referral_id == referral_id)
            .order_by(Signpost.id)
        )
    )
    rows = related.sessions(db, ids)
    schedules = related.schedules(db, ids)
    breaks = related.breaks(db, ids)
    found = []
    for session_id in ids:
        row = rows.get(session_id)
        if row is None:
            continue
        s, provider, venue = row.session, row.provider, row.venue
        rules = [rule_from(r) for r in schedules.get(session_id, [])]
        stops = [Break(b.starts_on, b.ends_on) for b in breaks.get(session_id, [])]
        if venue is not None:
            where = ", ".join(p for p in (venue.name, venue.address, venue.postcode) if p)
        elif s.delivery == Delivery.ONLINE:
            where = "Online: the organiser sends you the link."
        elif s.delivery == Delivery.AT_HOME:
            where = "At your home."
        else:
            where = "Different places: ask the organiser where the next one is."
        phone = s.contact_phone or provider.phone
        email = s.contact_email or provider.email
        contact = " or ".join(p for p in (phone, email) if p) or "Ask your link worker."
        found.append(
            CopySession(
                title=s.title,
                provider=provider.name,
                when=[describe(r) for r in rules],
                where=where,
                how_to_join=JOIN_WORDS.get(HowToJoin(s.how_to_join), ""),
                contact=(f"{s.contact_name}: " if s.contact_name else "") + contact,
                next_dates=[
                    o.date for o in next_occurrences(rules, stops, after=today, count=NEXT_DATES)
                ],
            )
        )
    return found


def _next_review(db: orm.Session, referral_id: int) -> dt.date | None:
    return db.scalar(
        select(Review.due_on)
        .where(
            Review.referral_id == referral_id,
            Review.state == ReviewState.DUE,
            Review.kind == ReviewKind.REVIEW,
        )
        .order_by(Review.due_on)
        .limit(1)
    )


def person_copy(
    db: orm.Session,
    principal: Principal,
    guard: Protector,
    referral_id: int,
    *,
    today: dt.date,
    purpose: str = "view",
) -> PersonCopy:
    """The copy, for the care team (who may change the referral), only with the person's
    consent: Rejected (CONSENT_REQUIRED) without it."""
    referral = find_for_change(db, principal, referral_id)
    if referral.consent_own_copy_at is None:
        raise reject("referralId", NO_CONSENT, ErrorCode.CONSENT_REQUIRED)
    if referral.person_enc is None:
        raise reject(
            "referralId", "this referral's personal data is purged", ErrorCode.INVALID_STATE
        )
    key = guard.data_key(referral.key_id)
    person = guard.decrypt_json("person", referral.person_enc, key) or {}
    plan = plans.current_plan(db, guard, referral)
    worker = db.get(LinkWorker, referral.link_worker_id) if referral.link_worker_id else None
    locality = db.get(Locality, referral.locality_id)
    lead = (
        db.get(Provider, locality.lead_provider_id)
        if locality and locality.lead_provider_id
        else None
    )
    copy = PersonCopy(
        referral_id=referral.id,
        given_name=person.get("givenName", ""),
        made_on=today,
        what_matters=person.get("whatMatters") or "",
        goals=plan.goals if plan else [],
        actions=plan.actions if plan else "",
        barriers=plan.barriers if plan else "",
        review_on=_next_review(db, referral.id),
        sessions=_sessions(db, referral.id, today),
        scores=_scores(db, referral.id),
        link_worker=worker.name if worker else None,
        service=lead.name if lead else "",
        phone=(worker.phone if worker and worker.phone else None) or (lead.phone if lead else None),
        email=(worker.email if worker and worker.email else None) or (lead.email if lead else None),
        person_email=person.get("email"),
    )
    record(db, principal, "referral.person_copy", "referral", referral.id, purpose=purpose)
    return copy


def as_text(copy: PersonCopy) -> str:
    """The copy as the plain text of an email. Its first line (what mail programs show as a
    preview) says what it is, and nothing about the person's health."""
    lines = [
        "Here is the copy of your plan that you asked for.",
        "",
        f"Hello {copy.given_name},",
        "",
    ]
    if copy.what_matters:
        lines += ["What matters to you", copy.what_matters, ""]
    if copy.goals:
        lines += ["Your goals", *[f"- {g}" for g in copy.goals], ""]
    if copy.actions:
        lines += ["What you will do", copy.actions, ""]
    if copy.barriers:
        lines += ["What might get in the way", copy.barriers, ""]
    for s in copy.sessions:
        lines += [f"{s.title} ({s.provider})"]
        lines += [f"  When: {w}" for w in s.when]
        lines += [
            f"  Where: {s.where}",
            f"  How to join: {s.how_to_join}",
            f"  Contact: {s.contact}",
        ]
        if s.next_dates:
            lines.append("  Next: " + ", ".join(f"{d:%A %-d %B}" for d in s.next_dates))
        lines.append("")
    for sc in copy.scores:
        after = f", then {sc.after}" if sc.after is not None else ""
        lines += [f"{sc.instrument}: {sc.before}{after} (out of {sc.most}). {sc.meaning}", ""]
    if copy.review_on:
        lines += [f"We will look at your plan again on {copy.review_on:%A %-d %B %Y}.", ""]
    who = copy.link_worker or "your link worker"
    how = " or ".join(p for p in (copy.phone, copy.email) if p)
    lines += [
        "Who to contact",
        f"{who}{', ' + copy.service if copy.service else ''}" + (f": {how}" if how else ""),
    ]
    return "\n".join(lines)


def email_person_copy(
    db: orm.Session,
    principal: Principal,
    guard: Protector,
    referral_id: int,
    *,
    today: dt.date,
) -> int:
    """Queue the copy to the person's own email address (with their consent); returns the
    queued email's id. The subject says only what it is."""
    copy = person_copy(db, principal, guard, referral_id, today=today, purpose="email")
    if not copy.person_email:
        raise reject(
            "referralId",
            "the person has no email address on the referral: print the copy instead",
            ErrorCode.INVALID_STATE,
        )
    subject = "Your plan" + (f" from {copy.service}" if copy.service else "")
    queued = enqueue(db, Email(to=copy.person_email, subject=subject, text=as_text(copy)))
    return queued.id
