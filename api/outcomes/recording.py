"""Recording outcome measurements, NHS use and unmet need; and a lead provider's own
configuration of a configurable ("star") instrument."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import or_, orm, select

from api.access import policy
from api.access.models import Role
from api.access.tokens import Principal
from api.audit.log import record
from api.directory.enums import Domain
from api.directory.models import GpPractice, Locality, Provider, utcnow
from api.outcomes.enums import NhsUsePeriod, TimePoint
from api.outcomes.models import NhsUse, OutcomeInstrument, OutcomeMeasurement, UnmetNeed
from api.referrals.errors import ErrorCode, Problem, Rejected, not_found, reject
from api.referrals.intake import actor_of
from api.referrals.models import Referral
from api.referrals.working_days import local_date

MAX_FOLLOW_UP_MONTHS = 24
MAX_COUNT = 999


@dataclass(frozen=True)
class OutcomeIn:
    referral_id: int
    instrument_key: str
    time_point: TimePoint
    taken_on: dt.date
    scores: dict[str, int]
    follow_up_months: int | None = None


def instruments_for(db: orm.Session, lead_provider_id: int | None) -> list[OutcomeInstrument]:
    """The shipped instruments and the lead provider's own configurations."""
    return list(
        db.scalars(
            select(OutcomeInstrument)
            .where(
                or_(
                    OutcomeInstrument.owner_provider_id.is_(None),
                    OutcomeInstrument.owner_provider_id == lead_provider_id,
                )
            )
            .order_by(OutcomeInstrument.name)
        )
    )


def _referral(db: orm.Session, scope: object, referral_id: int) -> Referral:
    referral = db.scalars(select(Referral).where(Referral.id == referral_id, scope)).first()
    if referral is None:
        raise not_found("input.referralId")
    return referral


def check_scores(instrument: OutcomeInstrument, scores: dict[str, int]) -> list[Problem]:
    problems = []
    keys = [item["key"] for item in instrument.items]
    for key in scores:
        if key not in keys:
            problems.append(
                Problem(
                    "input.scores",
                    f"'{key}' is not an item of {instrument.name}; its items are "
                    + ", ".join(keys),
                    ErrorCode.INVALID,
                )
            )
    missing = [k for k in keys if k not in scores]
    if missing:
        problems.append(
            Problem(
                "input.scores",
                f"score every item of {instrument.name}; missing: " + ", ".join(missing),
                ErrorCode.REQUIRED,
            )
        )
    low, high = instrument.scale_min, instrument.scale_max
    for key, value in scores.items():
        if key in keys and not low <= value <= high:
            problems.append(
                Problem(
                    f"input.scores.{key}",
                    f"{instrument.name} scores run from {low} to {high}; '{key}' was {value}",
                    ErrorCode.INVALID,
                )
            )
    return problems


