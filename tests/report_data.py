"""A small fixed data set for the report tests, and an independent calculation of every
figure the report should show from it.

``make_people`` describes each referral in plain Python (its dates, status changes,
assessment, signposts, attendance, outcome scores, NHS use); ``seed`` puts them in a database
through the same domain functions the API uses; ``expected`` works out every table cell from
the descriptions alone (plain Python, numpy for working days, scipy's t interval), never from
the report's SQL.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pytest
from dateutil.relativedelta import relativedelta
from scipy import stats
from sqlalchemy import select

from api.access.models import Role
from api.access.tokens import Principal
from api.config import get_settings
from api.db import Database
from api.directory.enums import Domain, ListedBy, ListingStatus, ProviderKind, Relationship
from api.directory.models import (
    GpPractice,
    Locality,
    Provider,
    Session,
    SessionDomain,
    Venue,
)
from api.outcomes.enums import NhsUsePeriod, TimePoint
from api.outcomes.instruments import load_instruments
from api.outcomes.recording import (
    NhsUseIn,
    OutcomeIn,
    record_nhs_use,
    record_outcome,
    record_unmet_need,
)
from api.referrals import care, intake, levels, lifecycle
from api.referrals.enums import ContactMethod, SupportLevel
from api.referrals.enums import ReferralStatus as S
from api.referrals.equality import EqualityIn
from api.referrals.models import Referral
from api.referrals.protection import protector
from api.referrals.purge import purge
from api.reports.imd import import_imd

LONDON = ZoneInfo("Europe/London")
START, END = dt.date(2024, 4, 1), dt.date(2025, 3, 31)  # a financial year
AS_OF = dt.date(2025, 6, 30)
ENCRYPTION_KEY = "report-test-key-0123456789abcdef"
SESSIONS = {  # session key -> provider key (tests/data/mini)
    "cookery": "lead-north",
    "befriending": "lead-north",
    "knit": "knitters",
    "winter-fair": "knitters",
    "dog-walking": "shelter",
}
TARIFF = {SupportLevel.LOW: 70, SupportLevel.MEDIUM: 150, SupportLevel.HIGH: 260}
MAINTENANCE, MAINTENANCE_DAYS = 24, 365
UNIT_COSTS = {
    "gp_appointments": Decimal(42),
    "ae_attendances": Decimal(200),
    "unplanned_admissions": Decimal(2000),
    "prescriptions": Decimal(9),
}
INSTRUMENTS = {"ons4": (0, 10), "ltc6": (0, 3)}
IMD = {"AT1 1AA": 2, "AT1 2AB": 7, "AT2 1AA": 10}  # the test lookup (AT9 9ZZ is not in it)
PURGED_BEFORE = dt.datetime(2025, 5, 31, tzinfo=dt.UTC)  # closed before this: purged by seed
REVERSED = {("ons4", "anxiety")}


def london(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), LONDON).astimezone(dt.UTC)


@dataclass
class Person:
    key: str
    practice: str
    received: dt.datetime
    domains: tuple[Domain, ...]
    events: list[tuple[S, dt.datetime]] = field(default_factory=list)
    level: SupportLevel | None = None
    assessed_at: dt.datetime | None = None
    sessions: list[str] = field(default_factory=list)
    attendance: list[tuple[str, dt.date, bool]] = field(default_factory=list)
    # instrument key -> time point -> {item: score}
    outcomes: dict[str, dict[TimePoint, dict[str, int]]] = field(default_factory=dict)
    nhs: dict[NhsUsePeriod, tuple[int, int, int, int]] = field(default_factory=dict)
    # Equality data as recorded (None: not recorded) and the postcode of the contact details.
    equality: EqualityIn | None = None
    postcode: str | None = None
    # Reassessments: (the day the level applies from, the level), in the order recorded.
    level_changes: list[tuple[dt.date, SupportLevel]] = field(default_factory=list)

    def level_on(self, day: dt.date) -> SupportLevel | None:
        """The level in force on ``day`` (the last one recorded for a day wins)."""
        assert self.level is not None and self.assessed_at is not None
        found = None
        for on, level in sorted([(local(self.assessed_at), self.level), *self.level_changes],
                                key=lambda c: c[0]):  # fmt: skip
            if on <= day:
                found = level
        return found

    def level_at_end(self) -> SupportLevel | None:
        """The level the report counts: in force at the period's end, or (assessed only
        after it) the level now."""
        if self.level is None:
            return None
        return self.level_on(END) or self.level_on(dt.date.max)


@dataclass
class Need:
    domain: Domain | None  # None: fits none of the six domains ("other")
    locality: str
    at: dt.datetime


ITEMS = {
    "ons4": ["life_satisfaction", "worthwhile", "happiness", "anxiety"],
    "ltc6": ["information", "confidence", "support", "involvement", "care_plan", "living_well"],
}


def _scores(rng: random.Random, key: str, level: int) -> dict[str, int]:
    lo, hi = INSTRUMENTS[key]
    out = {}
    for item in ITEMS[key]:
        value = max(lo, min(hi, level + rng.randint(-1, 1)))
        out[item] = hi + lo - value if (key, item) in REVERSED else value
    return out


def _better(rng: random.Random, key: str, scores: dict[str, int]) -> dict[str, int]:
    lo, hi = INSTRUMENTS[key]
    step = rng.choice([-1, 0, 0, 1, 1, 2] if hi > 3 else [-1, 0, 1, 1])
    out = {}
    for item, value in scores.items():
        move = -step if (key, item) in REVERSED else step
        out[item] = max(lo, min(hi, value + move + rng.choice([0, 0, 1, -1])))
    return out


def make_people() -> tuple[list[Person], list[Need]]:
    rng = random.Random(6)
    people: list[Person] = []

    def later(moment: dt.datetime, days: int, hour: int = 11) -> dt.datetime:
        day = moment.astimezone(LONDON).date() + dt.timedelta(days=days)
        return london(day, hour, rng.randint(0, 59))

    # At the edges of the period: 00:30 on 1 April 2024 in England is still 31 March in UTC
    # (in); 00:30 on 1 April 2025 is 31 March 2025 23:30 UTC (out), and some well outside.
    edges = [
        dt.datetime(2024, 3, 31, 23, 30, tzinfo=dt.UTC),
        dt.datetime(2025, 3, 31, 23, 30, tzinfo=dt.UTC),
        london(dt.date(2024, 2, 12), 10),
        london(dt.date(2025, 4, 14), 10),
    ]
    plans = ["RECEIVED", "DECLINED", "CONTACTED", "DNA", "ASSESSED", "ACTIVE", "COMPLETED",
             "CLOSED"]  # fmt: skip
    weights = [6, 4, 5, 7, 5, 14, 44, 5]
    for i in range(96):
        practice = "T00002" if i % 5 == 0 else "T00001"
        if i < len(edges):
            received = edges[i]
        else:
            day = START + dt.timedelta(days=rng.randint(0, 364))
            while day.weekday() >= 5:
                day += dt.timedelta(days=1)
            received = london(day, rng.randint(9, 16), rng.randint(0, 59))
        domains = tuple(sorted(set(rng.sample(list(Domain), rng.choice([1, 1, 2])))))
        p = Person(f"p{i:03d}", practice, received, domains)
        people.append(p)
        plan = rng.choices(plans, weights)[0]
        if plan == "RECEIVED":
            continue
        if plan == "DECLINED" and rng.random() < 0.6:
            p.events.append((S.DECLINED, later(received, 4)))
            continue
        contacted = later(received, rng.choice([1, 2, 3, 5, 6, 7, 8, 10, 13]))
        p.events.append((S.CONTACTED, contacted))
        if plan in ("CONTACTED", "DECLINED"):
            if plan == "DECLINED":
                p.events.append((S.DECLINED, later(contacted, 5)))
            continue
        if plan == "DNA":
            p.events.append((S.DID_NOT_ATTEND, later(contacted, 7)))
            if rng.random() < 0.5:
                continue
            contacted = later(contacted, 14)
            p.events.append((S.CONTACTED, contacted))  # re-engaged
            plan = "COMPLETED" if rng.random() < 0.7 else "ACTIVE"
        assessed = later(contacted, rng.randint(3, 12))
        p.level = rng.choices(list(SupportLevel), [4, 4, 2])[0]
        p.assessed_at = assessed
        for key, level_range in (("ons4", (1, 8)), ("ltc6", (0, 2))):
            if rng.random() < 0.85:
                p.outcomes[key] = {TimePoint.BASELINE: _scores(rng, key, rng.randint(*level_range))}
        if rng.random() < 0.75:
            before = (rng.randint(2, 12), rng.randint(0, 3), rng.randint(0, 2), rng.randint(3, 25))
            p.nhs[NhsUsePeriod.BEFORE] = before
        p.events.append((S.ASSESSED, assessed))
        if plan == "ASSESSED":
            continue
        if plan == "CLOSED":
            p.events.append((S.CLOSED, later(assessed, 6)))
            continue
        active = later(assessed, rng.randint(2, 9))
        p.sessions = rng.sample(sorted(SESSIONS), rng.randint(1, 3))
        p.events.append((S.ACTIVE, active))
        first = p.sessions[0]
        for week in range(1, rng.randint(2, 6)):
            p.attendance.append(
                (first, (active + dt.timedelta(weeks=week)).date(), rng.random() < 0.8)
            )
        # A year on: still coming (the maintenance incentive), or not quite a year.
        roll = rng.random()
        if roll < 0.3:
            p.attendance.append(
                (first, active.date() + dt.timedelta(days=365 + rng.randint(0, 40)), True)
            )
        elif roll < 0.4:
            p.attendance.append(
                (first, active.date() + dt.timedelta(days=rng.randint(300, 364)), True)
            )
        elif roll < 0.45:
            p.attendance.append((first, active.date() + dt.timedelta(days=400), False))
        if plan == "ACTIVE":
            continue
        ended = later(active, rng.randint(40, 90))
        p.events.append((S.COMPLETED, ended))
        for key, by_time in p.outcomes.items():
            if rng.random() < 0.9:
                by_time[TimePoint.END] = _better(rng, key, by_time[TimePoint.BASELINE])
        if NhsUsePeriod.BEFORE in p.nhs and rng.random() < 0.8:
            b = p.nhs[NhsUsePeriod.BEFORE]
            p.nhs[NhsUsePeriod.AFTER] = (
                max(0, b[0] - rng.randint(-2, 5)),
                max(0, b[1] - rng.randint(-1, 2)),
                max(0, b[2] - rng.randint(-1, 2)),
                max(0, b[3] - rng.randint(-3, 10)),
            )

    # Equality data, from its own random stream so the rest of the data set is unchanged:
    # some people record nothing; postcodes with and without an IMD decile in the lookup.
    eq = random.Random(16)
    for p in people:
        p.postcode = eq.choice([*IMD, "AT9 9ZZ", None])
        if eq.random() < 0.2:
            continue
        p.equality = EqualityIn(
            sex=eq.choice(["1", "2", "2", None, "X"]),
            ethnic_category=eq.choice(["A", "A", "A", "C", "H", "N", "Z", None]),
            long_term_conditions=tuple(
                eq.sample(["asthma", "diabetes", "copd", "mental_health"], eq.choice([0, 1, 2]))
            ),
        )

    # Reassessments, from their own random stream: within the period (pro rata tariff),
    # after its end (not in this report), and one the same day as the assessment (the later
    # record wins).
    again = random.Random(18)
    for p in people:
        if p.level is None or p.assessed_at is None or again.random() > 0.45:
            continue
        day = local(p.assessed_at)
        for _ in range(again.choice([1, 1, 2])):
            day += dt.timedelta(days=again.choice([0, 30, 61, 120, 200, 290]))
            p.level_changes.append((day, again.choice(list(SupportLevel))))

    needs = []
    for _ in range(40):
        day = dt.date(2024, 2, 1) + dt.timedelta(days=rng.randint(0, 500))
        needs.append(
            Need(
                rng.choices(list(Domain), [3, 2, 1, 5, 6, 1])[0],
                rng.choice(["north", "north", "south"]),
                london(day, 12),
            )
        )
    # Needs that fit no domain, from their own random stream (the rest stays the same).
    other = random.Random(17)
    for _ in range(9):
        day = dt.date(2024, 4, 1) + dt.timedelta(days=other.randint(0, 364))
        needs.append(Need(None, other.choice(["north", "south"]), london(day, 12)))
    return people, needs


# ---------------------------------------------------------------------------------------------
# Putting it in a database, through the domain functions.


def seed(db: Database, people: list[Person], needs: list[Need]) -> None:
    settings = get_settings(encryption_key=ENCRYPTION_KEY)
    guard = protector(settings)
    with db.session() as s:
        lookup = "postcode,imd_decile\n" + "".join(f"{k},{v}\n" for k, v in IMD.items())
        import_imd(s, io.StringIO(lookup))
        practices = {p.ods_code: p for p in s.scalars(select(GpPractice))}
        localities = {loc.key: loc.id for loc in s.scalars(select(Locality))}
        lead_id = s.scalar(select(Provider.id).where(Provider.key == "lead-north"))
        sessions = {
            row.key: row.id
            for row in s.scalars(select(Session).join(Provider, Provider.id == Session.provider_id))
        }
        lead = Principal(None, "test", Role.LEAD_PROVIDER, provider_id=lead_id,  # type: ignore[arg-type]
                         locality_ids=frozenset(localities.values()))  # fmt: skip
        for n, p in enumerate(people):
            practice = practices[p.practice]
            gp = Principal(None, "test", Role.GP_PRACTICE, practice_id=practice.id)  # type: ignore[arg-type]
            data = intake.ReferralIn(
                person=intake.PersonIn(
                    nhs_number=_nhs_number(n),
                    given_name="Test",
                    family_name=f"Person{n}",
                    date_of_birth=dt.date(1950, 1, 1) + dt.timedelta(days=97 * n),
                    contact=intake.ContactIn(
                        ContactMethod.PHONE, phone="07700 900123", postcode=p.postcode
                    ),  # fmt: skip
                ),
                equality=p.equality,
                reason="Synthetic referral for the report tests.",
                consent_to_refer=True,
                consent_share_outcomes=True,
                domains=p.domains,
                consent_recorded_at=p.received,
            )
            referral, _ = intake.create_referral(s, gp, data, p.key, guard, now=p.received)  # type: ignore[arg-type]
            for status, at in p.events:
                if status is S.ASSESSED:
                    assert p.level is not None and p.assessed_at is not None
                    care.record_assessment(
                        s, lead, referral.id,
                        care.AssessmentIn(p.level, ("A goal",), "A plan."), guard,
                        now=p.assessed_at,
                    )  # fmt: skip
                    for key, by_time in p.outcomes.items():
                        record_outcome(s, lead, OutcomeIn(referral.id, key, TimePoint.BASELINE,
                                       at.astimezone(LONDON).date(), by_time[TimePoint.BASELINE]),
                                       now=at)  # fmt: skip
                    if NhsUsePeriod.BEFORE in p.nhs:
                        record_nhs_use(s, gp, NhsUseIn(referral.id, NhsUsePeriod.BEFORE,
                                       *p.nhs[NhsUsePeriod.BEFORE]), now=at)  # fmt: skip
                if status is S.ACTIVE:
                    care.signpost(s, lead, referral.id, [sessions[k] for k in p.sessions], now=at)
                lifecycle.change_status(s, lead, referral, status, guard, now=at)
                if status is S.COMPLETED:
                    for key, by_time in p.outcomes.items():
                        if TimePoint.END in by_time:
                            record_outcome(s, lead, OutcomeIn(referral.id, key, TimePoint.END,
                                           at.astimezone(LONDON).date(), by_time[TimePoint.END]),
                                           now=at)  # fmt: skip
                    if NhsUsePeriod.AFTER in p.nhs:
                        record_nhs_use(s, gp, NhsUseIn(referral.id, NhsUsePeriod.AFTER,
                                       *p.nhs[NhsUsePeriod.AFTER]), now=at)  # fmt: skip
            for on, level in p.level_changes:
                levels.record_level(s, referral, level, on, "test")
            for session_key, on, came in p.attendance:
                care.record_attendance(s, lead, referral.id, sessions[session_key], on, came,
                                       now=london(on, 18))  # fmt: skip
        for need in needs:
            row = record_unmet_need(s, lead, need.domain, "A need nothing meets.",
                                    localities[need.locality])  # fmt: skip
            row.recorded_at = need.at
        # A provider waiting for moderation, and one withdrawn: directory health counts them.
        for key, status in (("pending-group", ListingStatus.PENDING),
                            ("gone-group", ListingStatus.WITHDRAWN)):  # fmt: skip
            s.add(Provider(key=key, name=key, kind=ProviderKind.NTP,
                           relationship=Relationship.INFORMAL, locality_id=localities["north"],
                           listed_by=ListedBy.SELF_REGISTERED, status=status))  # fmt: skip
    # Referrals closed before the end of May 2025 lose their personal data; the report still
    # counts them.
    with db.session() as s:
        keys = protector(get_settings(encryption_key=ENCRYPTION_KEY)).keys
        purged = purge(s, retention_days=30, keys=keys, now=dt.datetime(2025, 6, 30, tzinfo=dt.UTC))
        assert purged > 10
        assert s.scalar(select(Referral.id).where(Referral.purged_at.is_not(None))) is not None


def guard() -> object:
    """The key to the data set's personal data: reports read equality data with it."""
    return protector(get_settings(encryption_key=ENCRYPTION_KEY))


