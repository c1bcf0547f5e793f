"""The words of search, shared by the public site's static index, Meilisearch's settings and
the GraphQL text search: Snowball English stemming (the same algorithm the browser runs from
sitegen/assets/vendor/snowball) and the synonym groups and optional words kept as data in
search_words.yaml."""

from __future__ import annotations

import functools
from pathlib import Path

import snowballstemmer
import yaml

DATA = Path(__file__).with_name("search_words.yaml")


@functools.cache
def _stemmer() -> snowballstemmer.stemmer:  # type: ignore[name-defined]
    return snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball English: 'cookery' -> 'cookeri', 'walking' -> 'walk'."""
    return str(_stemmer().stemWord(word))


@functools.cache
def _data() -> dict:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


def synonym_groups() -> list[list[str]]:
    """The groups as written (lower case), for Meilisearch and the SQL text search."""
    return [[str(w).lower() for w in group] for group in _data()["synonyms"]]


@functools.cache
def canonical() -> dict[str, str]:
    """Stem -> the stem standing for its group (the first word's). A word in several groups
    (like "meal") belongs to the first."""
    out: dict[str, str] = {}
    for group in synonym_groups():
        head = stem(group[0])
        for word in group:
            out.setdefault(stem(word), head)
    return {s: head for s, head in out.items() if s != head}


@functools.cache
def optional() -> frozenset[str]:
    """Stems a query needs only when it has no other word."""
    return frozenset(stem(str(w).lower()) for w in _data()["optional"])


def expand(word: str) -> list[str]:
    """A query word and the words of its synonym group (for the SQL text search)."""
    w = word.lower()
    for group in synonym_groups():
        if w in group or stem(w) in {stem(g) for g in group}:
            return [w] + [g for g in group if g != w]
    return [w]
