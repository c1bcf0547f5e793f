import shutil
from pathlib import Path

import pytest
from sqlalchemy import MetaData, func, select

from api.db import Database
from api.directory.loading import LoadError, load_directory
from api.directory.models import Provider, Session
from tests.conftest import MINI


def snapshot(db: Database) -> dict[str, list[tuple]]:
    """Every row of every directory table (timestamps included: a no-op load touches none)."""
    meta = MetaData()
    meta.reflect(db.engine, only=lambda name, _m: not name.startswith("sessions_fts"))
    with db.engine.connect() as conn:
        return {
            name: sorted(map(tuple, conn.execute(table.select())), key=repr)
            for name, table in meta.tables.items()
        }


def test_loading_twice_changes_nothing(empty_db: Database) -> None:
    with empty_db.session() as db:
        first = load_directory(db, MINI)
    assert first.created["provider"] == 3 and first.created["session"] == 5
    before = snapshot(empty_db)
    with empty_db.session() as db:
        second = load_directory(db, MINI)
    assert not second.changed, second.summary()
    assert snapshot(empty_db) == before


def test_a_changed_file_updates_only_what_changed(empty_db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "dir"
    shutil.copytree(MINI, folder)
    with empty_db.session() as db:
        load_directory(db, folder)
    knit = folder / "providers" / "knit.yaml"
    text = knit.read_text()
    # Rename a session, drop the one-off fair: one update, one removal, nothing else.
    text = text.replace("title: Knit and natter", "title: Knit, natter and tea")
    knit.write_text(text[: text.index("  - key: winter-fair")])
    with empty_db.session() as db:
        report = load_directory(db, folder)
    assert report.updated["session"] == 1
    assert report.removed["session"] == 1
    assert report.created["session"] == 0
    with empty_db.session() as db:
        titles = set(db.scalars(select(Session.title)))
        assert "Knit, natter and tea" in titles and "Winter craft fair" not in titles
        # The full-text index follows the change.
        text_of = db.scalar(select(Session.search_text).where(Session.key == "knit"))
        assert "Knit, natter and tea" in text_of and "Knitters United" in text_of


BROKEN = {
    "venues.yaml": ("postcode: at21aa", "postcode: not a postcode"),
    "providers/knit.yaml": ("domains: [ARTS_FOR_HEALTH]\n", "domains: [KNITTING]\n"),
    "providers/shelter.yaml": ('from: "10:00"', "from: 10:00"),
    "providers/lead-north.yaml": ("venue: hall", "venue: nowhere"),
    "practices.csv": ("T00002,South Surgery,south", "T00002,South Surgery,west"),
}


def test_every_problem_is_reported_with_file_and_line_and_nothing_is_loaded(
    empty_db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "dir"
    shutil.copytree(MINI, folder)
    for name, (old, new) in BROKEN.items():
        path = folder / name
        assert old in path.read_text(), name
        path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(LoadError) as caught, empty_db.session() as db:
        load_directory(db, folder)
    problems = [str(p) for p in caught.value.problems]
    expected = [
        "practices.csv:3: practice T00002: unknown locality 'west'",
        "providers/knit.yaml:21: provider 'knitters': sessions.1.domains.0: Input should be",
        "providers/lead-north.yaml:16: session 'cookery': unknown venue 'nowhere'",
        "providers/shelter.yaml:15: provider 'shelter': sessions.0.schedule.0.from: "
        'write times in quotes, like "10:00"',
        "venues.yaml:10: venue 'park': postcode: 'not a postcode' is not a UK postcode",
    ]
    for want in expected:
        assert any(p.startswith(want) for p in problems), f"{want!r} not in {problems}"
    assert len(problems) == len(expected), problems
    with empty_db.session() as db:
        assert db.scalar(select(func.count()).select_from(Provider)) == 0


def test_broken_yaml_is_reported_with_its_line(empty_db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "dir"
    shutil.copytree(MINI, folder)
    (folder / "localities.yaml").write_text("- key: north\n  name: [unclosed\n")
    with (
        pytest.raises(LoadError, match=r"localities.yaml:\d+: not valid YAML"),
        empty_db.session() as db,
    ):
        load_directory(db, folder)


def test_missing_folder(empty_db: Database, tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="not a folder"), empty_db.session() as db:
        load_directory(db, tmp_path / "nope")
