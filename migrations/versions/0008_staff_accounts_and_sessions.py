"""staff accounts and sessions: people who sign in to the pages (email link, TOTP), their
recovery codes and server-side sessions; audit events name the person; referrals' contact
attempts; providers' register links

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 08:29:03.014410
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "GP_PRACTICE",
                "LEAD_PROVIDER",
                "PROVIDER",
                "COMMISSIONER",
                "ADMIN",
                name="role",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("practice_id", sa.Integer(), nullable=True),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("link_worker_id", sa.Integer(), nullable=True),
        sa.Column("coordinator", sa.Boolean(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("totp_secret_enc", sa.Text(), nullable=True),
        sa.Column("totp_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("totp_last_step", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invited_by", sa.String(length=200), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["link_worker_id"],
            ["link_workers.id"],
            name=op.f("fk_staff_accounts_link_worker_id_link_workers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["gp_practices.id"],
            name=op.f("fk_staff_accounts_practice_id_gp_practices"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_staff_accounts_provider_id_providers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_accounts")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_accounts_email")),
    )
    with op.batch_alter_table("staff_accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_accounts_link_worker_id"), ["link_worker_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_staff_accounts_practice_id"), ["practice_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_staff_accounts_provider_id"), ["provider_id"], unique=False
        )

    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["staff_accounts.id"],
            name=op.f("fk_staff_recovery_codes_account_id_staff_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_recovery_codes")),
    )
    with op.batch_alter_table("staff_recovery_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_recovery_codes_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "staff_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("second_factor_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_codes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["staff_accounts.id"],
            name=op.f("fk_staff_sessions_account_id_staff_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_staff_sessions")),
    )
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_sessions_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "staff_sign_in_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["staff_accounts.id"],
            name=op.f("fk_staff_sign_in_links_account_id_staff_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sign_in_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_sign_in_links_token_hash")),
    )
    with op.batch_alter_table("staff_sign_in_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_sign_in_links_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "referral_contact_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column(
            "method",
            sa.Enum(
                "PHONE", "EMAIL", "LETTER", "TEXT_MESSAGE",
                name="contactmethod", native_enum=False, length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "outcome",
            sa.Enum(
                "REACHED", "NO_ANSWER", "LEFT_MESSAGE", "WRONG_DETAILS",
                name="contactoutcome", native_enum=False, length=40,
            ),
            nullable=False,
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_referral_contact_attempts_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_contact_attempts")),
    )  # fmt: skip
    with op.batch_alter_table("referral_contact_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_contact_attempts_referral_id"), ["referral_id"], unique=False
        )

    op.create_table(
        "register_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_register_links_provider_id_providers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_register_links_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_register_links_token_hash")),
    )
    with op.batch_alter_table("register_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_register_links_provider_id"), ["provider_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_register_links_session_id"), ["session_id"], unique=False
        )

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("staff_account_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_audit_events_staff_account_id"), ["staff_account_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_audit_events_staff_account_id_staff_accounts"),
            "staff_accounts",
            ["staff_account_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_audit_events_staff_account_id_staff_accounts"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_audit_events_staff_account_id"))
        batch_op.drop_column("staff_account_id")

    with op.batch_alter_table("register_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_register_links_session_id"))
        batch_op.drop_index(batch_op.f("ix_register_links_provider_id"))

    op.drop_table("register_links")
    with op.batch_alter_table("referral_contact_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_contact_attempts_referral_id"))

    op.drop_table("referral_contact_attempts")
    with op.batch_alter_table("staff_sign_in_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_sign_in_links_account_id"))

    op.drop_table("staff_sign_in_links")
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_sessions_account_id"))

    op.drop_table("staff_sessions")
    with op.batch_alter_table("staff_recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_recovery_codes_account_id"))

    op.drop_table("staff_recovery_codes")
    with op.batch_alter_table("staff_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_accounts_provider_id"))
        batch_op.drop_index(batch_op.f("ix_staff_accounts_practice_id"))
        batch_op.drop_index(batch_op.f("ix_staff_accounts_link_worker_id"))

    op.drop_table("staff_accounts")
