"""Synthetic demo referrals (directory_data/demo_referrals.yaml): clearly fictional people,
NHS numbers from the reserved 999 test range, every status, assessments, signposts,
attendance, outcomes and NHS use; plan reviews with level changes and plan revisions, and
follow-ups at and after the end of support. Deterministic (a fixed seed) and idempotent:
each has the idempotency key ``demo-NNNN``, so loading again creates nothing.

They are made through the same domain functions the API uses, so they obey every rule."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import orm, select

from api.access.models import Role
from api.access.tokens import Principal
from api.config import Settings
from api.directory.enums import Domain, ListingStatus
from api.directory.loading import LoadError, LoadReport, Problem
from api.directory.models import GpPractice, Locality, Provider, Session
from api.outcomes.enums import NhsUsePeriod, TimePoint
from api.outcomes.models import OutcomeInstrument
from api.outcomes.recording import (
    NhsUseIn,
    OutcomeIn,
    record_nhs_use,
    record_outcome,
    record_unmet_need,
)
from api.referrals import care, equality, intake, lifecycle, reviews
from api.referrals.enums import ContactMethod, SupportLevel, Urgency
from api.referrals.enums import ReferralStatus as S
from api.referrals.models import Referral
from api.referrals.nhs_number import check_digit
from api.referrals.plan_models import ReviewKind, ReviewState
from api.referrals.protection import Protector, protector
from api.referrals.working_days import LONDON, add_working_days, is_working_day
from api.reports.imd import ImdDecile, import_imd

GIVEN = [
    "Ada", "Bilal", "Ceri", "Dorota", "Eben", "Fatima", "Gwen", "Hamza", "Iris", "Jomo",
    "Kasia", "Lemuel", "Mirela", "Nuala", "Obi", "Parveen", "Quentin", "Rukhsana", "Sefton",
    "Tamsin", "Umar", "Vesna", "Wilf", "Yusuf", "Zainab",
]  # fmt: skip
FAMILY = [
    "Testworth", "Sampleton", "Fictional", "Demoford", "Exampleby", "Madeup", "Pretendle",
    "Notreal", "Mockridge", "Dummett",
]  # fmt: skip
REASONS = [
    "Type 2 diabetes; lonely since moving to the area.",
    "COPD; wants to be more active but worried about breathlessness.",
    "Low mood after retiring; would like something to do.",
    "Arthritis; struggling with benefits paperwork.",
    "Heart failure; cares for a partner and rarely gets out.",
]
GOALS = ["Get out of the house twice a week", "Walk to the shops again", "Meet new people",
         "Sort out money worries", "Cook healthier meals"]  # fmt: skip
BARRIERS = ["Worried about going alone the first time", "Buses are rare in the evening",
            "Pain on bad days", "Money is tight"]  # fmt: skip
LANGUAGES = ["en"] * 7 + ["bn", "so", "pl", "ur", "pa"]


# Needs a link worker may find that nothing in the directory meets (for the reports' "unmet
# need against supply"), weighted so that some domains stand out.
UNMET = [
    (
        Domain.PHYSICAL_ACTIVITY,
        "Chair-based exercise near home, for someone who cannot walk far",
        3,
    ),
    (Domain.HEALTHY_EATING, "Cooking on a budget for one, in the evening", 2),
    (Domain.BEFRIENDING, "A befriender who speaks Polish", 4),
    (Domain.BEFRIENDING, "Telephone befriending at weekends", 3),
    (Domain.WELFARE_RIGHTS, "Help with a benefits appeal within two weeks", 5),
    (Domain.ARTS_FOR_HEALTH, "A craft group for men", 1),
    (Domain.VOLUNTEERING, "Volunteering that suits someone with a learning disability", 2),
]


class DemoFile(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    seed: int
    count: int = Field(ge=0, le=5000)
    start: dt.date = Field(alias="from")
    until: dt.date


def _nhs_numbers(rng: random.Random) -> list[str]:
    found = []
    for n in rng.sample(range(1, 999_999), 6000):
        nine = f"999{n:06d}"
        digit = check_digit(nine)
        if digit is not None:
            found.append(nine + str(digit))
    return found


def _at(day: dt.date, rng: random.Random) -> dt.datetime:
    moment = dt.datetime.combine(day, dt.time(rng.randint(9, 16), rng.randint(0, 59)), LONDON)
    return moment.astimezone(dt.UTC)


def _target(rng: random.Random) -> S:
    return rng.choices(
        [S.RECEIVED, S.CONTACTED, S.ASSESSED, S.ACTIVE, S.COMPLETED, S.DID_NOT_ATTEND,
         S.DECLINED, S.CLOSED],
        weights=[8, 8, 8, 20, 34, 6, 9, 7],
    )[0]  # fmt: skip


def seed_from_file(db: orm.Session, path: Path, settings: Settings, report: LoadReport) -> None:
    try:
        spec = DemoFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError) as exc:
        raise LoadError([Problem(path.name, 1, f"demo referrals: {exc}")]) from None
    if spec.until < spec.start:
        raise LoadError([Problem(path.name, 1, "demo referrals: `until` is before `from`")])
    _demo_imd(db, path.parent / DEMO_IMD)
    seed_demo_referrals(db, spec, settings, report)


# Synthetic IMD deciles for the demo area's fictional postcodes (not real deprivation data).
DEMO_IMD = "imd_deciles_SYNTHETIC_demo.csv"


def _demo_imd(db: orm.Session, path: Path) -> None:
    """The demo's synthetic IMD lookup, unless a real one was imported (never replaced)."""
    if path.exists() and db.scalar(select(ImdDecile.postcode).limit(1)) is None:
        with path.open(newline="", encoding="utf-8") as handle:
            import_imd(db, handle)


