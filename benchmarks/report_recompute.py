"""The commissioner tables of issue 16 recomputed from the raw rows, without the report code.

Plain Python over the rows of the referral, event, signpost, attendance, measurement,
level-history and unmet-need tables (one ``SELECT`` of each, nothing grouped in SQL, nothing
from ``api.reports``): uptake by provider and by session, did-not-attend by practice, who is
reached (sex, ethnic group, long term condition, IMD decile), outcomes by level of need and
the share improved or kept, unmet need that fits no domain, and the support levels with the
tariff due pro rata by the level in force on each day. ``agreement`` compares an exact
report's shown figures with them, cell by cell. ``benchmarks/report_accuracy.py`` prints the
agreement for every release it builds; ``tests/test_report_recompute.py`` checks it on the
report tests' data set, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import orm, select

from api.outcomes.models import OutcomeInstrument, OutcomeMeasurement, UnmetNeed
from api.referrals import equality
from api.referrals.models import Attendance, Referral, ReferralEvent, Signpost
from api.referrals.plan_models import LevelChange

LONDON = ZoneInfo("Europe/London")
LEVELS = ("LOW", "MEDIUM", "HIGH")
Key = tuple[str, str, str]


@dataclass(frozen=True)
class Agreement:
    table: str
    compared: int  # cells shown in the report and recomputed
    agree: int
    differ: tuple[tuple[Key, float, float], ...]  # (cell, report, recomputed), the first few


def _value(x: Any) -> str:
    return getattr(x, "value", x)


def recompute(
    db: orm.Session,
    start: dt.date,
    end: dt.date,
    locality_ids: Iterable[int] | None,
    tariff: dict[str, Fraction],
    protector: object | None = None,
) -> dict[Key, Fraction]:
    """Every cell of the commissioner tables that is a count or an amount, keyed as the
    report keys it (table, row, column); ``tariff``: a year's amount by level name."""
    wanted = None if locality_ids is None else set(locality_ids)
    referrals = [
        r
        for r in db.execute(
            select(Referral.id, Referral.received_at, Referral.locality_id, Referral.practice_id,
                   Referral.support_level, Referral.key_id, Referral.equality_enc)
        ).all()
        if start <= r.received_at.astimezone(LONDON).date() <= end
        and (wanted is None or r.locality_id in wanted)
    ]  # fmt: skip
    ids = {r.id for r in referrals}
    statuses: dict[int, set[str]] = defaultdict(set)
    for rid, status in db.execute(select(ReferralEvent.referral_id, ReferralEvent.to_status)):
        statuses[rid].add(_value(status))
    out: dict[Key, Fraction] = {}

    def add(key: Key, n: int | Fraction = 1) -> None:
        out[key] = out.get(key, Fraction(0)) + n

    # Did not attend by practice (every referral counts in its practice's row).
    for r in referrals:
        row = f"{r.locality_id}:{r.practice_id}"
        add(("dna_by_practice", row, "referrals"))
        add(("dna_by_practice", row, "did_not_attend"), int("DID_NOT_ATTEND" in statuses[r.id]))
    add(("dna_by_practice", "total", "referrals"), len(referrals))
    add(("dna_by_practice", "total", "did_not_attend"),
        sum("DID_NOT_ATTEND" in statuses[r.id] for r in referrals))  # fmt: skip

    # Uptake: a person once per session (or provider), attended / missed at least once.
    came: dict[int, set[bool]] = defaultdict(set)
    for signpost_id, attended in db.execute(select(Attendance.signpost_id, Attendance.attended)):
        came[signpost_id].add(bool(attended))
    for by in ("session", "provider"):
        seen: dict[tuple[int, int], set[bool]] = {}
        for sid, rid, session, provider in db.execute(
            select(Signpost.id, Signpost.referral_id, Signpost.session_id, Signpost.provider_id)
        ):
            if rid in ids:
                unit = session if by == "session" else provider
                seen.setdefault((unit, rid), set()).update(came[sid])
        for (unit, _rid), marks in seen.items():
            add((f"uptake_by_{by}", str(unit), "signposted"))
            add((f"uptake_by_{by}", str(unit), "attended"), int(True in marks))
            add((f"uptake_by_{by}", str(unit), "missed"), int(False in marks))

    # Outcomes: each person's score is the sum of the items, turned so higher is better.
    instruments = {i.id: i for i in db.scalars(select(OutcomeInstrument))}
    scores: dict[tuple[int, int], dict[str, int]] = {}
    for rid, iid, point, values in db.execute(
        select(OutcomeMeasurement.referral_id, OutcomeMeasurement.instrument_id,
               OutcomeMeasurement.time_point, OutcomeMeasurement.scores)
    ):  # fmt: skip
        if rid in ids and _value(point) in ("BASELINE", "END"):
            scores.setdefault((rid, iid), {})[_value(point)] = _turned(instruments[iid], values)
    change: dict[tuple[int, int], int] = {
        key: s["END"] - s["BASELINE"] for key, s in scores.items() if len(s) == 2
    }

    # The level in force at the period's end (the last recorded for a day wins); assessed
    # only after it, the level now.
    history: dict[int, list[tuple[dt.date, int, str]]] = defaultdict(list)
    for rid, level, on, row_id in db.execute(
        select(LevelChange.referral_id, LevelChange.level, LevelChange.from_on, LevelChange.id)
    ):
        if rid in ids:
            history[rid].append((on, row_id, _value(level)))
    for rows in history.values():
        rows.sort()

    def level_on(rid: int, day: dt.date) -> str | None:
        found = None
        for on, _id, level in history[rid]:
            if on <= day:
                found = level
        return found

    now = {r.id: _value(r.support_level) if r.support_level else None for r in referrals}
    counted = {rid: level_on(rid, end) or now[rid] for rid in ids}

    for (rid, iid), delta in change.items():
        key = instruments[iid].key
        row = f"{key}:{counted[rid] or 'NONE'}"
        add(("outcomes_by_level", row, "people"))
        add(("outcomes_by_level", row, "kept"), int(delta >= 0))
        add(("outcomes", key, "kept"), int(delta >= 0))
        add(("outcomes", key, "people"))

    # Who is reached (equality data read with the key; none without it).
    improved: dict[int, bool] = {}
    for (rid, _iid), delta in change.items():
        improved[rid] = improved.get(rid, False) or delta > 0
    for r in referrals:
        data = equality.read(protector, r.key_id, r.equality_enc) or {}  # type: ignore[arg-type]
        codes = {
            "sex": [data.get("sex")],
            "ethnic_category": [data.get("ethnicCategory")],
            "imd_decile": [data.get("imdDecile")],
            "long_term_condition": list(data.get("longTermConditions") or []) or [None],
        }
        for dimension, values in codes.items():
            for code in values:
                row = "NONE" if code is None else str(code)
                table = f"reached_by_{dimension}"
                add((table, row, "referrals"))
                add((table, row, "started"), int("ACTIVE" in statuses[r.id]))
                add((table, row, "with_outcome"), int(r.id in improved))
                add((table, row, "improved"), int(improved.get(r.id, False)))

    # Unmet need that fits none of the six domains.
    for domain, locality, at in db.execute(
        select(UnmetNeed.domain, UnmetNeed.locality_id, UnmetNeed.recorded_at)
    ):
        if (domain is None and start <= at.astimezone(LONDON).date() <= end
                and (wanted is None or locality in wanted)):  # fmt: skip
            add(("unmet_need_by_domain", "OTHER", "unmet"))

    # Support levels: a year each from the first level's day, each day at the level then in
    # force (after the period's end: the level counted), worked out day by day.
    for rid in ids:
        level = counted[rid]
        if level is None:
            continue
        first = history[rid][0][0] if history[rid] else None
        due, changed = Fraction(0), False
        for n in range(365):
            day = None if first is None else first + dt.timedelta(days=n)
            on = level_on(rid, day) if day is not None and day <= end else level
            due += tariff[on or level] / 365
            changed = changed or (on or level) != level
        add(("support_levels", level, "people"))
        add(("support_levels", level, "changed"), int(changed))
        add(("support_levels", level, "due"), due)
    return out


