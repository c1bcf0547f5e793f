"""The package as a deployer installs it: the built wheel (not an editable install) in a fresh
virtual environment, run from an empty folder. Everything `petunia up` and `petunia report`
read (demo directory, instruments, tariff, unit costs, templates, migrations, the ORUK
schemas) must be in the wheel.

The environment borrows the test machine's installed dependencies (``--system-site-packages``)
so that it needs no network; the wheel itself goes into the environment's own site-packages,
which comes first, and the test checks that Petunia is imported from there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, engine_name
from tests.test_cli import free_port, stop, wait_until_up

pytestmark = pytest.mark.skipif(
    engine_name() != "sqlite", reason="the wheel is the same on both engines: built once"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # Built as pip builds it for a user: in isolation, with the build backend pyproject.toml
    # asks for, from a copy of the work tree (no stray build/ or egg-info written into it).
    source = tmp_path_factory.mktemp("source") / "petunia"
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(".git", "var", "node_modules", "__pycache__")
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (found,) = out.glob("petunia-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return env_dir


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PETUNIA_", "DATABASE_"))}
    env.pop("PYTHONPATH", None)  # the wheel, not the work tree
    env["PETUNIA_DATA_DIR"] = str(data_dir)
    return env


def test_the_wheel_carries_the_data_the_commands_read(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "directory_data/localities.yaml",
        "directory_data/providers/anytown-cat-and-dog-shelter.yaml",
        "directory_data/outcomes/ltc6.yaml",
        "directory_data/reports/tariff.yaml",
        "directory_data/reports/nhs_unit_costs.yaml",
        "api/oruk/spec/openapi.json",
        "api/oruk/spec/LICENSE",
        "api/oruk/spec/schema-src/taxonomy_term.json",
        "api/reports/templates/report.html.j2",
        "migrations/versions/0001_directory_core.py",
    ):
        assert needed in names, needed


def test_up_and_report_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    python, petunia = installed / "bin" / "python", installed / "bin" / "petunia"
    where = subprocess.run(
        [
            str(python),
            "-c",
            "import api, directory_data; print(api.__file__, directory_data.__file__)",
        ],
        cwd=tmp_path,
        env=_env(tmp_path / "var"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.count(str(installed)) == 2, where

    empty = tmp_path / "empty"
    empty.mkdir()
    port = free_port()
    proc = subprocess.Popen(
        [str(petunia), "up", "--port", str(port)],
        cwd=empty,
        env=_env(empty / "var"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, proc, timeout=180)
        body = httpx.post(
            url + "/graphql", json={"query": "{ sessions(first: 1) { totalCount } }"}
        ).json()
        assert body["data"]["sessions"]["totalCount"] > 100  # the demo directory loaded
        assert httpx.get(url + "/oruk/openapi.json").json()["openapi"] == "3.1.0"
        site = httpx.get(url + "/", follow_redirects=True)
        assert site.status_code == 200 and "<html" in site.text.lower()  # the site was built
    finally:
        output = stop(proc)
    assert "Traceback" not in output, output

    report = subprocess.run(
        [
            str(petunia),
            "report",
            "--from",
            "2025-04-01",
            "--to",
            "2026-03-31",
            "--out",
            str(empty / "report"),
        ],
        cwd=empty,
        env=_env(empty / "var"),
        capture_output=True,
        text=True,
    )
    assert report.returncode == 0, report.stdout + report.stderr
    assert (empty / "report" / "report.html").stat().st_size > 1000
    assert list((empty / "report").glob("*.csv"))
