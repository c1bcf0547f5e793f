"""When the public site shows a change: the durable "site out of date" marker.

Every flush that adds, changes or deletes a row the public directory is made of (providers,
sessions, their schedules, breaks, kinds, languages, venues, localities) adds one
``site_changes`` row in the same transaction: a change that commits always queues a rebuild,
and one rolled back never does. The background rebuild (sitegen/background.py, run by
`petunia up` and `petunia serve --rebuild-site`) waits for a few quiet seconds, rebuilds, and
removes the rows its build covered. Listings going stale need no row: the rebuild also runs
when the date changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, event, func, orm, select

from api.config import Settings

_MARKED = "petunia.site_change_marked"


def _directory_models() -> tuple[type, ...]:
    from api.directory import models as m

    return (
        m.Provider,
        m.Session,
        m.Schedule,
        m.SessionBreak,
        m.SessionDomain,
        m.SessionLanguage,
        m.Venue,
        m.VenueFeature,
        m.Locality,
        m.DomainLabel,
    )


@event.listens_for(orm.Session, "before_flush")
def _mark_site_change(session: orm.Session, _context: Any, _instances: Any) -> None:
    if session.info.get(_MARKED):
        return  # one row per transaction is enough
    models = _directory_models()
    changed = any(isinstance(obj, models) for obj in (*session.new, *session.deleted)) or any(
        isinstance(obj, models) and session.is_modified(obj, include_collections=False)
        for obj in session.dirty
    )
    if changed:
        from api.directory.models import SiteChange

        session.add(SiteChange())
        session.info[_MARKED] = True


@event.listens_for(orm.Session, "after_transaction_end")
def _forget_mark(session: orm.Session, transaction: orm.SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_MARKED, None)


@dataclass(frozen=True)
class Pending:
    """Changes the site does not show yet."""

    last_id: int
    first_at: dt.datetime
    last_at: dt.datetime
    count: int


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite gives back naive datetimes: they were written in UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def pending(db: orm.Session) -> Pending | None:
    from api.directory.models import SiteChange

    row = db.execute(
        select(
            func.max(SiteChange.id),
            func.min(SiteChange.changed_at),
            func.max(SiteChange.changed_at),
            func.count(),
        )
    ).one()
    if row[0] is None:
        return None
    return Pending(row[0], _utc(row[1]), _utc(row[2]), row[3])


def last_change_id(db: orm.Session) -> int:
    """The newest change so far (0: none): a build that starts now shows everything up to it."""
    from api.directory.models import SiteChange

    return db.scalar(select(func.max(SiteChange.id))) or 0


def built(db: orm.Session, up_to: int) -> None:
    """A build that started after change ``up_to`` is live: forget the changes it shows."""
    from api.directory.models import SiteChange

    db.execute(delete(SiteChange).where(SiteChange.id <= up_to))


def is_due(
    changes: Pending, now: dt.datetime, *, quiet: dt.timedelta, max_wait: dt.timedelta
) -> bool:
    """Debounced: after ``quiet`` without a change, or ``max_wait`` after the first one."""
    return now - changes.last_at >= quiet or now - changes.first_at >= max_wait


def when_visible(settings: Settings) -> str:
    """What to tell a person about when a change reaches the public site: the truth for this
    deployment."""
    if settings.site_rebuild_in_background:
        return "It will be on the public site within a minute."
    return "It will be on the public site when the site is next built."


def when_gone(settings: Settings) -> str:
    if settings.site_rebuild_in_background:
        return "It will be off the public site and its open data within a minute."
    return "It will be off the public site and its open data when the site is next built."
