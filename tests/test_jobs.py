"""The periodic jobs that `petunia up` (and `petunia worker`) run without cron."""

from __future__ import annotations

import datetime as dt
import logging
import time

import pytest
from sqlalchemy import select

from api.config import get_settings
from api.db import Database
from api.jobs import JOBS, Job, Scheduler
from api.registration.models import Registration, RegistrationStatus
from tests.test_upkeep import add_registration


def test_every_job_runs_at_start_then_when_it_is_due(
    db: Database, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    now = dt.datetime.now(dt.UTC)
    stale = add_registration(
        db, "stale", RegistrationStatus.AWAITING_CONFIRMATION, now - dt.timedelta(days=40)
    )
    scheduler = Scheduler(get_settings(data_dir=tmp_path), db=db)
    with caplog.at_level(logging.INFO, logger="petunia.jobs"):
        assert scheduler.run_due(now) == [job.name for job in JOBS]
    said = caplog.text
    for job in JOBS:
        assert f"{job.name}: " in said, job.name
    with db.session() as s:  # purge ran: nobody confirmed that registration in 30 days
        assert stale not in set(s.scalars(select(Registration.id)))
    # A minute later only the webhooks are due; a day later, every job again.
    assert scheduler.run_due(now + dt.timedelta(seconds=61)) == ["webhooks deliver"]
    assert scheduler.run_due(now + dt.timedelta(days=1, seconds=1)) == [j.name for j in JOBS]


def test_a_failing_job_is_one_line_and_the_others_still_run(
    db: Database, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_db: Database, _settings: object) -> str:
        raise RuntimeError("Zebedee Quokkaworth")  # a message that must not reach the log

    ran: list[str] = []
    jobs = (
        Job("broken", dt.timedelta(days=1), broken),
        Job("fine", dt.timedelta(days=1), lambda _db, _s: ran.append("fine") or "done"),
    )
    scheduler = Scheduler(get_settings(data_dir=tmp_path), db=db, jobs=jobs)
    with caplog.at_level(logging.INFO, logger="petunia.jobs"):
        scheduler.start()
        deadline = dt.datetime.now() + dt.timedelta(seconds=20)
        while scheduler.passes == 0 and dt.datetime.now() < deadline:
            time.sleep(0.05)
        scheduler.stop()
    assert ran == ["fine"]
    assert "broken did not run (RuntimeError): trying again later" in caplog.text
    assert "Zebedee" not in caplog.text and "Traceback" not in caplog.text