def _turned(instrument: OutcomeInstrument, values: dict[str, int]) -> int:
    total = 0
    for item in instrument.items:
        value = int(values[item["key"]])
        lower = _value(item.get("direction") or instrument.direction) == "LOWER_IS_BETTER"
        total += instrument.scale_min + instrument.scale_max - value if lower else value
    return total


TABLES = ("uptake_by_provider", "uptake_by_session", "dna_by_practice", "reached_by_sex",
          "reached_by_ethnic_category", "reached_by_long_term_condition",
          "reached_by_imd_decile", "outcomes_by_level", "outcomes", "unmet_need_by_domain",
          "support_levels")  # fmt: skip
# The columns recomputed (the others are rates from these, or not about issue 16).
COLUMNS = {"outcomes": ("kept",), "unmet_need_by_domain": ("unmet",),
           "support_levels": ("people", "changed", "due")}  # fmt: skip


def agreement(report: Any, expected: dict[Key, Fraction]) -> list[Agreement]:
    """Per table, the report's shown counts and amounts against the recomputed ones (a row
    nobody is in is 0). Amounts agree to the penny."""
    found = []
    for key in TABLES:
        table = report.table(key)
        compared, agree, differ = 0, 0, []
        for row in table.rows:
            for column, cell in zip(table.columns, row.cells, strict=True):
                if column.unit.value not in ("COUNT", "MONEY") or not cell.controlled:
                    continue
                if column.key not in COLUMNS.get(key, (column.key,)) or cell.suppressed:
                    continue
                if key == "support_levels" and row.key not in LEVELS:
                    continue
                if key == "unmet_need_by_domain" and row.key != "OTHER":
                    continue
                if key.startswith("reached_") and row.key == "total":
                    continue
                want = float(expected.get((key, row.key, column.key), 0))
                compared += 1
                if abs(float(cell.value) - want) < 0.005:
                    agree += 1
                elif len(differ) < 5:
                    differ.append(((key, row.key, column.key), float(cell.value), want))
        found.append(Agreement(key, compared, agree, tuple(differ)))
    return found
