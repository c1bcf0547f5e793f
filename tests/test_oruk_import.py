"""`petunia import oruk`: another directory's Open Referral UK feed brought into Petunia.

A round trip (export the demo, import it into an empty database, export again: the same
services), a feed shaped as ORUK 1.0 implementations publish it served over real HTTP, later
runs that update, match and remove, and feeds with records Petunia cannot use."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from typer.testing import CliRunner

from api.cli import app as cli
from api.config import get_settings
from api.db import Database
from api.directory.enums import ListedBy, ListingStatus
from api.directory.models import Locality, Provider, Session
from api.directory.public import FreshnessPolicy, read_public_directory
from api.oruk.export import write_export
from api.oruk.feed import read_feed, source_name
from api.oruk.importing import apply_feed, check_feed
from api.oruk.models import ImportedRecord
from tests.conftest import MINI, _loaded
from tests.test_cli import free_port

TODAY = dt.date(2026, 11, 16)


def export(db: Database, folder: Path) -> None:
    settings = get_settings(public_url="https://petunia.example")
    with db.session() as session:
        directory = read_public_directory(session, today=TODAY, policy=FreshnessPolicy())
        write_export(directory, settings, folder)


def comparable(folder: Path) -> dict[tuple[str, str], Any]:
    """Each exported service by (organisation, name), with what a reader relies on; not ids
    (derived from keys) and not notes (breaks are not part of HSDS schedules)."""
    found = {}
    for path in (folder / "services").glob("*.json"):
        s = json.loads(path.read_text())
        locations = [x["location"] for x in s.get("service_at_locations", [])]
        found[(s["organization"]["name"], s["name"])] = {
            "description": s.get("description"),
            "fees": s.get("fees"),
            "ages": (s.get("minimum_age"), s.get("maximum_age")),
            "eligibility": s.get("eligibility_description"),
            "join": s.get("application_process"),
            "capacity": s.get("capacity"),
            "domains": sorted(a["taxonomy_term"]["code"] for a in s.get("attributes", [])),
            "languages": sorted(lang["code"] for lang in s.get("languages", [])),
            "schedules": sorted(
                (
                    x.get("freq"),
                    x.get("byday"),
                    x.get("interval"),
                    x.get("opens_at"),
                    x.get("closes_at"),
                    x.get("valid_from"),
                    x.get("valid_to"),
                    x["description"],
                    x["attending_type"],
                )
                for x in s.get("schedules", [])
            ),
            "locations": sorted(
                (
                    loc["location_type"],
                    loc.get("name"),
                    json.dumps(
                        [
                            {k: v for k, v in a.items() if k not in ("id", "location_id")}
                            for a in loc.get("addresses", [])
                        ],
                        sort_keys=True,
                    ),
                    sorted(a["details"] for a in loc.get("accessibility", [])),
                )
                for loc in locations
            ),
            "areas": [a["name"] for a in s.get("service_areas", [])],
            "contacts": [
                (c.get("name"), c.get("email"), [p["number"] for p in c.get("phones", [])])
                for c in s.get("contacts", [])
            ],
            "organisation": (s["organization"].get("email"), s["organization"].get("website")),
        }
    return found


def import_folder(db: Database, folder: Path, **kwargs: Any) -> Any:
    with db.session() as session:
        services = check_feed(session, read_feed(str(folder)))
        report = apply_feed(session, source_name(str(folder)), services, **kwargs)
    return report


def test_round_trip_gives_the_same_services(
    demo_db: Database, new_database_url: Any, tmp_path: Path
) -> None:
    export(demo_db, tmp_path / "first")
    fresh = _loaded(new_database_url(), None)
    with demo_db.session() as demo, fresh.session() as session:
        # The same localities (without their lead providers), as a neighbour would have.
        for locality in demo.scalars(select(Locality)):
            session.add(Locality(key=locality.key, name=locality.name))
    report = import_folder(fresh, tmp_path / "first")
    assert report.sessions_created == report.services > 150
    export(fresh, tmp_path / "second")
    first, second = comparable(tmp_path / "first"), comparable(tmp_path / "second")
    assert first.keys() == second.keys()
    differing = [k for k in first if first[k] != second[k]]
    assert not differing, {k: (first[k], second[k]) for k in differing[:2]}
    with fresh.session() as session:
        listed = set(session.scalars(select(Provider.listed_by)))
        assert listed == {ListedBy.ADDED_BY_LEAD}
        remembered = session.scalar(
            select(func.count()).select_from(ImportedRecord).where(ImportedRecord.kind == "service")
        )
        assert remembered == report.services
    # A second run changes nothing and adds nothing.
    again = import_folder(fresh, tmp_path / "first")
    assert again.sessions_created == again.providers_created == again.sessions_updated == 0
    assert again.sessions_unchanged == again.services
    fresh.dispose()


# --- a feed shaped as ORUK 1.0 implementations publish it, over HTTP -------------------------


def v1_service(n: int, name: str, **extra: Any) -> dict[str, Any]:
    service = {
        "id": f"svc-{n}",
        "name": name,
        "description": f"{name}, every week.\nAll welcome.",
        "status": "active",
        "organization": {"id": "org-r", "name": "Riverside Trust"},
        "regular_schedules": [
            {"id": f"rs-{n}", "weekday": "Tuesday", "opens_at": "10:00", "closes_at": "11:30"}
        ],
        "service_at_locations": [
            {
                "id": f"sal-{n}",
                "location": {
                    "id": f"loc-{n}",
                    "name": "Riverside Hall",
                    "physical_addresses": [
                        {
                            "id": "a",
                            "address_1": "1 River Road",
                            "city": "Anytown",
                            "postal_code": "at1 2ab",
                        }
                    ],
                },
            }
        ],
        "service_taxonomys": [{"id": "t", "taxonomy": {"id": "x", "name": "Health walks"}}],
        "fees": "Free",
    }
    service.update(extra)
    return service


class FeedServer:
    """An ORUK 1.0 style API (``content``, ``totalPages``) on a real loopback port."""

    def __init__(self, services: list[dict[str, Any]], per_page: int = 2) -> None:
        self.services = services
        self.per_page = per_page
        self.port = free_port()
        app = Starlette(
            routes=[
                Route("/api/services", self.page),
                Route("/api/services/{id}", self.one),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    async def page(self, request: Request) -> JSONResponse:
        number = int(request.query_params.get("page", 1))
        size = min(self.per_page, int(request.query_params.get("per_page", 50)))
        chunk = self.services[(number - 1) * size : number * size]
        pages = max(1, -(-len(self.services) // size))
        summaries = [{"id": s["id"], "name": s["name"]} for s in chunk]
        return JSONResponse(
            {
                "content": summaries,
                "totalElements": len(self.services),
                "totalPages": pages,
                "number": number,
                "first": number == 1,
                "last": number >= pages,
            }
        )

    async def one(self, request: Request) -> JSONResponse:
        found = next((s for s in self.services if s["id"] == request.path_params["id"]), None)
        return JSONResponse(found or {"error": "no"}, status_code=200 if found else 404)

    def __enter__(self) -> FeedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture()
def mini(new_database_url: Any) -> Iterator[Database]:
    db = _loaded(new_database_url(), MINI)
    yield db
    db.dispose()


def run(db: Database, url: str, *args: str) -> Any:
    return CliRunner().invoke(
        cli,
        ["import", "oruk", url, *args],
        catch_exceptions=False,
        env={"DATABASE_URL": db.engine.url.render_as_string(hide_password=False)},
    )


def sessions_of(db: Database, provider_name: str) -> list[str]:
    with db.session() as session:
        return sorted(
            session.scalars(
                select(Session.title)
                .join(Provider, Provider.id == Session.provider_id)
                .where(Provider.name == provider_name, Provider.status == ListingStatus.PUBLISHED)
            )
        )


def test_a_foreign_feed_over_http_then_later_runs(mini: Database) -> None:
    services = [
        v1_service(
            1,
            "Riverside health walk",
            organization={
                "id": "org-r",
                "name": "Riverside Trust",
                "website": "javascript:alert(document.cookie)",
            },
        ),
        v1_service(
            2,
            "Hillside cookery club",
            service_taxonomys=[],
            organization={"id": "org-h", "name": "Hillside Club"},
        ),
        v1_service(3, "Riverside Tuesday walk"),
    ]
    with FeedServer(services) as feed:
        dry = run(mini, feed.url, "--dry-run")
        assert dry.exit_code == 0, dry.output
        assert "Dry run, nothing changed" in dry.output and "3 added" in dry.output
        assert sessions_of(mini, "Riverside Trust") == []

        first = run(mini, feed.url)
        assert first.exit_code == 0, first.output
        assert "3 added" in first.output and "2 organisations added" in first.output
        assert "domains inferred from its words: HEALTHY_EATING" in first.output
        # A website that is not one is left out, and said (the same check as every entrance).
        assert "website 'javascript:alert(document.cookie)' left out" in first.output
        assert sessions_of(mini, "Riverside Trust") == [
            "Riverside Tuesday walk",
            "Riverside health walk",
        ]
        with mini.session() as session:
            walk = session.scalars(
                select(Session).where(Session.title == "Riverside health walk")
            ).one()
            assert walk.description == "Riverside health walk, every week.\nAll welcome."
            assert walk.is_free

        # Later: one renamed, one gone, the rest unchanged.
        services[0]["name"] = "Riverside health walk (longer route)"
        del services[2]
        later = run(mini, feed.url)
        assert later.exit_code == 0, later.output
        assert "1 updated, 1 unchanged" in later.output and "1 removed" in later.output
        assert sessions_of(mini, "Riverside Trust") == ["Riverside health walk (longer route)"]

        # The whole organisation gone: withdrawn, and back when it returns.
        services[:] = [s for s in services if s["organization"]["id"] != "org-r"]
        gone = run(mini, feed.url)
        assert "1 organisations withdrawn" in gone.output, gone.output
        assert sessions_of(mini, "Riverside Trust") == []
        with mini.session() as session:
            gone_records = session.scalars(
                select(ImportedRecord).where(ImportedRecord.gone_at.is_not(None))
            ).all()
            assert {r.external_id for r in gone_records if r.kind == "service"} == {
                "svc-1",
                "svc-3",
            }


def test_a_listing_already_here_is_matched_not_duplicated(mini: Database) -> None:
    # The mini directory lists "Dog walking" by the shelter at AT2 1AA.
    with mini.session() as session:
        before = session.scalar(select(func.count()).select_from(Session))
    shelter = v1_service(
        7,
        "Dog walking",
        organization={"id": "o-shelter", "name": "The Testtown Cat & Dog Shelter"},
    )
    shelter["service_at_locations"][0]["location"]["physical_addresses"][0]["postal_code"] = (
        "AT2 1AA"
    )
    with FeedServer([shelter]) as feed:
        result = run(mini, feed.url)
    assert result.exit_code == 0, result.output
    assert "1 matched to listings already here" in result.output
    with mini.session() as session:
        assert session.scalar(select(func.count()).select_from(Session)) == before


def test_records_petunia_cannot_use_are_all_named_and_nothing_changes(mini: Database) -> None:
    services = [
        v1_service(1, "Riverside health walk"),
        v1_service(2, "Mystery", description="", service_taxonomys=[]),
        v1_service(3, "Riverside walk", regular_schedules=[{"weekday": "Someday"}]),
        v1_service(4, "Bad place walk"),
    ]
    services[3]["service_at_locations"][0]["location"]["physical_addresses"][0]["postal_code"] = (
        "nowhere"
    )
    with FeedServer(services) as feed:
        result = run(mini, feed.url)
    assert result.exit_code == 1
    assert "svc-2: no domain" in result.output
    assert "svc-3: no schedule Petunia can read (schedule 1 has no opening time)" in result.output
    assert "svc-4" in result.output and "nowhere" in result.output
    assert "3 problem(s)" in result.output and "nothing was imported" in result.output
    assert sessions_of(mini, "Riverside Trust") == []
    # --domain settles the services whose words say nothing.
    assert "--domain" in result.output


def test_an_unreachable_feed_is_one_clear_line(mini: Database) -> None:
    result = run(mini, f"http://127.0.0.1:{free_port()}/api")
    assert result.exit_code == 1
    assert "cannot read the feed" in result.output and "cannot be reached" in result.output
    assert "Traceback" not in result.output
