"""The background site rebuild of `petunia up` (and `petunia serve --rebuild-site`).

A thread in the parent process (one per deployment however many workers serve) looks at the
queued site changes (api/directory/publishing.py) every second and, debounced (a few quiet
seconds, at most ``site_rebuild_max_wait_seconds`` after the first change), runs
``sitegen.build.rebuild``: incremental, swapped in atomically, with what it kept from its
last build (sitegen/memo.py). Only one build of a folder
runs at a time (``sitegen.swap.build_lock``, a file lock): a second process that finds it
taken leaves the changes queued for the one building. It also rebuilds when the date
changes, so listings going stale and "next dates" follow the calendar.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from api.config import Settings
from api.db import Database
from api.directory import publishing
from sitegen.memo import BuildMemo

log = logging.getLogger("petunia.site")


class Rebuilder:
    TICK_SECONDS = 1.0
    RETRY_SECONDS = 30.0  # after a failed build

    def __init__(
        self, settings: Settings, db: Database | None = None, memo: BuildMemo | None = None
    ) -> None:
        self.settings = settings
        self.db = db or Database.from_url(settings.resolved_database_url)
        self.quiet = dt.timedelta(seconds=settings.site_rebuild_quiet_seconds)
        self.max_wait = dt.timedelta(seconds=settings.site_rebuild_max_wait_seconds)
        self.built_on: dt.date | None = None
        self.builds = 0  # for tests and diagnostics
        # Per-listing results and the last build's files, kept between builds (sitegen/memo.py).
        self.memo = memo or BuildMemo()
        self._failed_at: dt.datetime | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="petunia-site", daemon=True)

    def start(self, *, built_on: dt.date | None = None) -> Rebuilder:
        """Start watching; ``built_on``: the date of the build `up` just made."""
        from sitegen.build import london_today

        self.built_on = built_on or london_today()
        self._thread.start()
        return self

    def stop(self, timeout: float = 120) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def __enter__(self) -> Rebuilder:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def due(self, now: dt.datetime) -> bool:
        from sitegen.build import london_today

        if self._failed_at and now - self._failed_at < dt.timedelta(seconds=self.RETRY_SECONDS):
            return False
        if self.built_on != london_today():
            return True
        with self.db.session() as session:
            changes = publishing.pending(session)
        return changes is not None and publishing.is_due(
            changes, now, quiet=self.quiet, max_wait=self.max_wait
        )

    def run_once(self, now: dt.datetime | None = None) -> bool:
        """Rebuild if due; True when a new site went live."""
        from sitegen.build import BuildError, london_today, rebuild
        from sitegen.swap import BuildLocked

        now = now or dt.datetime.now(dt.UTC)
        try:
            if not self.due(now):
                return False
            today = london_today()
            report = rebuild(self.db, self.settings, today=today, memo=self.memo)
        except BuildLocked:
            return False  # another process is building: it, or the next round, shows them
        except (BuildError, OSError) as exc:
            self._failed_at = now
            log.warning("the site was not rebuilt: %s; trying again in 30 s", exc)
            return False
        except Exception as exc:  # noqa: BLE001 - one line; the previous site stays up
            self._failed_at = now
            log.warning("the site was not rebuilt (%s); trying again in 30 s", type(exc).__name__)
            return False
        self._failed_at = None
        self.built_on = today
        self.builds += 1
        if report.cleanup is not None:
            report.cleanup.join()
        log.info("site rebuilt: %s", report.summary())
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.TICK_SECONDS)
