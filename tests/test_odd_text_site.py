"""Odd text on to the built site and every file it writes (HTML, JSON-LD, iCalendar, Open
Referral UK JSON, the search index, near-you data, the sitemap), a listing that cannot be
published left out by key and reason while the rest publishes, and `petunia up` / the app
serving whatever a build did."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import update
from typer.testing import CliRunner

from api import cli, migrations
from api.cli import app
from api.db import Database
from api.directory.loading import load_directory
from api.directory.models import Provider, Session, Venue
from sitegen import build as site_build
from sitegen import ics
from sitegen.build import build_site
from tests.conftest import MINI, PG_URL, client_for
from tests.odd_text import KEPT
from tests.test_site_build import TODAY, settings_for

# Rows as entrances before the text rule stored them (line breaks and tabs in one-line
# fields), with every kept kind of odd text besides.
KNIT_TITLE = "Knit\r\nand\u2028natter\t🧶 " + KEPT["very long word"][1]
KNIT_TEXT = (
    "Bring needles.\nOr borrow ours.\n\n"
    + " ".join(kept for _typed, kept in KEPT.values())
    + "\u2029The end."
)
FAIR_TEXT = "Stalls \u2028and\u2029 tea, " + KEPT["combining marks"][0]
PROVIDER_NAME = "Knitters\nUnited"
VENUE_NAME = "North\u2028Hall"
# Refused by the rule: these listings are left out.
COOKERY_TITLE = "Cookery\x07club"
BEFRIENDING_TEXT = "Call us \u202eenil a no\u202c"


@pytest.fixture()
def odd_db(empty_db: Database) -> Database:
    with empty_db.session() as s:
        load_directory(s, MINI)
        s.execute(
            update(Session)
            .where(Session.key == "knit")
            .values(title=KNIT_TITLE, description=KNIT_TEXT)
        )
        s.execute(update(Session).where(Session.key == "winter-fair").values(description=FAIR_TEXT))
        s.execute(update(Session).where(Session.key == "cookery").values(title=COOKERY_TITLE))
        s.execute(
            update(Session).where(Session.key == "befriending").values(description=BEFRIENDING_TEXT)
        )
        s.execute(update(Provider).where(Provider.key == "knitters").values(name=PROVIDER_NAME))
        s.execute(update(Venue).where(Venue.key == "hall").values(name=VENUE_NAME))
    return empty_db


class _Text(HTMLParser):
    """The text of a page as a browser reads it (it also fails on nothing: HTML parsers
    do not), and its JSON-LD."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.scripts: list[str] = []
        self._in_ld = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._in_ld = tag == "script" and ("type", "application/ld+json") in attrs

    def handle_endtag(self, tag: str) -> None:
        self._in_ld = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in_ld else self.parts).append(data)


