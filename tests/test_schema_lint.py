"""The GraphQL schema as a client generator sees it: every type, field, argument, input field
and enum value described (read from introspection, so it needs nothing but Python), and
graphql-schema-linter's description rules passing over the SDL `petunia schema` prints."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from graphql import GraphQLSchema, get_introspection_query, graphql_sync

from api.graphql.schema import build_schema

ROOT = Path(__file__).resolve().parent.parent
LINTER = Path(
    os.environ.get(
        "PETUNIA_GRAPHQL_SCHEMA_LINTER",
        ROOT / "tests" / "browser" / "node_modules" / ".bin" / "graphql-schema-linter",
    )
)
RULES = (
    "types-have-descriptions",
    "fields-have-descriptions",
    "arguments-have-descriptions",
    "enum-values-have-descriptions",
    "input-object-values-have-descriptions",
    "defined-types-are-used",
    "deprecations-have-a-reason",
)
BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}


@functools.cache
def _schema() -> GraphQLSchema:
    return build_schema(production=False)._schema


def _introspection() -> dict:
    schema = _schema()
    result = graphql_sync(schema, get_introspection_query(descriptions=True))
    assert not result.errors, result.errors
    return result.data["__schema"]


def undescribed(data: dict) -> list[str]:
    """Every path ('Type', 'Type.field', 'Type.field(argument)', 'Enum.VALUE') with no
    description, deprecated ones included."""
    missing = []
    for t in data["types"]:
        name = t["name"]
        if name.startswith("__") or name in BUILT_IN:
            continue
        if not t["description"]:
            missing.append(name)
        for field in t.get("fields") or ():
            if not field["description"]:
                missing.append(f"{name}.{field['name']}")
            missing += [
                f"{name}.{field['name']}({arg['name']})"
                for arg in field["args"]
                if not arg["description"]
            ]
        missing += [
            f"{name}.{f['name']}" for f in t.get("inputFields") or () if not f["description"]
        ]
        missing += [
            f"{name}.{v['name']}" for v in t.get("enumValues") or () if not v["description"]
        ]
    return missing


def test_every_part_of_the_schema_has_a_description() -> None:
    missing = undescribed(_introspection())
    assert not missing, (
        f"{len(missing)} parts of the GraphQL schema have no description. Describe each where "
        "it is defined (description=...), or in api/graphql/descriptions.py:\n  "
        + "\n  ".join(missing)
    )


def test_every_deprecation_says_what_to_use_instead() -> None:
    data = _introspection()
    reasons = {
        f"{t['name']}.{item['name']}": item["deprecationReason"]
        for t in data["types"]
        for item in (t.get("fields") or []) + (t.get("enumValues") or [])
        if item.get("isDeprecated")
    }
    assert reasons
    vague = {path: why for path, why in reasons.items() if not why or "Use `" not in why}
    assert not vague, vague


def test_the_descriptions_table_names_only_what_needs_it() -> None:
    """An entry that names nothing (a renamed field) or that the code's own description
    shadows is dead text: remove it."""
    from api.graphql import descriptions
    from api.graphql.schema import build_bare_schema

    stale = sorted(set(descriptions.DESCRIPTIONS) - descriptions.paths(_schema()))
    assert not stale, "entries in api/graphql/descriptions.py that name nothing:\n  " + (
        "\n  ".join(stale)
    )
    # The schema before describe(): the table's entries for what the code describes itself.
    shadowed = sorted(
        descriptions.describe(build_bare_schema(production=False)._schema) - set(stale)
    )
    assert not shadowed, "entries in api/graphql/descriptions.py the code describes:\n  " + (
        "\n  ".join(shadowed)
    )


def _sdl(tmp_path: Path) -> Path:
    """The SDL as `petunia schema` prints it."""
    found = subprocess.run(
        [sys.executable, "-m", "api.cli", "schema"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    path = tmp_path / "schema.graphql"
    path.write_text(found.stdout)
    return path


@pytest.mark.skipif(
    not LINTER.exists() or shutil.which("node") is None,
    reason="graphql-schema-linter not installed (npm ci --prefix tests/browser); "
    "test_every_part_of_the_schema_has_a_description checks the same without it",
)
def test_graphql_schema_linter_finds_nothing(tmp_path: Path) -> None:
    sdl = _sdl(tmp_path)
    assert "type Query" in sdl.read_text()
    found = subprocess.run(
        [str(LINTER), "--rules", ",".join(RULES), "--format", "json", str(sdl)],
        capture_output=True,
        text=True,
    )
    report = json.loads(found.stdout or "{}")
    problems = [f"{e['message']} ({e['rule']})" for e in report.get("errors", [])]
    assert found.returncode == 0 and not problems, "\n".join(problems) or found.stderr
