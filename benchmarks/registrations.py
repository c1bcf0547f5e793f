"""Registrations under load: many clients submit the /register form at once to a real
server (uvicorn, 2 worker processes, on loopback), on SQLite and on PostgreSQL.

    python3 -m benchmarks.registrations [--clients 16] [--each 25] [--database-url URL]

Prints a table: registrations accepted per second, request latency, failures (any response
that is not the "check your email" page), and whether every accepted submission is stored
exactly once (each client also re-sends some forms, as a double click or a retry would).
tests/test_registration_load.py runs the same load, smaller, and asserts on it.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select

from api import migrations
from api.db import Database
from api.directory.loading import load_directory
from api.registration.models import Registration

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "data" / "mini"


def prepare(url: str) -> None:
    db = Database.from_url(url)
    migrations.upgrade(db.engine)
    with db.session() as session:
        load_directory(session, MINI)
    db.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(
    url: str, data_dir: Path, workers: int = 2, env: dict[str, str] | None = None
) -> Iterator[tuple[str, Path]]:
    """A real server on loopback; yields (base URL, its log file)."""
    port = _free_port()
    log = data_dir / "server.log"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PETUNIA_DATA_DIR": str(data_dir),
        # Every worker must sign links with the same key.
        "PETUNIA_SECRET_KEY": "load-test-secret",
        # Each simulated client sends its own X-Forwarded-For (uvicorn trusts loopback).
        "PETUNIA_FORM_RATE_LIMIT": "100000",
        "PETUNIA_PUBLIC_URL": f"http://127.0.0.1:{port}",
        **(env or {}),
    }
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the server exited: {log.read_text()}")
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start in 60 s")
                time.sleep(0.2)
            yield base, log
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass
class LoadResult:
    accepted_keys: set[str] = field(default_factory=set)
    latencies_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0


def form(client: int, n: int) -> dict[str, str | list[str]]:
    return {
        "organisation": f"Load Test Group c{client} n{n}",
        "title": "Dog walking",
        "description": "Walk a dog with us.",
        "domains": "PHYSICAL_ACTIVITY",
        "where": "VENUE",
        "venue_name": f"Hall {client}",
        "postcode": "AT1 2AB",
        "when": "TIMES",
        "days": ["SA"],
        "starts": "10am",
        "email": f"group{client}-{n}@load.example",
        "show_email": "yes",
        "submission_key": f"load-{client}-{n}",
        "send": "yes",  # the "accept and send" of the check your answers page
    }


def run_load(base: str, clients: int, each: int, resend_every: int = 5) -> LoadResult:
    """``clients`` threads each submit ``each`` registrations, re-sending every
    ``resend_every``-th one with the same submission key right after it."""
    result = LoadResult()
    lock = threading.Lock()
    start_line = threading.Barrier(clients)

    def client(number: int) -> None:
        headers = {"X-Forwarded-For": f"10.0.{number // 250}.{number % 250 + 1}"}
        with httpx.Client(base_url=base, timeout=60, headers=headers) as http:
            start_line.wait()
            for n in range(each):
                sends = 2 if resend_every and n % resend_every == 0 else 1
                for _ in range(sends):
                    began = time.perf_counter()
                    try:
                        response = http.post("/register", data=form(number, n))
                        ok = response.status_code == 200 and "Check your email" in response.text
                        problem = None if ok else f"{response.status_code}: {response.text[:200]}"
                    except httpx.HTTPError as exc:
                        problem = f"transport: {exc!r}"
                    elapsed = (time.perf_counter() - began) * 1000
                    with lock:
                        result.requests += 1
                        result.latencies_ms.append(elapsed)
                        if problem:
                            result.failures.append(problem)
                        else:
                            result.accepted_keys.add(f"load-{number}-{n}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - began
    return result


def stored_keys(url: str) -> list[str]:
    db = Database.from_url(url)
    try:
        with db.session() as s:
            return list(s.scalars(select(Registration.submission_key)))
    finally:
        db.dispose()


def stored_count(url: str) -> int:
    db = Database.from_url(url)
    try:
        with db.session() as s:
            return s.scalar(select(func.count()).select_from(Registration)) or 0
    finally:
        db.dispose()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--each", type=int, default=25)
    parser.add_argument("--database-url", help="also run on this empty PostgreSQL database")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        engines = [("sqlite", f"sqlite:///{Path(tmp) / 'load.db'}")]
        if args.database_url:
            engines.append(("postgresql", args.database_url))
        for name, url in engines:
            prepare(url)
            with serve(url, Path(tmp)) as (base, log):
                result = run_load(base, args.clients, args.each)
                locked = log.read_text().lower().count("database is locked")
            keys = stored_keys(url)
            exactly_once = sorted(keys) == sorted(result.accepted_keys)
            rows.append(
                (
                    name,
                    args.clients,
                    result.requests,
                    len(result.accepted_keys),
                    len(result.accepted_keys) / result.seconds,
                    statistics.median(result.latencies_ms),
                    _pct(result.latencies_ms, 0.95),
                    len(result.failures),
                    locked,
                    "yes" if exactly_once else f"NO ({len(keys)} stored)",
                )
            )
    print(
        "| engine | clients | requests | registrations | registrations/s | median ms | "
        "p95 ms | failures | 'locked' in log | stored exactly once |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.1f} | {r[5]:.0f} | {r[6]:.0f} | "
            f"{r[7]} | {r[8]} | {r[9]} |"
        )


if __name__ == "__main__":
    main()
