"""living plans: plan revisions, reviews and follow-ups, support level history, consents to
share goals with the practice and to a person's own copy

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-29 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _referral_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["referral_id"],
        ["referrals.id"],
        name=op.f(f"fk_{table}_referral_id_referrals"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.add_column(
        "referrals", sa.Column("consent_share_goals_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "referrals", sa.Column("consent_own_copy_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "referral_plan_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("plan_enc", sa.Text(), nullable=True),
        sa.Column("review_on", sa.Date(), nullable=True),
        _referral_fk("referral_plan_revisions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_plan_revisions")),
        sa.UniqueConstraint(
            "referral_id", "number", name=op.f("uq_referral_plan_revisions_referral_id")
        ),
    )
    op.create_index(
        op.f("ix_referral_plan_revisions_referral_id"),
        "referral_plan_revisions",
        ["referral_id"],
    )
    op.create_table(
        "referral_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("instruments", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("reached", sa.Boolean(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("nudged_at", sa.DateTime(timezone=True), nullable=True),
        _referral_fk("referral_reviews"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_reviews")),
    )
    op.create_index(op.f("ix_referral_reviews_referral_id"), "referral_reviews", ["referral_id"])
    op.create_index(op.f("ix_referral_reviews_due_on"), "referral_reviews", ["due_on"])
    op.create_index(op.f("ix_referral_reviews_state"), "referral_reviews", ["state"])
    op.create_table(
        "referral_support_levels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=40), nullable=False),
        sa.Column("from_on", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        _referral_fk("referral_support_levels"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_support_levels")),
    )
    op.create_index(
        op.f("ix_referral_support_levels_referral_id"),
        "referral_support_levels",
        ["referral_id"],
    )


def downgrade() -> None:
    op.drop_table("referral_support_levels")
    op.drop_table("referral_reviews")
    op.drop_table("referral_plan_revisions")
    with op.batch_alter_table("referrals") as batch:
        batch.drop_column("consent_own_copy_at")
        batch.drop_column("consent_share_goals_at")
