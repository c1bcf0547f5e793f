"""`auditLog`: who read or changed which protected record, and when (ADMIN only)."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.access import policy
from api.audit.reading import AuditQuery, list_events
from api.graphql.context import Context
from api.graphql.errors import UserInputError
from api.graphql.relay import MAX_INT, After, First, Keyset, PageInfo, from_global_id


@strawberry.type
class AuditEntry:
    at: dt.datetime
    actor: str = strawberry.field(description="ROLE:client name, or 'system' for the CLI.")
    client_id: int | None
    action: str
    record_type: str
    record_id: int | None = strawberry.field(description="The record's database id.")
    detail: JSON | None = strawberry.field(description="Non-personal context only.")


@strawberry.type
class AuditEdge:
    cursor: str
    node: AuditEntry


@strawberry.type
class AuditConnection:
    edges: list[AuditEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input
class AuditFilter:
    record_type: str | None = strawberry.field(
        default=None, description="e.g. 'referral', 'outcome', 'api_client'."
    )
    record_id: strawberry.ID | None = strawberry.field(
        default=None, description="A global ID (e.g. a Referral's) or a database id."
    )
    action: str | None = strawberry.field(default=None, description="e.g. 'referral.read'.")
    client_id: int | None = None
    since: dt.datetime | None = None


def _record_id(value: strawberry.ID | None) -> int | None:
    if value is None:
        return None
    if str(value).isdigit():
        number = int(value)
        if number > MAX_INT:  # no database id is this large; PostgreSQL would refuse it
            raise UserInputError(f"'{value}' is larger than any record id", field="filter.recordId")
        return number
    try:
        return from_global_id(value)[1]
    except UserInputError:
        raise UserInputError(
            f"'{value}' is neither a global ID nor a number", field="filter.recordId"
        ) from None


@strawberry.type
class AuditQueryType:
    @strawberry.field(description="The audit log, newest first (ADMIN only).")
    async def audit_log(
        self,
        info: Info[Context],
        filter: AuditFilter | None = None,  # noqa: A002
        first: First = None,
        after: After = None,
    ) -> AuditConnection:
        info.context.authorize("reading the audit log", *policy.READ_AUDIT_LOG)
        keyset = Keyset(info.context.settings, "auditLog", "newest")
        window = keyset.window(first, after, maximum=info.context.settings.max_page_size)
        f = filter or AuditFilter()
        query = AuditQuery(
            record_type=f.record_type,
            record_id=_record_id(f.record_id),
            action=f.action,
            client_id=f.client_id,
            since=f.since,
        )
        rows, total, more = await info.context.db.run_sync(
            lambda db: list_events(
                db, query, limit=window.limit, after=window.key, offset=window.offset
            )
        )
        found = keyset.cursors([(r.at, r.id) for r in rows])
        edges = [
            AuditEdge(
                cursor=c,
                node=AuditEntry(
                    at=r.at,
                    actor=r.actor,
                    client_id=r.client_id,
                    action=r.action,
                    record_type=r.record_type,
                    record_id=r.record_id,
                    detail=r.detail,
                ),
            )
            for c, r in zip(found, rows, strict=True)
        ]
        return AuditConnection(
            edges=edges, total_count=total, page_info=keyset.page_info(found, window, more)
        )
