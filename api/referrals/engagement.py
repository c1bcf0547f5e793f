"""Continued engagement, which earns the long-term maintenance incentive: a year (the
tariff's ``after_days``) after support began, the person still attends a session, or the
link worker reached them at a follow-up, or an outcome measurement was taken. A person who
keeps walking dogs on their own is still engaged, though no register shows it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select

from api.outcomes.models import OutcomeMeasurement
from api.referrals.models import Attendance, Signpost
from api.referrals.plan_models import Review, ReviewState


def engaged_since(referral_id: Any, since: Any) -> ColumnElement[bool]:
    """SQL: the referral (a column or value) shows engagement on or after ``since`` (a date
    column, expression or value)."""
    attended = exists(
        select(Attendance.id)
        .join(Signpost, Signpost.id == Attendance.signpost_id)
        .where(
            Signpost.referral_id == referral_id,
            Attendance.attended.is_(True),
            Attendance.on_date >= since,
        )
    )
    followed_up = exists(
        select(Review.id).where(
            Review.referral_id == referral_id,
            Review.state == ReviewState.DONE,
            Review.reached.is_(True),
            Review.done_on >= since,
        )
    )
    measured = exists(
        select(OutcomeMeasurement.id).where(
            OutcomeMeasurement.referral_id == referral_id,
            OutcomeMeasurement.taken_on >= since,
        )
    )
    return or_(attended, followed_up, measured)
