"""Reading the audit log (ADMIN only; the policy says who)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, orm, select

from api import paging
from api.audit.models import AuditEvent


@dataclass(frozen=True)
class AuditQuery:
    record_type: str | None = None
    record_id: int | None = None
    action: str | None = None
    client_id: int | None = None
    since: dt.datetime | None = None


def list_events(
    db: orm.Session,
    query: AuditQuery,
    *,
    offset: int = 0,
    limit: int,
    after: paging.Key | None = None,
) -> tuple[list[AuditEvent], int, bool]:
    """Events matching ``query``, newest first (then by id, highest first), how many there
    are in all, and whether more follow. ``after``: continue after this (at, id) key
    instead of skipping ``offset`` rows."""
    where = []
    if query.record_type:
        where.append(AuditEvent.record_type == query.record_type)
    if query.record_id is not None:
        where.append(AuditEvent.record_id == query.record_id)
    if query.action:
        where.append(AuditEvent.action == query.action)
    if query.client_id is not None:
        where.append(AuditEvent.client_id == query.client_id)
    if query.since is not None:
        where.append(AuditEvent.at >= query.since)
    total = db.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0
    if after is not None:
        where.append(paging.after([(AuditEvent.at, True), (AuditEvent.id, True)], after))
        offset = 0
    rows = list(
        db.scalars(
            select(AuditEvent)
            .where(*where)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .offset(offset)
            .limit(limit + 1)
        )
    )
    return rows[:limit], total, len(rows) > limit
