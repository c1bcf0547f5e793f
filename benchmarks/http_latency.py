"""Latency as clients see it: the real server over TCP with keep-alive, driven by wrk.

    python3 -m benchmarks.http_latency [--scale 20000|100000] [--engine sqlite|postgresql]
        [--duration 5] [--concurrency 1 8 32] [--servers serve up] [--database-url URL]

Generates a synthetic directory (benchmarks/synthetic.py: 2,000 providers / 20,000 sessions,
or 10,000 / 100,000), or reuses the one --database-url already holds (generate it once with
`python3 -m benchmarks.synthetic --scale N --database-url URL`; --engine postgresql needs a
URL), then starts each server on a free
loopback port, as an operator would: `petunia serve --workers 2` (the Docker image's command)
and `petunia up` (one process); `--servers uvicorn` adds plain `uvicorn --workers 2`, what
`serve` ran before its connections had TCP_NODELAY, for comparison. wrk (Debian's `wrk`;
`apt-get install -y wrk`) holds keep-alive connections, one per unit of concurrency, and sends
each request for --duration seconds after a one-second warm-up:

  baseline   POST /_benchmark/search: a plain Starlette JSON route on the same server running
             the hand-written SQL of benchmarks/api_search.py (same answer as "search")
  search     POST /graphql: the same search (text + domain + near, first 20, provider, venue)
  readme     POST /graphql: the README's search (with schedule and next dates), near AT5 5AA
  provider   POST /graphql: a provider with its sessions
  session    POST /graphql: a session by id, with provider, venue, schedule, next dates
  oruk       GET /oruk/services?per_page=20
  healthz    GET /healthz (a read and a committed no-op write)
  search-get GET /graphql?query=...: the search as a cacheable GET, sent cold (no ETag)
  search-304 the same GET with If-None-Match: the warm, repeated search (304, no body)

and the size of the search and ORUK answers sent plain, gzip and brotli (api/caching.py).

The baseline route exists only when PETUNIA_BENCHMARK_ROUTES=true, which this script sets
for the servers it starts (it needs the repository's benchmarks/ folder on the path).

Prints req/s, p50 and p99 for each, with the ratios to the baseline at the same concurrency
(latency: p50 / baseline p50; throughput: req/s / baseline req/s), and the targets of issue
15 marked met or not, with the load average. These machines are shared and noisy: compare
ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.db import Database

ROOT = Path(__file__).resolve().parent.parent

README_QUERY = """
query Readme($postcode: String!) {
  sessions(filter: {text: "dog walking", near: {postcode: $postcode, radiusKm: 5}}, first: 5) {
    totalCount
    edges {
      distanceKm
      node {
        title
        provider { name lastConfirmedAt }
        venue { name postcode accessibility }
        schedule { description }
        nextOccurrences(first: 3) { date startsAt }
        cost { isFree price { amount } }
      }
    }
  }
}"""
SESSION_QUERY = """
query One($id: ID!) {
  session(id: $id) {
    title description howToJoin
    provider { name phone }
    venue { name postcode latitude longitude }
    schedule { description }
    nextOccurrences(first: 3) { date startsAt }
  }
}"""
SESSION_FIELDS = "title schedule { description } venue { name postcode }"


def baseline_routes(db: Database) -> list[Route]:
    """The plain route the figures are compared with (mounted by api.app only when
    PETUNIA_BENCHMARK_ROUTES is set)."""
    from benchmarks.api_search import hand_written

    async def search(_request: Request) -> Response:
        # Starlette runs sync work in a thread too: the same shape as the GraphQL resolvers.
        body = await run_in_threadpool(hand_written, db)
        return Response(body, media_type="application/json")

    return [Route("/_benchmark/search", search, methods=["POST"])]


@dataclass
class Target:
    name: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], env: dict[str, str], log: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", *command, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 600  # `up` builds the site first
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{' '.join(command)} exited; see {log}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"{' '.join(command)} did not answer in time; see {log}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def targets(base: str) -> list[Target]:
    """The requests, with ids found on the running server; each answer is checked once."""
    from benchmarks.api_search import FILTER, QUERY

    def graphql(query: str, **variables: object) -> dict[str, Any]:
        body = {"query": query, "variables": variables}
        answer = httpx.post(f"{base}/graphql", json=body, timeout=30).json()
        assert not answer.get("errors"), answer
        return answer["data"]

    search = graphql(QUERY, filter=FILTER)["sessions"]
    assert search["totalCount"] > 0, "the synthetic search finds nothing"
    session_id = search["edges"][0]["node"]["id"]
    provider_id = search["edges"][0]["node"]["provider"]["id"]
    sessions = f"sessionsConnection(first: 20) {{ edges {{ node {{ {SESSION_FIELDS} }} }} }}"
    provider_query = f"query P($id: ID!) {{ provider(id: $id) {{ name {sessions} }} }}"
    assert graphql(provider_query, id=provider_id)["provider"]["name"]
    assert graphql(SESSION_QUERY, id=session_id)["session"]["title"]
    assert graphql(README_QUERY, postcode="AT5 5AA")["sessions"]["totalCount"] > 0
    baseline = httpx.post(f"{base}/_benchmark/search", timeout=30).json()
    assert baseline["data"]["sessions"]["totalCount"] == search["totalCount"], "answers differ"

    def post(name: str, query: str, **variables: object) -> Target:
        return Target(name, "POST", "/graphql", {"query": query, "variables": variables})

    get = "/graphql?" + urlencode({"query": QUERY, "variables": json.dumps({"filter": FILTER})})
    first = httpx.get(base + get, timeout=30)
    assert first.status_code == 200 and "etag" in first.headers, first.headers
    etag = first.headers["etag"]
    assert httpx.get(base + get, headers={"If-None-Match": etag}).status_code == 304

    return [
        Target("baseline", "POST", "/_benchmark/search", {}),
        post("search", QUERY, filter=FILTER),
        post("readme", README_QUERY, postcode="AT5 5AA"),
        post("provider", provider_query, id=provider_id),
        post("session", SESSION_QUERY, id=session_id),
        Target("oruk", "GET", "/oruk/services?per_page=20"),
        Target("healthz", "GET", "/healthz"),
        Target("search-get", "GET", get),
        Target("search-304", "GET", get, headers={"If-None-Match": etag}),
    ]


def sizes(base: str, paths: dict[str, str]) -> None:
    """Bytes on the wire for each answer, plain and compressed (the raw body, not decoded)."""
    print(f"\n  {'answer':<12}{'identity':>10}{'gzip':>8}{'br':>8}{'gzip/id':>9}{'br/id':>7}")
    for name, path in paths.items():
        got = {}
        for encoding in ("identity", "gzip", "br"):
            with httpx.stream("GET", base + path, headers={"Accept-Encoding": encoding}) as r:
                got[encoding] = len(b"".join(r.iter_raw()))
        plain = got["identity"]
        print(f"  {name:<12}{plain:>10}{got['gzip']:>8}{got['br']:>8}"
              f"{got['gzip'] / plain:>9.2f}{got['br'] / plain:>7.2f}")  # fmt: skip


def wrk_script(target: Target, folder: Path) -> Path:
    path = folder / f"{target.name}.lua"
    lines = [f'wrk.method = "{target.method}"']
    if target.body is not None:
        lines.append(f"wrk.body = {json.dumps(json.dumps(target.body))}")
        lines.append('wrk.headers["Content-Type"] = "application/json"')
    for name, value in (target.headers or {}).items():
        lines.append(f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}")
    path.write_text("\n".join(lines) + "\n")
    return path


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def run_wrk(base: str, target: Target, script: Path, connections: int, seconds: int) -> Result:
    def wrk(duration: int) -> str:
        # A long timeout: a slow answer is counted at its real latency, not dropped.
        command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "30s"]
        command += ["--latency"]
        command += ["-s", str(script), base + target.path]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    wrk(1)  # warm-up: connections, caches
    out = wrk(seconds)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out)[1])  # type: ignore[index]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out)[1])  # type: ignore[index]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = int(bad[1]) if bad else 0
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if socket_errors:
        print(f"    ({target.name}, c={connections}: socket errors {socket_errors[1]})")
    return Result(rps, p50, p99, errors)


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def report(server: str, results: dict[tuple[str, int], Result], levels: list[int]) -> None:
    print(f"\n{server}")
    head = f"{'request':<10}{'conc':>5}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
    print(head + f"{'p50 x base':>12}{'req/s x base':>14}{'non-2xx':>9}")
    names = list(dict.fromkeys(name for name, _ in results))
    for name in names:
        for c in levels:
            r, base = results[(name, c)], results[("baseline", c)]
            print(
                f"{name:<10}{c:>5}{r.rps:>9.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
                f"{_ratio(r.p50_ms, base.p50_ms):>12.2f}{_ratio(r.rps, base.rps):>14.2f}"
                f"{r.errors:>9}"
            )


def targets_met(
    server: str, results: dict[tuple[str, int], Result], levels: list[int], sessions: int
) -> None:
    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    lo, hi = min(levels), max(levels)
    search, base = results[("search", lo)], results[("baseline", lo)]
    ratio = _ratio(search.p50_ms, base.p50_ms)
    # 5 ms at 20,000 sessions (section 1), 10 ms at 100,000 (section 4).
    limit = 5 if sessions <= 20_000 else 10
    print(f"  search p50 {search.p50_ms:.2f} ms at c={lo} (target < {limit} ms): ", end="")
    print(f"{verdict(search.p50_ms < limit)}; {ratio:.2f}x baseline (target <= 2.5x): ", end="")
    print(verdict(ratio <= 2.5))
    share = _ratio(results[("search", hi)].rps, results[("baseline", hi)].rps)
    print(f"  search throughput at c={hi}: {share:.2f}x baseline (target >= 0.4x): ", end="")
    print(verdict(share >= 0.4))
    oruk = _ratio(results[("oruk", lo)].p50_ms, base.p50_ms)
    print(f"  oruk p50 at c={lo}: {oruk:.2f}x baseline (target <= 2x): {verdict(oruk <= 2)}")
    if ("search-304", lo) in results:
        warm, cold = results[("search-304", lo)], results[("search-get", lo)]
        print(f"  warm repeated search (304) p50 {warm.p50_ms:.2f} ms against cold "
              f"{cold.p50_ms:.2f} ms: {_ratio(cold.p50_ms, warm.p50_ms):.1f}x faster")  # fmt: skip


def main() -> None:
    from benchmarks.synthetic import SCALES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, choices=sorted(SCALES), default=20_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument(
        "--servers", nargs="+", default=["serve", "up"], choices=["serve", "up", "uvicorn"]
    )
    parser.add_argument(
        "--database-url",
        help="a database to fill, or one already holding this scale's directory (reused); "
        "default: a temporary SQLite file",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    if args.engine == "postgresql" and not (args.database_url or "").startswith("postgresql"):
        raise SystemExit("--engine postgresql needs --database-url postgresql+psycopg://...")
    sessions, providers = args.scale, SCALES[args.scale]

    from benchmarks.api_search import cpu_check
    from benchmarks.synthetic import prepared

    with tempfile.TemporaryDirectory(prefix="petunia-http-") as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite:///{folder / 'petunia.db'}"
        db = prepared(url, providers=providers, sessions=sessions)
        db.dispose()
        print(f"{db.dialect}: {providers} providers, {sessions} sessions")
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "PETUNIA_DATA_DIR": str(folder),
            "DATABASE_URL": url,
            "PETUNIA_BENCHMARK_ROUTES": "true",
            "PETUNIA_MODE": "development",
        }
        commands = {
            "serve": ["api.cli", "serve", "--workers", "2"],
            "up": ["api.cli", "up"],
            # What `petunia serve --workers 2` ran before api/serving.py: uvicorn's own
            # protocol, so Nagle's algorithm stays on (for comparison only).
            "uvicorn": ["uvicorn", "api.app:create_app", "--factory", "--workers", "2"],
        }
        for server in args.servers:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            label = " ".join(commands[server]).replace("api.cli", "petunia")
            proc = start(commands[server], env, folder / f"{server}.log", port)
            try:
                scripts = {t.name: (t, wrk_script(t, folder)) for t in targets(base)}
                # Each concurrency in turn, every request at it: the ratios to the baseline
                # compare measurements taken within a minute of each other.
                results = {
                    (name, c): run_wrk(base, target, script, c, args.duration)
                    for c in args.concurrency
                    for name, (target, script) in scripts.items()
                }
                answers = {
                    "search": scripts["search-get"][0].path,
                    "oruk": "/oruk/services?per_page=20",
                }
                report(f"{label}, {db.dialect}, {sessions:,} sessions", results, args.concurrency)
                targets_met(label, results, args.concurrency, sessions)
                sizes(base, answers)
            finally:
                stop(proc)
            print(f"  CPU check (a fixed Python loop, median of 5): {cpu_check():.0f} ms; "
                  f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
