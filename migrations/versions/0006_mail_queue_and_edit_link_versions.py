"""mail queue and edit link versions

Every email is written to mail_queue in the transaction of the change it announces, and
delivered from there with retries. Edit links carry a per-listing version that only moves
forward (providers and registrations: edit_link_version). A form's submission key is kept
with its rate-limit record, so the same form sent again counts once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 08:37:50.147748
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum("PENDING", "SENT", "FAILED", name="mailstatus", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_queue")),
    )
    with op.batch_alter_table("mail_queue", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mail_queue_finished_at"), ["finished_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mail_queue_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mail_queue_status"), ["status"], unique=False)

    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("edit_link_version", sa.Integer(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("form_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submission_key", sa.String(length=64), nullable=True))

    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("edit_link_version", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.drop_column("edit_link_version")

    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_column("edit_link_version")

    with op.batch_alter_table("form_attempts", schema=None) as batch_op:
        batch_op.drop_column("submission_key")

    with op.batch_alter_table("mail_queue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_queue_status"))
        batch_op.drop_index(batch_op.f("ix_mail_queue_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_mail_queue_finished_at"))

    op.drop_table("mail_queue")
