"""Moderators' queries: the moderation queue and open problem reports."""

from __future__ import annotations

import datetime as dt

import strawberry
from sqlalchemy import orm
from strawberry.types import Info

from api import paging
from api.access import policy
from api.graphql.context import Context
from api.graphql.registration.types import (
    ProblemReportConnection,
    ProblemReportEdge,
    RegistrationConnection,
    RegistrationEdge,
    RegistrationStatus,
)
from api.graphql.relay import After, First, Keyset
from api.registration import flow
from api.registration import reports as reporting
from api.registration.models import ProblemReport, Registration
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
        first: First = None,
        after: After = None,
    ) -> RegistrationConnection:
        principal = info.context.authorize("moderating listings", *policy.MODERATORS)
        keyset = Keyset(info.context.settings, "moderationQueue", "oldest")
        window = keyset.window(first, after, maximum=info.context.settings.max_page_size)
        statuses = tuple(Status(s) for s in status) if status else (Status.PENDING_REVIEW,)
        rows = await info.context.db.run_sync(
            lambda db: flow.moderation_queue(db, principal, statuses)
        )
        rest = paging.seek(sorted(rows, key=_confirmed), _confirmed, window.key)[window.offset :]
        page = rest[: window.limit]
        found = keyset.cursors([_confirmed(r) for r in page])
        return RegistrationConnection(
            edges=[
                RegistrationEdge(cursor=c, node=r)  # type: ignore[arg-type]
                for c, r in zip(found, page, strict=True)
            ],
            page_info=keyset.page_info(found, window, len(rest) > window.limit),
            total_count=len(rows),
        )

    @strawberry.field(
        description="Open problem reports about listings in the caller's localities, "
        "oldest first. LEAD_PROVIDER or ADMIN."
    )
    async def problem_reports(
        self, info: Info[Context], first: First = None, after: After = None
    ) -> ProblemReportConnection:
        principal = info.context.authorize("reading problem reports", *policy.MODERATORS)
        keyset = Keyset(info.context.settings, "problemReports", "oldest")
        window = keyset.window(first, after, maximum=info.context.settings.max_page_size)

        def read(db: orm.Session) -> list:
            return [report for report, _listing in reporting.open_reports(db, principal)]

        rows = await info.context.db.run_sync(read)
        rest = paging.seek(sorted(rows, key=_created), _created, window.key)[window.offset :]
        page = rest[: window.limit]
        found = keyset.cursors([_created(r) for r in page])
        return ProblemReportConnection(
            edges=[
                ProblemReportEdge(cursor=c, node=r)  # type: ignore[arg-type]
                for c, r in zip(found, page, strict=True)
            ],
            page_info=keyset.page_info(found, window, len(rest) > window.limit),
            total_count=len(rows),
        )


# Sort keys of the two queues, oldest first (the id last). Not-yet-confirmed registrations
# (no date) come last: (False, date) sorts before (True, ...).
def _confirmed(r: Registration) -> paging.Key:
    at = r.confirmed_at
    return (at is None, _naive(at) if at else "", r.id)


def _created(r: ProblemReport) -> paging.Key:
    return (_naive(r.created_at), r.id)


def _naive(at: dt.datetime) -> str:
    """A UTC time as text that sorts in time order, whether the database kept its zone."""
    utc = at.astimezone(dt.UTC) if at.tzinfo else at
    return utc.replace(tzinfo=None).isoformat()
