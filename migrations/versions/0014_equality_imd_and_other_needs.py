"""who is reached: a referral's equality data (encrypted), the IMD lookup, and unmet needs
that fit none of the six domains

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DOMAIN = sa.Enum(
    "PHYSICAL_ACTIVITY",
    "HEALTHY_EATING",
    "ARTS_FOR_HEALTH",
    "BEFRIENDING",
    "WELFARE_RIGHTS",
    "VOLUNTEERING",
    name="domain",
    native_enum=False,
    length=40,
)


def upgrade() -> None:
    # Sex, ethnic category, long term conditions and IMD decile, encrypted with the
    # referral's data key like the rest of its personal data (None: not recorded, or purged).
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(sa.Column("equality_enc", sa.Text(), nullable=True))
    op.create_table(
        "imd_deciles",
        sa.Column("postcode", sa.String(length=8), nullable=False),
        sa.Column("decile", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("postcode", name=op.f("pk_imd_deciles")),
    )
    # An unmet need with no domain fits none of the six ("other"); its description says what.
    with op.batch_alter_table("unmet_needs") as batch:
        batch.alter_column("domain", existing_type=DOMAIN, nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM unmet_needs WHERE domain IS NULL")
    with op.batch_alter_table("unmet_needs") as batch:
        batch.alter_column("domain", existing_type=DOMAIN, nullable=False)
    op.drop_table("imd_deciles")
    with op.batch_alter_table("referrals") as batch:
        batch.drop_column("equality_enc")
