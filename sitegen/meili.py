"""Meilisearch for the site's search, when MEILI_URL is configured.

One index, ``<prefix>-directory``, holds a document per session and per provider (``type``
tells them apart), with the same facets as the static search, and ``_geo`` from the venue so
clients can search by distance. The site's search page calls Meilisearch from the browser
with a search-only key (never the master key): MEILI_SEARCH_KEY, or the instance's default
search key found with the master key.

Only documents whose content changed since the last build are sent; documents of listings
that left the site are deleted.

Meilisearch has no English stemming, so the settings carry what the static index does with
Snowball: the synonym groups of api/directory/search_words.yaml, and each word of the
listings tied to its other forms that share a Snowball stem ("walk", "walks", "walking"),
plus the same stop words.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import meilisearch

from api.config import Settings
from api.directory import search_words

if TYPE_CHECKING:
    from sitegen.pages import SiteModel

BATCH = 1000
TIMEOUT_MS = 120_000

SETTINGS: dict[str, Any] = {
    "searchableAttributes": ["title", "provider", "activity", "description", "where", "area"],
    "filterableAttributes": [
        "type",
        "activity",
        "area",
        "day",
        "time",
        "cost",
        "access",
        "language",
        "join",
        "where_kind",
        "_geo",
    ],
    "sortableAttributes": ["title", "starts", "_geo"],
    "displayedAttributes": ["*"],
    "typoTolerance": {"enabled": True},
}


# Word forms sent as synonyms: enough for a large directory, bounded for the settings call.
MAX_FORM_GROUPS = 20_000
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


def synonyms(texts: list[str]) -> dict[str, list[str]]:
    """Meilisearch's ``synonyms`` setting: every word of a synonym group finds the others,
    and a word of the listings finds its other forms (the same Snowball stem)."""
    out: dict[str, set[str]] = defaultdict(set)
    for group in search_words.synonym_groups():
        for word in group:
            out[word].update(w for w in group if w != word)
    forms: dict[str, set[str]] = defaultdict(set)
    for text in texts:
        for word in _WORD.findall(text.lower()):
            forms[search_words.stem(word)].add(word)
    for group in sorted(sorted(f) for f in forms.values() if len(f) > 1)[:MAX_FORM_GROUPS]:
        for word in group:
            out[word].update(w for w in group if w != word)
    return {word: sorted(found) for word, found in sorted(out.items())}


def index_settings(model: SiteModel) -> dict[str, Any]:
    """The index settings: SETTINGS, the synonyms of this directory and the stop words."""
    from sitegen.search_index import STOP

    texts = [
        " ".join(str(doc.get(k) or "") for k in ("title", "description", "provider"))
        for doc in documents(model)
    ]
    return {**SETTINGS, "synonyms": synonyms(texts), "stopWords": sorted(STOP)}


class MeiliError(RuntimeError):
    pass


def index_uid(settings: Settings) -> str:
    return f"{settings.meili_index_prefix}-directory"


def _client(settings: Settings) -> meilisearch.Client:
    return meilisearch.Client(settings.meili_url, settings.meili_master_key)


def search_key(settings: Settings) -> str:
    """The key the browser uses: it may only search."""
    if settings.meili_search_key:
        return settings.meili_search_key
    if not settings.meili_master_key:
        raise MeiliError("set MEILI_SEARCH_KEY (or MEILI_MASTER_KEY to look it up)")
    uid = index_uid(settings)
    for key in _client(settings).get_keys({"limit": 100}).results:
        actions = list(getattr(key, "actions", []) or [])
        indexes = list(getattr(key, "indexes", []) or [])
        if actions == ["search"] and ("*" in indexes or uid in indexes):
            return str(key.key)
    raise MeiliError("Meilisearch has no search-only key for this index: set MEILI_SEARCH_KEY")


def browser_config(settings: Settings) -> dict[str, str]:
    return {
        "url": str(settings.meili_url).rstrip("/"),
        "key": search_key(settings),
        "index": index_uid(settings),
    }


def documents(model: SiteModel) -> list[dict[str, Any]]:
    d = model.d
    docs: list[dict[str, Any]] = []
    for s in d.sessions.values():
        summary = model.summary(s)
        facets = model.filters(s)
        venue = d.venues.get(s.venue_id) if s.venue_id else None
        doc: dict[str, Any] = {
            "id": f"session-{s.id}",
            "type": "Activity",
            "url": summary["url"],
            "title": s.title,
            "description": s.description,
            "provider": summary["provider"],
            "when": summary["when"],
            "where": summary["where"],
            "cost": facets["cost"][0],
            "cost_text": summary["cost"],
            "starts": summary["starts"],
            "activity": facets["activity"],
            "area": facets["area"],
            "day": facets["day"],
            "time": facets["time"],
            "access": facets["access"],
            "language": facets["language"],
            "join": facets["join"],
            "where_kind": facets["where"],
        }
        if venue is not None and venue.latitude is not None and venue.longitude is not None:
            doc["_geo"] = {"lat": venue.latitude, "lng": venue.longitude}
        docs.append(doc)
    for p in d.providers.values():
        locality = d.localities.get(p.locality_id) if p.locality_id else None
        count = len(d.sessions_of.get(p.id, []))
        docs.append(
            {
                "id": f"provider-{p.id}",
                "type": "Organisation",
                "url": model.provider_path[p.id],
                "title": p.name,
                "description": p.description,
                "provider": p.name,
                "when": f"{count} {'session' if count == 1 else 'sessions'}",
                "area": [locality.name] if locality else [],
            }
        )
    return docs


def _hash(doc: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:24]


def last_hashes(model: SiteModel) -> dict[str, str]:
    return {doc["id"]: _hash(doc) for doc in documents(model)}


def index_directory(settings: Settings, model: SiteModel, previous: dict[str, str]) -> int:
    """Send changed documents and the index settings; returns how many documents were sent."""
    client = _client(settings)
    uid = index_uid(settings)
    try:
        client.get_index(uid)
    except meilisearch.errors.MeilisearchApiError:
        previous = {}  # a new (or deleted) index: send everything
        _wait(client, client.create_index(uid, {"primaryKey": "id"}))
    index = client.index(uid)
    _wait(client, index.update_settings(index_settings(model)))
    docs = documents(model)
    changed = [doc for doc in docs if previous.get(doc["id"]) != _hash(doc)]
    for start in range(0, len(changed), BATCH):
        _wait(client, index.add_documents(changed[start : start + BATCH], primary_key="id"))
    gone = sorted(set(previous) - {doc["id"] for doc in docs})
    if gone:
        _wait(client, index.delete_documents(gone))
    return len(changed)


def _wait(client: meilisearch.Client, task: Any) -> None:
    done = client.wait_for_task(task.task_uid, timeout_in_ms=TIMEOUT_MS)
    if done.status != "succeeded":
        raise MeiliError(f"Meilisearch task {task.task_uid} {done.status}: {done.error}")
