"""The site's search with no server: a static index split into small files, so a search
downloads only what it needs (the index of files, one shard per word, the filter lists it
uses and the records of the results it shows), never the whole index.

    search/index.json            version, documents, chunk size, shards present, filter values
    search/t/<xx>.json           words starting with <xx>: {word: [doc, weight, doc, weight...]}
                                 (doc ids delta-encoded)
    search/f/<facet>/<n>.json    documents with one filter value (delta-encoded ids)
    search/d/<n>.json            records of documents n*CHUNK..: [url, title, by, when, where,
                                 cost]
    search/g/<cell>.json         documents meeting in one grid cell (about 5.5 by 5 km):
                                 [doc, lat * 1e5, lon * 1e5, ...] (for "near a place")

Words are lower-cased, accents removed and stemmed with Snowball English (the same stemmer
and rules run in the browser: sitegen/assets/search-core.js with the vendored Snowball
JavaScript); a word of a synonym group (api/directory/search_words.yaml) is also indexed under
its group's word, so "cookery" finds "cooking". The browser matches every query word as a
prefix ("knit" finds "knitters") and, for words of five letters or more, with one typo.
Documents are
numbered in title order, so the results of one search sit in few record files. The whole
index is made on every build, so it is always complete; a rebuild with a memo reuses each
listing's terms and record (sitegen/memo.py) and links the files whose content did not
change from the served site (sitegen/build.py).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.directory import search_words

if TYPE_CHECKING:
    from sitegen.pages import SiteModel

VERSION = 2
# Grid cells for "near a place": a 5-mile search reads a few small files.
CELL = (0.05, 0.075)
CHUNK = 25
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Field weights: a word in the title counts most.
WEIGHTS = {"title": 8, "by": 4, "activity": 3, "where": 2, "area": 2, "description": 1}
FACETS = ("type", "activity", "area", "day", "time", "cost", "access", "join", "language")


def fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def stem(word: str) -> str:
    """Snowball English, shared with the API: 'walking' -> 'walk', 'cookery' -> 'cookeri'."""
    return search_words.stem(word)


# Too common to help; left out of the index and of queries (also in site.js).
STOP = {"and", "the", "of", "for", "in", "on", "at", "to", "with", "or", "an", "my"}


def words(text: str) -> list[str]:
    return [
        stem(w) for w in _WORD.findall(fold(text)) if (len(w) > 1 or w.isdigit()) and w not in STOP
    ]


def index_terms(text: str) -> list[str]:
    """The terms a text is indexed under: each word's stem and, for a word of a synonym
    group, the group's stem too."""
    groups = search_words.canonical()
    out = []
    for w in words(text):
        out.append(w)
        if w in groups:
            out.append(groups[w])
    return out


def shard_key(word: str) -> str:
    return "".join(c if c.isascii() and c.isalnum() else f"_{ord(c):x}" for c in word[:2])


def _delta(ids: list[int]) -> list[int]:
    out, last = [], 0
    for i in ids:
        out.append(i - last)
        last = i
    return out


def documents(model: SiteModel) -> list[dict[str, Any]]:
    """One record per session and per organisation, with its text and filter values (and
    the terms it is indexed under: ``terms``); per listing from the build's memo when its
    rows are unchanged (sitegen/memo.py)."""
    d = model.d
    docs = [
        model.per_session("search", s, lambda s=s: _session_doc(model, s))
        for s in d.sessions.values()
    ]
    docs += [
        model.per_provider("search", p, lambda p=p: _provider_doc(model, p))
        for p in d.providers.values()
    ]
    docs.sort(key=lambda doc: doc["order"])
    return docs


def _terms(text: dict[str, str | None]) -> dict[str, int]:
    """Each term of a document with the weight of the best field it is in."""
    found: dict[str, int] = {}
    for name, value in text.items():
        weight = WEIGHTS[name]
        for word in index_terms(value or ""):
            if found.get(word, 0) < weight:
                found[word] = weight
    return found


def _doc(
    record: list[Any], text: dict[str, Any], facets: dict[str, list[str]], geo: Any
) -> dict[str, Any]:
    return {
        "record": record,
        "terms": _terms(text),
        "facets": facets,
        "geo": geo,
        "order": (fold(record[1]), record[0]),
    }


