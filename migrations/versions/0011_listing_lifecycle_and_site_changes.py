"""listing lifecycle and site changes: sessions that stop or are withdrawn, and the
durable "the site is out of date" marker the background rebuild reads

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS = sa.Enum(
    "PUBLISHED",
    "PENDING",
    "WITHDRAWN",
    "SUSPENDED",
    "STOPPED",
    name="listingstatus",
    native_enum=False,
    length=40,
)


def upgrade() -> None:
    op.create_table(
        "site_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_changes")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", STATUS, server_default="PUBLISHED", nullable=False))
        batch_op.add_column(sa.Column("status_reason", sa.String(length=500), nullable=True))
        batch_op.create_index(batch_op.f("ix_sessions_status"), ["status"], unique=False)
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_column("status_reason")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_status"))
        batch_op.drop_column("status_reason")
        batch_op.drop_column("status")
    op.drop_table("site_changes")