DNA_PRACTICE = "C81002"  # the demo practice whose referrals miss appointments most often
OTHER_NEEDS = (
    "Help to care for a pet while in hospital",
    "A quiet prayer space near home",
    "Transport to sessions after dark",
    "Support with gambling",
)


def seed_demo_referrals(
    db: orm.Session, spec: DemoFile, settings: Settings, report: LoadReport
) -> None:
    guard = protector(settings)
    rng = random.Random(spec.seed)
    numbers = _nhs_numbers(rng)
    practices = list(db.scalars(select(GpPractice).order_by(GpPractice.ods_code)))
    instruments = {i.key: i for i in db.scalars(select(OutcomeInstrument))}
    sessions = list(
        db.scalars(
            select(Session)
            .join(Provider, Provider.id == Session.provider_id)
            .where(Provider.status == ListingStatus.PUBLISHED)
            .order_by(Session.id)
        )
    )
    if not practices or not sessions:
        return
    leads = {loc.id: loc.lead_provider_id for loc in db.scalars(select(Locality))}
    locality_ids: dict[int, frozenset[int]] = {}
    for loc_id, lead_id in leads.items():
        if lead_id is not None:
            locality_ids[lead_id] = locality_ids.get(lead_id, frozenset()) | {loc_id}
    existing = set(
        db.scalars(select(Referral.idempotency_key).where(Referral.idempotency_key.like("demo-%")))
    )
    span = (spec.until - spec.start).days
    for i in range(spec.count):
        # Draw everything for this referral first, so skipping one on reload leaves the
        # rest identical.
        r = random.Random(rng.random())
        key = f"demo-{i + 1:04d}"
        practice = practices[i % len(practices)]
        day = spec.start + dt.timedelta(days=r.randint(0, span))
        while not is_working_day(day):
            day += dt.timedelta(days=1)
        if key in existing or day > spec.until:
            report.count("demo referral", "unchanged")
            continue
        _one(db, r, key, numbers[i], practice, day, spec.until, guard, leads, locality_ids,
             instruments, sessions, settings)  # fmt: skip
        report.count("demo referral", "created")


