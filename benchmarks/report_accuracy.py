"""What the cell key method costs in accuracy: perturbed reports against the exact ones.

    python3 -m benchmarks.report_accuracy [--referrals N] [--database-url URL]

With no --referrals, the shipped demo (120 referrals, November 2025 to October 2026); with
--referrals N, N synthetic referrals from benchmarks/reports.py (2024 and 2025). For every
calendar month, quarter and financial year with referrals, all localities and each one,
builds the report twice, exact (ADMIN) and perturbed (everyone else), and compares cell by
cell. Prints, per kind of release and of figure (counts of people, totals of NHS use,
rates in percentage points, means, days, money in % of the true amount), how far the
perturbed figures are from the true ones; and how each cell's printing changed ("<5" or
"[c]" where the exact figure was shown, and the reverse). Then the tables added for
commissioners (issue 16) in every exact release against a recomputation from the raw rows
that shares no code with the report (benchmarks/report_recompute.py): cells compared and
agreeing, per table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

from sqlalchemy import func, select

from api import migrations
from api.config import get_settings
from api.db import Database
from api.directory.loading import load_directory
from api.directory.models import Locality
from api.referrals.loading import load_referral_data
from api.referrals.models import Referral
from api.referrals.protection import protector
from api.reports.costs import load_tariff, load_unit_costs
from api.reports.report import (
    Report,
    ReportError,
    ReportRequest,
    build_report,
    counted_to,
    fixed_period,
)
from benchmarks.report_recompute import agreement, recompute

DEMO = Path(__file__).resolve().parent.parent / "directory_data"


def periods(first: dt.date, last: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """Every month, quarter and financial year that overlaps [first, last]."""
    out = []
    month = first.replace(day=1)
    while month <= last:
        for length in (1, 3, 12):
            end_month = month.month - 1 + length
            end = dt.date(month.year + end_month // 12, end_month % 12 + 1, 1) - dt.timedelta(1)
            if fixed_period(month, end):
                kind = {1: "month", 3: "quarter", 12: "financial year"}[length]
                out.append((kind, month, end))
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    # Financial years that start before the first month.
    if first.month < 4:
        out.append(("financial year", dt.date(first.year - 1, 4, 1), dt.date(first.year, 3, 31)))
    return out


def cells(report: Report) -> dict[tuple[str, str, str], tuple[str, object]]:
    out = {}
    for t in report.tables:
        for r in t.rows:
            for col, c in zip(t.columns, r.cells, strict=True):
                if c.controlled:
                    out[t.key, r.key, col.key] = (col.unit.value, c)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=0, help="synthetic; default: the demo")
    parser.add_argument("--database-url", help="PostgreSQL (an empty database); default SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'accuracy.db'}"
        guard = None  # the key to equality data (the demo's; synthetic referrals have none)
        if args.referrals:
            from benchmarks.reports import prepare

            db = prepare(url, args.referrals)
        else:
            db = Database.from_url(url)
            migrations.upgrade(db.engine)
            with db.session() as s:
                loaded = load_directory(s, DEMO)
                settings = get_settings(encryption_key="accuracy-" + "0" * 24, data_dir=Path(tmp))
                load_referral_data(s, DEMO, settings, loaded)
            guard = protector(settings)
        tariff = load_tariff()
        annual = {level.value: Fraction(v) for level, v in tariff.levels.items()}
        agreed: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        differ: list[str] = []
        with db.session() as s:
            first, last = s.execute(
                select(func.min(Referral.received_at), func.max(Referral.received_at))
            ).one()
            localities = [None, *((i,) for i in s.scalars(select(Locality.id)))]
        errors: dict[tuple[str, str], list[float]] = defaultdict(list)
        hidden: dict[tuple[str, str], int] = defaultdict(int)
        releases = 0
        for kind, start, end in periods(first.date(), last.date()):
            for ids in localities:
                release = f"{kind}, {'all localities' if ids is None else 'one locality'}"
                # A perturbed report counts whole months that have ended: the exact one
                # it is compared with counts as far (periods not begun are skipped).
                try:
                    counted = counted_to(start, end)
                except ReportError:
                    continue
                pair = []
                for exact in (True, False):
                    with db.session() as s:
                        pair.append(
                            build_report(
                                s,
                                ReportRequest(
                                    start, counted if exact else end, ids, as_of=end, exact=exact
                                ),
                                tariff=tariff,
                                unit_costs=load_unit_costs(),
                                protector=guard,
                            )
                        )
                releases += 1
                with db.session() as s:
                    expected = recompute(s, start, counted, ids, annual, guard)
                for a in agreement(pair[0], expected):
                    agreed[a.table][0] += a.compared
                    agreed[a.table][1] += a.agree
                    differ += [f"{start}..{end} {ids}: {d}" for d in a.differ]
                true, noisy = (cells(r) for r in pair)
                for key, (unit, t) in true.items():
                    n = noisy[key][1]
                    was = t.display if t.suppressed or t.value == 0 else "a figure"  # type: ignore[attr-defined]
                    hidden[was, n.display if n.suppressed else "a figure"] += 1  # type: ignore[attr-defined]
                    if t.suppressed or n.suppressed or t.value is None or n.value is None:  # type: ignore[attr-defined]
                        continue
                    diff = n.value - t.value  # type: ignore[attr-defined]
                    if unit == "MONEY" and t.value:  # type: ignore[attr-defined]
                        errors[release, "money (% of the true amount)"].append(
                            100 * diff / abs(t.value)  # type: ignore[attr-defined]
                        )
                    elif key[2] in ("total_before", "total_after"):
                        errors[release, "NHS use (events)"].append(diff)
                    elif unit == "COUNT":
                        errors[release, "people"].append(diff)
                    elif unit != "MONEY":
                        errors[release, unit.lower()].append(diff)
        db.dispose()
    source = f"{args.referrals:,} synthetic referrals" if args.referrals else "the demo"
    print(f"Perturbed against exact, {source}: {releases} releases (months, quarters, "
          "financial years; all localities and each)\n")  # fmt: skip
    print("| release | figures | shown in both | exact | within 1 | within 2 | mean abs. error "
          "| median | largest |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for (release, unit), diffs in sorted(errors.items()):
        size = [abs(d) for d in diffs]
        share = [100 * sum(s <= b for s in size) / len(size) for b in (1e-9, 1, 2)]
        print(f"| {release} | {unit} | {len(size)} | {share[0]:.0f}% | {share[1]:.0f}% | "
              f"{share[2]:.0f}% | {statistics.fmean(size):.2f} | {statistics.median(size):.2f} "
              f"| {max(size):.2f} |")  # fmt: skip
    print("\nHow each cell is printed, exact against perturbed (all releases):\n")
    print("| exact | perturbed | cells |\n|---|---|---|")
    for (was, now), count in sorted(hidden.items()):
        print(f"| {was} | {now} | {count} |")
    print("\nThe tables for commissioners, exact releases against a recomputation from the raw "
          "rows (shown cells):\n")  # fmt: skip
    print("| table | cells compared | agree |\n|---|---|---|")
    for table, (compared, agree) in agreed.items():
        print(f"| {table} | {compared:,} | {agree:,} |")
    for line in differ[:10]:
        print("differs:", line)


if __name__ == "__main__":
    main()
