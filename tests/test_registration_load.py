"""Many clients register at once against a real server (uvicorn, two worker processes) on
SQLite or PostgreSQL: every accepted submission is stored exactly once, none is lost, and
no request fails with a database lock error. The figures are in benchmarks/registrations.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from benchmarks.registrations import prepare, run_load, serve, stored_keys


def test_concurrent_registrations_are_each_stored_once(
    new_database_url: Callable[[], str], tmp_path: Path
) -> None:
    url = new_database_url()
    prepare(url)
    with serve(url, tmp_path) as (base, log):
        result = run_load(base, clients=8, each=12, resend_every=4)
        server_log = log.read_text()
    assert result.failures == []
    assert result.requests == 8 * 12 + 8 * 3  # every 4th form was sent twice
    assert len(result.accepted_keys) == 8 * 12
    keys = stored_keys(url)
    assert len(keys) == len(set(keys)) == 8 * 12  # no duplicates from the re-sent forms
    assert set(keys) == result.accepted_keys  # none lost
    assert "locked" not in server_log.lower(), server_log[-2000:]
    assert "Traceback" not in server_log, server_log[-2000:]
