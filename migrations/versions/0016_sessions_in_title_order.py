"""an index on sessions that serves lists in title order

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 15:00:00

``GET /oruk/services`` and an unfiltered ``sessions`` list are the published sessions by
title (the id breaking ties). Without an index in that order both engines read and sorted
every published session to answer a page of 20; ``ix_sessions_status_title`` (status, title,
id) is walked in order from the published ones, each row's provider checked by its primary
key, and the walk stops when the page is full. Statistics are gathered again afterwards, so
that the planner knows the index (and SQLite has any at all).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_sessions_status_title", "sessions", ["status", "title", "id"])
    op.execute("ANALYZE sessions")


def downgrade() -> None:
    op.drop_index("ix_sessions_status_title", table_name="sessions")
