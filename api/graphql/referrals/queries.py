"""Referral and outcome queries. Each asks the policy first (info.context.authorize); which
records come back is the policy's SQL filter, applied in api/referrals/reading.py."""

from __future__ import annotations

import datetime as dt

import strawberry
from sqlalchemy import orm, select
from strawberry.types import Info

from api.access import policy
from api.graphql.context import Context
from api.graphql.errors import UserInputError
from api.graphql.referrals.types import (
    OutcomeInstrumentType,
    ReferralConnection,
    ReferralEdge,
    ReferralStatus,
    ReferralType,
    UnmetNeedType,
    WebhookType,
)
from api.graphql.relay import After, First, Keyset, expect_id
from api.outcomes.recording import instruments_for, unmet_needs
from api.referrals import reading, webhooks
from api.referrals.nhs_number import InvalidNhsNumber
from api.referrals.protection import protector


@strawberry.input(description="Every condition given must hold.")
class ReferralFilter:
    statuses: list[ReferralStatus] | None = None
    practice_ods_code: str | None = None
    nhs_number: str | None = strawberry.field(
        default=None, description="Finds the person's referrals (matched by a keyed hash)."
    )
    received_from: dt.date | None = None
    received_to: dt.date | None = None
    overdue_for_contact: bool | None = strawberry.field(
        default=None, description="Still RECEIVED after the contact target date."
    )


def _query(db: orm.Session, f: ReferralFilter | None) -> reading.ReferralQuery:
    if f is None:
        return reading.ReferralQuery()
    practice_id = None
    if f.practice_ods_code is not None:
        from api.directory.models import GpPractice

        practice_id = db.scalar(
            select(GpPractice.id).where(GpPractice.ods_code == f.practice_ods_code.strip().upper())
        )
        if practice_id is None:
            raise UserInputError(
                f"no GP practice with ODS code '{f.practice_ods_code}'",
                field="filter.practiceOdsCode",
            )
    return reading.ReferralQuery(
        statuses=tuple(f.statuses or ()),
        practice_id=practice_id,
        nhs_number=f.nhs_number,
        received_from=f.received_from,
        received_to=f.received_to,
        overdue_for_contact=f.overdue_for_contact,
    )


@strawberry.type
class ReferralQuery:
    @strawberry.field(description="Referrals you may see, newest first. Every read is audited.")
    async def referrals(
        self,
        info: Info[Context],
        filter: ReferralFilter | None = None,  # noqa: A002 (the public contract's name)
        first: First = None,
        after: After = None,
    ) -> ReferralConnection:
        principal = info.context.authorize("reading referrals", *policy.READ_REFERRALS)
        keyset = Keyset(info.context.settings, "referrals", "newest")
        window = keyset.window(first, after, maximum=info.context.settings.max_page_size)
        guard = protector(info.context.settings)

        def read(db: orm.Session) -> reading.ReferralPage:
            try:
                return reading.list_referrals(
                    db,
                    principal,
                    _query(db, filter),
                    guard,
                    limit=window.limit,
                    after=window.key,
                    offset=window.offset,
                )
            except InvalidNhsNumber as exc:
                raise UserInputError(str(exc), field="filter.nhsNumber") from None

        page = await info.context.db.run_sync_write(read)
        found = keyset.cursors([(r.received_at, r.id) for r in page.items])
        edges = [
            ReferralEdge(cursor=c, node=n)  # type: ignore[arg-type]
            for c, n in zip(found, page.items, strict=True)
        ]
        return ReferralConnection(
            edges=edges,
            total_count=page.total,
            page_info=keyset.page_info(found, window, page.more),
        )

    @strawberry.field(
        description="One referral; null when it does not exist or is not yours to see."
    )
    async def referral(self, info: Info[Context], id: strawberry.ID) -> ReferralType | None:  # noqa: A002
        principal = info.context.authorize("reading referrals", *policy.READ_REFERRALS)
        pk = expect_id(id, "Referral")
        return await info.context.db.run_sync_write(
            lambda db: reading.get_referral(db, principal, pk)
        )

    @strawberry.field(description="The instruments you may record outcomes with.")
    async def outcome_instruments(self, info: Info[Context]) -> list[OutcomeInstrumentType]:
        principal = info.context.authorize("reading outcome instruments", *policy.READ_INSTRUMENTS)

        def read(db: orm.Session) -> list:
            lead = principal.provider_id if principal.role.value == "LEAD_PROVIDER" else None
            return instruments_for(db, lead)

        return await info.context.db.run_sync(read)

    @strawberry.field(description="Needs found in care planning that nothing meets.")
    async def unmet_needs(self, info: Info[Context]) -> list[UnmetNeedType]:
        principal = info.context.authorize("reading unmet need", *policy.READ_UNMET_NEED)
        return await info.context.db.run_sync(lambda db: unmet_needs(db, principal))

    @strawberry.field(description="Your practice's webhooks.")
    async def webhooks(self, info: Info[Context]) -> list[WebhookType]:
        principal = info.context.authorize("managing webhooks", *policy.MANAGE_WEBHOOKS)
        return await info.context.db.run_sync(lambda db: webhooks.practice_webhooks(db, principal))
