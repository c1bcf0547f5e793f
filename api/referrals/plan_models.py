"""Tables of a plan that lives: each revision of the care and support plan (encrypted with
the referral's data key, like the rest of its personal data), the reviews and follow-ups
scheduled with it, and the history of the support level (anonymous: reports and the tariff
need it after purge)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base
from api.directory.models import enum_column, utcnow
from api.referrals.enums import SupportLevel


class ReviewKind(StrEnum):
    REVIEW = "REVIEW"  # of the plan, while support goes on
    END_OF_SUPPORT = "END_OF_SUPPORT"
    FOLLOW_UP_6_MONTHS = "FOLLOW_UP_6_MONTHS"
    FOLLOW_UP_12_MONTHS = "FOLLOW_UP_12_MONTHS"


class ReviewState(StrEnum):
    DUE = "DUE"
    DONE = "DONE"
    CANCELLED = "CANCELLED"  # the referral ended before it (declined, closed)


class PlanRevision(Base):
    """One version of the plan: goals, actions and barriers (encrypted), when and by whom."""

    __tablename__ = "referral_plan_revisions"
    __table_args__ = (UniqueConstraint("referral_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... in order of writing
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    # {"goals": [...], "actions": "...", "barriers": "..."}; None once purged.
    plan_enc: Mapped[str | None] = mapped_column(Text)
    review_on: Mapped[dt.date | None] = mapped_column(Date)


class Review(Base):
    """A review or follow-up due on a (working) day, with the outcome instruments due then."""

    __tablename__ = "referral_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ReviewKind] = mapped_column(enum_column(ReviewKind))
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    # Keys of the instruments to score at it (none for a plan review).
    instruments: Mapped[list] = mapped_column(JSON, default=list)
    state: Mapped[ReviewState] = mapped_column(
        enum_column(ReviewState), default=ReviewState.DUE, index=True
    )
    done_on: Mapped[dt.date | None] = mapped_column(Date)
    # Whether the person was reached at it: a follow-up contact counts as engagement.
    reached: Mapped[bool | None] = mapped_column()
    actor: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When `petunia nudge` reminded the link worker it was overdue (at most once).
    nudged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class LevelChange(Base):
    """The support level in force from a date (until the next one), and who set it."""

    __tablename__ = "referral_support_levels"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[SupportLevel] = mapped_column(enum_column(SupportLevel))
    from_on: Mapped[dt.date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