def _nhs_number(n: int) -> str:
    from api.referrals.nhs_number import check_digit

    k = n * 7
    while True:
        nine = f"999{k:06d}"
        digit = check_digit(nine)
        if digit is not None:
            return nine + str(digit)
        k += 1


# ---------------------------------------------------------------------------------------------
# The independent calculation.


@dataclass(frozen=True)
class Count:
    """A published count: "<5" when 1 to 4; otherwise shown, or hidden as "[c]"."""

    value: int


@dataclass(frozen=True)
class Amount:
    """A published amount: shown, or hidden as "[c]" (to protect a count)."""

    value: float


@dataclass(frozen=True)
class Derived:
    """Shown exactly when every cell it rests on is shown (``extra``: may also be hidden
    because of a figure that is not printed, such as a sum of changes)."""

    value: float | None
    bases: tuple[tuple[str, str, str], ...]
    extra: bool = False


@dataclass(frozen=True)
class Plain:
    value: float | None


Expect = Count | Amount | Derived | Plain


def working_days(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (England and Wales)."""
    if end <= start:
        return 0
    years = range(start.year, end.year + 1)
    bank = [str(d) for d in holidays.country_holidays("GB", subdiv="ENG", years=years)]
    return int(
        np.busday_count(start + dt.timedelta(days=1), end + dt.timedelta(days=1), holidays=bank)
    )


def local(moment: dt.datetime) -> dt.date:
    return moment.astimezone(LONDON).date()


@dataclass
class World:
    """What the directory holds (read back as plain rows) for the expected figures."""

    localities: dict[str, tuple[int, str]]  # key -> (id, name)
    practices: dict[str, tuple[int, str, str]]  # ODS -> (id, name, locality key)
    providers: list[dict]
    sessions: list[dict]  # {"provider": id, "locality": id | None, "domains": [...], "pub": bool}
    relationship: dict[str, Relationship]  # provider key -> relationship
    provider_of: dict[str, str]  # session key -> provider key
    # session key -> (session id, provider id, provider published?)
    session_ids: dict[str, tuple[int, int, bool]] = field(default_factory=dict)


def read_world(db: Database) -> World:
    with db.session() as s:
        locs = {loc.key: (loc.id, loc.name) for loc in s.scalars(select(Locality))}
        key_of = {i: k for k, (i, _n) in locs.items()}
        practices = {
            p.ods_code: (p.id, p.name, key_of[p.locality_id]) for p in s.scalars(select(GpPractice))
        }
        providers = [
            {"id": p.id, "key": p.key, "locality": p.locality_id, "status": p.status,
             "listed_by": p.listed_by, "confirmed": p.last_confirmed_at,
             "relationship": p.relationship}
            for p in s.scalars(select(Provider))
        ]  # fmt: skip
        venues = {v.id: v.locality_id for v in s.scalars(select(Venue))}
        by_id = {p["id"]: p for p in providers}
        domains: dict[int, list[Domain]] = {}
        for row in s.scalars(select(SessionDomain)):
            domains.setdefault(row.session_id, []).append(Domain(row.domain))
        sessions = []
        provider_of = {}
        session_ids = {}
        for row in s.scalars(select(Session)):
            owner = by_id[row.provider_id]
            provider_of[row.key] = owner["key"]
            session_ids[row.key] = (
                row.id,
                row.provider_id,
                owner["status"] is ListingStatus.PUBLISHED,
            )
            sessions.append({
                "provider": row.provider_id,
                "locality": venues.get(row.venue_id) if row.venue_id else owner["locality"],
                "domains": domains.get(row.id, []),
                "published": owner["status"] is ListingStatus.PUBLISHED,
            })  # fmt: skip
        relationship = {p["key"]: p["relationship"] for p in providers}
    return World(locs, practices, providers, sessions, relationship, provider_of, session_ids)


def expected(
    people: list[Person],
    needs: list[Need],
    world: World,
    *,
    localities: list[str] | None = None,  # locality keys; None: all
) -> tuple[dict[tuple[str, str, str], Expect], dict[str, set[str]]]:
    """Every cell, keyed (table, row, column); and the referral keys behind each published
    count of people (for the recoverability check)."""
    chosen = sorted(
        (k for k in world.localities if localities is None or k in localities),
        key=lambda k: (world.localities[k][1], world.localities[k][0]),
    )
    pop = [
        p
        for p in people
        if START <= local(p.received) <= END and world.practices[p.practice][2] in chosen
    ]
    cells: dict[tuple[str, str, str], Expect] = {}
    sets: dict[str, set[str]] = {}
    N = len(pop)
    everyone = {p.key for p in pop}
    total_cell = ("referrals_by_month", "total", "referrals")

    def pct(a: float, b: float) -> float | None:
        return None if not b else 100 * a / b

    # Referrals by month, locality, practice, domain.
    month = START.replace(day=1)
    while month <= END:
        members = {p.key for p in pop if local(p.received).strftime("%Y-%m") == f"{month:%Y-%m}"}
        cells["referrals_by_month", f"{month:%Y-%m}", "referrals"] = Count(len(members))
        sets[f"month {month:%Y-%m}"] = members
        month += relativedelta(months=1)
    cells[total_cell] = Count(N)
    sets["all"] = everyone
    for key in chosen:
        loc_id = world.localities[key][0]
        members = {p.key for p in pop if world.practices[p.practice][2] == key}
        cells["referrals_by_locality", str(loc_id), "referrals"] = Count(len(members))
        for ods, (pid, _name, loc) in world.practices.items():
            if loc == key:
                n = sum(1 for p in pop if p.practice == ods)
                cells["referrals_by_practice", f"{loc_id}:{pid}", "referrals"] = Count(n)
    cells["referrals_by_locality", "total", "referrals"] = Count(N)
    cells["referrals_by_practice", "total", "referrals"] = Count(N)
    for d in Domain:
        n = sum(1 for p in pop if d in p.domains)
        cells["referrals_by_domain", d.value, "referrals"] = Count(n)
        cells["referrals_by_domain", d.value, "share"] = Derived(
            pct(n, N), (("referrals_by_domain", d.value, "referrals"), total_cell)
        )
        sets[f"domain {d.value}"] = {p.key for p in pop if d in p.domains}

    # The lifecycle.
    stages = ["RECEIVED", "CONTACTED", "ASSESSED", "ACTIVE", "COMPLETED"]

    def reached(p: Person, stage: str) -> bool:
        return stage == "RECEIVED" or any(s.value == stage for s, _at in p.events)

    def status(p: Person) -> S:
        return p.events[-1][0] if p.events else S.RECEIVED

    for i, stage in enumerate(stages):
        members = {p.key for p in pop if reached(p, stage)}
        sets[f"reached {stage}"] = members
        cell = ("lifecycle_conversion", stage, "referrals")
        cells[cell] = Count(len(members))
        cells["lifecycle_conversion", stage, "of_received"] = Derived(
            pct(len(members), N), (cell, total_cell)
        )
        if i == 0:
            cells["lifecycle_conversion", stage, "of_previous"] = Plain(None)
        else:
            prev = sets[f"reached {stages[i - 1]}"]
            cells["lifecycle_conversion", stage, "of_previous"] = Derived(
                pct(len(members), len(prev)),
                (cell, ("lifecycle_conversion", stages[i - 1], "referrals")),
            )
    for s in S:
        members = {p.key for p in pop if status(p) is s}
        sets[f"status {s.value}"] = members
        cell = ("referral_status", s.value, "referrals")
        cells[cell] = Count(len(members))
        cells["referral_status", s.value, "share"] = Derived(
            pct(len(members), N), (cell, total_cell)
        )
    cells["referral_status", "total", "referrals"] = Count(N)
    cells["referral_status", "total", "share"] = Plain(None)

    contacted_cell = ("lifecycle_conversion", "CONTACTED", "referrals")
    dna = {p.key for p in pop if any(s is S.DID_NOT_ATTEND for s, _ in p.events)}
    sets["did not attend"] = dna
    n_contacted = len(sets["reached CONTACTED"])
    cells["dna_and_decline", "did_not_attend", "referrals"] = Count(len(dna))
    cells["dna_and_decline", "did_not_attend", "rate"] = Derived(
        pct(len(dna), n_contacted), (("dna_and_decline", "did_not_attend", "referrals"),
                                     contacted_cell)
    )  # fmt: skip
    declined = len(sets["status DECLINED"])
    cells["dna_and_decline", "declined", "referrals"] = Count(declined)
    cells["dna_and_decline", "declined", "rate"] = Derived(
        pct(declined, N), (("dna_and_decline", "declined", "referrals"), total_cell)
    )

    days = {}
    for p in pop:
        first = next((at for s, at in p.events if s is S.CONTACTED), None)
        if first is not None:
            days[p.key] = working_days(local(p.received), local(first))
    within = {k for k, d in days.items() if d <= 5}
    after = {k for k, d in days.items() if d > 5}
    sets["within target"], sets["after target"] = within, after
    fc = "first_contact"
    cells[fc, "all", "contacted"] = Count(len(days))
    cells[fc, "all", "median_days"] = Derived(
        statistics.median(days.values()) if days else None, ((fc, "all", "contacted"),)
    )
    cells[fc, "all", "within"] = Count(len(within))
    cells[fc, "all", "within_share"] = Derived(
        pct(len(within), len(days)), ((fc, "all", "within"), (fc, "all", "after"))
    )
    cells[fc, "all", "after"] = Count(len(after))

    # Did not attend by practice (a referral that ever had the status DID_NOT_ATTEND).
    dna_total = ("dna_and_decline", "did_not_attend", "referrals")
    for key in chosen:
        loc_id = world.localities[key][0]
        for ods, (pid, _name, loc) in world.practices.items():
            if loc != key:
                continue
            row = f"{loc_id}:{pid}"
            mine = [p for p in pop if p.practice == ods]
            missed = {p.key for p in mine if p.key in dna}
            sets[f"practice {row}"] = {p.key for p in mine}
            sets[f"practice dna {row}"] = missed
            cells["dna_by_practice", row, "referrals"] = Count(len(mine))
            cells["dna_by_practice", row, "did_not_attend"] = Count(len(missed))
            cells["dna_by_practice", row, "rate"] = Derived(
                pct(len(missed), len(mine)),
                (("dna_by_practice", row, "did_not_attend"), ("dna_by_practice", row, "referrals")),
            )
    cells["dna_by_practice", "total", "referrals"] = Count(N)
    cells["dna_by_practice", "total", "did_not_attend"] = Count(len(dna))
    cells["dna_by_practice", "total", "rate"] = Derived(
        pct(len(dna), N), (("dna_by_practice", "total", "did_not_attend"), dna_total)
    )

    # Uptake and attendance: rows are every session of a published provider and every
    # session anyone (in any period) was signposted to, and their providers.
    ever = {k for p in people for k in p.sessions}
    rows_s = {k for k, (_i, _p, pub) in world.session_ids.items() if pub or k in ever}
    units = {
        "session": {str(world.session_ids[k][0]): {k} for k in rows_s},
        "provider": {},
    }
    for k in rows_s:
        units["provider"].setdefault(str(world.session_ids[k][1]), set()).add(k)
    for by, groups in units.items():
        t = f"uptake_by_{by}"
        for row, keys in groups.items():
            sent = [p for p in pop if keys & set(p.sessions)]
            came = {p.key for p in sent if any(c and k in keys for k, _on, c in p.attendance)}
            missed = {p.key for p in sent
                      if any(not c and k in keys for k, _on, c in p.attendance)}  # fmt: skip
            sets[f"uptake {by} {row}"] = {p.key for p in sent}
            sets[f"uptake {by} {row} attended"] = came
            sets[f"uptake {by} {row} missed"] = missed
            cells[t, row, "signposted"] = Count(len(sent))
            cells[t, row, "attended"] = Count(len(came))
            cells[t, row, "missed"] = Count(len(missed))
            for column, part in (("uptake", "attended"), ("missed_share", "missed")):
                cells[t, row, column] = Derived(
                    pct(len(came if part == "attended" else missed), len(sent)),
                    ((t, row, part), (t, row, "signposted")),
                )

    # Who is reached: equality data as recorded, gone with a purged referral.
    def purged(p: Person) -> bool:
        last = p.events[-1] if p.events else None
        return (
            bool(last)
            and last[0] in (S.COMPLETED, S.DECLINED, S.CLOSED)
            and (last[1] < PURGED_BEFORE)
        )

    def improved(p: Person) -> bool | None:
        result = None
        for key, by_time in p.outcomes.items():
            if TimePoint.END not in by_time:
                continue
            lo, hi = INSTRUMENTS[key]

            def turned(values: dict[str, int], key: str = key, lo: int = lo, hi: int = hi) -> int:
                return sum(hi + lo - v if (key, i) in REVERSED else v for i, v in values.items())

            up = turned(by_time[TimePoint.END]) > turned(by_time[TimePoint.BASELINE])
            result = bool(result) or up
        return result

    def codes_of(p: Person, dimension: str) -> list[str]:
        e = None if purged(p) else p.equality
        if dimension == "long_term_condition":
            return list(e.long_term_conditions) if e and e.long_term_conditions else ["NONE"]
        if e is None:
            return ["NONE"]
        if dimension == "imd_decile":
            d = IMD.get(p.postcode or "")
            return ["NONE" if d is None else str(d)]
        value = e.sex if dimension == "sex" else e.ethnic_category
        return ["NONE" if value is None else value]

    from api.reports.reached import DIMENSIONS, _codes

    for dimension in DIMENSIONS:
        t = f"reached_by_{dimension}"
        for code in [*_codes()[dimension], "NONE"]:
            members = [p for p in pop if code in codes_of(p, dimension)]
            began = [p for p in members if reached(p, "ACTIVE")]
            outcome = [p for p in members if improved(p) is not None]
            better = [p for p in outcome if improved(p)]
            name = f"{dimension} {code}"
            sets[f"who {name}"] = {p.key for p in members}
            for part, group in (("started", began), ("with_outcome", outcome),
                                ("improved", better)):  # fmt: skip
                sets[f"who {name} {part}"] = {p.key for p in group}
                cells[t, code, part] = Count(len(group))
            cells[t, code, "referrals"] = Count(len(members))
            cells[t, code, "share"] = Derived(pct(len(members), N),
                                              ((t, code, "referrals"), total_cell))  # fmt: skip
            cells[t, code, "population"] = Plain(None)
            cells[t, code, "started_share"] = Derived(
                pct(len(began), len(members)), ((t, code, "started"), (t, code, "referrals"))
            )
            cells[t, code, "improved_share"] = Derived(
                pct(len(better), len(outcome)), ((t, code, "improved"), (t, code, "with_outcome"))
            )
        cells[t, "total", "referrals"] = Count(N)
        for column in ("share", "population", "started", "started_share", "with_outcome",
                       "improved", "improved_share"):  # fmt: skip
            cells[t, "total", column] = Plain(None)

    # Support levels and tariff: people by the level in force at the period's end; a year's
    # tariff each from the day they were assessed, each day at the level in force that day
    # (days after the period's end at the level at its end), worked out day by day.
    assessed = [p for p in pop if p.level is not None]
    sets["assessed"] = {p.key for p in assessed}

    def tariff_year(p: Person) -> tuple[Fraction, bool]:
        counted = p.level_at_end()
        first = local(p.assessed_at)  # type: ignore[arg-type]
        total, changed = Fraction(0), False
        for n in range(365):
            day = first + dt.timedelta(days=n)
            level = p.level_on(day) if day <= END else counted
            total += Fraction(TARIFF[level], 365)  # type: ignore[index]
            changed = changed or level is not counted
        return total, changed

    year = {p.key: tariff_year(p) for p in assessed}
    due_total = Fraction(0)
    for level in SupportLevel:
        members = [p for p in assessed if p.level_at_end() is level]
        changed = {p.key for p in members if year[p.key][1]}
        sets[f"level {level.value}"] = {p.key for p in members}
        sets[f"changed {level.value}"] = changed
        due = sum((year[p.key][0] for p in members), Fraction(0))
        cells["support_levels", level.value, "people"] = Count(len(members))
        cells["support_levels", level.value, "changed"] = Count(len(changed))
        cells["support_levels", level.value, "rate"] = Plain(TARIFF[level])
        cells["support_levels", level.value, "due"] = Amount(float(due))
        due_total += due

    def engaged(p: Person) -> bool:
        began = next((at for s, at in p.events if s is S.ACTIVE), None)
        if began is None:
            return False
        cutoff = began.astimezone(dt.UTC).date() + dt.timedelta(days=MAINTENANCE_DAYS)
        return any(came and on >= cutoff for _k, on, came in p.attendance)

    still = {p.key for p in assessed if engaged(p)}
    sets["engaged"] = still
    cells["support_levels", "maintenance", "people"] = Count(len(still))
    cells["support_levels", "maintenance", "changed"] = Plain(None)
    cells["support_levels", "maintenance", "rate"] = Plain(MAINTENANCE)
    cells["support_levels", "maintenance", "due"] = Amount(MAINTENANCE * len(still))
    due_total += MAINTENANCE * len(still)
    cells["support_levels", "total", "people"] = Count(len(assessed))
    cells["support_levels", "total", "changed"] = Count(sum(year[p.key][1] for p in assessed))
    cells["support_levels", "total", "rate"] = Plain(None)
    cells["support_levels", "total", "due"] = Amount(float(due_total))
    passed = Fraction(0)
    for p in assessed:
        providers = {world.provider_of[k] for k in p.sessions}
        sub = {k for k in providers if world.relationship[k] is Relationship.SUB_CONTRACTED}
        if providers:
            passed += year[p.key][0] / len(providers) * len(sub)
    due_cell = ("subcontracting", "total", "amount")
    for key, value in (("passed", passed), ("kept", due_total - passed)):
        cells["subcontracting", key, "amount"] = Amount(float(value))
        cells["subcontracting", key, "share"] = Derived(
            pct(value, due_total), (("subcontracting", key, "amount"), due_cell)
        )
    cells[due_cell] = Amount(float(due_total))
    cells["subcontracting", "total", "share"] = Plain(None)

    # Outcomes: each person's score is the sum of items turned so higher is better.
    for key in sorted(INSTRUMENTS, key=lambda k: {"ons4": "ONS4", "ltc6": "LTC6"}[k]):
        lo, hi = INSTRUMENTS[key]
        k = len(ITEMS[key])
        with_base = [p for p in pop if key in p.outcomes]
        if not with_base:
            continue

        def score(values: dict[str, int], key: str = key, lo: int = lo, hi: int = hi) -> int:
            return sum(hi + lo - v if (key, i) in REVERSED else v for i, v in values.items())

        both = [p for p in with_base if TimePoint.END in p.outcomes[key]]
        changes = {
            p.key: (
                score(p.outcomes[key][TimePoint.END]) - score(p.outcomes[key][TimePoint.BASELINE])
            )
            / k
            for p in both
        }
        t = "outcomes"
        sets[f"{key} baseline"] = {p.key for p in with_base}
        sets[f"{key} both"] = set(changes)
        cells[t, key, "baseline"] = Count(len(with_base))
        cells[t, key, "people"] = Count(len(both))
        n = len(both)
        people_cell = (t, key, "people")
        mean = statistics.fmean(changes.values()) if n else None
        low = high = None
        if n >= 2:
            sem = statistics.stdev(changes.values()) / n**0.5
            low, high = stats.t.interval(0.95, n - 1, loc=mean, scale=sem)
        cells[t, key, "mean_change"] = Derived(mean, (people_cell,), extra=True)
        cells[t, key, "ci_low"] = Derived(low, (people_cell,), extra=True)
        cells[t, key, "ci_high"] = Derived(high, (people_cell,), extra=True)
        for name, test in (("improved", lambda c: c > 0), ("same", lambda c: c == 0),
                           ("worse", lambda c: c < 0)):  # fmt: skip
            members = {p for p, c in changes.items() if test(c)}
            sets[f"{key} {name}"] = members
            cells[t, key, name] = Count(len(members))
            cells[t, key, f"{name}_share"] = Derived(
                pct(len(members), n), ((t, key, name), people_cell)
            )
        kept = {p for p, c in changes.items() if c >= 0}
        sets[f"{key} kept"] = kept
        cells[t, key, "kept"] = Count(len(kept))
        cells[t, key, "kept_share"] = Derived(pct(len(kept), n), ((t, key, "kept"), people_cell))
        # By level of need (in force at the period's end; "NONE": not assessed).
        for level in [*(lv.value for lv in SupportLevel), "NONE"]:
            members = [p for p in both if getattr(p.level_at_end(), "value", "NONE") == level]
            row = f"{key}:{level}"
            level_kept = {p.key for p in members if changes[p.key] >= 0}
            sets[f"{key} level {level}"] = {p.key for p in members}
            sets[f"{key} level {level} kept"] = level_kept
            cells["outcomes_by_level", row, "people"] = Count(len(members))
            cells["outcomes_by_level", row, "kept"] = Count(len(level_kept))
            cells["outcomes_by_level", row, "kept_share"] = Derived(
                pct(len(level_kept), len(members)),
                (("outcomes_by_level", row, "kept"), ("outcomes_by_level", row, "people")),
            )
            cells["outcomes_by_level", row, "mean_change"] = Derived(
                statistics.fmean(changes[p.key] for p in members) if members else None,
                (("outcomes_by_level", row, "people"),),
                extra=True,
            )
        width = hi - lo
        third = {
            p.key: min(int((Fraction(score(p.outcomes[key][TimePoint.BASELINE]), k) - lo) * 3
                           // width), 2)
            for p in both
        }  # fmt: skip
        for j, band in enumerate(["LOW", "MIDDLE", "HIGH"]):
            members = [p for p in both if third[p.key] == j]
            sets[f"{key} band {band}"] = {p.key for p in members}
            row = f"{key}:{band}"
            cells["outcomes_by_baseline", row, "people"] = Count(len(members))
            cells["outcomes_by_baseline", row, "mean_change"] = Derived(
                statistics.fmean(changes[p.key] for p in members) if members else None,
                (("outcomes_by_baseline", row, "people"),),
                extra=True,
            )

    # NHS use, 6 months before and after.
    both_use = [p for p in pop if len(p.nhs) == 2]
    n = len(both_use)
    people_cell = ("cost_avoided", "all", "people")
    total_cell_nhs = ("cost_avoided", "all", "total")
    categories = list(UNIT_COSTS)
    for c, category in enumerate(categories):
        before = sum(p.nhs[NhsUsePeriod.BEFORE][c] for p in both_use)
        after_ = sum(p.nhs[NhsUsePeriod.AFTER][c] for p in both_use)
        unit = float(UNIT_COSTS[category])
        t = "nhs_use"
        cells[t, category, "unit_cost"] = Plain(unit)
        cells[t, category, "total_before"] = Count(before)
        cells[t, category, "total_after"] = Count(after_)
        b, a = (t, category, "total_before"), (t, category, "total_after")
        cells[t, category, "before"] = Derived(before / n if n else None, (people_cell, b))
        cells[t, category, "after"] = Derived(after_ / n if n else None, (people_cell, a))
        cells[t, category, "change"] = Derived(
            (after_ - before) / n if n else None, (people_cell, b, a)
        )
        cells[t, category, "saving"] = Derived(
            unit * (before - after_) / n if n else None, (people_cell, b, a)
        )
    savings = [
        sum(
            float(UNIT_COSTS[c]) * (p.nhs[NhsUsePeriod.BEFORE][i] - p.nhs[NhsUsePeriod.AFTER][i])
            for i, c in enumerate(categories)
        )
        for p in both_use
    ]
    mean = statistics.fmean(savings) if savings else None
    low = high = None
    if n >= 2:
        low, high = stats.t.interval(
            0.95, n - 1, loc=mean, scale=statistics.stdev(savings) / n**0.5
        )
    rests = (people_cell, total_cell_nhs)
    cells[people_cell] = Count(n)
    cells["cost_avoided", "all", "per_person"] = Derived(mean, rests)
    cells["cost_avoided", "all", "per_person_low"] = Derived(low, rests)
    cells["cost_avoided", "all", "per_person_high"] = Derived(high, rests)
    cells[total_cell_nhs] = Amount(sum(savings))
    cells["cost_avoided", "all", "total_low"] = Derived(None if low is None else low * n, rests)
    cells["cost_avoided", "all", "total_high"] = Derived(None if high is None else high * n, rests)

    # Unmet need against supply.
    in_period = [nd for nd in needs if START <= local(nd.at) <= END and nd.locality in chosen]
    published = [s for s in world.sessions if s["published"]]
    ids = {world.localities[k][0] for k in chosen}
    t = "unmet_need_vs_supply"

    def sessions_in(d: Domain | None, loc: int | None | str, other: bool = False) -> int:
        if other:
            return 0  # nothing is listed for a need that fits no domain
        return sum(
            1
            for s in published
            if (d is None or d in s["domains"])
            and (
                loc == "any"
                and (localities is None or s["locality"] in ids)
                or s["locality"] == loc
            )
            for _ in ([1] if d is not None else s["domains"])
        )

    for d in [*Domain, None]:
        code = d.value if d else "OTHER"
        for key in chosen:
            loc = world.localities[key][0]
            n = sum(1 for nd in in_period if nd.domain is d and nd.locality == key)
            s = sessions_in(d, loc, d is None)
            row = f"{code}:{loc}"
            cells[t, row, "unmet"] = Count(n)
            cells[t, row, "sessions"] = Plain(s)
            cells[t, row, "per_session"] = Derived(n / s if s else None, ((t, row, "unmet"),))
        n = sum(1 for nd in in_period if nd.domain is d)
        s = sessions_in(d, "any", d is None)
        row = f"{code}:all"
        cells[t, row, "unmet"] = Count(n)
        cells[t, row, "sessions"] = Plain(s)
        cells[t, row, "per_session"] = Derived(n / s if s else None, ((t, row, "unmet"),))
        cells["unmet_need_by_domain", code, "unmet"] = Count(n)
        cells["unmet_need_by_domain", code, "sessions"] = Plain(s)
    for key in chosen:
        loc = world.localities[key][0]
        n = sum(1 for nd in in_period if nd.locality == key)
        s = sessions_in(None, loc)
        row = f"all:{loc}"
        cells[t, row, "unmet"] = Count(n)
        cells[t, row, "sessions"] = Plain(s)
        cells[t, row, "per_session"] = Derived(n / s if s else None, ((t, row, "unmet"),))
    s = sessions_in(None, "any")
    cells[t, "total", "unmet"] = Count(len(in_period))
    cells[t, "total", "sessions"] = Plain(s)
    cells[t, "total", "per_session"] = Derived(
        len(in_period) / s if s else None, ((t, "total", "unmet"),)
    )
    cells["unmet_need_by_domain", "total", "unmet"] = Count(len(in_period))
    cells["unmet_need_by_domain", "total", "sessions"] = Plain(s)

    # Directory health (organisations: nothing suppressed).
    six, twelve = AS_OF - relativedelta(months=6), AS_OF - relativedelta(months=12)
    rows: list[tuple[str, list[dict]]] = []
    for key in chosen:
        loc = world.localities[key][0]
        rows.append((str(loc), [p for p in world.providers if p["locality"] == loc]))
    if localities is None and any(p["locality"] is None for p in world.providers):
        rows.append(("none", [p for p in world.providers if p["locality"] is None]))
    rows.append(
        ("total", [p for p in world.providers if localities is None or p["locality"] in ids])
    )
    for row, group in rows:
        pub = [p for p in group if p["status"] is ListingStatus.PUBLISHED]
        recent6 = [p for p in pub if p["confirmed"] and p["confirmed"] >= six]
        recent12 = [p for p in pub if p["confirmed"] and p["confirmed"] >= twelve]
        t = "directory_health"
        cells[t, row, "published"] = Plain(len(pub))
        cells[t, row, "confirmed_6"] = Plain(pct(len(recent6), len(pub)))
        cells[t, row, "confirmed_12"] = Plain(pct(len(recent12), len(pub)))
        cells[t, row, "self_registered"] = Plain(
            sum(1 for p in pub if p["listed_by"] is ListedBy.SELF_REGISTERED)
        )
        cells[t, row, "added_by_lead"] = Plain(
            sum(1 for p in pub if p["listed_by"] is ListedBy.ADDED_BY_LEAD)
        )
        cells[t, row, "pending"] = Plain(
            sum(1 for p in group if p["status"] is ListingStatus.PENDING)
        )
    by_id = {p["id"]: p for p in world.providers}
    for d in Domain:
        for row, _group in rows[:-1]:
            loc = None if row == "none" else int(row)
            providers = {
                s["provider"] for s in published if d in s["domains"]
                and by_id[s["provider"]]["locality"] == loc
            }  # fmt: skip
            cells["directory_by_domain", f"{d.value}:{loc}", "providers"] = Plain(len(providers))
            cells["directory_by_domain", f"{d.value}:{loc}", "sessions"] = Plain(
                sum(1 for s in published if d in s["domains"] and s["locality"] == loc)
            )
        providers = {
            s["provider"] for s in published if d in s["domains"]
            and (localities is None or by_id[s["provider"]]["locality"] in ids)
        }  # fmt: skip
        cells["directory_by_domain", f"{d.value}:all", "providers"] = Plain(len(providers))
        cells["directory_by_domain", f"{d.value}:all", "sessions"] = Plain(sessions_in(d, "any"))
    return cells, sets


@pytest.fixture(scope="module")
def report_world(
    new_database_url: Callable[[], str],
) -> Iterator[tuple[Database, World, list, list]]:
    """The mini directory with the outcome instruments and this data set, seeded."""
    from tests.conftest import DEMO, MINI, _loaded

    db = _loaded(new_database_url(), MINI)
    with db.session() as s:
        load_instruments(s, DEMO / "outcomes")
    people, needs = make_people()
    seed(db, people, needs)
    yield db, read_world(db), people, needs
    db.dispose()
