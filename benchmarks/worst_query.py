"""The worst requests anyone can send, against a real server (uvicorn, one process, on
loopback, over TCP), measured against the limits that admit or refuse them.

    python3 -m benchmarks.worst_query [--providers 200] [--sessions 20000] [--database-url URL]

Rows marked * are the largest size of the query above them that the cost limit admits. The
directory is synthetic, with about 100 sessions per provider so that every nested list is
full. Each request is sent 3 times and the slowest is shown: wall time at the client; CPU time
of the server process (user and system, every thread: it leaves out waiting for a busy
machine's CPUs); the server's peak memory during the request above what it held before (its
peak RSS is reset through /proc before each request); the response's size; the cost against
the limit (api/graphql/cost.py) or the body's size against its limit. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from graphql import GraphQLSchema, parse

from api import migrations
from api.db import Database
from api.graphql.cost import MAX_COST, operation_cost
from api.graphql.schema import build_schema
from api.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH
from benchmarks.registrations import serve
from benchmarks.synthetic import generate

RUNS = 3


def _aliases(count: int, body: str) -> str:
    return "{ " + " ".join(f"a{i}: {body}" for i in range(count)) + " }"


def _nest(levels: int, first: int) -> str:
    """provider { sessions { provider { sessions { ... title } } } }, as in the issue."""
    inner = "title"
    for _ in range(levels):
        inner = f"provider {{ sessions {{ {inner} }} }}"
    return f"sessions(first: {first}) {{ edges {{ node {{ {inner} }} }} }}"


SESSION_FIELDS = (
    "id title description delivery howToJoin capacity updatedAt domains languages "
    "cost { isFree price { amount currency } concessions } "
    "whoFor { minAge maxAge gender carersWelcome notes } contact { name email phone } "
    "provider { name provenance } venue { name address postcode accessibility } "
    "schedule { byDay opensAt description } breaks { startsOn } "
    "nextOccurrences(first: 20) { date startsAt }"
)

NEAR = 'filter: {near: {postcode: "AT5 5AA", radiusKm: 50}}'
NESTED = "provider {{ sessionsConnection(first: {n}) {{ edges {{ node {{ id title }} }} }} }}"

# (name, query for a size n, the size tried first). Each is sent at that size, and at the
# largest n the cost limit admits (found by bisection) when the first is refused.
QUERIES: list[tuple[str, Callable[[int], str], int]] = [
    ("issue: 20 x sessions({n}) nested 3 deep", lambda n: _aliases(20, _nest(3, n)), 100),
    ("{n} x sessions(100) > provider > sessions", lambda n: _aliases(n, _nest(1, 100)), 20),
    ("sessions(1) > provider > sessions, {n} deep", lambda n: _aliases(1, _nest(n, 1)), 3),
    (
        "sessions(100) > provider > sessionsConnection({n})",
        lambda n: "{ sessions(first: 100) { edges { node { " + NESTED.format(n=n) + " } } } }",
        100,
    ),
    (
        "sessions({n}), every field",
        lambda n: f"{{ sessions(first: {n}) {{ edges {{ node {{ {SESSION_FIELDS} }} }} }} }}",
        100,
    ),
    (
        "{n} x sessions(100) { id }",
        lambda n: _aliases(n, "sessions(first: 100) { edges { node { id } } }"),
        20,
    ),
    (
        "{n} x sessions(20) near 50 km { id }",
        lambda n: _aliases(
            n, f"sessions(first: 20, {NEAR}) {{ totalCount edges {{ node {{ id }} }} }}"
        ),
        20,
    ),
    (
        "sessions({n}) { 4 x nextOccurrences(20) }",
        lambda n: (
            f"{{ sessions(first: {n}) {{ edges {{ node {{ "
            + " ".join(
                f'o{i}: nextOccurrences(first: 20, from: "2026-0{i + 1}-01") {{ date }}'
                for i in range(4)
            )
            + " } } } }"
        ),
        100,
    ),
    (
        "providers({n}) { sessions (deprecated) { id } }",
        lambda n: f"{{ providers(first: {n}) {{ edges {{ node {{ sessions {{ id }} }} }} }} }}",
        100,
    ),
    (
        "{n} x __schema (introspection)",
        lambda n: _aliases(
            n, "__schema { types { name fields { name args { name } type { name } } } }"
        ),
        20,
    ),
    (
        "{n} x __type, 2 levels of fields",
        lambda n: _aliases(
            n,
            '__type(name: "Query") { fields { name type { name fields { name type { name } } } } }',
        ),
        20,
    ),
]


@dataclass
class Row:
    name: str
    status: int
    seconds: float
    cpu_seconds: float
    peak_mb: float
    response_bytes: int
    cost: str
    outcome: str


def _cost(schema: GraphQLSchema, query: str) -> int:
    document = parse(query)
    return operation_cost(schema, document, document.definitions[0], None)  # type: ignore[arg-type]


def _largest_admitted(
    schema: GraphQLSchema, query_of: Callable[[int], str], size: int
) -> int | None:
    """The largest n <= size whose query the cost limit admits (None if not even 1)."""
    if _cost(schema, query_of(size)) <= MAX_COST:
        return size
    low, high = 0, size
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if _cost(schema, query_of(middle)) <= MAX_COST else (low, middle)
    return low or None


def _rss_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    """User and system time of the whole process (every thread) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _reset_peak(pid: int) -> None:
    # Writing 5 resets the peak resident set size (VmHWM) to the current one.
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _server_pid(port: int) -> int:
    """The uvicorn process listening on ``port`` (its only process, with one worker)."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[1].endswith(f":{port:04X}") and parts[3] == "0A":  # LISTEN
            inode = parts[9]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if fd.readlink().name == f"socket:[{inode}]":
                    return int(proc.name)
        except (PermissionError, FileNotFoundError, ProcessLookupError):
            continue
    raise RuntimeError(f"no process listens on port {port}")


def _one(
    client: httpx.Client, pid: int, request: httpx.Request
) -> tuple[httpx.Response, float, float, float]:
    before = _rss_kb(pid, "VmRSS")
    _reset_peak(pid)
    cpu = _cpu_seconds(pid)
    started = time.perf_counter()
    response = client.send(request)
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds(pid) - cpu
    peak = _rss_kb(pid, "VmHWM")
    return response, seconds, cpu, max(0, peak - before) / 1024


def run(base: str, pid: int) -> list[Row]:
    schema = build_schema(production=True)._schema
    rows = []
    with httpx.Client(base_url=base, timeout=600) as client:
        client.get("/healthz")

        def graphql(name: str, query: str) -> None:
            cost = _cost(schema, query)
            body = json.dumps({"query": query}).encode()
            rows.append(_worst(name, body, f"{cost:,} / {MAX_COST:,}"))

        def _worst(name: str, body: bytes, cost: str) -> Row:
            worst = None
            for _ in range(RUNS):
                request = client.build_request(
                    "POST", "/graphql", content=body, headers={"content-type": "application/json"}
                )
                response, seconds, cpu, peak = _one(client, pid, request)
                if worst is None or seconds > worst.seconds:
                    outcome = "answered"
                    if response.status_code != 200:
                        outcome = response.text[:40]
                    elif errors := response.json().get("errors"):
                        code = errors[0].get("extensions", {}).get("code")
                        outcome = code or errors[0]["message"][:40]
                    worst = Row(
                        name,
                        response.status_code,
                        seconds,
                        cpu,
                        peak,
                        len(response.content),
                        cost,
                        outcome,
                    )
            assert worst is not None
            return worst

        for name, query_of, size in QUERIES:
            graphql(name.replace("{n}", str(size)), query_of(size))
            admitted = _largest_admitted(schema, query_of, size)
            if admitted is not None and admitted != size:
                graphql(name.replace("{n}", str(admitted)) + " *", query_of(admitted))

        # The biggest body admitted: a query and 100 KB of variables nested 32 deep (variables
        # the query does not declare are read, checked and ignored).
        nested = "[" * (MAX_JSON_DEPTH - 2) + "]" * (MAX_JSON_DEPTH - 2)
        envelope: dict = {"query": "{ domains { label } }", "variables": {"pad": [], "x": ""}}
        room = MAX_BODY_BYTES - len(json.dumps(envelope)) - len(nested)
        envelope["variables"] = {"pad": json.loads(nested), "x": "y" * room}
        body = json.dumps(envelope).encode()
        rows.append(
            _worst(
                f"biggest admitted body ({len(body):,} B)",
                body,
                f"{len(body):,} / {MAX_BODY_BYTES:,} B",
            )
        )

        # 200 MB sent in chunks: refused after the first 100 KB.
        def chunks() -> Iterator[bytes]:
            for _ in range(200):
                yield b"x" * (1024 * 1024)

        _reset_peak(pid)
        before = _rss_kb(pid, "VmRSS")
        cpu = _cpu_seconds(pid)
        started = time.perf_counter()
        try:
            response = client.post(
                "/graphql", content=chunks(), headers={"content-type": "application/json"}
            )
            status, size, outcome = response.status_code, len(response.content), "refused"
        except httpx.TransportError as exc:  # the server may close before all is sent
            status, size, outcome = 413, 0, f"closed: {type(exc).__name__}"
        seconds = time.perf_counter() - started
        cpu = _cpu_seconds(pid) - cpu
        peak = max(0, _rss_kb(pid, "VmHWM") - before) / 1024
        rows.append(
            Row("200 MB body, chunked", status, seconds, cpu, peak, size, "200 MB", outcome)
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=20000)
    parser.add_argument("--database-url", help="an empty database (default: a temp SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database.from_url(url)
        migrations.upgrade(db.engine)
        generate(db, providers=args.providers, sessions=args.sessions)
        db.dispose()
        print(f"{db.dialect}: {args.providers} providers, {args.sessions} sessions")
        with serve(url, Path(tmp), workers=1) as (base, _log):
            pid = _server_pid(int(base.rsplit(":", 1)[1]))
            rows = run(base, pid)
    header = f"{'request':<52}{'status':>7}{'wall s':>8}{'CPU s':>7}{'peak MB':>8}{'response':>10}"
    print(f"{header}  {'cost / limit':<24}outcome")
    for r in rows:
        print(
            f"{r.name:<52}{r.status:>7}{r.seconds:>8.3f}{r.cpu_seconds:>7.2f}{r.peak_mb:>8.1f}"
            f"{r.response_bytes:>10,}  "
            f"{r.cost:<24}{r.outcome}"
        )
    admitted = [r for r in rows if r.status == 200]
    if admitted:
        worst = max(admitted, key=lambda r: r.seconds)
        print(
            f"\nslowest admitted request: {worst.name.strip()} {worst.seconds:.3f} s (target "
            f"< 1 s at 100,000 sessions): {'met' if worst.seconds < 1 else 'NOT met'}; "
            f"load average {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
