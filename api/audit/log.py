"""Recording audit events (in the caller's transaction, so a change and its record of being
made commit together)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import orm

from api.access.tokens import Principal
from api.audit.models import AuditEvent


def record(
    db: orm.Session,
    principal: Principal | None,
    action: str,
    record_type: str,
    record_id: int | None,
    **detail: Any,
) -> AuditEvent:
    event = AuditEvent(
        client_id=principal.client_id if principal else None,
        staff_account_id=principal.staff_account_id if principal else None,
        actor=f"{principal.role.value}:{principal.name}" if principal else "system",
        action=action,
        record_type=record_type,
        record_id=record_id,
        detail=detail or None,
    )
    db.add(event)
    return event


def record_many(
    db: orm.Session,
    principal: Principal | None,
    action: str,
    record_type: str,
    record_ids: list[int],
) -> None:
    """One event per record, written in one statement (a page of reads costs one insert)."""
    if not record_ids:
        return
    from sqlalchemy import insert

    from api.directory.models import utcnow

    now = utcnow()
    db.execute(
        insert(AuditEvent),
        [
            {
                "at": now,
                "client_id": principal.client_id if principal else None,
                "staff_account_id": principal.staff_account_id if principal else None,
                "actor": f"{principal.role.value}:{principal.name}" if principal else "system",
                "action": action,
                "record_type": record_type,
                "record_id": record_id,
                "detail": None,
            }
            for record_id in record_ids
        ],
    )
