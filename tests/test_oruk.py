"""Open Referral UK: the read API and the export, validated against the ORUK profile's own
schemas, vendored in api/oruk/spec (compiled JSON schemas, with formats checked: uuid, email,
uri, date-time). The validator's whole flow and schemathesis are in test_oruk_conformance."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.testclient import TestClient

from api.config import get_settings
from api.db import Database
from api.directory.public import FreshnessPolicy, read_public_directory
from api.oruk.export import stream_export, write_export
from api.oruk.openapi import SPEC, spec_json
from tests.conftest import client_for


def test_the_profile_is_vendored_whole() -> None:
    # Missing files must fail the suite, never skip it.
    assert (SPEC / "LICENSE").read_text().startswith("The Human Services Data Specification")
    assert "paths" in spec_json("openapi.json")
    for name in (
        "service",
        "service_list",
        "service_at_location",
        "service_at_location_list",
        "organization",
        "organization_list",
    ):
        assert spec_json("schema", f"{name}.json")["type"] == "object"
    for name in ("taxonomy", "taxonomy_term", "schedule", "location"):
        assert spec_json("schema-src", f"{name}.json")["type"] == "object"


def _registry() -> Registry:
    # The uncompiled schemas refer to each other by file name ("taxonomy_term.json").
    return Registry().with_resources(
        (path.name, Resource.from_contents(json.loads(path.read_text()), DRAFT202012))
        for path in (SPEC / "schema-src").glob("*.json")
    )


def schema(name: str, folder: str = "schema") -> Draft202012Validator:
    """A validator for one of the profile's schemas, formats checked."""
    return Draft202012Validator(
        spec_json(folder, f"{name}.json"), format_checker=FormatChecker(), registry=_registry()
    )


def page_schema() -> Draft202012Validator:
    page = dict(spec_json("openapi.json")["components"]["schemas"]["Page"])
    page["required"] = list(page["properties"])
    return Draft202012Validator(page)