def record_outcome(
    db: orm.Session, principal: Principal, data: OutcomeIn, *, now: dt.datetime | None = None
) -> OutcomeMeasurement:
    now = now or utcnow()
    referral = _referral(db, policy.outcome_scope(principal), data.referral_id)
    locality = db.get(Locality, referral.locality_id)
    lead_id = locality.lead_provider_id if locality else None
    instrument = db.scalars(
        select(OutcomeInstrument).where(
            OutcomeInstrument.key == data.instrument_key,
            or_(
                OutcomeInstrument.owner_provider_id.is_(None),
                OutcomeInstrument.owner_provider_id == lead_id,
            ),
        )
    ).first()
    if instrument is None:
        raise reject(
            "input.instrumentKey",
            f"there is no outcome instrument '{data.instrument_key}' for this referral; "
            "see `outcomeInstruments`",
            ErrorCode.NOT_FOUND,
        )
    problems = check_scores(instrument, data.scores)
    months = data.follow_up_months
    if data.time_point is TimePoint.FOLLOW_UP:
        if months is None or not 1 <= months <= MAX_FOLLOW_UP_MONTHS:
            problems.append(
                Problem(
                    "input.followUpMonths",
                    f"a FOLLOW_UP needs the months after the end (1 to {MAX_FOLLOW_UP_MONTHS})",
                    ErrorCode.REQUIRED if months is None else ErrorCode.INVALID,
                )
            )
    elif months is not None:
        problems.append(
            Problem(
                "input.followUpMonths",
                "only a FOLLOW_UP has months; leave it out for BASELINE and END",
                ErrorCode.INVALID,
            )
        )
    if data.taken_on > local_date(now):
        problems.append(Problem("input.takenOn", "this date is in the future", ErrorCode.INVALID))
    elif data.taken_on < local_date(referral.received_at):
        problems.append(
            Problem(
                "input.takenOn", "this date is before the referral was received", ErrorCode.INVALID
            )
        )
    if problems:
        raise Rejected(problems)
    months_key = months or 0
    duplicate = db.scalars(
        select(OutcomeMeasurement.id).where(
            OutcomeMeasurement.referral_id == referral.id,
            OutcomeMeasurement.instrument_id == instrument.id,
            OutcomeMeasurement.time_point == data.time_point,
            OutcomeMeasurement.follow_up_months == months_key,
        )
    ).first()
    if duplicate is not None:
        raise reject(
            "input.timePoint",
            f"{instrument.name} at {data.time_point.value} is already recorded for this referral",
            ErrorCode.DUPLICATE,
        )
    measurement = OutcomeMeasurement(
        referral_id=referral.id,
        instrument_id=instrument.id,
        time_point=data.time_point,
        follow_up_months=months_key,
        taken_on=data.taken_on,
        scores={item["key"]: data.scores[item["key"]] for item in instrument.items},
        recorded_at=now,
        client_id=principal.client_id,
        actor=actor_of(principal),
    )
    db.add(measurement)
    db.flush()
    record(
        db,
        principal,
        "outcome.record",
        "outcome",
        measurement.id,
        referral_id=referral.id,
        instrument=instrument.key,
        time_point=data.time_point.value,
    )
    return measurement


@dataclass(frozen=True)
class NhsUseIn:
    referral_id: int
    period: NhsUsePeriod
    gp_appointments: int
    ae_attendances: int
    unplanned_admissions: int
    prescriptions: int


def record_nhs_use(
    db: orm.Session, principal: Principal, data: NhsUseIn, *, now: dt.datetime | None = None
) -> NhsUse:
    """NHS use in the 6 months before or after; recording a period again corrects it."""
    referral = _referral(db, policy.nhs_use_scope(principal), data.referral_id)
    counts = {
        "gpAppointments": data.gp_appointments,
        "aeAttendances": data.ae_attendances,
        "unplannedAdmissions": data.unplanned_admissions,
        "prescriptions": data.prescriptions,
    }
    problems = [
        Problem(f"input.{name}", f"give a count from 0 to {MAX_COUNT}", ErrorCode.INVALID)
        for name, value in counts.items()
        if not 0 <= value <= MAX_COUNT
    ]
    if problems:
        raise Rejected(problems)
    row = db.scalars(
        select(NhsUse).where(NhsUse.referral_id == referral.id, NhsUse.period == data.period)
    ).first()
    if row is None:
        row = NhsUse(referral_id=referral.id, period=data.period)
        db.add(row)
    row.gp_appointments = data.gp_appointments
    row.ae_attendances = data.ae_attendances
    row.unplanned_admissions = data.unplanned_admissions
    row.prescriptions = data.prescriptions
    row.recorded_at = now or utcnow()
    row.actor = actor_of(principal)
    db.flush()
    record(db, principal, "nhs_use.record", "referral", referral.id, period=data.period.value)
    return row


OTHER_LIMIT = 200  # a need that fits no domain: a short description of what it is


