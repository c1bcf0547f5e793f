"""Moderators' queries: the moderation queue and open problem reports."""

from __future__ import annotations

import strawberry
from sqlalchemy import orm
from strawberry.types import Info

from api.access import policy
from api.graphql.context import Context
from api.graphql.registration.types import (
    ProblemReportConnection,
    ProblemReportEdge,
    RegistrationConnection,
    RegistrationEdge,
    RegistrationStatus,
)
from api.graphql.relay import cursors, page_info, page_window
from api.registration import flow
from api.registration import reports as reporting
from api.registration.models import RegistrationStatus as Status


@strawberry.type
class RegistrationQuery:
    @strawberry.field(
        description="Registrations waiting for the caller's decision (its localities, and "
        "those whose place is not known), oldest first. LEAD_PROVIDER or ADMIN."
    )
    async def moderation_queue(
        self,
        info: Info[Context],
        status: list[RegistrationStatus] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> RegistrationConnection:
        principal = info.context.authorize("moderating listings", *policy.MODERATORS)
        offset, limit = page_window(
            first, after, default=20, maximum=info.context.settings.max_page_size
        )
        statuses = tuple(Status(s) for s in status) if status else (Status.PENDING_REVIEW,)
        rows = await info.context.db.run_sync(
            lambda db: flow.moderation_queue(db, principal, statuses)
        )
        page = rows[offset : offset + limit]
        return RegistrationConnection(
            edges=[
                RegistrationEdge(cursor=c, node=r)  # type: ignore[arg-type]
                for c, r in zip(cursors(offset, page), page, strict=True)
            ],
            page_info=page_info(offset, len(page), len(rows)),
            total_count=len(rows),
        )

    @strawberry.field(
        description="Open problem reports about listings in the caller's localities, "
        "oldest first. LEAD_PROVIDER or ADMIN."
    )
    async def problem_reports(
        self, info: Info[Context], first: int | None = None, after: str | None = None
    ) -> ProblemReportConnection:
        principal = info.context.authorize("reading problem reports", *policy.MODERATORS)
        offset, limit = page_window(
            first, after, default=20, maximum=info.context.settings.max_page_size
        )

        def read(db: orm.Session) -> list:
            return [report for report, _listing in reporting.open_reports(db, principal)]

        rows = await info.context.db.run_sync(read)
        page = rows[offset : offset + limit]
        return ProblemReportConnection(
            edges=[
                ProblemReportEdge(cursor=c, node=r)  # type: ignore[arg-type]
                for c, r in zip(cursors(offset, page), page, strict=True)
            ],
            page_info=page_info(offset, len(page), len(rows)),
            total_count=len(rows),
        )