def _session_doc(model: SiteModel, s: Any) -> dict[str, Any]:
    summary = model.summary(s)
    facets = model.filters(s)
    return _doc(
        [
            summary["url"],
            summary["title"],
            summary["provider"],
            summary["when"],
            summary["where"],
            summary["cost"],
        ],
        {
            "title": s.title,
            "by": summary["provider"],
            "activity": " ".join(facets["activity"]),
            "where": summary["where"],
            "area": " ".join(facets["area"]),
            "description": s.description,
        },
        {f: facets.get(f, []) for f in FACETS},
        _geo(model.d.venues.get(s.venue_id) if s.venue_id else None),
    )


def _provider_doc(model: SiteModel, p: Any) -> dict[str, Any]:
    d = model.d
    locality = d.localities.get(p.locality_id) if p.locality_id else None
    count = len(d.sessions_of.get(p.id, []))
    area = [locality.name] if locality else []
    return _doc(
        [
            model.provider_path[p.id],
            p.name,
            "Organisation",
            f"{count} {'session' if count == 1 else 'sessions'}",
            area[0] if area else "",
            "",
        ],
        {"title": p.name, "area": " ".join(area), "description": p.description},
        {"type": ["Organisation"], "area": area},
        None,
    )


def _geo(venue: Any) -> tuple[float, float] | None:
    if venue is None or venue.latitude is None or venue.longitude is None:
        return None
    return (venue.latitude, venue.longitude)


def _dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


# Given a file's path in the index's folder and its content, True when the caller has put
# the same file there already (linked from the last build): see sitegen/build.py.
Reuse = Callable[[str, Any], bool]


def write_search_index(
    model: SiteModel,
    folder: Path,
    *,
    reuse: Reuse | None = None,
    contents: dict[str, Any] | None = None,
) -> int:
    """Write the index into ``folder`` (the site's ``search/``); returns the documents.

    ``reuse``: asked first for each file (a rebuild links the files whose content is the
    same as last time); ``contents``: filled with every file's content, by path."""
    docs = documents(model)
    postings: dict[str, dict[int, int]] = defaultdict(dict)
    facet_docs: dict[str, dict[str, list[int]]] = {f: defaultdict(list) for f in FACETS}
    geo_cells: dict[str, list[int]] = defaultdict(list)

    def dump(name: str, data: Any) -> None:
        if contents is not None:
            contents[name] = data
        if reuse is None or not reuse(name, data):
            _dump(folder / name, data)

    for doc_id, doc in enumerate(docs):
        for word, weight in doc["terms"].items():
            postings[word][doc_id] = weight
        for facet, values in doc["facets"].items():
            for value in values:
                facet_docs[facet][value].append(doc_id)
        if doc["geo"]:
            lat, lon = doc["geo"]
            key = f"{math.floor(lat / CELL[0])}_{math.floor(lon / CELL[1])}"
            geo_cells[key] += [doc_id, round(lat * 1e5), round(lon * 1e5)]

    shards: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for word, found in postings.items():
        flat: list[int] = []
        last = 0
        for doc_id in sorted(found):
            flat += [doc_id - last, found[doc_id]]
            last = doc_id
        shards[shard_key(word)][word] = flat
    for key, content in shards.items():
        dump(f"t/{key}.json", content)

    facets_meta: dict[str, dict[str, int]] = {}
    for facet, values in facet_docs.items():
        facets_meta[facet] = {}
        for n, (value, ids) in enumerate(sorted(values.items())):
            facets_meta[facet][value] = n
            dump(f"f/{facet}/{n}.json", _delta(ids))

    for key, flat in geo_cells.items():
        dump(f"g/{key}.json", flat)

    for start in range(0, len(docs), CHUNK):
        dump(
            f"d/{start // CHUNK}.json",
            [d["record"] for d in docs[start : start + CHUNK]],
        )

    dump(
        "index.json",
        {
            "version": VERSION,
            "documents": len(docs),
            "chunk": CHUNK,
            "shards": sorted(shards),
            "facets": facets_meta,
            "synonyms": search_words.canonical(),
            "optional": sorted(search_words.optional()),
            "stop": sorted(STOP),
            "geo": {"cell": list(CELL), "cells": sorted(geo_cells)},
        },
    )
    return len(docs)