def _unmet_need(
    db: orm.Session, lead: Principal, key: str, practice: GpPractice, at: dt.datetime
) -> None:
    """Some assessments find a need nothing meets. Drawn from the referral's own key, so the
    referrals' other random draws (and so the rest of the demo) are unchanged."""
    r = random.Random(f"{key}:unmet")
    if r.random() >= 0.45:
        return
    domain, text, _weight = r.choices(UNMET, weights=[w for *_x, w in UNMET])[0]
    need = record_unmet_need(db, lead, domain, text, practice.locality_id)
    need.recorded_at = at
    # Now and then one that fits none of the six domains ("other", a short description).
    if r.random() < 0.3:
        need = record_unmet_need(db, lead, None, r.choice(OTHER_NEEDS), practice.locality_id)
        need.recorded_at = at


def _missed_first(
    referral: Referral,
    key: str,
    practice: GpPractice,
    contacted: dt.datetime,
    limit: dt.datetime,
    go: Callable[[S, dt.datetime | None], bool],
) -> None:
    """Some people miss their first appointment and are contacted again the same day; more
    often from one practice (the report's did-not-attend by practice shows it). Drawn from
    the referral's own key, so the rest of the demo is unchanged."""
    d = random.Random(f"{key}:dna")
    often = practice.ods_code == DNA_PRACTICE
    if d.random() >= (0.7 if often else 0.2):
        return
    day = add_working_days(contacted.astimezone(LONDON).date(), 1)
    missed = dt.datetime.combine(day, dt.time(10), LONDON).astimezone(dt.UTC)
    again = dt.datetime.combine(day, dt.time(15), LONDON).astimezone(dt.UTC)
    if again <= limit and go(S.DID_NOT_ATTEND, missed):
        go(S.CONTACTED, again)


def _equality(
    db: orm.Session, referral: Referral, key: str, guard: Protector, postcodes: list[str]
) -> None:
    """Equality data for most demo referrals, drawn from the referral's own key (so the
    rest of the demo is unchanged); some people choose to record nothing."""
    r = random.Random(f"{key}:equality")
    if r.random() < 0.15 or not postcodes:
        return
    data = equality.EqualityIn(
        sex=r.choice(["1", "2", "2", "9", "X", None]),
        ethnic_category=r.choices(list(equality.ETHNIC_CATEGORIES),
                                  weights=[40, 3, 6, 2, 2, 2, 2, 6, 6, 4, 2, 3, 4, 1, 2, 2, 8])[0],
        long_term_conditions=tuple(
            r.sample(list(equality.conditions()), r.choice([0, 1, 1, 2, 3]))
        ),
    )  # fmt: skip
    equality.record(db, referral, data, guard, postcode=r.choice(postcodes))


def _reviews(
    db: orm.Session,
    lead: Principal,
    referral: Referral,
    key: str,
    until: dt.datetime,
    guard: Protector,
) -> None:
    """Plan reviews held while support goes on: the level reassessed (sometimes changed) and
    now and then a new revision of the plan. Drawn from the referral's own key, so the
    other draws (and the rest of the demo) are unchanged."""
    r = random.Random(f"{key}:reviews")
    for _ in range(3):  # (enough to show; more makes the demo slow to load)
        due = [x for x in reviews.reviews_of(db, referral.id)
               if x.state is ReviewState.DUE and x.kind is ReviewKind.REVIEW]  # fmt: skip
        if not due or due[0].due_on > until.astimezone(LONDON).date():
            return
        held = due[0].due_on + dt.timedelta(days=r.randint(0, 3))
        moment = _at(held, r)
        if moment > until:
            return
        reached = r.random() < 0.85
        level = referral.support_level
        if reached and level is not None and r.random() < 0.3:
            order = list(SupportLevel)
            level = order[max(0, min(2, order.index(level) + r.choice([-1, 1])))]
        reviews.complete_review(
            db, lead, referral.id, due[0].id, done_on=held, reached=reached,
            support_level=level if reached else None, now=moment,
        )  # fmt: skip
        if reached and r.random() < 0.35 and level is not None:
            care.record_assessment(
                db, lead, referral.id,
                care.AssessmentIn(level, tuple(r.sample(GOALS, 2)),
                                  "Reviewed together: kept what works, changed the rest.",
                                  barriers=r.choice(BARRIERS)),
                guard, now=moment,
            )  # fmt: skip


