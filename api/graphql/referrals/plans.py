"""GraphQL for a plan that lives: the types of a plan's revisions, its reviews and
follow-ups and the support level's history (fields of `Referral`, read through the policy
like every other), what is due this week on the caller's caseload, and the mutations to
record a review, the person's consents and to email them their own copy. Thin shells over
api/referrals/plans.py, reviews.py, levels.py and person_copy.py."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import strawberry
from sqlalchemy import orm, select
from strawberry.types import Info

from api.access import policy
from api.graphql.context import Context
from api.graphql.referrals.mutations import ReferralPayload, _errors, _payload, _pk, _write
from api.graphql.referrals.types import ReferralError, SupportLevel
from api.graphql.relay import to_global_id
from api.referrals import levels, person_copy, plans, reviews
from api.referrals import plan_models as m
from api.referrals.errors import Rejected
from api.referrals.lifecycle import find_for_change
from api.referrals.models import Referral
from api.referrals.protection import protector
from api.referrals.working_days import local_date

ReviewKind = strawberry.enum(
    m.ReviewKind, description="A plan review, or a follow-up at or after the end of support."
)
ReviewState = strawberry.enum(m.ReviewState)


@strawberry.type(description="One revision of the care and support plan (newest first).")
class PlanRevision:
    number: int
    at: dt.datetime
    by: str
    goals: list[str]
    actions: str
    barriers: str
    review_on: dt.date | None
    current: bool


@strawberry.type(description="A review or follow-up, on a working day.")
class PlanReview:
    id: strawberry.ID
    kind: ReviewKind  # type: ignore[valid-type]
    due_on: dt.date
    instruments: list[str] = strawberry.field(
        description="Keys of the outcome instruments to score at it."
    )
    state: ReviewState  # type: ignore[valid-type]
    done_on: dt.date | None
    reached: bool | None = strawberry.field(description="Whether the person was reached.")


@strawberry.type(description="The support level in force from a date, and who set it.")
class SupportLevelChange:
    level: SupportLevel  # type: ignore[valid-type]
    from_on: dt.date
    by: str


@strawberry.type(description="A review or follow-up due by the end of this week.")
class DueReview:
    review: PlanReview
    referral_id: strawberry.ID
    overdue: bool


def _review(row: m.Review) -> PlanReview:
    return PlanReview(
        id=to_global_id("PlanReview", row.id),
        kind=row.kind,
        due_on=row.due_on,
        instruments=list(row.instruments),
        state=row.state,
        done_on=row.done_on,
        reached=row.reached,
    )


async def plan_history(root: Referral, info: Info[Context]) -> list[PlanRevision]:
    """The resolver of `Referral.planHistory` (the policy has let the caller read it)."""
    from api.graphql.referrals.types import _open

    rows = await info.context.db.run_sync(
        lambda db: list(
            db.scalars(
                select(m.PlanRevision)
                .where(m.PlanRevision.referral_id == root.id)
                .order_by(m.PlanRevision.number.desc())
            )
        )
    )
    found = []
    for i, row in enumerate(rows):
        text = await _open(info, root, plans.FIELD, row.plan_enc)
        if text is None:
            continue
        plan = json.loads(text)
        found.append(
            PlanRevision(
                number=row.number,
                at=row.created_at,
                by=row.actor,
                goals=plan.get("goals", []),
                actions=plan.get("actions", ""),
                barriers=plan.get("barriers", ""),
                review_on=row.review_on,
                current=i == 0,
            )
        )
    return found


async def plan_reviews(root: Referral, info: Info[Context]) -> list[PlanReview]:
    rows = await info.context.db.run_sync(lambda db: reviews.reviews_of(db, root.id))
    return [_review(r) for r in rows]


async def support_levels(root: Referral, info: Info[Context]) -> list[SupportLevelChange]:
    rows = await info.context.db.run_sync(lambda db: levels.history(db, root.id))
    return [SupportLevelChange(level=r.level, from_on=r.from_on, by=r.actor) for r in rows]


@strawberry.input
class RecordReviewInput:
    referral_id: strawberry.ID
    review_id: strawberry.ID
    done_on: dt.date
    reached: bool = strawberry.field(description="Whether the person was reached.")
    support_level: SupportLevel | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="The level reassessed (required at a plan review)."
    )
    next_review_on: dt.date | None = strawberry.field(
        default=None, description="Default: the configured number of weeks on."
    )


@strawberry.input
class PlanConsentInput:
    referral_id: strawberry.ID
    to_share_goals_with_practice: bool
    to_receive_own_copy: bool


@strawberry.type
class ReviewPayload:
    review: PlanReview | None
    errors: list[ReferralError]


@strawberry.type
class PersonCopyPayload:
    sent: bool
    errors: list[ReferralError]


@strawberry.type
class PlanQuery:
    @strawberry.field(
        description="Reviews and follow-ups due by the end of this week (overdue ones too) on "
        "the referrals you work on; a link worker's own caseload when signed in as one."
    )
    async def reviews_due(self, info: Info[Context]) -> list[DueReview]:
        principal = info.context.authorize("reading caseloads", *policy.CHANGE_REFERRAL)
        today = local_date(dt.datetime.now(dt.UTC))
        rows = await info.context.db.run_sync(
            lambda db: reviews.due_this_week(
                db, principal, today=today, link_worker_id=principal.link_worker_id
            )
        )

        def load(db: orm.Session) -> dict[int, m.Review]:
            return {r.review_id: db.get(m.Review, r.review_id) for r in rows}  # type: ignore[misc]

        found = await info.context.db.run_sync(load)
        return [
            DueReview(
                review=_review(found[r.review_id]),
                referral_id=to_global_id("Referral", r.referral_id),
                overdue=r.overdue,
            )
            for r in rows
        ]


@strawberry.type
class PlanMutation:
    @strawberry.mutation(
        description="Record a review or follow-up as held; a plan review reassesses the "
        "support level and sets the next review."
    )
    async def record_review(self, info: Info[Context], input: RecordReviewInput) -> ReviewPayload:
        principal = info.context.authorize("changing referrals", *policy.CHANGE_REFERRAL)
        weeks = info.context.settings.review_weeks
        result = await _write(
            info,
            lambda db: reviews.complete_review(
                db,
                principal,
                _pk(input.referral_id, "Referral", "input.referralId"),
                _pk(input.review_id, "PlanReview", "input.reviewId"),
                done_on=input.done_on,
                reached=input.reached,
                support_level=input.support_level,
                next_review_on=input.next_review_on,
                review_weeks=weeks,
            ),
        )
        if isinstance(result, list):
            return ReviewPayload(review=None, errors=result)
        return ReviewPayload(review=_review(result), errors=[])

    @strawberry.mutation(
        description="What the person agreed to: their goals in the message back to the "
        "practice, and receiving their own copy of the plan."
    )
    async def record_plan_consent(
        self, info: Info[Context], input: PlanConsentInput
    ) -> ReferralPayload:
        principal = info.context.authorize("changing referrals", *policy.CHANGE_REFERRAL)

        def change(db: orm.Session) -> Any:
            return person_copy.record_consents(
                db,
                principal,
                _pk(input.referral_id, "Referral", "input.referralId"),
                share_goals=input.to_share_goals_with_practice,
                own_copy=input.to_receive_own_copy,
            )

        return _payload(ReferralPayload, "referral", await _write(info, change))

    @strawberry.mutation(
        description="Email the person their own copy of the plan (with their consent, to the "
        "email address on the referral)."
    )
    async def email_person_copy(
        self, info: Info[Context], referral_id: strawberry.ID
    ) -> PersonCopyPayload:
        principal = info.context.authorize("changing referrals", *policy.CHANGE_REFERRAL)
        guard = protector(info.context.settings)
        today = local_date(dt.datetime.now(dt.UTC))

        def send(db: orm.Session) -> int:
            pk = _pk(referral_id, "Referral", "referralId")
            find_for_change(db, principal, pk)
            return person_copy.email_person_copy(db, principal, guard, pk, today=today)

        try:
            await info.context.db.run_sync_write(send)
        except Rejected as exc:
            return PersonCopyPayload(sent=False, errors=_errors(exc.problems))
        return PersonCopyPayload(sent=True, errors=[])
