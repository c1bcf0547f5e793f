"""How well the site's search finds what people mean: recall@10 and precision@10 on a judged
set of queries (benchmarks/data/search_judgements.yaml), the static index and Meilisearch's
settings side by side.

    python3 -m benchmarks.search_relevance [--site DIR] [--per-query]

The static index is measured by running the browser's own matching code
(sitegen/assets/search-core.js with the vendored Snowball stemmer) in Node against the search
index of the demo directory, built here (or the built site given with --site). Nothing is
ported: the numbers are what a person sees in the browser, first ten results.

  recall@10     relevant results in the first ten / the relevant sessions (at most 10)
  precision@10  relevant results in the first ten / results shown in the first ten (a query
                with no results counts 0)

Meilisearch cannot run here (no server on this machine), so its ranking is not measured; the
table gives what can be computed from the settings the build sends (sitegen/meili.py): the
share of judged queries whose every word Meilisearch's synonyms tie to the forms of the
listings' words (the equivalent of stemming), and the synonym groups.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
JUDGEMENTS = ROOT / "benchmarks" / "data" / "search_judgements.yaml"
CORE = ROOT / "sitegen" / "assets" / "search-core.js"
TODAY = dt.date(2026, 11, 16)

# Reads queries (one JSON string a line) and prints, for each, the first ten result URLs.
RUNNER = """
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const [core, site] = process.argv.slice(-2);
const m = await import(pathToFileURL(core).href);
const getFile = async (p) => JSON.parse(readFileSync(site + "/search-index/" + p, "utf8"));
const queries = readFileSync(0, "utf8").split("\\n").filter(Boolean).map((l) => JSON.parse(l));
for (const q of queries) {
  const ranked = await m.search(getFile, q, {}, null);
  const top = await Promise.all(ranked.slice(0, 10).map((r) => m.record(getFile, r.id)));
  console.log(JSON.stringify({ q, total: ranked.length, urls: top.map((r) => r.url) }));
}
"""


def load_judgements() -> dict[str, dict[str, set[str]]]:
    data = yaml.safe_load(JUDGEMENTS.read_text(encoding="utf-8"))
    return {name: {q: set(rel) for q, rel in queries.items()} for name, queries in data.items()}


def key_of(url: str) -> str:
    """providers/<provider>/<session>/ -> "provider/session"; an organisation -> "provider"."""
    parts = [p for p in url.split("/") if p]
    return "/".join(parts[1:]) if parts and parts[0] == "providers" else url


def static_results(site: Path, queries: list[str], core: Path = CORE) -> dict[str, dict]:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("Node.js is needed to run the browser's search code")
    answer = subprocess.run(
        [node, "--input-type=module", "-e", RUNNER, str(core), str(site)],
        input="\n".join(json.dumps(q) for q in queries),
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [json.loads(line) for line in answer.stdout.splitlines() if line.startswith("{")]
    return {row["q"]: row for row in rows}


def scores(relevant: set[str], urls: list[str]) -> tuple[float, float]:
    found = sum(1 for url in urls[:10] if key_of(url) in relevant)
    recall = found / min(len(relevant), 10)
    precision = found / len(urls[:10]) if urls else 0.0
    return recall, precision


def meili_coverage(
    texts: list[str], queries: list[str]
) -> tuple[dict[str, list[str]], dict[str, bool]]:
    """Meilisearch's synonyms for the directory, and per query whether each of its words is a
    word of the listings or tied to one by the synonyms (what Meilisearch can match, as it
    has no stemming)."""
    from sitegen import meili
    from sitegen.search_index import _WORD, STOP, fold

    synonyms = meili.synonyms(texts)
    vocabulary = {w for text in texts for w in _WORD.findall(fold(text))}
    covered = {}
    for q in queries:
        words = [w for w in _WORD.findall(fold(q)) if w not in STOP]
        covered[q] = all(
            w in vocabulary or any(s in vocabulary for s in synonyms.get(w, [])) for w in words
        )
    return synonyms, covered


def build_demo_site() -> tuple[Path, list[str]]:
    """The demo directory built into a temporary folder; and the texts Meilisearch gets."""
    from api import migrations
    from api.config import get_settings
    from api.db import Database
    from api.directory.loading import load_directory
    from api.directory.public import FreshnessPolicy, read_public_directory
    from sitegen import meili
    from sitegen.build import build_site
    from sitegen.pages import SiteConfig, SiteModel

    tmp = Path(tempfile.mkdtemp(prefix="petunia-relevance-"))
    db = Database.from_url(f"sqlite:///{tmp / 'p.db'}")
    migrations.upgrade(db.engine)
    with db.session() as s:
        load_directory(s, ROOT / "directory_data")
    settings = get_settings(data_dir=tmp, site_url="https://directory.example/")
    build_site(db, settings, tmp / "site", today=TODAY)
    config = SiteConfig(
        site_name=settings.site_name,
        site_url=settings.resolved_site_url,
        public_url=settings.public_url,
        today=TODAY,
        meili=None,
    )
    with db.session() as s:
        directory = read_public_directory(s, today=TODAY, policy=FreshnessPolicy.of(settings))
        docs = meili.documents(SiteModel(directory, config))
    db.dispose()
    texts = [
        " ".join(str(doc.get(k) or "") for k in ("title", "description", "provider"))
        for doc in docs
    ]
    return tmp / "site", texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, help="measure this built site's search index")
    parser.add_argument(
        "--core", type=Path, default=CORE, help="another version of the matching module"
    )
    parser.add_argument("--per-query", action="store_true", help="print every query's scores")
    args = parser.parse_args()
    judged = load_judgements()
    queries = [q for qs in judged.values() for q in qs]
    site, texts = build_demo_site()
    found = static_results(args.site or site, queries, args.core)
    synonyms, covered = meili_coverage(texts, queries)

    print(f"Search relevance on the demo directory: {len(queries)} judged queries")
    print()
    header = (
        f"{'query set':<16}{'queries':>8}  {'static recall@10':>17}{'static precision@10':>20}"
        f"  {'Meilisearch':<14}{'words tied by settings':>23}"
    )
    print(header)
    print("-" * len(header))
    for name, qs in [
        *judged.items(),
        ("all", {q: r for s in judged.values() for q, r in s.items()}),
    ]:
        pairs = [scores(rel, found[q]["urls"]) for q, rel in qs.items()]
        r = sum(p[0] for p in pairs) / len(pairs)
        p = sum(p[1] for p in pairs) / len(pairs)
        tied = sum(covered[q] for q in qs) / len(qs)
        if name == "all":
            print("-" * len(header))
        print(f"{name:<16}{len(qs):>8}  {r:>17.2f}{p:>20.2f}  {'not run':<14}{tied:>23.0%}")
    print()
    groups = sum(
        1
        for _ in yaml.safe_load((ROOT / "api/directory/search_words.yaml").read_text())["synonyms"]
    )
    print(
        f"Meilisearch: not run (no server here). Its settings carry {groups} synonym groups and "
        f"{len(synonyms)} words tied to synonyms or other forms."
    )
    if args.per_query:
        print()
        for name, qs in judged.items():
            for q, rel in qs.items():
                r, p = scores(rel, found[q]["urls"])
                print(f"{name:<16}{q:<22}{found[q]['total']:>5} found  R@10 {r:.2f}  P@10 {p:.2f}")


if __name__ == "__main__":
    main()
