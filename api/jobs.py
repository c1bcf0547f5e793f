"""The periodic jobs of a deployment, and the thread that runs them on their schedules.

`petunia up` runs one ``Scheduler`` thread in its own (parent) process, so the embedded
default needs no cron and the jobs run once however many workers serve; on several hosts,
one `petunia worker` process runs them (or cron runs the commands of the same names). Each
job is the same function its command calls, and each is safe to run again: a run finds what
is due and does it once (nudges and reminders are recorded, purges delete only what is past
its time, webhook calls are claimed).

Queued email is delivered by its own thread (api/mail/background.py), more often.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from api.config import Settings
from api.db import Database

log = logging.getLogger("petunia.jobs")


@dataclass(frozen=True)
class Job:
    name: str  # as the command is called: `petunia <name>`
    every: dt.timedelta
    run: Callable[[Database, Settings], str]  # returns what it did, for one log line


def _webhooks(db: Database, settings: Settings) -> str:
    import httpx

    from api.referrals.protection import protector
    from api.referrals.webhooks import deliver_due

    with httpx.Client() as http:
        report = deliver_due(
            db.session,
            protector(settings),
            http,
            max_attempts=settings.webhook_max_attempts,
            production=settings.production,
        )
    return str(report)


def _nudge(db: Database, settings: Settings) -> str:
    from api.referrals.nudge import nudge

    with db.session() as session:
        return str(nudge(session, settings))  # emails queued; the mail thread sends them


def _remind(db: Database, settings: Settings) -> str:
    from api.registration.answers import today
    from api.registration.upkeep import send_reminders

    report = send_reminders(db, settings, today=today(), dry_run=False)
    return f"{len(report.sent)} reminder(s) queued"


def _purge(db: Database, settings: Settings) -> str:
    from api.retention import purge

    return str(purge(db, settings))


JOBS = (
    Job("webhooks deliver", dt.timedelta(minutes=1), _webhooks),
    Job("nudge", dt.timedelta(days=1), _nudge),
    Job("remind", dt.timedelta(days=1), _remind),
    Job("purge", dt.timedelta(days=1), _purge),
)


class Scheduler:
    """Runs each job when it is due (every job at start, then every ``job.every``), until
    stopped. A job that fails (say, the database is down) is logged in one line and tried
    again at its next time."""

    TICK_SECONDS = 5.0

    def __init__(
        self, settings: Settings, db: Database | None = None, jobs: tuple[Job, ...] = JOBS
    ) -> None:
        self.settings = settings
        self.db = db or Database.from_url(settings.resolved_database_url)
        self.jobs = jobs
        self.last_run: dict[str, dt.datetime] = {}
        self.passes = 0  # rounds done, for tests and diagnostics
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="petunia-jobs", daemon=True)

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def stop(self, timeout: float = 60) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def __enter__(self) -> Scheduler:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def run_due(self, now: dt.datetime | None = None) -> list[str]:
        """Run the jobs that are due now; returns their names."""
        now = now or dt.datetime.now(dt.UTC)
        ran = []
        for job in self.jobs:
            last = self.last_run.get(job.name)
            if last is not None and now - last < job.every:
                continue
            self.last_run[job.name] = now
            ran.append(job.name)
            try:
                log.info("%s: %s", job.name, job.run(self.db, self.settings))
            except Exception as exc:  # noqa: BLE001 - one line; the next run tries again
                log.warning("%s did not run (%s): trying again later", job.name, type(exc).__name__)
        self.passes += 1
        return ran

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            self._stop.wait(self.TICK_SECONDS)
