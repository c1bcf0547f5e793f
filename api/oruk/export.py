"""`petunia export oruk --out DIR`: the public directory as Open Referral UK JSON files,
laid out like the read API so a static host can serve them:

    index.json                  what this is (HSDS version, profile, OpenAPI document)
    openapi.json                the read API's OpenAPI document (api/oruk/openapi.py)
    services.json               every service (one-to-one fields + organization), one page
    services/<id>.json          each service fully nested
    service_at_locations.json   every service at its location
    organizations.json          every organization
    taxonomies.json, taxonomy_terms.json   the six domains
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from api.config import Settings
from api.directory.enums import Domain
from api.directory.public import PublicDirectory
from api.oruk.mapping import OrukMapper, api_index, page_envelope
from api.oruk.openapi import openapi_document


class Memo(Protocol):
    """Results kept between builds by listing and signature (sitegen/memo.py)."""

    def get(self, kind: str, key: int, signature: str, make: Callable[[], str]) -> str: ...


def _dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def whole(items: list[Any]) -> dict[str, Any]:
    return page_envelope(items, total=len(items), page=1, per_page=max(1, len(items)))


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _whole_text(items: list[str]) -> str:
    """``whole`` as JSON text from its items' JSON texts: the same bytes as dumping it
    (``contents`` is the envelope's last key), so unchanged items need no mapping again."""
    if not items:
        return _dumps(whole([]))
    head = _dumps(whole([None] * len(items)))
    head = head[: head.rindex(',"contents":')]
    return head + ',"contents":[' + ",".join(items) + "]}"


def write_export(
    directory: PublicDirectory,
    settings: Settings,
    folder: Path,
    *,
    signatures: dict[int, str] | None = None,
    previous_folder: Path | None = None,
    previous: dict[str, str] | None = None,
    defer_links: list[tuple[str, str]] | None = None,
    memo: Memo | None = None,
    provider_signatures: dict[int, str] | None = None,
) -> int:
    """Write the export into ``folder`` (replaced); returns the number of services.

    A site build passes each session's ``signatures`` (a hash of its rows) and the last
    build's: a service whose signature is unchanged is hard-linked from ``previous_folder``
    instead of mapped and written again (or, with ``defer_links``, the pair is added there
    for the caller to link). With a ``memo`` (sitegen/memo.py, kept by the background
    rebuild), the lists' items of unchanged services and organizations are the JSON text
    made last time."""
    mapper = OrukMapper(directory, settings.public_url, settings.resolved_site_url)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    sessions = list(directory.sessions.values())
    _dump(folder / "index.json", api_index(settings.public_url))
    _dump(folder / "openapi.json", openapi_document(settings.public_url))
    signatures = signatures or {}
    provider_signatures = provider_signatures or {}

    def item(kind: str, key: int, signature: str | None, make: Callable[[], Any]) -> str:
        if memo is None or not signature:
            return _dumps(make())
        return memo.get(kind, key, signature, lambda: _dumps(make()))

    def write_list(name: str, items: list[str]) -> None:
        (folder / name).write_text(_whole_text(items), encoding="utf-8")

    write_list(
        "services.json",
        [
            item("oruk-service", s.id, signatures.get(s.id), lambda s=s: mapper.service_summary(s))
            for s in sessions
        ],
    )
    (folder / "services").mkdir()
    for s in sessions:
        name = mapper.ids.service(mapper.d.providers[s.provider_id].key, s.key) + ".json"
        old = previous_folder / "services" / name if previous_folder else None
        signature = signatures.get(s.id)
        if old and signature and (previous or {}).get(str(s.id)) == signature and old.exists():
            if defer_links is not None:
                defer_links.append((str(old), str(folder / "services" / name)))
                continue
            try:
                os.link(old, folder / "services" / name)
                continue
            except OSError:
                pass
        _dump(folder / "services" / name, mapper.service(s))
    found = [
        item(
            "oruk-at-location",
            s.id,
            signatures.get(s.id),
            lambda s=s: mapper.service_at_location(s, full=False),
        )
        for s in sessions
    ]
    write_list("service_at_locations.json", [x for x in found if x != "null"])
    write_list(
        "organizations.json",
        [
            item(
                "oruk-organization",
                p.id,
                provider_signatures.get(p.id),
                lambda p=p: mapper.organization(p),
            )
            for p in directory.providers.values()
        ],
    )
    _dump(folder / "taxonomies.json", whole([mapper.taxonomy()]))
    _dump(folder / "taxonomy_terms.json", whole([mapper.term(d) for d in Domain]))
    return len(sessions)
