"""Reading the audit log (ADMIN only; the policy says who)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, orm, select

from api.audit.models import AuditEvent


@dataclass(frozen=True)
class AuditQuery:
    record_type: str | None = None
    record_id: int | None = None
    action: str | None = None
    client_id: int | None = None
    since: dt.datetime | None = None


def list_events(
    db: orm.Session, query: AuditQuery, *, offset: int, limit: int
) -> tuple[list[AuditEvent], int]:
    """Events matching ``query``, newest first, and how many there are in all."""
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
    rows = list(
        db.scalars(
            select(AuditEvent)
            .where(*where)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )
    return rows, total
