"""The petunia command, run for real: `up` in a subprocess serving HTTP, the rest in-process."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.conftest import MINI, PG_URL

runner = CliRunner()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"petunia up exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("petunia up did not answer in time")


def run_up(data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "up", "--port", str(port), "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url, proc)
    return proc, url


def stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    out, _ = proc.communicate(timeout=30)
    return out


COUNT = "{ sessions { totalCount } providers { totalCount } }"


@pytest.mark.skipif(bool(PG_URL), reason="`up` on its embedded default (SQLite) only")
def test_up_creates_loads_serves_and_is_safe_to_run_again(tmp_path: Path) -> None:
    data = tmp_path / "var"
    proc, url = run_up(data)
    try:
        first = httpx.post(f"{url}/graphql", json={"query": COUNT}).json()["data"]
        assert first["sessions"]["totalCount"] >= 150 and first["providers"]["totalCount"] >= 40
        page = httpx.get(f"{url}/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
    finally:
        log = stop(proc)
    assert "Loading the demo directory" in log
    # One demo sign-in per role, printed at start (development only).
    assert "Try the staff pages as" in log and "practice@demo.petunia.invalid" in log
    assert "link-worker@demo.petunia.invalid" in log and "admin@demo.petunia.invalid" in log
    # --port sets the public URL: links point where it listens (not at port 8000).
    assert f"Sign in at {url}/staff/sign-in" in log
    assert (data / "petunia.db").exists()

    proc, url = run_up(data)
    try:
        again = httpx.post(f"{url}/graphql", json={"query": COUNT}).json()["data"]
    finally:
        log = stop(proc)
    assert again == first
    assert "Loading the demo directory" not in log


@pytest.fixture()
def cli_env(new_database_url, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh database for CLI commands, through DATABASE_URL or --data-dir."""
    monkeypatch.setenv("DATABASE_URL", new_database_url())
    return tmp_path / "var"


def invoke(*args: str):  # noqa: ANN201
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_db_load_and_practices(cli_env: Path) -> None:
    assert invoke("db", "upgrade", "--data-dir", str(cli_env)).exit_code == 0
    loaded = invoke("load", str(MINI), "--data-dir", str(cli_env))
    assert loaded.exit_code == 0 and "provider: 3 created" in loaded.output
    again = invoke("load", str(MINI), "--data-dir", str(cli_env))
    assert "Already up to date" in again.output
    listed = invoke("practices", "list", "--data-dir", str(cli_env))
    assert "T00001" in listed.output and "Alex Link" in listed.output
    # The lead providers' keys, which `clients create --provider` takes.
    assert "Lead provider key" in listed.output and "lead-north" in listed.output


def test_a_load_that_changed_rows_leaves_the_planner_its_statistics(cli_env: Path) -> None:
    import os

    from sqlalchemy import create_engine, text

    assert invoke("db", "upgrade", "--data-dir", str(cli_env)).exit_code == 0
    assert invoke("load", str(MINI), "--data-dir", str(cli_env)).exit_code == 0
    engine = create_engine(os.environ["DATABASE_URL"])
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            analysed = conn.execute(text("SELECT tbl FROM sqlite_stat1")).scalars().all()
        else:
            analysed = (
                conn.execute(
                    text("SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL")
                )
                .scalars()
                .all()
            )
    engine.dispose()
    assert "sessions" in analysed and "providers" in analysed


def test_load_reports_bad_rows_and_exits_non_zero(cli_env: Path, tmp_path: Path) -> None:
    invoke("db", "upgrade")
    folder = tmp_path / "bad"
    shutil.copytree(MINI, folder)
    (folder / "practices.csv").write_text("ods_code,name,locality,postcode\nT1,X,nowhere,\n")
    result = invoke("load", str(folder))
    assert result.exit_code == 1
    assert "practices.csv:2: practice: ods_code" in result.output
    assert "nothing was loaded" in result.output


def test_import_postcodes(cli_env: Path, tmp_path: Path) -> None:
    invoke("db", "upgrade")
    good = tmp_path / "onspd.csv"
    good.write_text("pcds,lat,long\nAT1 1AA,52.65,-1.13\nAT9 9ZZ,99.999999,0\n")
    result = invoke("import-postcodes", str(good))
    assert result.exit_code == 0, result.output
    assert "Imported 1 postcodes; skipped 1 with no location" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("pcds,lat,long\nnope,52.65,-1.13\n")
    result = invoke("import-postcodes", str(bad))
    assert result.exit_code == 1 and "line 2: 'nope' is not a UK postcode" in result.output


# Every command the README lists.
COMMANDS = [
    "",
    "up",
    "serve",
    "db upgrade",
    "db downgrade",
    "load",
    "import-postcodes",
    "practices list",
    "clients create",
    "clients list",
    "clients rotate",
    "clients revoke",
    "nudge",
    "purge",
    "rekey",
    "webhooks deliver",
    "mail deliver",
    "worker",
    "import",
    "remind",
    "revoke-edit-links",
    "prize-draw",
    "report",
    "build-site",
    "export oruk",
    "staff invite",
    "staff list",
    "staff deactivate",
    "staff sign-out",
    "staff reset-second-factor",
]


@pytest.mark.parametrize("command", [c.split() for c in COMMANDS], ids=COMMANDS)
def test_every_command_has_help(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0 and "Usage" in result.output
