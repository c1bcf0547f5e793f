"""Open Referral UK: the read API and the export, validated against the ORUK schemas in
../shared/oruk (compiled JSON schemas, with formats checked: uuid, email, uri, date-time)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from starlette.testclient import TestClient

from api.config import get_settings
from api.db import Database
from api.directory.public import FreshnessPolicy, read_public_directory
from api.oruk.export import write_export
from tests.conftest import ROOT, client_for

ORUK = ROOT.parent / "shared" / "oruk"
pytestmark = pytest.mark.skipif(not ORUK.exists(), reason=f"ORUK schemas not found at {ORUK}")


def schema(name: str) -> Draft202012Validator:
    data = json.loads((ORUK / "schema" / f"{name}.json").read_text())
    return Draft202012Validator(data, format_checker=FormatChecker())


def page_schema() -> Draft202012Validator:
    openapi = json.loads((ORUK / "openapi.json").read_text())
    page = dict(openapi["components"]["schemas"]["Page"])
    page["required"] = list(page["properties"])
    return Draft202012Validator(page)


def term_schema() -> Draft202012Validator:
    # No taxonomy_term.json ships with the profile: the term inside service.json is the one.
    service = json.loads((ORUK / "schema" / "service.json").read_text())
    term = service["properties"]["attributes"]["items"]["properties"]["taxonomy_term"]
    return Draft202012Validator(term, format_checker=FormatChecker())


def valid(validator: Draft202012Validator, data: object) -> None:
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


@pytest.fixture(scope="module")
def oruk(demo_db: Database) -> Iterator[TestClient]:
    with client_for(demo_db, public_url="https://petunia.example") as client:
        yield client


def test_services_page_and_every_full_service_validate(oruk: TestClient) -> None:
    body = oruk.get("/oruk/services", params={"per_page": 100}).json()
    valid(page_schema(), body)
    assert body["total_items"] >= 150 and body["size"] == 100 and body["first_page"]
    item_schema = schema("service_list")
    for item in body["contents"]:
        valid(item_schema, item)
    full_schema = schema("service")
    for item in body["contents"][:40]:
        response = oruk.get(f"/oruk/services/{item['id']}")
        assert response.status_code == 200
        valid(full_schema, response.json())


def test_a_service_keeps_what_a_reader_needs(oruk: TestClient) -> None:
    found = oruk.get("/oruk/services", params={"search": "dog walking"}).json()
    dog = next(s for s in found["contents"] if s["name"] == "Dog walking")
    full = oruk.get(f"/oruk/services/{dog['id']}").json()
    assert full["organization"]["name"] == "Anytown Cat and Dog Shelter"
    schedules = full["schedules"]
    assert {s["byday"] for s in schedules} >= {"SA,SU"} and schedules[0]["freq"] == "WEEKLY"
    assert all(s["opens_at"].count(":") == 2 for s in schedules)
    assert "Christmas" in " ".join(s.get("notes", "") for s in schedules)  # breaks kept
    location = full["service_at_locations"][0]["location"]
    assert location["addresses"][0]["postal_code"] == "AT8 9WH"
    assert {a["details"] for a in location["accessibility"]} >= {"PARKING"}
    assert [a["taxonomy_term"]["code"] for a in full["attributes"]] == ["PHYSICAL_ACTIVITY"]
    assert full["fees"].startswith("Free") and full["assured_date"]
    assert full["languages"][0]["code"] == "en"
    # Stable ids: the same request gives the same UUIDs.
    assert oruk.get(f"/oruk/services/{dog['id']}").json()["schedules"] == schedules


def test_service_at_locations_by_postcode_and_proximity(oruk: TestClient) -> None:
    body = oruk.get(
        "/oruk/service_at_locations", params={"postcode": "AT1 2AB", "proximity": 1500}
    ).json()
    valid(page_schema(), body)
    item_schema = schema("service_at_location_list")
    for item in body["contents"]:
        valid(item_schema, item)
    wider = oruk.get(
        "/oruk/service_at_locations", params={"postcode": "at12ab", "proximity": 20000}
    ).json()
    assert 0 < body["total_items"] < wider["total_items"]


def test_bad_parameters_say_what_to_do(oruk: TestClient) -> None:
    for params, field in [
        ({"postcode": "nowhere"}, "postcode"),
        ({"postcode": "ZZ9 9ZZ"}, "postcode"),
        ({"postcode": "AT1 2AB", "proximity": "far"}, "proximity"),
        ({"per_page": 1000}, "per_page"),
        ({"day": "Someday"}, "day"),
        ({"taxonomy_term_id": "nope"}, "taxonomy_term_id"),
    ]:
        response = oruk.get("/oruk/service_at_locations", params=params)
        assert response.status_code == 400, params
        assert response.json()["field"] == field and response.json()["error"]
    assert oruk.get("/oruk/services/00000000-0000-0000-0000-000000000000").status_code == 404


def test_taxonomy_of_the_six_domains_and_filtering_by_term(oruk: TestClient) -> None:
    taxonomies = oruk.get("/oruk/taxonomies").json()
    valid(page_schema(), taxonomies)
    assert taxonomies["contents"][0]["name"] == "Petunia social prescribing domains"
    terms = oruk.get("/oruk/taxonomy_terms").json()
    assert terms["total_items"] == 6
    for term in terms["contents"]:
        valid(term_schema(), term)
    one = next(t for t in terms["contents"] if t["code"] == "WELFARE_RIGHTS")
    assert oruk.get(f"/oruk/taxonomy_terms/{one['id']}").json() == one
    welfare = oruk.get("/oruk/services", params={"taxonomy_term_id": one["id"]}).json()
    every = oruk.get("/oruk/services").json()
    assert 0 < welfare["total_items"] < every["total_items"]


def test_cors_is_open(oruk: TestClient) -> None:
    response = oruk.get("/oruk/services", headers={"Origin": "https://council.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = oruk.options(
        "/oruk/services",
        headers={"Origin": "https://council.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert oruk.get("/oruk/").json()["version"] == "3.0"


def test_export_files_validate(demo_db: Database, tmp_path: Path) -> None:
    settings = get_settings(public_url="https://petunia.example")
    with demo_db.session() as session:
        directory = read_public_directory(
            session, today=dt.date(2026, 11, 16), policy=FreshnessPolicy()
        )
        count = write_export(directory, settings, tmp_path)
    services = json.loads((tmp_path / "services.json").read_text())
    valid(page_schema(), services)
    assert services["total_items"] == count == len(list((tmp_path / "services").iterdir()))
    item_schema, full_schema = schema("service_list"), schema("service")
    for item in services["contents"]:
        valid(item_schema, item)
        valid(full_schema, json.loads((tmp_path / "services" / f"{item['id']}.json").read_text()))
    sal = json.loads((tmp_path / "service_at_locations.json").read_text())
    sal_schema = schema("service_at_location_list")
    for item in sal["contents"]:
        valid(sal_schema, item)
    organizations = json.loads((tmp_path / "organizations.json").read_text())
    org_schema = schema("organization_list")
    for item in organizations["contents"]:
        valid(org_schema, item)


def test_hidden_listings_are_left_out(mini_db: Database) -> None:
    # The mini shelter was last confirmed on 2025-06-01: hidden once that is too long ago.
    names = {}
    for hide_after in (2000, 100):
        with client_for(mini_db, site_hide_after_days=hide_after) as client:
            body = client.get("/oruk/services", params={"per_page": 100}).json()
        names[hide_after] = {s["name"] for s in body["contents"]}
    assert "Dog walking" in names[2000] and "Dog walking" not in names[100]
