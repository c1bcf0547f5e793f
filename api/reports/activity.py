"""The report's referral tables: received by month, locality, practice and domain; the
lifecycle (conversion, status now, did not attend and declined, time to first contact); and
did-not-attend by referring practice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from typing import TYPE_CHECKING

from sqlalchemy import select

from api.directory.enums import Domain
from api.directory.models import GpPractice
from api.referrals.enums import ReferralStatus
from api.reports import figures
from api.reports.tables import (
    ALL,
    BLANK,
    Column,
    Section,
    Unit,
    _Derived,
    _Fig,
    _Grid,
    _ratio,
)

if TYPE_CHECKING:
    from api.reports.report import _Builder

STAGE_LABELS = {
    "RECEIVED": "Received",
    "CONTACTED": "Contacted",
    "ASSESSED": "Assessed",
    "ACTIVE": "Started support (active)",
    "COMPLETED": "Completed",
}
STATUS_LABELS = {
    ReferralStatus.RECEIVED: "Waiting for first contact",
    ReferralStatus.CONTACTED: "Contacted",
    ReferralStatus.ASSESSED: "Assessed",
    ReferralStatus.ACTIVE: "Active",
    ReferralStatus.COMPLETED: "Completed",
    ReferralStatus.DID_NOT_ATTEND: "Did not attend",
    ReferralStatus.DECLINED: "Declined",
    ReferralStatus.CLOSED: "Closed",
}


def referrals(b: _Builder) -> None:
    rel = b.release
    counts = figures.referral_counts(b.db, b.scope)
    noisy = b.noise.count
    total = noisy(sum(n for *_x, n, _k in counts), sum(k for *_x, k in counts))
    rel.count(ALL, total)
    referrals = Column("referrals", "Referrals", Unit.COUNT)

    def add(into: dict, at: Hashable, n: int, k: int) -> None:
        had = into.get(at, (0, 0))
        into[at] = (had[0] + n, had[1] + k)

    by_month: dict[str, tuple[int, int]] = {}
    for month, _loc, _p, n, k in counts:
        add(by_month, month, n, k)
    t = b.draft(
        "referrals_by_month",
        Section.REFERRALS,
        "Referrals received by month",
        "Referrals received in each calendar month of the period (dates in England).",
        referrals,
    )
    keys = []
    for month, lo, _hi in b.scope.months():
        key = rel.count(("referrals", "month", month), noisy(*by_month.get(month, (0, 0))))
        keys.append(key)
        first = dt.date.fromisoformat(month + "-01")
        label = f"{first:%B %Y}"
        if lo.astimezone(figures.LONDON).date() != first or (
            month == f"{b.scope.end:%Y-%m}" and (b.scope.end + dt.timedelta(days=1)).day != 1
        ):
            label += " (part)"
        t.add(month, label, _Fig(key))
    rel.sum(keys, ALL)
    t.add("total", "Total", _Fig(ALL), total=True)
    t.charts.append(("Referrals by month", "referrals", "", 0))

    by_loc: dict[int, tuple[int, int]] = {}
    by_practice: dict[tuple[int, int], tuple[int, int]] = {}
    for _m, loc, practice, n, k in counts:
        add(by_loc, loc, n, k)
        add(by_practice, (loc, practice), n, k)
    t = b.draft(
        "referrals_by_locality",
        Section.REFERRALS,
        "Referrals by locality",
        "Referrals received in the period, by the locality of the referring practice.",
        referrals,
    )
    loc_keys = []
    for loc, name in b.localities:
        key = rel.count(("referrals", "locality", loc), noisy(*by_loc.get(loc, (0, 0))))
        loc_keys.append(key)
        t.add(str(loc), name, _Fig(key))
    rel.sum(loc_keys, ALL)
    t.add("total", "Total", _Fig(ALL), total=True)
    t.charts.append(("Referrals by locality", "referrals", "", 0))

    practices = b.db.execute(
        select(GpPractice.id, GpPractice.name, GpPractice.ods_code, GpPractice.locality_id)
        .where(b.scope.localities(GpPractice.locality_id))
        .order_by(GpPractice.name)
    ).all()
    info = {p: (name, ods) for p, name, ods, _loc in practices}
    listed = {(loc, p) for p, _n, _o, loc in practices} | set(by_practice)
    t = b.draft(
        "referrals_by_practice",
        Section.REFERRALS,
        "Referrals by GP practice",
        "Referrals received in the period from each practice, within its locality.",
        referrals,
    )
    for loc, loc_name in b.localities:
        keys = []
        rows = sorted((p for lo, p in listed if lo == loc), key=lambda p: info[p][0])
        for p in rows:
            key = rel.count(
                ("referrals", "practice", loc, p), noisy(*by_practice.get((loc, p), (0, 0)))
            )
            keys.append(key)
            t.add(f"{loc}:{p}", f"{info[p][0]} ({info[p][1]})", _Fig(key), group=loc_name)
        rel.sum(keys, ("referrals", "locality", loc))
    t.add("total", "Total", _Fig(ALL), total=True)

    domains = figures.domain_counts(b.db, b.scope)
    t = b.draft(
        "referrals_by_domain",
        Section.REFERRALS,
        "Referrals by domain of interest",
        "Referrals naming each domain. A referral may name more than one, so these do not "
        "add up to the total.",
        referrals,
        Column("share", "% of referrals", Unit.PERCENT, 1),
    )
    for domain in Domain:
        n = noisy(*domains.get(domain, (0, 0)))
        key = rel.count(("referrals", "domain", domain.value), n)
        rel.group(("referrals", "not naming", domain.value), {ALL: 1, key: -1})
        t.add(domain.value, b.label(domain), _Fig(key),
              _Derived(_ratio(n, total, 100), (key, ALL)))  # fmt: skip
    t.charts.append(("Referrals by domain of interest", "referrals", "", 0))


def lifecycle(b: _Builder) -> None:
    rel = b.release
    raw = figures.lifecycle_cells(b.db, b.scope, b.target_days)
    cells: dict[tuple, tuple[int, int]] = {}
    for c in raw:
        attrs = (c.furthest, c.status.value, c.within_target, c.did_not_attend, c.assessed)
        had = cells.get(attrs, (0, 0))
        cells[attrs] = (had[0] + c.count, had[1] + c.keys)
    grid = _Grid(rel, b.noise, "lifecycle", cells)
    b.lifecycle_grid = grid
    stages = figures.STAGES
    total = grid.count(ALL, lambda a: True, new=False, is_total=True)
    reached = {"RECEIVED": total}
    for i, stage in enumerate(stages[1:], start=1):
        reached[stage] = grid.count(
            ("lifecycle", "reached", stage), lambda a, i=i: stages.index(a[0]) >= i
        )
    status = {}
    for s in ReferralStatus:
        status[s] = grid.count(("lifecycle", "status", s.value), lambda a, s=s: a[1] == s.value)
    within = grid.count(("lifecycle", "within target"), lambda a: a[2] is True)
    over = grid.count(("lifecycle", "after target"), lambda a: a[2] is False)
    dna = grid.count(("lifecycle", "did not attend"), lambda a: a[3])
    grid.count(("lifecycle", "assessed"), lambda a: a[4])
    grid.differences()

    def reached_key(stage: str) -> Hashable:
        return ALL if stage == "RECEIVED" else ("lifecycle", "reached", stage)

    t = b.draft(
        "lifecycle_conversion",
        Section.REFERRALS,
        "Conversion through the lifecycle",
        "Referrals received in the period that ever reached each stage (from their "
        "history, whatever their status is now).",
        Column("referrals", "Referrals", Unit.COUNT),
        Column("of_received", "% of received", Unit.PERCENT, 1),
        Column("of_previous", "% of the stage before", Unit.PERCENT, 1),
    )
    for i, stage in enumerate(stages):
        key = reached_key(stage)
        before = reached_key(stages[i - 1]) if i else None
        t.add(
            stage,
            STAGE_LABELS[stage],
            _Fig(key),
            _Derived(_ratio(reached[stage], total, 100), (key, ALL)),
            BLANK
            if before is None
            else _Derived(_ratio(reached[stage], reached[stages[i - 1]], 100), (key, before)),
        )
    t.charts.append(("Referrals reaching each stage", "referrals", "", 0))

    t = b.draft(
        "referral_status",
        Section.REFERRALS,
        "Where the referrals are now",
        "Referrals received in the period, by their status today.",
        Column("referrals", "Referrals", Unit.COUNT),
        Column("share", "% of received", Unit.PERCENT, 1),
    )
    for s in ReferralStatus:
        key = ("lifecycle", "status", s.value)
        t.add(s.value, STATUS_LABELS[s], _Fig(key),
              _Derived(_ratio(status[s], total, 100), (key, ALL)))  # fmt: skip
    t.add("total", "Total", _Fig(ALL), BLANK, total=True)

    contacted = reached_key("CONTACTED")
    t = b.draft(
        "dna_and_decline",
        Section.REFERRALS,
        "Did not attend and declined",
        "Did-not-attend rate: referrals that missed an appointment at least once, of those "
        "contacted. Decline rate: referrals declined, of all received.",
        Column("referrals", "Referrals", Unit.COUNT),
        Column("rate", "Rate", Unit.PERCENT, 1),
    )
    dna_key = ("lifecycle", "did not attend")
    declined = ("lifecycle", "status", ReferralStatus.DECLINED.value)
    t.add("did_not_attend", "Did not attend (at least once)", _Fig(dna_key),
          _Derived(_ratio(dna, reached["CONTACTED"], 100), (dna_key, contacted)))  # fmt: skip
    declined_rate = _ratio(status[ReferralStatus.DECLINED], total, 100)
    t.add("declined", "Declined", _Fig(declined), _Derived(declined_rate, (declined, ALL)))

    days = figures.contact_days(b.db, b.scope)
    # The median of the perturbed distribution: it rests on perturbed counts too.
    median = figures.median_of_counts(
        {d: b.noise.count(n, k, "days") for d, (n, k) in days.items()}
    )
    target = b.target_days
    t = b.draft(
        "first_contact",
        Section.REFERRALS,
        "Time to first contact",
        f"Working days (Monday to Friday, not bank holidays in England and Wales) from "
        f"receipt to first contact, against the target of {target} working days.",
        Column("contacted", "Contacted", Unit.COUNT),
        Column("median_days", "Median working days", Unit.DAYS, 1),
        Column("within", f"Within {target} working days", Unit.COUNT),
        Column("within_share", "% within target", Unit.PERCENT, 1),
        Column("after", "After the target", Unit.COUNT),
    )
    within_key, after_key = ("lifecycle", "within target"), ("lifecycle", "after target")
    t.add(
        "all",
        "Referrals received in the period",
        _Fig(contacted),
        _Derived(median, (contacted,)),
        _Fig(within_key),
        _Derived(_ratio(within, within + over, 100), (within_key, after_key)),
        _Fig(after_key),
    )
    if b.noise.exact and within + over != reached["CONTACTED"]:
        t.notes.append(
            "Some referrals were contacted without a recorded time to first contact: "
            "they count as contacted but not in the time columns."
        )

    dna_by_practice(b)


def dna_by_practice(b: _Builder) -> None:
    """Did-not-attend by referring practice: feedback on referrals that did not suit."""
    rel = b.release
    raw = figures.dna_by_practice(b.db, b.scope)
    grid = _Grid(rel, b.noise, "dna_practice", raw)
    grid.count(ALL, lambda a: True, new=False, is_total=True)
    dna_total = ("lifecycle", "did not attend")
    grid.count(dna_total, lambda a: a[2], new=False)
    t = b.draft(
        "dna_by_practice",
        Section.UPTAKE,
        "Did not attend, by referring practice",
        "Referrals received in the period from each practice, and those that missed an "
        "appointment at least once (did not attend). A high rate may mean referrals that "
        "did not suit the person: feedback for the practice, not a judgement of it.",
        Column("referrals", "Referrals", Unit.COUNT),
        Column("did_not_attend", "Did not attend (at least once)", Unit.COUNT),
        Column("rate", "% did not attend", Unit.PERCENT, 1),
    )
    practices = b.db.execute(
        select(GpPractice.id, GpPractice.name, GpPractice.ods_code, GpPractice.locality_id)
        .where(b.scope.localities(GpPractice.locality_id))
        .order_by(GpPractice.name)
    ).all()
    listed = {(loc, p): (name, ods) for p, name, ods, loc in practices}
    for loc, p, _d in raw:
        listed.setdefault((loc, p), ("", ""))
    info = dict(b.db.execute(select(GpPractice.id, GpPractice.name)).all())
    ods = dict(b.db.execute(select(GpPractice.id, GpPractice.ods_code)).all())
    for loc, loc_name in b.localities:
        for p in sorted((p for lo, p in listed if lo == loc), key=lambda p: info[p]):
            referred = ("referrals", "practice", loc, p)
            key = ("dna", "practice", loc, p)
            dna = grid.count(key, lambda a, here=(loc, p, True): a == here)
            grid.count(referred, lambda a, here=(loc, p): a[:2] == here, new=False)
            t.add(f"{loc}:{p}", f"{info[p]} ({ods[p]})", _Fig(referred), _Fig(key),
                  _Derived(_ratio(dna, rel.value(referred), 100), (key, referred)),
                  group=loc_name)  # fmt: skip
    grid.differences()
    t.add("total", "Total", _Fig(ALL), _Fig(dna_total),
          _Derived(_ratio(rel.value(dna_total), rel.value(ALL), 100), (dna_total, ALL)),
          total=True)  # fmt: skip
