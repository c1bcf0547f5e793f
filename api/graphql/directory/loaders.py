"""DataLoaders for the directory's relations, made fresh for each request (see Context).

Rows become GraphQL objects (``Type.of``) inside the loaders, in the worker thread that read
them, so resolvers hand back finished objects."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import orm

from api.db import Database
from api.directory import related
from api.graphql.directory.types import LocalityType, ProviderType, SessionType, VenueType


def _each(
    fetch: Callable[[orm.Session, Sequence[int]], Mapping[int, Any]], of: Callable[[Any], Any]
) -> Callable[[orm.Session, Sequence[int]], dict[int, Any]]:
    """``fetch``, with every row it found made into a GraphQL object by ``of``."""
    return lambda db, ids: {key: of(row) for key, row in fetch(db, ids).items()}


class SessionsPage(NamedTuple):
    """A page of one provider's sessions: how many it has in all, the page, each one's
    (title, id) key, and whether more follow."""

    total: int
    sessions: list[SessionType]
    keys: list[tuple[str, int]]
    more: bool


# (provider id, after key, offset, limit)
PageKey = tuple[int, tuple[str, int] | None, int, int]


def _session_pages(db: orm.Session, keys: Sequence[PageKey]) -> dict[PageKey, SessionsPage]:
    """The page for each (provider id, after key, offset, limit): one read per distinct
    window, so the statements grow with the windows a query asks for, not with the
    providers."""
    windows: dict[tuple[tuple[str, int] | None, int, int], list[int]] = defaultdict(list)
    for provider_id, after, offset, limit in keys:
        windows[after, offset, limit].append(provider_id)
    found = {}
    for (after, offset, limit), ids in windows.items():
        pages = related.published_session_pages(db, ids, limit=limit, after=after, offset=offset)
        for provider_id, page in pages.items():
            rows = page.rows[:limit]
            found[provider_id, after, offset, limit] = SessionsPage(
                page.total,
                [SessionType.of(r) for r in rows],
                [(r.session.title, r.session.id) for r in rows],
                len(page.rows) > limit,
            )
    return found


class DirectoryLoaders:
    """One DataLoader per relation. Their caches are per request: a change made by one
    request is never hidden from the next."""

    def __init__(self, db: Database) -> None:
        from api.graphql.context import many_loader, one_loader

        self.session = one_loader(db, _each(related.sessions, SessionType.of))
        self.provider = one_loader(db, _each(related.providers, ProviderType.of))
        self.venue = one_loader(db, _each(related.venues, VenueType.of))
        self.locality = one_loader(db, _each(related.localities, LocalityType.of))
        # Keyed by PageKey: a page of a provider's sessions.
        self.provider_sessions = one_loader(db, _session_pages)
        self.schedules = many_loader(db, related.schedules)
        self.breaks = many_loader(db, related.breaks)
        self.domains = many_loader(db, related.domains)
        self.languages = many_loader(db, related.languages)
        self.accessibility = many_loader(db, related.accessibility)
