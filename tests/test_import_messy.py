"""`petunia import` of spreadsheets as lead providers really keep them (tests/data/spreadsheets):
every value is kept, read with a note saying how, or reported with its line and the fix."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select, text
from typer.testing import CliRunner

from api.cli import app
from api.db import Database
from api.directory.enums import Domain
from api.directory.models import (
    Locality,
    Provider,
    Schedule,
    Session,
    SessionDomain,
    Venue,
)
from api.registration.headings import HeadingProblem, match_headings, parse_map
from api.registration.importing import ImportProblems, import_file
from api.registration.meanings import read_contact, read_cost, read_domains, read_postcode

CORPUS = Path(__file__).parent / "data" / "spreadsheets"
TODAY = dt.date(2026, 11, 22)
runner = CliRunner()


def session_named(s, title: str) -> Session:  # type: ignore[no-untyped-def]
    return s.scalars(select(Session).where(Session.title == title)).one()


def count(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_the_messy_baseline_imports_with_every_value_kept(db: Database) -> None:
    with db.session() as s:
        report = import_file(s, CORPUS / "baseline.csv", today=TODAY)
    assert report.sessions_created == 5 and report.providers_created == 4
    with db.session() as s:
        painting = session_named(s, "Painting for wellbeing")
        assert painting.description == (
            "Relaxed painting; materials provided.\nNo experience needed."
        )
        domains = s.scalars(
            select(SessionDomain.domain).where(SessionDomain.session_id == painting.id)
        ).all()
        assert domains == [Domain.ARTS_FOR_HEALTH]  # "Arts"
        (rule,) = s.scalars(select(Schedule).where(Schedule.session_id == painting.id)).all()
        assert (rule.byday, rule.opens_at, rule.closes_at, rule.note) == (
            "WE",
            dt.time(10),
            dt.time(12),
            "term time only",
        )
        assert (painting.contact_name, painting.contact_phone) == ("Priya Shah", "07700 900123")
        assert (painting.is_free, painting.cost_amount, painting.cost_concessions) == (
            False,
            Decimal("1.00"),
            "donation",
        )
        assert painting.who_for_notes == "Adults of any age"

        advice = session_named(s, "Benefits drop-in")
        domains = s.scalars(
            select(SessionDomain.domain).where(SessionDomain.session_id == advice.id)
        ).all()
        assert domains == [Domain.WELFARE_RIGHTS]  # one label, its comma and all
        assert s.scalars(select(Schedule).where(Schedule.session_id == advice.id)).all() == []
        assert advice.contact_email == "advice@advice-centre.example"
        assert advice.is_free
        provider = s.get(Provider, advice.provider_id)
        south = s.scalars(select(Locality).where(Locality.key == "south")).one()
        assert provider.locality_id == south.id  # "Testtown South", by its name

        walk = session_named(s, "Health walk")
        domains = s.scalars(
            select(SessionDomain.domain).where(SessionDomain.session_id == walk.id)
        ).all()
        assert sorted(domains) == sorted([Domain.PHYSICAL_ACTIVITY, Domain.BEFRIENDING])
        assert (walk.is_free, walk.cost_concessions) == (True, "donations welcome")
        cross = s.get(Venue, walk.venue_id)
        assert (cross.name, cross.postcode, cross.address) == ("Market Cross", None, "AT1")
        north = s.scalars(select(Locality).where(Locality.key == "north")).one()
        assert s.get(Provider, walk.provider_id).locality_id == north.id  # AT1's locality

        cook = session_named(s, "Cook and eat")
        assert (cook.contact_name, cook.contact_phone, cook.contact_email) == (
            "Sam",
            "01234 567890",
            "sam@riverside.example",
        )
        assert (cook.cost_amount, cook.cost_concessions) == (Decimal("3.50"), "£2 concessions")
        centre = s.get(Venue, cook.venue_id)
        assert (centre.postcode, centre.latitude) == ("AT1 9XY", None)  # not in the table
        assert s.get(Provider, cook.provider_id).locality_id == north.id  # AT1's locality
        assert cook.who_for_notes == "People with diabetes and their carers"

        nordic = session_named(s, "Nordic walking")
        assert nordic.cost_amount == Decimal("0.50")
        (rule,) = s.scalars(select(Schedule).where(Schedule.session_id == nordic.id)).all()
        assert (rule.interval, rule.starts_on) == (2, dt.date(2026, 12, 1))

    notes = "\n".join(report.notes)
    for said in (
        "read the heading 'Activity' as title",
        "read the heading 'Where' as venue",
        "read 'Arts' as 'Arts and creativity'",
        "kept 'term time only' as a note on the times",
        "'Any day, by arrangement': no set times",
        "read cost '£1 donation' as £1.00, with 'donation' beside it",
        "read contact 'Priya Shah 07700 900123' as name Priya Shah, phone 07700 900123",
        "read 'Friendship' as 'Friendship and company'",
    ):
        assert said in notes, said
    assert "line 2: read 'Arts'" in notes
    warnings = "\n".join(report.warnings)
    assert "line 5: 'AT1' is a postcode district" in warnings
    assert "line 6: AT1 9XY is not in the postcode table" in warnings
    assert len(report.warnings) == 2


def test_the_baseline_as_xlsx_with_day_and_time_columns(db: Database, tmp_path: Path) -> None:
    with (CORPUS / "baseline.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    book = Workbook()
    sheet = book.active
    header = rows[0]
    # Excel keeps times as times, and the day apart from how often.
    sheet.append([*header[:4], "Day", "How often", *header[5:]])
    for row in rows[1:]:
        sheet.append([*row[:4], row[4], "", *row[5:]])
    sheet.append(
        [
            "Chess Club",
            "Chess",
            "Have a game",
            "Friendship and company",
            "Mondays",
            "every other week",
            dt.time(14, 0),
            "North Hall",
            "AT1 1AA",
            "",
            "",
            "",
            "",
        ]
    )
    path = tmp_path / "baseline.xlsx"
    book.save(path)
    with db.session() as s:
        report = import_file(s, path, today=TODAY)
    assert report.sessions_created == 6
    with db.session() as s:
        chess = session_named(s, "Chess")
        (rule,) = s.scalars(select(Schedule).where(Schedule.session_id == chess.id)).all()
        assert (rule.byday, rule.interval, rule.opens_at) == ("MO", 2, dt.time(14))


def test_headings_that_match_no_column_are_named_and_nothing_is_imported(
    db: Database,
) -> None:
    before = count(db, "sessions")
    with pytest.raises(ImportProblems) as caught, db.session() as s:
        import_file(s, CORPUS / "unknown_headings.csv", today=TODAY)
    (problem,) = caught.value.problems
    assert problem.line == 1
    assert "'Notes'" in problem.message and "'Colour code'" in problem.message
    assert '--map "Notes=' in problem.message and "would be lost" in problem.message
    assert count(db, "sessions") == before


def test_map_says_what_a_heading_holds_or_to_leave_it_out(
    db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    path = shutil.copy(CORPUS / "unknown_headings.csv", tmp_path / "chair.csv")
    refused = runner.invoke(app, ["import", str(path)])
    assert refused.exit_code == 1 and "Colour code" in refused.output
    wrong = runner.invoke(app, ["import", str(path), "--map", "Notes=descripton"])
    assert wrong.exit_code == 1 and "did you mean description?" in wrong.output
    done = runner.invoke(
        app, ["import", str(path), "--map", "Notes=description", "--map", "Colour code=skip"]
    )
    assert done.exit_code == 0, done.output
    with db.session() as s:
        assert session_named(s, "Chair yoga").description == "Bring water. Chairs provided."


def test_missing_and_unusable_columns_are_both_named() -> None:
    with pytest.raises(HeadingProblem) as caught:
        match_headings(["Group", "Thing", "When", "Category"])
    message = str(caught.value)
    assert "missing column(s): title" in message
    assert "'Thing'" in message and '"Thing=title"' in message
    with pytest.raises(HeadingProblem, match="both mean title"):
        match_headings(["Organisation", "Activity", "Name", "When", "Category"])
    assert (
        match_headings(
            ["Organisation", "Activity", "Name", "When", "Category"], parse_map(["Name=skip"])
        ).columns["Name"]
        is None
    )


def test_values_that_cannot_be_read_are_reported_with_the_fix(db: Database) -> None:
    before = count(db, "sessions")
    with pytest.raises(ImportProblems) as caught, db.session() as s:
        import_file(s, CORPUS / "unreadable.csv", today=TODAY)
    lines = {p.line: p.message for p in caught.value.problems}
    assert "'Sport' is not one of the six domains" in lines[2]
    assert "schedule is empty" in lines[3] and "'ask us'" in lines[3]
    assert "cost 'pay what you feel' has no amount" in lines[4]
    assert "unknown locality 'Testown North': did you mean 'testtown north'?" in lines[5]
    assert "'ZZ' is not a UK postcode" in lines[6]
    assert count(db, "sessions") == before


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Arts", [Domain.ARTS_FOR_HEALTH]),
        ("Money, benefits and advice", [Domain.WELFARE_RIGHTS]),
        ("money, benefits and advice; Volunteering", [Domain.WELFARE_RIGHTS, Domain.VOLUNTEERING]),
        ("Healthy eating, Arts and creativity", [Domain.HEALTHY_EATING, Domain.ARTS_FOR_HEALTH]),
        ("WELFARE_RIGHTS", [Domain.WELFARE_RIGHTS]),
        ("physical activity", [Domain.PHYSICAL_ACTIVITY]),
    ],
)
def test_domains_as_people_write_them(typed: str, expected: list[Domain]) -> None:
    labels = {
        "getting active": Domain.PHYSICAL_ACTIVITY,
        "healthy eating": Domain.HEALTHY_EATING,
        "arts and creativity": Domain.ARTS_FOR_HEALTH,
        "friendship and company": Domain.BEFRIENDING,
        "money, benefits and advice": Domain.WELFARE_RIGHTS,
        "volunteering": Domain.VOLUNTEERING,
    }
    assert read_domains(typed, labels)[0] == expected


@pytest.mark.parametrize(
    ("typed", "free", "amount", "words"),
    [
        ("free", True, None, None),
        ("£1 donation", False, Decimal("1.00"), "donation"),
        ("£3.50 (£2 concessions)", False, Decimal("3.50"), "£2 concessions"),
        ("2.50", False, Decimal("2.50"), None),
        ("50p", False, Decimal("0.50"), None),
        ("Free (donations welcome)", True, None, "donations welcome"),
        ("£0", True, None, None),
        ("£4 per session", False, Decimal("4.00"), "per session"),
    ],
)
def test_costs_as_people_write_them(
    typed: str, free: bool, amount: Decimal | None, words: str | None
) -> None:
    cost = read_cost(typed)
    assert (cost.is_free, cost.amount, cost.words) == (free, amount, words)


def test_contacts_and_postcode_districts() -> None:
    contact = read_contact("Ring Sam on 01234 567890 or sam@riverside.example")
    assert (contact.name, contact.phone, contact.email) == (
        "Sam",
        "01234 567890",
        "sam@riverside.example",
    )
    assert read_contact("+44 7700 900123").phone == "+44 7700 900123"
    assert read_contact("Jo Bloggs").name == "Jo Bloggs"
    assert read_postcode("nt2").district == "NT2" and read_postcode("nt2").postcode is None
    assert read_postcode("at1 2ab").postcode == "AT1 2AB"
    with pytest.raises(ValueError, match="not a UK postcode"):
        read_postcode("ZZ")
