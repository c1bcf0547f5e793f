"""The words of search: the build (Python) and the browser (the vendored Snowball JavaScript,
run in Node) stem every word alike; the static index carries the synonyms; the judged
queries of the relevance benchmark are well formed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from api.directory import search_words
from sitegen import search_index

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "sitegen" / "assets" / "vendor" / "snowball"
NODE = shutil.which("node")


def demo_words() -> list[str]:
    """Every word of the demo directory's listings, and the synonyms file's."""
    text = []
    for path in sorted((ROOT / "directory_data" / "providers").glob("*.yaml")):
        text.append(path.read_text(encoding="utf-8"))
    text.append(search_words.DATA.read_text(encoding="utf-8"))
    found = re.findall(r"[^\W\d_]+", search_index.fold(" ".join(text)))
    return sorted(set(found))


@pytest.mark.skipif(NODE is None, reason="no Node.js")
def test_the_browser_stems_every_word_as_the_build_does() -> None:
    words = demo_words() + ["cookery", "cookeries", "walking", "rambling", "generously", "skies"]
    script = (
        "import { readFileSync } from 'node:fs';"
        "import { pathToFileURL } from 'node:url';"
        "const S = (await import(pathToFileURL(process.argv.at(-1)).href)).default;"
        "const s = new S();"
        "const words = JSON.parse(readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(words.map((w) => s.stemWord(w))));"
    )
    answer = subprocess.run(
        [NODE, "--input-type=module", "-e", script, str(VENDOR / "english-stemmer.js")],
        input=json.dumps(words),
        capture_output=True,
        text=True,
        check=True,
    )
    browser = json.loads(answer.stdout.splitlines()[-1])
    build = [search_words.stem(w) for w in words]
    assert len(words) > 1000
    assert [(w, b, p) for w, b, p in zip(words, browser, build, strict=True) if b != p] == []
    assert search_words.stem("walking") == "walk" and search_words.stem("cookery") == "cookeri"


def test_the_vendored_stemmer_keeps_its_licence() -> None:
    licence = (VENDOR / "LICENSE").read_text()
    assert "Redistribution and use in source and binary forms" in licence
    assert (VENDOR / "english-stemmer.js").read_text().startswith("// Generated from english.sbl")


def test_synonyms_join_words_people_use_for_the_same_thing() -> None:
    groups = search_words.canonical()
    head = search_words.stem
    assert groups[head("cookery")] == head("cook") and head("cooking") == head("cook")
    assert groups[head("friendship")] == groups[head("company")] == head("lonely")
    assert groups[head("fitness")] == groups[head("active")] == head("exercise")
    assert groups[head("ramble")] == head("walk")
    assert head("group") in search_words.optional()
    # A word is indexed under its own stem and its group's.
    assert search_index.index_terms("Bengali men's cookery club") == [
        "bengali",
        "men",
        "cookeri",
        "cook",
        "club",
    ]
    assert "cookery" in search_words.expand("cook") and search_words.expand("zebra") == ["zebra"]


def test_the_judged_queries_are_at_least_forty_and_name_real_listings() -> None:
    judged = yaml.safe_load((ROOT / "benchmarks/data/search_judgements.yaml").read_text())
    queries = {q: rel for qs in judged.values() for q, rel in qs.items()}
    assert len(queries) >= 40
    known = set()
    for path in (ROOT / "directory_data" / "providers").glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        known.add(data["key"])
        known.update(f"{data['key']}/{s['key']}" for s in data.get("sessions") or [])
    assert {r for rel in queries.values() for r in rel} <= known
