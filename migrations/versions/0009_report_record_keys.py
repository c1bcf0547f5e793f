"""report record keys: a fixed random key per referral and unmet need (cell key method)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 08:40:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("referrals", "unmet_needs")
KEY_RANGE = 2**31  # as api/reports/noise.py (a migration does not import app code)


def upgrade() -> None:
    connection = op.get_bind()
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("record_key", sa.Integer(), nullable=True))
        # Existing rows: a random key each, drawn here (the same way new rows get theirs).
        rows = sa.table(table, sa.column("id", sa.Integer), sa.column("record_key", sa.Integer))
        ids = connection.execute(sa.select(rows.c.id)).scalars().all()
        change = rows.update().where(rows.c.id == sa.bindparam("row_id"))
        for at in range(0, len(ids), 10_000):  # one executemany per batch
            connection.execute(
                change.values(record_key=sa.bindparam("key")),
                [{"row_id": i, "key": secrets.randbelow(KEY_RANGE)} for i in ids[at : at + 10_000]],
            )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("record_key", existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("record_key")
