from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from api import migrations
from api.db import Base, Database
from tests.conftest import engine_name

# Full-text search structures are created by the migration on purpose and have no model.
SEARCH_TABLES = {
    "sessions_fts",
    "sessions_fts_config",
    "sessions_fts_data",
    "sessions_fts_docsize",
    "sessions_fts_idx",
}


def tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade(new_database_url) -> None:
    db = Database.from_url(new_database_url())
    assert tables(db) == set()
    migrations.upgrade(db.engine)
    created = tables(db)
    assert {"providers", "sessions", "schedules", "venues", "gp_practices"} <= created
    assert migrations.current_revision(db.engine) is not None
    migrations.downgrade(db.engine, "base")
    assert tables(db) == set()
    assert migrations.current_revision(db.engine) is None
    migrations.upgrade(db.engine)
    assert tables(db) == created
    db.dispose()


def test_migrations_match_the_models(empty_db: Database) -> None:
    """Every model change comes with a migration: autogenerate finds nothing to add."""
    with empty_db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    diff = [
        d
        for d in diff
        if not (d[0] == "remove_table" and d[1].name in SEARCH_TABLES)
        and not (d[0] == "remove_index" and d[1].name == "ix_sessions_search")
        # PostgreSQL's stored tsvector (0015), generated from search_text, has no model.
        and not (d[0] == "remove_column" and d[3].name == "search_vector")
    ]
    assert diff == [], f"models and migrations differ on {engine_name()}: {diff}"


def test_existing_rows_get_random_record_keys(new_database_url) -> None:
    """0009 gives every referral and unmet need already there its own random report key
    (api/reports/noise.py): rows written before it count in perturbed reports like others."""
    from sqlalchemy import text

    db = Database.from_url(new_database_url())
    migrations.upgrade(db.engine, "0005")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO localities (id, key, name) VALUES (1, 'north', 'North')"))
        for n in range(40):
            conn.execute(
                text(
                    "INSERT INTO unmet_needs (domain, locality_id, description, recorded_at) "
                    "VALUES ('BEFRIENDING', 1, :d, CURRENT_TIMESTAMP)"
                ),
                {"d": f"need {n}"},
            )
    migrations.upgrade(db.engine)
    with db.engine.connect() as conn:
        keys = conn.execute(text("SELECT record_key FROM unmet_needs")).scalars().all()
    db.dispose()
    assert len(keys) == 40 and None not in keys
    assert len(set(keys)) == 40 and all(0 <= k < 2**31 for k in keys)
