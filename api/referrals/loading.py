"""What `petunia load DIR` adds for referrals and outcomes: the outcome instruments in
``DIR/outcomes/*.yaml`` and, when ``DIR/demo_referrals.yaml`` exists (the demo folder only),
the synthetic demo referrals."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import orm

from api.config import Settings
from api.directory.loading import LoadReport
from api.outcomes.instruments import load_instruments


def load_referral_data(
    db: orm.Session, folder: Path, settings: Settings, report: LoadReport
) -> LoadReport:
    load_instruments(db, Path(folder) / "outcomes", report)
    demo = Path(folder) / "demo_referrals.yaml"
    if demo.exists():
        from api.referrals.demo import seed_from_file

        seed_from_file(db, demo, settings, report)
    return report
