"""referral data keys, and no sampled personal data in PostgreSQL's statistics

Each referral gets ``key_id``: the id of its own data key in the key store
(api/referrals/keys.py), which ``petunia purge`` destroys. Referrals written before keep
their data under the master key until ``petunia rekey`` moves it under a key of their own.

On PostgreSQL, ANALYZE samples column values into pg_statistic (histograms, most common
values), where they outlive a purge. The encrypted columns, the NHS-number lookup hash and the
email addresses are excluded from statistics (SET STATISTICS 0), and the values already
sampled are dropped (changing a column to its own type removes its statistics).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, its type as PostgreSQL spells it)
NO_STATISTICS = (
    ("referrals", "nhs_number_enc", "text"),
    ("referrals", "nhs_number_hash", "varchar(64)"),
    ("referrals", "person_enc", "text"),
    ("referrals", "plan_enc", "text"),
    ("referral_events", "note_enc", "text"),
    ("registrations", "email", "varchar(320)"),
    ("problem_reports", "reporter_email", "varchar(320)"),
    ("listing_contacts", "email", "varchar(320)"),
)


def upgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=36), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for table, column, type_ in NO_STATISTICS:
            op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET STATISTICS 0')
            op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE {type_}')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column, _type in NO_STATISTICS:
            op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET STATISTICS -1')
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_column("key_id")