def record_unmet_need(
    db: orm.Session,
    principal: Principal,
    domain: Domain | None,
    description: str,
    locality_id: int | None,
) -> UnmetNeed:
    """A need nothing in the directory meets, with no patient identity. A practice's need
    is in its own locality unless it says otherwise; a lead provider's, in one of its own.
    ``domain`` None: it fits none of the six domains ("other"), and its short description
    (at most OTHER_LIMIT characters) says what it is, so it is not lost."""
    text = (description or "").strip()
    if not text:
        raise reject(
            "input.description",
            "describe the need" if domain else "say in a few words what the need is",
            ErrorCode.REQUIRED,
        )
    if domain is None and len(text) > OTHER_LIMIT:
        raise reject(
            "input.description",
            f"a need that fits no domain takes a short description: at most {OTHER_LIMIT} "
            f"characters (this one has {len(text)})",
        )
    if len(text) > 2000:
        raise reject("input.description", "keep it under 2000 characters")
    practice = db.get(GpPractice, principal.practice_id) if principal.practice_id else None
    if locality_id is None:
        if practice is None:
            raise reject(
                "input.localityId", "say which locality the need is in", ErrorCode.REQUIRED
            )
        locality_id = practice.locality_id
    if db.get(Locality, locality_id) is None or (
        principal.role is Role.LEAD_PROVIDER and locality_id not in principal.locality_ids
    ):
        raise not_found("input.localityId", "locality")
    need = UnmetNeed(
        domain=domain,
        locality_id=locality_id,
        description=text,
        practice_id=practice.id if practice else None,
        client_id=principal.client_id,
    )
    db.add(need)
    db.flush()
    record(db, principal, "unmet_need.record", "unmet_need", need.id,
           domain=domain.value if domain else "OTHER")  # fmt: skip
    return need


def unmet_needs(db: orm.Session, principal: Principal) -> list[UnmetNeed]:
    # Needs in one of the six domains: the GraphQL type's domain is non-null, so needs that
    # fit none ("other") are counted in the report and not listed here.
    query = (
        select(UnmetNeed)
        .where(UnmetNeed.domain.is_not(None))
        .order_by(UnmetNeed.recorded_at.desc(), UnmetNeed.id.desc())
    )
    if principal.role is Role.LEAD_PROVIDER:
        query = query.where(UnmetNeed.locality_id.in_(sorted(principal.locality_ids)))
    return list(db.scalars(query))


_SCALE_KEY = re.compile(r"[^a-z0-9]+")


def configure_star(
    db: orm.Session, principal: Principal, template_key: str, name: str, scales: list[str]
) -> OutcomeInstrument:
    """The lead provider's own version of a configurable instrument (its licensed star
    tool): the template's scale and direction, with the provider's named scales."""
    template = db.scalars(
        select(OutcomeInstrument).where(
            OutcomeInstrument.key == template_key,
            OutcomeInstrument.owner_provider_id.is_(None),
            OutcomeInstrument.configurable.is_(True),
        )
    ).first()
    if template is None:
        raise reject(
            "input.templateKey",
            f"'{template_key}' is not a configurable instrument; see `outcomeInstruments`",
            ErrorCode.NOT_FOUND,
        )
    label = (name or "").strip()
    cleaned = [s.strip() for s in scales if s.strip()]
    problems = []
    if not label or len(label) > 200:
        problems.append(
            Problem("input.name", "give a name of 1 to 200 characters", ErrorCode.REQUIRED)
        )
    keys = [_SCALE_KEY.sub("_", s.lower()).strip("_")[:60] for s in cleaned]
    if not 2 <= len(cleaned) <= 20 or any(len(s) > 200 for s in cleaned) or not all(keys):
        problems.append(
            Problem(
                "input.scales",
                "give 2 to 20 scale names of up to 200 characters",
                ErrorCode.INVALID,
            )
        )
    elif len(set(keys)) != len(keys):
        problems.append(
            Problem("input.scales", "each scale needs a different name", ErrorCode.INVALID)
        )
    if problems:
        raise Rejected(problems)
    provider = db.get(Provider, principal.provider_id)
    assert provider is not None
    key = f"{template.key}-{provider.key}"[:80]
    row = db.scalars(select(OutcomeInstrument).where(OutcomeInstrument.key == key)).first()
    if row is None:
        row = OutcomeInstrument(key=key, owner_provider_id=provider.id, configurable=False)
        db.add(row)
    row.name = label
    row.description = f"{provider.name}'s configuration of {template.name}"
    row.scale_min, row.scale_max = template.scale_min, template.scale_max
    row.direction = template.direction
    row.scale_labels = template.scale_labels
    row.items = [
        {"key": k, "text": s, "direction": template.direction.value}
        for k, s in zip(keys, cleaned, strict=True)
    ]
    db.flush()
    record(db, principal, "instrument.configure", "outcome_instrument", row.id)
    return row
