"""GraphQL for a referral's equality data: the `Referral.equality` field (read through the
policy like every other field of a referral: those who read the person's full details) and
the mutations to record, change or clear it after the referral was made. Thin shells over
api/referrals/equality.py."""

from __future__ import annotations

import json
from typing import Any

import strawberry
from sqlalchemy import orm
from strawberry.types import Info

from api.access import policy
from api.graphql.context import Context
from api.graphql.referrals.mutations import (
    EqualityInput,
    EqualityQuestion,
    ReferralPayload,
    _payload,
    _pk,
    _write,
)
from api.referrals import equality as domain
from api.referrals.models import Referral
from api.referrals.protection import protector


@strawberry.type(description="A code as recorded, with its label.")
class CodedValue:
    code: str
    label: str


@strawberry.type(
    name="EqualityData",
    description="The equality data the person chose to give: each part null (or empty) "
    "when not asked, unless listed in `declined`.",
)
class EqualityData:
    sex: CodedValue | None
    ethnic_category: CodedValue | None = strawberry.field(
        description="An NHS Data Dictionary ethnic category; Z (Not stated) when the person "
        "preferred not to say."
    )
    long_term_conditions: list[CodedValue]
    imd_decile: int | None = strawberry.field(
        description="The IMD decile of the person's postcode (1 most deprived), from the "
        "lookup `petunia imd import` fills; null when it is not in it."
    )
    declined: list[EqualityQuestion] = strawberry.field(  # type: ignore[valid-type]
        description="The questions the person was asked and preferred not to answer."
    )


def _coded(value: domain.Coded | None) -> CodedValue | None:
    return None if value is None else CodedValue(code=value.code, label=value.label)


async def equality_of(root: Referral, info: Info[Context]) -> EqualityData | None:
    """The resolver of `Referral.equality` (the policy has let the caller read it)."""
    from api.graphql.referrals.types import _open

    text = await _open(info, root, "equality", root.equality_enc)
    if text is None:
        return None
    found = domain.labelled(json.loads(text))
    assert found is not None
    return EqualityData(
        sex=_coded(found.sex),
        ethnic_category=_coded(found.ethnic_category),
        long_term_conditions=[
            CodedValue(code=c.code, label=c.label) for c in found.long_term_conditions
        ],
        imd_decile=found.imd_decile,
        declined=[domain.Question(q) for q in found.declined],  # type: ignore[misc],
    )


@strawberry.type
class EqualityMutation:
    @strawberry.mutation(
        description="Record or change a referral's equality data after it was made: the "
        "whole answer, which replaces what was recorded (the IMD decile is looked up again "
        "from the person's postcode). Only as the person chooses to give it."
    )
    async def record_equality(
        self, info: Info[Context], referral_id: strawberry.ID, equality: EqualityInput
    ) -> ReferralPayload:
        principal = info.context.authorize("recording equality data", *policy.RECORD_EQUALITY)
        guard = protector(info.context.settings)
        given = equality.domain()

        def change(db: orm.Session) -> Any:
            pk = _pk(referral_id, "Referral", "referralId")
            return domain.change(db, principal, pk, given, guard, path="equality")[0]

        return _payload(ReferralPayload, "referral", await _write(info, change))

    @strawberry.mutation(description="Remove all of a referral's equality data.")
    async def clear_equality(
        self, info: Info[Context], referral_id: strawberry.ID
    ) -> ReferralPayload:
        principal = info.context.authorize("recording equality data", *policy.RECORD_EQUALITY)
        guard = protector(info.context.settings)

        def change(db: orm.Session) -> Any:
            pk = _pk(referral_id, "Referral", "referralId")
            return domain.change(db, principal, pk, None, guard)[0]

        return _payload(ReferralPayload, "referral", await _write(info, change))
