"""The static site build: pages, freshness, JSON-LD, calendars, sitemap, atomic and
incremental builds, and the commands. (What a person sees in a browser is in
test_site_browser.py.)"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import update
from typer.testing import CliRunner

from api.cli import app
from api.config import Settings, get_settings
from api.db import Database
from api.directory.enums import ListingStatus
from api.directory.loading import load_directory
from api.directory.models import Provider, Session
from sitegen import build as site_build
from sitegen.build import BuildError, build_site
from sitegen.swap import recover
from tests.conftest import MINI, PG_URL

TODAY = dt.date(2026, 11, 16)
SITE_URL = "https://directory.example/"


def settings_for(tmp: Path, **overrides: object) -> Settings:
    return get_settings(
        data_dir=tmp, site_url=SITE_URL, public_url="https://petunia.example", **overrides
    )


@pytest.fixture(scope="module")
def mini_site(mini_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("site")
    out = tmp / "site"
    build_site(mini_db, settings_for(tmp), out, today=TODAY)
    return out


def page(site: Path, path: str) -> str:
    return (site / path / "index.html").read_text(encoding="utf-8")


def jsonld(html: str) -> list[dict]:
    found = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return [json.loads(x) for x in found]


def test_every_page_is_built(mini_site: Path) -> None:
    for path in [
        "",
        "search/",
        "near/",
        "shortlist/",
        "open-data/",
        "whats-on/",
        "privacy/",
        "accessibility/",
        "contact/",
        "areas/",
        "areas/north/",
        "activities/physical-activity/",
        "activities/welfare-rights/",
        "providers/shelter/",
        "providers/shelter/dog-walking/",
        "providers/lead-north/befriending/",
    ]:
        html = page(mini_site, path)
        assert "@@PETUNIA" not in html and "_shell" not in html, path
    home = page(mini_site, "")
    assert "Getting active" in home and 'href="providers/' not in home
    assert 'href="assets/petunia/site.css"' in home  # the theme's links, relative to the page
    provider = page(mini_site, "providers/shelter/")
    assert 'href="../../assets/petunia/site.css"' in provider
    assert 'id="dog-walking"' in provider  # sessions linkable by anchor
    whats_on = page(mini_site, "whats-on/")
    saturday = whats_on.split('id="d20261121"')[1].split("</section>")[0]
    assert "Dog walking" in saturday and "Telephone befriending" not in saturday
    assert "Winter craft fair" not in whats_on  # a one-off on 12 December: not in nine days
    assert json.loads((mini_site / "search-index" / "index.json").read_text())["documents"] == 8
    assert (mini_site / "open-data" / "oruk" / "services.json").exists()
    assert (mini_site / "404.html").exists()


def test_session_pages_show_what_a_person_needs(mini_site: Path) -> None:
    html = page(mini_site, "providers/shelter/dog-walking/")
    for text in [
        "Every Saturday and Sunday, 10am to midday",
        "Not running 24 December 2026 to 2 January 2027 (Christmas)",
        "Saturday 21 November 2026, 10am to midday",  # the next dates
        "South Park",
        "AT2 1AA",
        "Parking",  # accessibility
        "Drop in: just turn up",
        "Free",
        "English",
    ]:
        assert text in html, text
    cookery = page(mini_site, "providers/lead-north/cookery/")
    assert "£2.50 a session" in cookery and "Free for carers" in cookery
    assert "Men only" in cookery and "Bengali" in cookery
    assert "First and third Tuesday of the month" in cookery


def test_trust_freshness_and_report_links(mini_site: Path) -> None:
    shelter = page(mini_site, "providers/shelter/")
    assert "Listed by the organisation; not checked yet" in shelter
    assert "Last confirmed 1 June 2025" in shelter and "May be out of date" in shelter
    assert (
        "https://petunia.example/report-a-problem?provider=shelter&amp;session=dog-walking"
        in shelter
    )
    assert 'href="https://petunia.example/report-a-problem?provider=shelter"' in shelter
    lead = page(mini_site, "providers/lead-north/")
    assert (
        "Added by the local lead provider; checked by Better Services Testtown on 10 January 2026"
        in lead
    )
    assert "May be out of date" not in lead
    knit = page(mini_site, "providers/knitters/")
    assert "has not been confirmed by the organisation yet" in knit


def test_hidden_after_the_second_period(mini_db: Database, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site(mini_db, settings_for(tmp_path, site_hide_after_days=400), out, today=TODAY)
    assert not (out / "providers" / "shelter").exists()
    assert "shelter" not in (out / "sitemap.xml").read_text()
    assert "Dog walking" not in page(out, "activities/physical-activity/")
    assert (out / "providers" / "lead-north" / "index.html").exists()


def test_json_ld_organization_event_service_place(mini_site: Path) -> None:
    (org,) = jsonld(page(mini_site, "providers/shelter/"))
    assert org["@type"] == "Organization" and org["name"] == "Testtown Cat and Dog Shelter"
    (event,) = jsonld(page(mini_site, "providers/shelter/dog-walking/"))
    assert event["@type"] == "Event" and event["location"]["@type"] == "Place"
    assert event["location"]["address"]["postalCode"] == "AT2 1AA"
    assert event["eventSchedule"][0]["byDay"] == [
        "https://schema.org/Saturday",
        "https://schema.org/Sunday",
    ]
    assert event["startDate"] == "2026-11-21T10:00" and event["isAccessibleForFree"] is True
    (service,) = jsonld(page(mini_site, "providers/lead-north/befriending/"))
    assert service["@type"] == "Service" and "location" not in service


def test_calendar_per_session(mini_site: Path) -> None:
    raw = (mini_site / "providers/shelter/dog-walking/dog-walking.ics").read_bytes()
    cal = Calendar.from_ical(raw)
    (event,) = cal.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Dog walking"
    assert event["RRULE"]["FREQ"] == ["WEEKLY"] and event["RRULE"]["BYDAY"] == ["SA", "SU"]
    excluded = {d.dt.date() for x in event.get("EXDATE", []) for d in x.dts}
    assert {dt.date(2026, 12, 26), dt.date(2026, 12, 27), dt.date(2027, 1, 2)} <= excluded
    assert cal.walk("VTIMEZONE")[0]["TZID"] == "Europe/London"
    once = Calendar.from_ical(
        (mini_site / "providers/knitters/winter-fair/winter-fair.ics").read_bytes()
    )
    (fair,) = once.walk("VEVENT")
    assert "RRULE" not in fair and fair["DTSTART"].dt.date() == dt.date(2026, 12, 12)


def test_sitemap_lists_every_page(mini_site: Path) -> None:
    sitemap = (mini_site / "sitemap.xml").read_text()
    assert f"<loc>{SITE_URL}providers/shelter/dog-walking/</loc>" in sitemap
    assert f"<loc>{SITE_URL}</loc>" in sitemap
    assert sitemap.count("<url>") == len(list(mini_site.rglob("index.html")))
    assert (
        "Sitemap: https://directory.example/sitemap.xml" in (mini_site / "robots.txt").read_text()
    )


def loaded(empty_db: Database) -> Database:
    with empty_db.session() as s:
        load_directory(s, MINI)
    return empty_db


def test_only_published_providers(empty_db: Database, tmp_path: Path) -> None:
    db = loaded(empty_db)
    with db.session() as s:
        s.execute(
            update(Provider).where(Provider.key == "knitters").values(status=ListingStatus.PENDING)
        )
    out = tmp_path / "site"
    build_site(db, settings_for(tmp_path), out, today=TODAY)
    assert not (out / "providers" / "knitters").exists()
    assert "providers/knitters/" not in page(out, "activities/arts-for-health/")
    assert (out / "providers" / "shelter").exists()


def test_a_failed_build_leaves_the_previous_site(
    mini_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    build_site(mini_db, settings_for(tmp_path), out, today=TODAY)
    before = page(out, "providers/shelter/")

    def broken(_model: object, _site: Path, **_reuse: object) -> None:
        raise BuildError("the search index failed: disk full")

    monkeypatch.setattr(site_build, "build_search_index", broken)
    with pytest.raises(BuildError):
        build_site(mini_db, settings_for(tmp_path, site_name="Another name"), out, today=TODAY)
    assert page(out, "providers/shelter/") == before
    assert [p.name for p in tmp_path.iterdir() if "building" in p.name] == []


def test_an_interrupted_swap_is_put_back(tmp_path: Path) -> None:
    out = tmp_path / "site"
    # As if killed between the two renames of a swap, with a half-built folder left.
    (tmp_path / ".site.old-123").mkdir()
    (tmp_path / ".site.old-123" / "index.html").write_text("previous")
    (tmp_path / ".site.building-456").mkdir()
    recover(out)
    assert (out / "index.html").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_rebuild_renders_only_what_changed(
    empty_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(site_build, "FORK_LINKS_FROM", 1)  # link in a process, as at scale
    db = loaded(empty_db)
    out = tmp_path / "site"
    first = build_site(db, settings_for(tmp_path), out, today=TODAY)
    assert first.rendered == first.pages and first.chrome_rebuilt
    same = build_site(db, settings_for(tmp_path), out, today=TODAY)
    assert same.rendered == 0 and same.reused == first.pages and not same.chrome_rebuilt
    shelter_page = (out / "providers/shelter/index.html").stat().st_ino
    services = sorted((out / "open-data/oruk/services").iterdir())
    service_files = {p.name: p.stat().st_ino for p in services}
    with db.session() as s:
        s.execute(update(Session).where(Session.key == "knit").values(title="Crochet circle"))
    again = build_site(db, settings_for(tmp_path), out, today=TODAY)
    # Unchanged files are the same files (hard links), changed ones are new.
    assert (out / "providers/shelter/index.html").stat().st_ino == shelter_page
    after = {p.name: p.stat().st_ino for p in (out / "open-data/oruk/services").iterdir()}
    assert after.keys() == service_files.keys()
    assert sum(after[name] != service_files[name] for name in after) == 1
    assert 0 < again.rendered < 15, again.rendered
    assert "Crochet circle" in page(out, "providers/knitters/knit/")
    assert "Crochet circle" in page(out, "providers/knitters/")
    assert "Crochet circle" in page(out, "activities/arts-for-health/")
    assert "Crochet circle" not in page(out, "providers/shelter/")
    # The search index is rebuilt whole: the new word is in, the old title's word is not.
    assert "crochet" in (out / "search-index" / "t" / "cr.json").read_text()
    old_shard = out / "search-index" / "t" / "na.json"
    assert not old_shard.exists() or '"natter"' not in old_shard.read_text()


def test_commands(mini_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", mini_db.engine.url.render_as_string(hide_password=False))
    runner = CliRunner()
    result = runner.invoke(
        app, ["build-site", "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "Built" in result.output and (tmp_path / "out" / "index.html").exists()
    result = runner.invoke(
        app, ["export", "oruk", "--out", str(tmp_path / "oruk"), "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    services = json.loads((tmp_path / "oruk" / "services.json").read_text())
    assert services["total_items"] == 5


@pytest.mark.skipif(bool(PG_URL), reason="`up` on its embedded default (SQLite) only")
def test_up_builds_the_site_and_serves_it_at_the_root(tmp_path: Path) -> None:
    import httpx

    from tests.test_cli import run_up, stop

    proc, url = run_up(tmp_path / "var")
    try:
        home = httpx.get(f"{url}/")
        assert home.status_code == 200 and "Types of activity" in home.text
        shelter = httpx.get(f"{url}/providers/anytown-cat-and-dog-shelter/")
        assert shelter.status_code == 200 and "Dog walking" in shelter.text
        assert httpx.get(f"{url}/search-index/index.json").json()["documents"] > 150
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{url}/oruk/services").json()["total_items"] >= 150
        graphql = httpx.post(f"{url}/graphql", json={"query": "{ domains { label } }"})
        assert len(graphql.json()["data"]["domains"]) == 6
        assert httpx.get(f"{url}/no-such-page/").status_code == 404
    finally:
        log = stop(proc)
    assert "Built" in log and (tmp_path / "var" / "site" / "index.html").exists()


def test_pages_rendered_in_worker_processes_are_the_same(
    mini_db: Database, mini_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(site_build, "PARALLEL_FROM", 1)  # large builds fork workers
    out = tmp_path / "site"
    build_site(mini_db, settings_for(tmp_path), out, today=TODAY)

    def files(root: Path) -> dict[str, bytes]:
        return {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*")
            if p.is_file() and (p.name == "index.html" or p.suffix == ".ics")
        }

    assert files(out) == files(mini_site)


def test_past_one_off_dates_leave_whats_on(mini_db: Database, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site(mini_db, settings_for(tmp_path), out, today=dt.date(2026, 12, 20))
    assert "Winter craft fair" not in page(out, "whats-on/")
    fair = page(out, "providers/knitters/winter-fair/")
    assert "No dates coming up." in fair  # still listed by its organisation
