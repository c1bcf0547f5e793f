"""Delivering queued email in the background: `petunia up` runs one ``Deliverer`` thread in
its own (parent) process, so there is one however many workers serve requests; a cron or
worker deployment runs `petunia mail deliver` instead (or as well: claims keep them apart)."""

from __future__ import annotations

import logging
import threading

from api.config import Settings
from api.db import Database
from api.mail.queue import deliver_due

log = logging.getLogger("petunia.mail")


class Deliverer:
    """Calls ``deliver_due`` every ``settings.mail_poll_seconds`` until stopped."""

    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db or Database.from_url(settings.resolved_database_url)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="petunia-mail", daemon=True)

    def start(self) -> Deliverer:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        self._thread.join(timeout)
        self.db.dispose()

    def __enter__(self) -> Deliverer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                report = deliver_due(self.db, self.settings)
                if report.sent or report.retrying or report.failed or report.purged:
                    log.info("mail queue: %s", report)
            except Exception as exc:  # noqa: BLE001 - a database outage: try again next time
                log.warning("mail queue not read (%s): trying again later", type(exc).__name__)
            self._stop.wait(self.settings.mail_poll_seconds)
