"""directory version for ETags; a stored tsvector column for PostgreSQL search

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 11:40:00

``directory_version`` holds one number that every write to the public directory's tables
raises (triggers: nothing in the code has to remember). Public reads (GET /graphql, /oruk)
use it as their ETag (api/caching.py).

On PostgreSQL, ``sessions.search_vector`` is ``to_tsvector('english', search_text)``
computed once when the row is written (a stored generated column) instead of at every
search: ranking (ts_rank) read it from the row instead of parsing the text again, which was
most of a ranked search's time. Its GIN index keeps the name ``ix_sessions_search``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table whose rows show in the public directory (GraphQL, /oruk, the site).
DIRECTORY_TABLES = (
    "domains",
    "localities",
    "providers",
    "venues",
    "venue_features",
    "sessions",
    "session_domains",
    "session_languages",
    "schedules",
    "session_breaks",
)


def upgrade() -> None:
    op.create_table(
        "directory_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_version")),
    )
    op.execute("INSERT INTO directory_version (id, version) VALUES (1, 1)")
    bump = "UPDATE directory_version SET version = version + 1 WHERE id = 1"
    if op.get_bind().dialect.name == "sqlite":
        # SQLite has row triggers only; a directory is written a few rows at a time.
        for table in DIRECTORY_TABLES:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER directory_version_{table}_{event.lower()} "
                    f"AFTER {event} ON {table} BEGIN {bump}; END"
                )
        return
    op.execute(
        "CREATE FUNCTION directory_version_bump() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {bump}; RETURN NULL; END $$"
    )
    for table in DIRECTORY_TABLES:
        # Once per statement, not per row: a bulk load costs one update.
        op.execute(
            f"CREATE TRIGGER directory_version_bump AFTER INSERT OR UPDATE OR DELETE "
            f"OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION directory_version_bump()"
        )
    op.execute("DROP INDEX IF EXISTS ix_sessions_search")
    op.execute(
        "ALTER TABLE sessions ADD COLUMN search_vector tsvector "
        "GENERATED ALWAYS AS (to_tsvector('english', search_text)) STORED"
    )
    op.execute("CREATE INDEX ix_sessions_search ON sessions USING gin (search_vector)")
    # Fresh statistics, so the planner starts from the index (not a scan of every session).
    op.execute("ANALYZE sessions")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in DIRECTORY_TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS directory_version_{table}_{event}")
    else:
        for table in DIRECTORY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS directory_version_bump ON {table}")
        op.execute("DROP FUNCTION IF EXISTS directory_version_bump()")
        op.execute("DROP INDEX IF EXISTS ix_sessions_search")
        op.execute("ALTER TABLE sessions DROP COLUMN IF EXISTS search_vector")
        op.execute(
            "CREATE INDEX ix_sessions_search ON sessions "
            "USING gin (to_tsvector('english', search_text))"
        )
    op.drop_table("directory_version")