def _follow_ups(
    db: orm.Session, lead: Principal, referral: Referral, key: str, limit: dt.datetime
) -> None:
    """The end-of-support and later follow-ups that have come round, mostly held."""
    r = random.Random(f"{key}:follow-ups")
    for row in reviews.reviews_of(db, referral.id):
        if row.state is not ReviewState.DUE or row.kind is ReviewKind.REVIEW:
            continue
        moment = _at(row.due_on, r)
        if moment > limit or r.random() < 0.2:
            continue
        reviews.complete_review(
            db, lead, referral.id, row.id, done_on=row.due_on, reached=r.random() < 0.8,
            now=moment,
        )  # fmt: skip


def _one(
    db: orm.Session,
    r: random.Random,
    key: str,
    number: str,
    practice: GpPractice,
    day: dt.date,
    until: dt.date,
    guard: Protector,
    leads: dict[int, int | None],
    locality_ids: dict[int, frozenset[int]],
    instruments: dict[str, OutcomeInstrument],
    sessions: list[Session],
    settings: Settings,
) -> None:
    # Demo actors: principals with no API client behind them (client_id None; the audit
    # log names them "demo data").
    gp = Principal(None, "demo data", Role.GP_PRACTICE, practice_id=practice.id)  # type: ignore[arg-type]
    lead_id = leads.get(practice.locality_id)
    lead = Principal(
        None, "demo data", Role.LEAD_PROVIDER, provider_id=lead_id,  # type: ignore[arg-type]
        locality_ids=locality_ids.get(lead_id or -1, frozenset()),
    )  # fmt: skip
    given, family = r.choice(GIVEN), r.choice(FAMILY)
    born = dt.date(r.randint(1935, 1995), r.randint(1, 12), r.randint(1, 28))
    method = r.choice([ContactMethod.PHONE, ContactMethod.PHONE, ContactMethod.TEXT_MESSAGE])
    data = intake.ReferralIn(
        person=intake.PersonIn(
            nhs_number=number,
            given_name=given,
            family_name=family,
            date_of_birth=born,
            contact=intake.ContactIn(method, phone=f"07700 900{r.randint(0, 999):03d}"),
            preferred_language=r.choice(LANGUAGES),
            needs_interpreter=r.random() < 0.1,
        ),
        reason=r.choice(REASONS),
        what_matters=r.choice(GOALS),
        domains=tuple(sorted(set(r.sample(list(Domain), r.randint(1, 2))))),
        consent_to_refer=True,
        consent_share_outcomes=r.random() < 0.8,
        urgency=Urgency.URGENT if r.random() < 0.1 else Urgency.ROUTINE,
    )
    received = _at(day, r)
    referral, _ = intake.create_referral(
        db, gp, data, key, guard, now=received,  # type: ignore[arg-type]
        contact_target_days=settings.contact_target_working_days,
    )  # fmt: skip
    postcodes = list(db.scalars(select(ImdDecile.postcode).order_by(ImdDecile.postcode)))
    _equality(db, referral, key, guard, postcodes)
    target = _target(r)
    if target is S.RECEIVED:
        return
    limit = dt.datetime.combine(until, dt.time(17), LONDON).astimezone(dt.UTC)

    def when(after: dt.datetime, working_days: int) -> dt.datetime | None:
        moment = _at(add_working_days(after.astimezone(LONDON).date(), working_days), r)
        return moment if moment <= limit else None

    def go(status: S, at: dt.datetime | None) -> bool:
        if at is None:
            return False
        lifecycle.change_status(db, lead, referral, status, guard, now=at)  # type: ignore[arg-type]
        return True

    if target in (S.DECLINED, S.CLOSED) and r.random() < 0.5:
        go(target, when(received, r.randint(2, 8)))
        return
    contacted = when(received, r.choices([1, 2, 3, 4, 5, 6, 8], [10, 20, 20, 15, 15, 10, 10])[0])
    if not go(S.CONTACTED, contacted):
        return
    assert contacted is not None
    if target in (S.DECLINED, S.CLOSED, S.DID_NOT_ATTEND) and r.random() < 0.5:
        go(target, when(contacted, r.randint(3, 10)))
        return
    if target is S.CONTACTED:
        return
    _missed_first(referral, key, practice, contacted, limit, go)
    assessed = when(contacted, r.randint(2, 8))
    if assessed is None:
        return
    level = r.choices(list(SupportLevel), [40, 40, 20])[0]
    care.record_assessment(
        db, lead, referral.id,  # type: ignore[arg-type]
        care.AssessmentIn(level, tuple(r.sample(GOALS, 2)), "Agreed steps with the link worker.",
                          co_morbidities=r.randint(1, 4), mental_health_need=r.random() < 0.4,
                          mobility_need=r.random() < 0.3, missed_appointments=r.randint(0, 3)),
        guard, now=assessed,  # type: ignore[arg-type]
    )  # fmt: skip
    go(S.ASSESSED, assessed)
    _unmet_need(db, lead, key, practice, assessed)
    baseline = {k: {} for k in ("ons4", "ltc6") if k in instruments}
    for k, inst in instruments.items():
        if k in baseline:
            for item in inst.items:
                baseline[k][item["key"]] = r.randint(
                    inst.scale_min, (inst.scale_min + inst.scale_max) // 2
                )
    for k, scores in baseline.items():
        record_outcome(db, lead, OutcomeIn(referral.id, k, TimePoint.BASELINE,
                       assessed.astimezone(LONDON).date(), scores), now=assessed)  # type: ignore[arg-type]  # fmt: skip
    if r.random() < 0.85:
        record_nhs_use(db, gp, NhsUseIn(referral.id, NhsUsePeriod.BEFORE, r.randint(3, 14),
                       r.randint(0, 3), r.randint(0, 2), r.randint(4, 30)), now=assessed)  # type: ignore[arg-type]  # fmt: skip
    if target in (S.ASSESSED,):
        return
    if target in (S.DECLINED, S.CLOSED, S.DID_NOT_ATTEND):
        go(target, when(assessed, r.randint(3, 10)))
        return
    active = when(assessed, r.randint(2, 6))
    if active is None:
        return
    chosen = r.sample(sessions, r.randint(1, 3))
    care.signpost(db, lead, referral.id, [s.id for s in chosen], now=active)  # type: ignore[arg-type]
    go(S.ACTIVE, active)
    for week in range(1, r.randint(2, 8)):
        on = (active + dt.timedelta(weeks=week)).astimezone(LONDON).date()
        if on > until:
            break
        care.record_attendance(db, lead, referral.id, chosen[0].id, on, r.random() < 0.8,  # type: ignore[arg-type]
                               now=_at(on, r))  # fmt: skip
    ended = when(active, r.randint(40, 70)) if target is not S.ACTIVE else None
    _reviews(db, lead, referral, key, ended or limit, guard)  # type: ignore[arg-type]
    if target is S.ACTIVE:
        return
    if not go(S.COMPLETED, ended):
        return
    assert ended is not None
    _follow_ups(db, lead, referral, key, limit)  # type: ignore[arg-type]
    for k, scores in baseline.items():
        inst = instruments[k]
        after = {}
        for item in inst.items:
            better = 1 if item["direction"] == "HIGHER_IS_BETTER" else -1
            value = scores[item["key"]] + better * r.randint(-1, 3)
            after[item["key"]] = max(inst.scale_min, min(inst.scale_max, value))
        record_outcome(db, lead, OutcomeIn(referral.id, k, TimePoint.END,
                       ended.astimezone(LONDON).date(), after), now=ended)  # type: ignore[arg-type]  # fmt: skip
        follow = ended + dt.timedelta(days=183)
        if follow <= limit:
            record_outcome(db, lead, OutcomeIn(referral.id, k, TimePoint.FOLLOW_UP,
                           follow.astimezone(LONDON).date(), after, follow_up_months=6),
                           now=follow)  # type: ignore[arg-type]  # fmt: skip
    after_use = ended + dt.timedelta(days=183)
    if after_use <= limit and r.random() < 0.85:
        record_nhs_use(db, gp, NhsUseIn(referral.id, NhsUsePeriod.AFTER, r.randint(1, 10),
                       r.randint(0, 2), r.randint(0, 1), r.randint(2, 24)), now=after_use)  # type: ignore[arg-type]  # fmt: skip