def term_schema() -> Draft202012Validator:
    return schema("taxonomy_term", "schema-src")


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
    valid(schema("taxonomy", "schema-src"), taxonomies["contents"][0])
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


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed (the CLI's)", "in memory"])
def test_export_files_validate(demo_db: Database, tmp_path: Path, streamed: bool) -> None:
    settings = get_settings(public_url="https://petunia.example")
    today, policy = dt.date(2026, 11, 16), FreshnessPolicy()
    with demo_db.session() as session:
        if streamed:
            count = stream_export(session, settings, tmp_path, today=today, policy=policy)
        else:
            directory = read_public_directory(session, today=today, policy=policy)
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


# --- filters, totals and errors -----------------------------------------------------------


def every_page(client: TestClient, path: str, **params: object) -> tuple[list[dict], dict]:
    """All items of a list, page by page, and the first page's envelope."""
    first = client.get(path, params={**params, "per_page": 20}).json()
    items = list(first["contents"])
    for page in range(2, first["total_pages"] + 1):
        items += client.get(path, params={**params, "per_page": 20, "page": page}).json()[
            "contents"
        ]
    return items, first


def test_totals_count_what_the_pages_hold(oruk: TestClient) -> None:
    for path in ("/oruk/services", "/oruk/service_at_locations", "/oruk/organizations"):
        items, first = every_page(oruk, path)
        assert len(items) == first["total_items"], path
        assert len({x["id"] for x in items}) == len(items), path
        assert first["size"] == len(first["contents"]) == 20, path
    # Sessions at people's homes have no location, and are not counted as if they had.
    services = oruk.get("/oruk/services").json()["total_items"]
    located = oruk.get("/oruk/service_at_locations").json()["total_items"]
    assert located < services


def test_a_page_past_the_end_is_empty(oruk: TestClient) -> None:
    body = oruk.get("/oruk/services", params={"page": 500}).json()
    valid(page_schema(), body)
    assert body["contents"] == [] and body["empty"] is True and body["last_page"] is True
    assert oruk.get("/oruk/services").json()["empty"] is False


def _names(client: TestClient, path: str = "/oruk/services", **params: object) -> set[str]:
    response = client.get(path, params={**params, "per_page": 100})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_items"] <= 100
    return {s["name"] if "name" in s else s["service"]["name"] for s in body["contents"]}


def test_ages_filter_as_the_standard_words_them(oruk: TestClient) -> None:
    every = oruk.get("/oruk/services").json()["total_items"]
    assert oruk.get("/oruk/services", params={"minimum_age": 150}).json()["total_items"] == 0
    assert oruk.get("/oruk/services", params={"minimum_age": 200}).status_code == 400
    assert oruk.get("/oruk/services", params={"minimum_age": 0}).json()["total_items"] == every
    # "a minimum age of at least 18": the sessions for adults only.
    adults = oruk.get("/oruk/services", params={"minimum_age": 18, "per_page": 100}).json()
    assert 0 < adults["total_items"] < every
    for item in adults["contents"]:
        assert item["minimum_age"] >= 18
    # "a maximum age at or below 25": sessions with an upper age limit that low.
    young = oruk.get("/oruk/services", params={"maximum_age": 25, "per_page": 100}).json()
    for item in young["contents"]:
        assert item["maximum_age"] <= 25
    assert young["total_items"] < every


def test_start_and_end_times_filter_on_a_schedule(oruk: TestClient) -> None:
    every = oruk.get("/oruk/services").json()["total_items"]
    evening = oruk.get("/oruk/services", params={"start_time": "17:00", "per_page": 100}).json()
    assert 0 < evening["total_items"] < every
    for item in evening["contents"][:15]:
        full = oruk.get(f"/oruk/services/{item['id']}").json()
        assert any(s.get("opens_at", "") >= "17:00:00" for s in full["schedules"]), item["name"]
    morning = oruk.get("/oruk/services", params={"end_time": "12:00:00", "per_page": 100}).json()
    assert 0 < morning["total_items"] < every
    for item in morning["contents"][:15]:
        full = oruk.get(f"/oruk/services/{item['id']}").json()
        assert any(s.get("closes_at", "99") <= "12:00:00" for s in full["schedules"])
    both = oruk.get(
        "/oruk/service_at_locations", params={"start_time": "09:00", "end_time": "12:00"}
    ).json()
    assert 0 < both["total_items"] <= morning["total_items"]


def test_modified_after_and_organization_id(oruk: TestClient) -> None:
    every = oruk.get("/oruk/services").json()["total_items"]
    assert (
        oruk.get("/oruk/services", params={"modified_after": "2000-01-01T00:00:00Z"}).json()[
            "total_items"
        ]
        == every
    )
    assert (
        oruk.get("/oruk/services", params={"modified_after": "2999-01-01"}).json()["total_items"]
        == 0
    )
    first = oruk.get("/oruk/services", params={"search": "dog walking"}).json()["contents"][0]
    org = first["organization_id"]
    mine = oruk.get("/oruk/services", params={"organization_id": org, "per_page": 100}).json()
    assert 0 < mine["total_items"] < every
    assert {s["organization_id"] for s in mine["contents"]} == {org}
    sal = oruk.get("/oruk/service_at_locations", params={"organization_id": org}).json()
    assert {s["service"]["organization_id"] for s in sal["contents"]} == {org}


def test_bad_and_empty_values_name_the_parameter(oruk: TestClient) -> None:
    for path in ("/oruk/services", "/oruk/service_at_locations"):
        for name, value in [
            ("minimum_age", "old"),
            ("minimum_age", "-1"),
            ("minimum_age", "nan"),
            ("maximum_age", "inf"),
            ("start_time", "banana"),
            ("end_time", "25:00"),
            ("modified_after", "yesterday"),
            ("organization_id", "Anytown Cat and Dog Shelter"),
            ("taxonomy_term_id", "nope"),
            ("day", "Someday"),
            ("page", "0"),
        ] + [
            (name, "")
            for name in (
                "minimum_age",
                "maximum_age",
                "start_time",
                "end_time",
                "modified_after",
                "organization_id",
                "page",
                "per_page",
                "day",
                "taxonomy_id",
                "taxonomy_term_id",
            )
        ]:
            response = oruk.get(path, params={name: value})
            assert response.status_code == 400, (path, name, value)
            assert response.json()["field"] == name, (path, name, value)
            assert name in response.json()["error"]


def test_a_bad_value_is_refused_even_beside_a_term_that_matches_nothing(
    oruk: TestClient,
) -> None:
    # Found by schemathesis: an unknown term used to answer an empty 200 before taxonomy_id
    # was read at all.
    elsewhere = "00000000-0000-0000-0000-000000000000"
    response = oruk.get(
        "/oruk/services", params={"taxonomy_term_id": elsewhere, "taxonomy_id": "Ld"}
    )
    assert response.status_code == 400 and response.json()["field"] == "taxonomy_id"


def test_ids_from_elsewhere_match_nothing(oruk: TestClient) -> None:
    # Well formed, but not this directory's: an empty list, not an error.
    elsewhere = "00000000-0000-0000-0000-000000000000"
    for name in ("organization_id", "taxonomy_id", "taxonomy_term_id"):
        body = oruk.get("/oruk/services", params={name: elsewhere}).json()
        assert body["total_items"] == 0 and body["empty"], name


def test_every_404_is_json(oruk: TestClient) -> None:
    for path in (
        "/oruk/nothing-here",
        "/oruk/services/not-an-id",
        "/oruk/service_at_locations/not-an-id",
        "/oruk/organizations/not-an-id",
        "/oruk/taxonomies/not-an-id",
        "/oruk/taxonomy_terms/not-an-id",
    ):
        response = oruk.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/json", path
        assert response.json()["error"], path


def test_the_index_points_at_an_openapi_document_that_is_there(oruk: TestClient) -> None:
    index = oruk.get("/oruk/").json()
    assert index["openapi_url"] == "https://petunia.example/oruk/openapi.json"
    document = oruk.get("/oruk/openapi.json").json()
    assert document["servers"] == [{"url": "https://petunia.example/oruk"}]
    for path in ("/services", "/services/{id}", "/service_at_locations/{id}", "/organizations"):
        assert path in document["paths"]
    assert "raw.githubusercontent.com" not in json.dumps(document)  # resolves offline


def test_service_at_location_by_id(oruk: TestClient) -> None:
    full_schema = schema("service_at_location")
    listed = oruk.get("/oruk/service_at_locations", params={"per_page": 10}).json()["contents"]
    for item in listed:
        response = oruk.get(f"/oruk/service_at_locations/{item['id']}")
        assert response.status_code == 200
        body = response.json()
        valid(full_schema, body)
        assert body["id"] == item["id"] and body["service"]["id"] == item["service"]["id"]
        assert body["location"]["id"] == item["location"]["id"]


def test_organizations_list_and_one(oruk: TestClient) -> None:
    body = oruk.get("/oruk/organizations", params={"per_page": 100}).json()
    valid(page_schema(), body)
    list_schema, full_schema = schema("organization_list"), schema("organization")
    for item in body["contents"]:
        valid(list_schema, item)
    shelter = next(o for o in body["contents"] if o["name"] == "Anytown Cat and Dog Shelter")
    full = oruk.get(f"/oruk/organizations/{shelter['id']}").json()
    valid(full_schema, full)
    assert "Dog walking" in {s["name"] for s in full["services"]}
    found = oruk.get("/oruk/organizations", params={"search": "shelter"}).json()
    assert [o["name"] for o in found["contents"]] == ["Anytown Cat and Dog Shelter"]
