"""`petunia export oruk --out DIR`: the public directory as Open Referral UK JSON files,
laid out like the read API so a static host can serve them:

    index.json                  what this is (HSDS version, profile, OpenAPI document)
    openapi.json                the read API's OpenAPI document (api/oruk/openapi.py)
    services.json               every service (one-to-one fields + organization), one page
    services/<id>.json          each service fully nested
    service_at_locations.json   every service at its location
    organizations.json          every organization
    taxonomies.json, taxonomy_terms.json   the six domains

``stream_export`` (the CLI's) reads and writes the directory in batches, so its memory does
not grow with the directory: sessions in keyset order (provider, title, id: the order of
``read_public_directory``), each batch read with its rows and written before the next, the
lists' items spooled to temporary files and their envelopes written round them at the end;
then the organizations by name, likewise. It writes the same bytes as ``write_export``,
which maps a ``PublicDirectory`` already in memory (the site build's, which has read it
whole for its pages anyway).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy import bindparam, orm, select

from api import paging
from api.config import Settings
from api.directory.enums import Domain
from api.directory.models import Provider, Session
from api.directory.public import (
    FreshnessPolicy,
    PublicDirectory,
    public_provider_filter,
    public_session_filter,
    read_public_directory,
)
from api.oruk.mapping import OrukMapper, api_index, page_envelope
from api.oruk.openapi import openapi_document

BATCH = 500


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class Memo(Protocol):
    """Results kept between builds by listing and signature (sitegen/memo.py)."""

    def get(self, kind: str, key: int, signature: str, make: Callable[[], str]) -> str: ...


def _dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_json(data), encoding="utf-8")


def whole(items: list[Any]) -> dict[str, Any]:
    return page_envelope(items, total=len(items), page=1, per_page=max(1, len(items)))


def _whole_text(items: list[str]) -> str:
    """``whole`` as JSON text from its items' JSON texts: the same bytes as dumping it
    (``contents`` is the envelope's last key), so unchanged items need no mapping again."""
    if not items:
        return _json(whole([]))
    head = _json(whole([None] * len(items)))
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
            return _json(make())
        return memo.get(kind, key, signature, lambda: _json(make()))

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


class _SpooledList:
    """A ``whole`` page written item by item: the items go to a temporary file, and the
    envelope, which starts with their number, is written round them at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        # Closed by close(), or removed by the system when the process ends on an error.
        self._items: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115

    def add(self, item: Any) -> None:
        self._items.write(("," if self.count else "") + _json(item))
        self.count += 1

    def close(self) -> None:
        envelope = page_envelope([], total=self.count, page=1, per_page=max(1, self.count))
        envelope.update(size=self.count, empty=not self.count)
        head = _json(envelope)
        assert head.endswith('"contents":[]}')
        self._items.seek(0)
        with self.path.open("w", encoding="utf-8") as out:
            out.write(head[: -len("]}")])
            shutil.copyfileobj(self._items, out)
            out.write("]}")
        self._items.close()


def _session_batches(
    db: orm.Session, today: dt.date, policy: FreshnessPolicy, size: int
) -> Iterator[list[int]]:
    """The public sessions' ids in batches, in ``read_public_directory``'s order."""
    order = [(Session.provider_id, False), (Session.title, False), (Session.id, False)]
    base = (
        select(Session.id, Session.provider_id, Session.title)
        .join(Provider, Provider.id == Session.provider_id)
        .where(public_provider_filter(today, policy), public_session_filter())
        .order_by(Session.provider_id, Session.title, Session.id)
        .limit(size)
    )
    key = tuple(bindparam(f"k{i}") for i in range(len(order)))
    following = base.where(paging.after(order, key))
    rows = db.execute(base).all()
    while rows:
        yield [row.id for row in rows]
        last = rows[-1]
        values = {"k0": last.provider_id, "k1": last.title, "k2": last.id}
        rows = db.execute(following, values).all() if len(rows) == size else []


def _provider_batches(
    db: orm.Session, today: dt.date, policy: FreshnessPolicy, size: int
) -> Iterator[list[Provider]]:
    """The public providers in batches, by name (the id after equal names)."""
    order = [(Provider.name, False), (Provider.id, False)]
    base = (
        select(Provider)
        .where(public_provider_filter(today, policy))
        .order_by(Provider.name, Provider.id)
        .limit(size)
    )
    following = base.where(paging.after(order, (bindparam("k0"), bindparam("k1"))))
    rows = list(db.scalars(base))
    while rows:
        yield rows
        last = rows[-1]
        values = {"k0": last.name, "k1": last.id}
        rows = list(db.scalars(following, values)) if len(rows) == size else []


def stream_export(
    db: orm.Session,
    settings: Settings,
    folder: Path,
    *,
    today: dt.date,
    policy: FreshnessPolicy,
    batch: int | None = None,
) -> int:
    """Write the export of the public directory into ``folder`` (replaced) reading ``batch``
    sessions at a time; returns the number of services. The rows of each batch leave the
    session (``expunge_all``) before the next is read."""
    batch = batch or BATCH
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "services").mkdir(parents=True)
    _dump(folder / "index.json", api_index(settings.public_url))
    _dump(folder / "openapi.json", openapi_document(settings.public_url))
    services = _SpooledList(folder / "services.json")
    located = _SpooledList(folder / "service_at_locations.json")
    mapper = None
    for ids in _session_batches(db, today, policy, batch):
        directory = read_public_directory(db, today=today, policy=policy, session_ids=ids)
        mapper = OrukMapper(directory, settings.public_url, settings.resolved_site_url)
        for s in directory.sessions.values():
            services.add(mapper.service_summary(s))
            name = mapper.ids.service(directory.providers[s.provider_id].key, s.key)
            _dump(folder / "services" / f"{name}.json", mapper.service(s))
            found = mapper.service_at_location(s, full=False)
            if found:
                located.add(found)
        db.expunge_all()
    services.close()
    located.close()
    if mapper is None:  # no public session: the domains' labels are still wanted
        directory = read_public_directory(db, today=today, policy=policy, session_ids=[])
        mapper = OrukMapper(directory, settings.public_url, settings.resolved_site_url)
    organizations = _SpooledList(folder / "organizations.json")
    for providers in _provider_batches(db, today, policy, batch):
        for p in providers:
            organizations.add(mapper.organization(p))
        db.expunge_all()
    organizations.close()
    _dump(folder / "taxonomies.json", whole([mapper.taxonomy()]))
    _dump(folder / "taxonomy_terms.json", whole([mapper.term(d) for d in Domain]))
    return services.count