def ical_text(escaped: str) -> str:
    """A TEXT value unescaped as RFC 5545 (3.3.11) says."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], escaped)


def read_page(site: Path, path: str) -> _Text:
    raw = (site / path / "index.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in raw  # escaped wherever it is written
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", raw)
    parsed = _Text()
    parsed.feed(raw)
    return parsed


def test_odd_text_is_published_safely_in_every_file(odd_db: Database, tmp_path: Path) -> None:
    out = tmp_path / "site"
    report = build_site(odd_db, settings_for(tmp_path), out, today=TODAY)

    # Left out, by key and reason; everything else is published.
    assert sorted(map(str, report.left_out)) == [
        "session lead-north/befriending: description: bidi control U+202E is not allowed",
        "session lead-north/cookery: title: control character U+0007 at character 8 is not allowed",
    ]
    assert "2 listings left out" in report.summary()
    assert not (out / "providers/lead-north/cookery").exists()
    assert "cookery" not in (out / "providers/lead-north/index.html").read_text()
    assert "cookery" not in (out / "sitemap.xml").read_text()

    # HTML: the text is there, escaped; a description keeps its line breaks (pre-line).
    knit = read_page(out, "providers/knitters/knit/")
    text = "".join(knit.parts)
    assert KNIT_TITLE.replace("\r\n", "\n") in text
    assert (
        KNIT_TEXT in text and "pt-text" in (out / "providers/knitters/knit/index.html").read_text()
    )
    assert PROVIDER_NAME in text and VENUE_NAME in text
    # JSON-LD parses and holds the text exactly.
    (event,) = [json.loads(s) for s in knit.scripts]
    assert event["name"] == KNIT_TITLE
    assert event["description"] == KNIT_TEXT
    assert event["location"]["name"] == VENUE_NAME
    raw = (out / "providers/knitters/knit/index.html").read_text()
    assert "\u2028" not in "".join(re.findall(r"<script.*?</script>", raw, re.S))

    # iCalendar: content lines are escaped and folded; it parses back to the same text.
    for path in ("providers/knitters/knit/", "providers/knitters/winter-fair/"):
        data = (out / path / (path.split("/")[-2] + ".ics")).read_bytes()
        assert all(len(line) <= 75 for line in data.split(b"\r\n")), path
        calendar = Calendar.from_ical(data)
        (vevent,) = calendar.walk("VEVENT")
        title = str(vevent["SUMMARY"])
        # An X- property is read back as written; as TEXT it unescapes to the title.
        assert ical_text(str(calendar["X-WR-CALNAME"])) == title
        assert "\r" not in title and "natter" in title or "fair" in title
    calendar = Calendar.from_ical((out / "providers/knitters/knit/knit.ics").read_bytes())
    (vevent,) = calendar.walk("VEVENT")
    assert str(vevent["DESCRIPTION"]).startswith(KNIT_TEXT)
    assert VENUE_NAME in str(vevent["LOCATION"])

    # Open Referral UK JSON, the search index and the near-you data all parse.
    oruk = out / "open-data" / "oruk"
    services = json.loads((oruk / "services.json").read_text(encoding="utf-8"))
    names = {s["name"] for s in services["contents"]}
    assert KNIT_TITLE in names and COOKERY_TITLE not in names
    assert len(names) == 3
    full = [json.loads(p.read_text(encoding="utf-8")) for p in (oruk / "services").iterdir()]
    assert KNIT_TEXT in {s["description"] for s in full}
    organisations = json.loads((oruk / "organizations.json").read_text(encoding="utf-8"))
    assert PROVIDER_NAME in {o["name"] for o in organisations["contents"]}
    for folder in ("search-index", "data"):
        files = list((out / folder).rglob("*.json"))
        assert files
        for path in files:
            json.loads(path.read_text(encoding="utf-8"))
    records = json.loads((out / "search-index" / "d" / "0.json").read_text(encoding="utf-8"))
    assert KNIT_TITLE in {r[1] for r in records} and COOKERY_TITLE not in {r[1] for r in records}
    ET.fromstring((out / "sitemap.xml").read_bytes())


def test_a_listing_that_fails_to_render_is_left_out_and_the_rest_publishes(
    odd_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fault of the calendar writer for one listing only (as the line break in a title
    # was): found by rendering each listing on its own, and left out.
    writer = ics.session_calendar

    def failing(model: object, s: Session) -> bytes:
        if s.key == "dog-walking":
            raise AssertionError("Content line can not contain unescaped new line characters.")
        return writer(model, s)

    monkeypatch.setattr(ics, "session_calendar", failing)
    out = tmp_path / "site"
    report = build_site(odd_db, settings_for(tmp_path), out, today=TODAY)
    assert (
        "session shelter/dog-walking: AssertionError: "
        "Content line can not contain unescaped new line characters."
    ) in map(str, report.left_out)
    assert not (out / "providers/shelter/dog-walking").exists()
    assert (out / "providers/shelter/index.html").exists()
    assert (out / "providers/knitters/knit/knit.ics").exists()


def test_a_provider_left_out_takes_its_sessions_with_it(empty_db: Database, tmp_path: Path) -> None:
    with empty_db.session() as s:
        load_directory(s, MINI)
        s.execute(update(Provider).where(Provider.key == "shelter").values(name="Shelter\x1b[2J"))
    out = tmp_path / "site"
    report = build_site(empty_db, settings_for(tmp_path), out, today=TODAY)
    assert [str(x) for x in report.left_out] == [
        "provider shelter: name: control character U+001B at character 8 is not allowed"
    ]
    assert not (out / "providers/shelter").exists()
    services = json.loads((out / "open-data/oruk/services.json").read_text(encoding="utf-8"))
    assert services["total_items"] == 4
    assert "dog-walking" not in (out / "sitemap.xml").read_text()


def test_build_site_names_what_it_left_out_and_exits_3(
    odd_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", odd_db.engine.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(
        app, ["build-site", "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == cli.EXIT_PARTIAL == 3, result.output
    output = " ".join(result.output.split())
    assert "warning: left out session lead-north/cookery: title: control character U+0007" in (
        output
    )
    assert "2 listings left out" in output and "Traceback" not in output
    assert (tmp_path / "out" / "providers/knitters/knit/index.html").exists()


def test_up_keeps_the_previous_site_when_a_build_fails(
    mini_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    out = tmp_path / "site"
    build_site(mini_db, settings_for(tmp_path), out, today=TODAY)
    before = (out / "index.html").read_bytes()

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a fault of the build")

    monkeypatch.setattr(site_build, "_build", broken)
    assert cli._build_site(mini_db, settings_for(tmp_path), out, fail=False) is False
    assert (out / "index.html").read_bytes() == before
    warning = capsys.readouterr().err
    assert "the site was not built (RuntimeError); the previous site is unchanged" in warning


def test_the_app_serves_a_being_built_page_until_there_is_a_site(
    mini_db: Database, tmp_path: Path
) -> None:
    with client_for(mini_db, data_dir=tmp_path) as client:
        waiting = client.get("/")
        assert waiting.status_code == 503 and waiting.headers["retry-after"] == "60"
        assert "The directory is being built" in waiting.text
        assert client.get("/providers/shelter/").status_code == 503
        assert client.get("/healthz").status_code == 200
        build_site(mini_db, settings_for(tmp_path), tmp_path / "site", today=TODAY)
        assert client.get("/providers/shelter/").status_code == 200


@pytest.mark.skipif(bool(PG_URL), reason="`up` on its embedded default (SQLite) only")
def test_up_serves_a_directory_with_a_line_break_in_a_title(tmp_path: Path) -> None:
    from tests.test_cli import run_up, stop

    data = tmp_path / "var"
    data.mkdir()
    db = Database.from_url(f"sqlite:///{data / 'petunia.db'}")
    migrations.upgrade(db.engine)
    with db.session() as s:
        load_directory(s, MINI)
        s.execute(update(Session).where(Session.key == "knit").values(title="Knit\nand natter"))
    db.dispose()
    proc, url = run_up(data)
    try:
        page = httpx.get(f"{url}/providers/knitters/knit/")
        assert page.status_code == 200 and html.escape("Knit\nand natter") in page.text
        assert httpx.get(f"{url}/providers/knitters/knit/knit.ics").status_code == 200
    finally:
        log = stop(proc)
    assert "Built" in log and "Traceback" not in log


def test_odd_text_from_an_import_reaches_every_file_normalised(
    empty_db: Database, tmp_path: Path
) -> None:
    import csv
    import datetime as dt

    from api.registration.importing import import_file
    from tests.odd_text import NORMALISED

    with empty_db.session() as s:
        load_directory(s, MINI)
    header = ["organisation", "title", "domains", "schedule", "venue", "postcode"]
    header += ["address", "description"]
    rows = [
        [
            f"Odd Group {i}\u2028Ltd",
            f"{typed} {i}",
            "PHYSICAL_ACTIVITY",
            "Tuesdays 10-12",
            "North\tHall",
            "AT1 1AA",
            "1 High Street\r\nTesttown",
            f"First line.\r\n{typed}\u2029{KEPT['emoji'][0]} {KEPT['combining marks'][0]}",
        ]
        for i, typed in enumerate(NORMALISED.values())
    ]
    path = tmp_path / "odd.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    with empty_db.session() as s:
        import_file(s, path, today=dt.date(2026, 11, 16))
    out = tmp_path / "site"
    report = build_site(empty_db, settings_for(tmp_path), out, today=TODAY)
    assert report.left_out == []
    services = json.loads((out / "open-data/oruk/services.json").read_text(encoding="utf-8"))
    titles = {s["name"] for s in services["contents"]}
    assert {f"Dog walking {i}" for i in range(len(NORMALISED))} <= titles
    for i in range(len(NORMALISED)):
        folder = out / f"providers/odd-group-{i}-ltd/dog-walking-{i}"
        page = read_page(out, folder.relative_to(out).as_posix())
        (event,) = [json.loads(x) for x in page.scripts]
        assert event["name"] == f"Dog walking {i}"
        assert event["location"]["name"] == "North Hall"
        assert event["description"].startswith("First line.\nDog")
        assert event["description"].endswith(f"{KEPT['emoji'][1]} {KEPT['combining marks'][1]}")
        (vevent,) = Calendar.from_ical((folder / f"{folder.name}.ics").read_bytes()).walk("VEVENT")
        assert str(vevent["SUMMARY"]) == f"Dog walking {i}"
        assert str(vevent["DESCRIPTION"]).startswith(event["description"])
        assert "1 High Street, Testtown" in str(vevent["LOCATION"])
