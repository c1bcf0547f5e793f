"""Odd text at every entrance: the text rule (api/directory/text.py) itself, then the form
and its raw POST, GraphQL registerProvider, the edit links, `petunia import` (CSV and
.xlsx) and `petunia load`. What the built site and its files make of it is in
test_odd_text_site.py."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from starlette.testclient import TestClient

from api.db import Database
from api.directory import text
from api.directory.loading import LoadError, load_directory
from api.directory.models import GpPractice, Provider, Session, Venue
from api.registration.answers import check
from api.registration.importing import ImportProblems, import_file
from api.registration.models import Registration
from api.reports.render import table_csv
from api.web.moderation import summary_rows
from tests.conftest import MINI, client_for
from tests.mailbox import Mailbox
from tests.odd_text import KEPT, MULTI_LINE, NORMALISED, REFUSED

# --------------------------------------------------------------------------------------------
# The rule


@pytest.mark.parametrize("name", NORMALISED)
def test_a_one_line_field_joins_lines_and_drops_invisible_controls(name: str) -> None:
    assert text.clean(NORMALISED[name]) == "Dog walking"


@pytest.mark.parametrize("name", NORMALISED)
def test_a_multi_line_field_keeps_its_line_breaks_as_line_feeds(name: str) -> None:
    assert text.clean(NORMALISED[name], multiline=True) == MULTI_LINE.get(name, "Dog walking")


@pytest.mark.parametrize("name", REFUSED)
def test_controls_that_are_not_text_are_refused_saying_which_and_where(name: str) -> None:
    value, code = REFUSED[name]
    for multiline in (False, True):
        with pytest.raises(text.TextRefused) as caught:
            text.clean(value, multiline=multiline)
        assert caught.value.code == code
        assert caught.value.message("The title") == (
            f"The title has an invisible control character ({code}) after “Dog”: "
            "delete it, or type that part again"
        )


@pytest.mark.parametrize("name", KEPT)
def test_everything_else_is_kept(name: str) -> None:
    typed, kept = KEPT[name]
    assert text.clean(typed) == kept == unicodedata.normalize("NFC", kept)


def test_address_lines_are_joined_with_commas_and_blank_lines_are_kept_to_one() -> None:
    assert text.clean("1 High Street\r\n\r\nTesttown\n", join=", ") == "1 High Street, Testtown"
    assert text.clean("One\n\n\n\n\nTwo  \n  three", multiline=True) == "One\n\nTwo\nthree"


def test_changes_are_said_in_words_with_the_text_made_visible() -> None:
    assert text.changes("Dog\nwalking") == ["1 line break joined into one line"]
    assert text.changes("Line one\r\nLine two", multiline=True) == []  # a browser's own CRLF
    assert text.visible("Dog\n\u202ewalking\x00") == "Dog⏎⟨U+202E⟩walking⟨U+0000⟩"


def test_report_csv_keeps_odd_labels_in_one_cell_each() -> None:
    from api.reports.report import Column, Row, Section, Table, Unit

    labels = [v for v in NORMALISED.values()] + [k for k, _ in KEPT.values()]
    table = Table(
        key="t",
        section=next(iter(Section)),
        title="t",
        description="",
        columns=(Column("n", "Count", Unit.COUNT),),
        rows=tuple(Row(str(i), label, ()) for i, label in enumerate(labels)),
    )
    table = Table(**{**table.__dict__, "columns": ()})
    rows = list(csv.reader(io.StringIO(table_csv(table), newline="")))
    assert [r[0] for r in rows[1:]] == [t if t[:1] != "\t" else "'" + t for t in labels]


# --------------------------------------------------------------------------------------------
# The form, GraphQL and the edit links

SHELTER = {
    "organisation": "Northfield\u2028Rescue \u202eCentre\u202c",
    "title": "Dog\r\nwalking\twith us",
    "description": "Walk a dog.\r\nBring boots.\u2029Tea after, e\u0301\u0301 🐕",
    "domains": "PHYSICAL_ACTIVITY",
    "where": "VENUE",
    "venue_name": "The\nKennels",
    "address": "1 Lane\r\nTesttown",
    "postcode": "at1 2ab",
    "when": "ASK",
    "email": "walks@rescue.example",
    "show_email": "yes",
    "who_for": "Adults\nand carers",
}


@pytest.fixture()
def app(db: Database, mailbox: Mailbox, tmp_path: Path) -> Iterator[TestClient]:
    with client_for(
        db,
        data_dir=tmp_path,
        public_url="http://petunia.test",
        form_rate_limit=50,
        **mailbox.settings(),
    ) as client:
        yield client


def post_form(app: TestClient, path: str, answers: dict) -> object:
    page = app.get(path)
    key = re.search(r'name="submission_key" value="([0-9a-f]+)"', page.text).group(1)
    # "send": the registration's "Accept and send", past "check your answers".
    return app.post(path, data={**answers, "submission_key": key, "send": "yes"})


def test_the_form_normalises_what_it_can(app: TestClient, db: Database, mailbox: Mailbox) -> None:
    sent = post_form(app, "/register", SHELTER)
    assert sent.status_code == 200 and "Check your email" in sent.text, sent.text
    with db.session() as s:
        registration = s.scalars(select(Registration)).one()
        answers, errors = check(registration.answers)
        rows = dict(summary_rows(s, registration))
    assert errors == [] and answers is not None
    assert registration.organisation == answers.organisation == "Northfield Rescue Centre"
    assert answers.title == "Dog walking with us"
    assert answers.description == "Walk a dog.\nBring boots.\n\nTea after, \u00e9\u0301 🐕"
    assert (answers.venue_name, answers.address) == ("The Kennels", "1 Lane, Testtown")
    assert answers.who_for == "Adults\nand carers"
    # The answers are kept as typed, and the moderator is told what the rule changed.
    assert registration.answers["title"] == SHELTER["title"]
    assert rows["Text checks: Activity"] == (
        "1 line break joined into one line; tabs made spaces. As typed: Dog␍⏎walking⇥with us"
    )
    assert "removed (U+202C, U+202E)" in rows["Text checks: Organisation"]
    # The email's subject is one line (a U+2028 in a header used to stop the email).
    subject = mailbox.last("walks@rescue.example")["Subject"]
    assert subject == "Confirm your listing: Northfield Rescue Centre"


@pytest.mark.parametrize("name", ["NUL", "escape", "C1 control"])
def test_the_form_refuses_control_characters_with_a_message(
    app: TestClient, db: Database, name: str
) -> None:
    value, code = REFUSED[name]
    bad = post_form(app, "/register", {**SHELTER, "title": value, "description": value})
    assert bad.status_code == 400
    assert f"The name of what you offer has an invisible control character ({code})" in bad.text
    assert f"The description has an invisible control character ({code})" in bad.text
    with db.session() as s:
        assert s.scalars(select(Registration)).all() == []


REGISTER = """
mutation($input: RegisterProviderInput!) {
  registerProvider(input: $input) {
    registration { id organisation }
    errors { field message code }
  }
}"""
GQL_INPUT = {
    "organisation": "Southfield\nDog Rescue",
    "title": "Dog\u2028walking",
    "description": "Walk a dog.\rTea after.",
    "domains": ["PHYSICAL_ACTIVITY"],
    "where": "ONLINE",
    "when": "ASK",
    "email": "woof@southfield.example",
    "showEmail": True,
}


def test_graphql_normalises_and_refuses_like_the_form(app: TestClient, db: Database) -> None:
    def register(key: str, **changes: object) -> dict:
        variables = {"input": {**GQL_INPUT, **changes, "submissionKey": key}}
        # As a client sends it: JSON escapes (a lone surrogate can only come this way).
        body = json.dumps({"query": REGISTER, "variables": variables})
        response = app.post("/graphql", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 200, response.text
        return response.json()["data"]["registerProvider"]

    for i, (name, (value, code)) in enumerate(REFUSED.items()):
        refused = register(f"bad-{i}", title=value)
        assert refused["registration"] is None, name
        assert [(e["field"], e["code"]) for e in refused["errors"]] == [("input.title", "INVALID")]
        assert f"({code}) after “Dog”" in refused["errors"][0]["message"]
    done = register("good")
    assert done["errors"] == [] and done["registration"]["organisation"] == "Southfield Dog Rescue"
    with db.session() as s:
        answers, _errors = check(s.scalars(select(Registration)).one().answers)
    assert answers.title == "Dog walking" and answers.description == "Walk a dog.\nTea after."


def test_edit_links_take_the_same_rule(app: TestClient, db: Database, mailbox: Mailbox) -> None:
    post_form(app, "/register", {**SHELTER, "title": "Dog walking"})
    link = mailbox.link(mailbox.last("walks@rescue.example"), "/listing/")
    edit = link.removeprefix("http://petunia.test")
    bad = post_form(app, edit, {**SHELTER, "title": "Dog\x07walking"})
    assert bad.status_code == 400
    assert "The name of what you offer has an invisible control character (U+0007)" in bad.text
    saved = post_form(app, edit, {**SHELTER, "title": "Dog\u2029walks"})
    assert saved.status_code == 200 and "Your changes are saved" in saved.text
    with db.session() as s:
        answers, _errors = check(s.scalars(select(Registration)).one().answers)
    assert answers.title == "Dog walks"


# --------------------------------------------------------------------------------------------
# petunia import

IMPORT_HEADER = ["organisation", "title", "domains", "schedule", "venue", "postcode"]
IMPORT_HEADER += ["address", "description", "who_for"]


def import_rows(db: Database, path: Path) -> None:
    with db.session() as s:
        import_file(s, path, today=dt.date(2026, 11, 22))


def test_import_normalises_cells_and_reports_refused_ones_by_line(
    db: Database, tmp_path: Path
) -> None:
    good = [
        "Greenway\u2028Growers \u202e",
        "Community\r\ngardening",
        "PHYSICAL_ACTIVITY",
        "Tuesdays 10-12",
        "Greenway\tAllotments",
        "AT1 2AB",
        "1 Lane\nTesttown",
        "Dig.\r\nPlant.\u2029Eat.",
        "Anyone\x0bat all",
    ]
    bad = [*good[:1], "Seed\x07swap", *good[2:]]
    path = tmp_path / "rows.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([IMPORT_HEADER, good, bad])
    with pytest.raises(ImportProblems) as caught:
        import_rows(db, path)
    assert [str(p) for p in caught.value.problems] == [
        "line 6: title: control character U+0007 at character 5 is not allowed"
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([IMPORT_HEADER, good])
    import_rows(db, path)
    with db.session() as s:
        session = s.scalars(select(Session).where(Session.title == "Community gardening")).one()
        provider = s.get(Provider, session.provider_id)
        venue = s.get(Venue, session.venue_id)
        assert provider.name == "Greenway Growers"
        assert (venue.name, venue.address) == ("Greenway Allotments", "1 Lane, Testtown")
        assert session.description == "Dig.\nPlant.\n\nEat."
        assert session.who_for_notes == "Anyone\nat all"


def test_import_of_a_workbook_takes_the_same_rule(db: Database, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(IMPORT_HEADER)
    sheet.append(
        [
            "Walk\n& Talk",
            "Health\u2028walk 🚶",
            "PHYSICAL_ACTIVITY",
            "Mondays 10am-12",
            "Town Square",
            "AT2 1AA",
            "",
            "Meet at the \u2067fountain\u2069.\nAll paces.",
            "",
        ]
    )
    path = tmp_path / "rows.xlsx"
    book.save(path)
    import_rows(db, path)
    with db.session() as s:
        session = s.scalars(select(Session).where(Session.title == "Health walk 🚶")).one()
        assert s.get(Provider, session.provider_id).name == "Walk & Talk"
        assert session.description == "Meet at the fountain.\nAll paces."


# --------------------------------------------------------------------------------------------
# petunia load


def copy_of_mini(tmp_path: Path) -> Path:
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    return folder


def test_load_normalises_yaml_and_csv_text(empty_db: Database, tmp_path: Path) -> None:
    folder = copy_of_mini(tmp_path)
    knit = folder / "providers" / "knit.yaml"
    knit.write_text(
        knit.read_text()
        .replace("title: Knit and natter", 'title: "Knit\\nand\\tnatter\\u202E"')
        .replace(
            "description: Bring your needles, or borrow ours.",
            'description: "Bring needles.\\r\\nOr borrow ours.\\u2029All welcome."',
        )
    )
    venues = folder / "venues.yaml"
    venues.write_text(
        venues.read_text().replace(
            "address: 1 High Street, Testtown", 'address: "1 High Street\\nTesttown"'
        )
    )
    practices = folder / "practices.csv"
    practices.write_text(practices.read_text().replace("North Surgery", '"North\r\nSurgery\u2028"'))
    with empty_db.session() as s:
        load_directory(s, folder)
    with empty_db.session() as s:
        knit_session = s.scalars(select(Session).where(Session.key == "knit")).one()
        assert knit_session.title == "Knit and natter"
        assert knit_session.description == "Bring needles.\nOr borrow ours.\n\nAll welcome."
        assert s.scalars(select(Venue.address).where(Venue.key == "hall")).one() == (
            "1 High Street, Testtown"
        )
        practice = s.scalars(select(GpPractice).where(GpPractice.ods_code == "T00001")).one()
        assert practice.name == "North Surgery"


def test_load_refuses_control_characters_by_file_and_line(
    empty_db: Database, tmp_path: Path
) -> None:
    folder = copy_of_mini(tmp_path)
    knit = folder / "providers" / "knit.yaml"
    knit.write_text(knit.read_text().replace("title: Knit and natter", 'title: "Knit\\a"'))
    workers = folder / "link_workers.csv"
    workers.write_text(workers.read_text().replace("Alex Link", "Alex\x1bLink"))
    with empty_db.session() as s, pytest.raises(LoadError) as caught:
        load_directory(s, folder)
    assert [str(p) for p in caught.value.problems] == [
        "link_workers.csv:2: link worker: name: control character U+001B at character 5 "
        "is not allowed",
        "providers/knit.yaml:8: provider 'knitters': sessions.0.title: control character "
        "U+0007 at character 5 is not allowed",
    ]


# --------------------------------------------------------------------------------------------
# Email


@pytest.mark.parametrize("name", [*NORMALISED, *REFUSED])
def test_an_email_about_an_odd_name_has_a_one_line_subject(name: str, tmp_path: Path) -> None:
    from email import message_from_bytes, policy

    from api.config import get_settings
    from api.mail.outbox import build
    from api.registration.mails import Message

    odd = NORMALISED.get(name) or REFUSED[name][0]
    note = "Please add an end time.\nAnd a phone number:\u2028thanks"
    email = Message("a@example.org", f"Confirm your listing: {odd}", [note]).email()
    parsed = message_from_bytes(
        build(get_settings(data_dir=tmp_path), email).as_bytes(), policy=policy.default
    )
    subject = parsed["Subject"]
    assert subject.startswith("Confirm your listing: Dog") and subject.endswith("walking")
    assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]", subject)
    # Line breaks in what people wrote are kept in the HTML part too.
    body = parsed.get_body(preferencelist=("html",)).get_content()
    assert '<p style="white-space: pre-line">Please add an end time.\n' in body


def test_no_answer_is_stored_with_a_refused_character(app: TestClient, db: Database) -> None:
    # A yes/no answer is read leniently, but the answers are stored as typed: a NUL there
    # used to reach the database (PostgreSQL refuses it in JSON: a server error).
    bad = post_form(app, "/register", {**SHELTER, "show_email": "yes\x00"})
    assert bad.status_code == 400
    assert "This answer has an invisible control character (U+0000) after “yes”" in bad.text
    with db.session() as s:
        assert s.scalars(select(Registration)).all() == []
