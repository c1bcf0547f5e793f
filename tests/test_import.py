"""`petunia import`: spreadsheets as lead providers keep them, CSV and .xlsx."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from api.cli import app
from api.db import Database
from api.directory import schedules as sched
from api.directory.models import Provider, Schedule, Session, Venue
from api.registration.importing import ImportProblems, import_file

runner = CliRunner()
HEADER = "organisation,title,domains,schedule,times,venue,postcode,delivery,cost,languages,email"
GOOD = [
    "Greenway Growers,Community gardening,Getting active; Volunteering,Tuesdays 10-12,,Greenway Allotments,AT1 2AB,,free,,grow@greenway.example",  # noqa: E501
    "Greenway Growers,Seed swap,HEALTHY_EATING,1st and 3rd Thursday 2pm-4pm,,Greenway Allotments,AT1 2AB,,,English; Polish,",  # noqa: E501
    "Chatty Cafe,Coffee and chat,Friendship and company,every other Monday,10-11.30,,,online,1.50,,",  # noqa: E501
    '"Walk & Talk",Health walk,PHYSICAL_ACTIVITY,"Mon & Wed 10am-12",,Town Square,AT2 1AA,,,,',
    "Knitters United,Knit and natter,ARTS_FOR_HEALTH,last Friday of the month 7-9pm,,North Hall,AT1 1AA,,,,",  # noqa: E501
]


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def snapshot(db: Database) -> dict[str, list]:
    with db.engine.connect() as conn:
        return {
            table: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {table}"))), key=repr)
            for table in ("providers", "sessions", "schedules", "venues", "session_domains")
        }


def test_import_reads_schedules_as_people_write_them(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "baseline.csv", GOOD)
    with db.session() as s:
        report = import_file(s, path, today=dt.date(2026, 11, 22))
    assert report.providers_created == 3  # Knitters United is already listed: matched by name
    assert report.providers_matched == 1 and report.sessions_created == 4
    assert report.sessions_matched == 1  # its "Knit and natter", matched by title
    assert any("every other monday" in n and "23 November 2026" in n for n in report.notes)
    with db.session() as s:

        def describe(title: str) -> list[str]:
            session_id = s.scalars(select(Session.id).where(Session.title == title)).one()
            rows = s.scalars(select(Schedule).where(Schedule.session_id == session_id))
            return [sched.describe(sched.rule_from(r)) for r in rows]

        assert describe("Community gardening") == ["Every Tuesday, 10am to midday"]
        assert describe("Seed swap") == ["First and third Thursday of the month, 2pm to 4pm"]
        assert describe("Coffee and chat") == [
            "Every other Monday, from 23 November 2026, 10am to 11:30am"
        ]
        assert describe("Knit and natter") != []
        knitters = s.scalars(select(Provider).where(Provider.name == "Knitters United")).all()
        assert len(knitters) == 1
        hall = s.scalars(select(Venue).where(Venue.name == "North Hall")).all()
        assert len(hall) == 1  # the existing venue was reused
        growers = s.scalars(select(Provider).where(Provider.name == "Greenway Growers")).one()
        assert growers.listed_by.value == "ADDED_BY_LEAD" and growers.locality_id is not None


def test_importing_twice_changes_nothing(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "baseline.csv", GOOD)
    with db.session() as s:
        import_file(s, path, today=dt.date(2026, 11, 22))
    before = snapshot(db)
    # A week later the fortnight would be counted from another Monday: the stored one stays.
    with db.session() as s:
        report = import_file(s, path, today=dt.date(2026, 11, 29))
    assert report.providers_created == 0 and report.sessions_created == 0
    assert snapshot(db) == before


def test_every_bad_row_is_reported_and_nothing_changes(db: Database, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "bad.csv",
        [
            GOOD[0],
            "Bad Times,Yoga,PHYSICAL_ACTIVITY,Tuesdays whenever,,Hall,AT1 2AB,,,,",
            "No Domain,Chess,,Fridays 2-4,,Hall,AT1 2AB,,,,",
            "Bad Postcode,Choir,ARTS_FOR_HEALTH,Mondays 7-9pm,,Hall,ZZZ,,,,",
            "Knitting,Knit,KNITTING,Mondays 7-9pm,,Hall,AT1 2AB,,,,",
            "Greenway Growers,Community gardening,VOLUNTEERING,Wednesdays 10-12,,Greenway Allotments,AT1 2AB,,,,",  # noqa: E501
        ],
    )
    before = snapshot(db)
    with pytest.raises(ImportProblems) as caught, db.session() as s:
        import_file(s, path, today=dt.date(2026, 11, 22))
    lines = {p.line: p.message for p in caught.value.problems}
    assert set(lines) == {3, 4, 5, 6, 7}
    assert "could not read 'whenever'" in lines[3]
    assert "domains is empty" in lines[4]
    assert "not a UK postcode" in lines[5]
    assert "'KNITTING' is not one of the six domains" in lines[6]
    assert "already on line 2" in lines[7]
    assert snapshot(db) == before


def test_xlsx_with_excel_times_and_the_cli_dry_run(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Organisation", "Title", "Domains", "Schedule", "Times", "Venue", "Postcode"])
    sheet.append(
        [
            "Men's Shed",
            "Woodwork",
            "Volunteering",
            "Thursdays",
            dt.time(10, 0),
            "The Shed",
            "AT1 2AB",
        ]
    )
    sheet.append(
        [
            "Men's Shed",
            "Repair cafe",
            "Volunteering",
            "2nd Saturday 10-1",
            None,
            "The Shed",
            "AT1 2AB",
        ]
    )
    sheet.append([None, None, None, None, None, None, None])
    sheet.append(["Broken", "Thing", "Volunteering", "sometimes", None, "The Shed", "AT1 2AB"])
    path = tmp_path / "sheet.xlsx"
    book.save(path)
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    bad = runner.invoke(app, ["import", str(path), "--dry-run"])
    assert bad.exit_code == 1
    assert "sheet.xlsx: line 5: schedule:" in bad.output and "nothing was imported" in bad.output

    sheet.delete_rows(5)
    book.save(path)
    before = snapshot(db)
    dry = runner.invoke(app, ["import", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Dry run, nothing changed" in dry.output and "sessions 2 created" in dry.output
    assert snapshot(db) == before
    real = runner.invoke(app, ["import", str(path)])
    assert real.exit_code == 0, real.output
    with db.session() as s:
        shed = s.scalars(select(Provider).where(Provider.name == "Men's Shed")).one()
        titles = s.scalars(select(Session.title).where(Session.provider_id == shed.id)).all()
        assert sorted(titles) == ["Repair cafe", "Woodwork"]
        rules = s.scalars(
            select(Schedule)
            .join(Session, Session.id == Schedule.session_id)
            .where(Session.title == "Woodwork")
        ).all()
        assert [r.opens_at for r in rules] == [dt.time(10)]
        assert (
            s.scalar(
                select(func.count()).select_from(Provider).where(Provider.name == "Men's Shed")
            )
            == 1
        )
