"""Open Referral UK conformance, as the ORUK validator checks it, and schemathesis over the
OpenAPI document Petunia serves.

The validator's flow, re-enacted: GET ``/``, pick the specification by its ``version``,
request the first, middle and last page of every list, ten ids on every ``{id}`` endpoint, and
validate everything against the profile's schemas (api/oruk/spec, with formats checked).
Any schema error, and any warning (a list whose totals disagree with its pages, a page past
the end that is not empty, a non-JSON answer), fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from jsonschema import Draft202012Validator
from schemathesis.specs.openapi.checks import positive_data_acceptance
from starlette.testclient import TestClient

from api.app import create_app
from api.config import get_settings
from api.db import Database
from api.oruk.openapi import spec_json
from tests.conftest import client_for
from tests.test_oruk import schema

PUBLIC_URL = "https://petunia.example"

# Each list, the schema of its items, and the {id} endpoint its ids are read back from (with
# that endpoint's schema): the profile's OpenAPI names them, bar /organizations (HSDS 3.0's
# optional endpoints) and /service_at_locations/{id} (upstream names the service schema there).
LISTS = {
    "/services": (("schema", "service_list"), "/services/{id}", ("schema", "service")),
    "/service_at_locations": (
        ("schema", "service_at_location_list"),
        "/service_at_locations/{id}",
        ("schema", "service_at_location"),
    ),
    "/organizations": (
        ("schema", "organization_list"),
        "/organizations/{id}",
        ("schema", "organization"),
    ),
    "/taxonomies": (("schema-src", "taxonomy"), "/taxonomies/{id}", ("schema-src", "taxonomy")),
    "/taxonomy_terms": (
        ("schema-src", "taxonomy_term"),
        "/taxonomy_terms/{id}",
        ("schema-src", "taxonomy_term"),
    ),
}


def problems(v: Draft202012Validator, data: Any, where: str) -> list[str]:
    return [f"{where} {list(e.path)}: {e.message}" for e in v.iter_errors(data)]


@pytest.fixture(scope="module")
def oruk(demo_db: Database) -> Iterator[TestClient]:
    with client_for(demo_db, public_url=PUBLIC_URL) as client:
        yield client


def test_the_validators_flow_finds_no_error_and_no_warning(oruk: TestClient) -> None:
    found: list[str] = []
    root = oruk.get("/oruk/")
    assert root.status_code == 200
    assert root.json()["version"] == "3.0"  # the validator picks the 3.0 specification by it
    openapi = spec_json("openapi.json")
    page = dict(openapi["components"]["schemas"]["Page"])
    page["required"] = list(page["properties"])
    page_validator = Draft202012Validator(page)
    # Every list the profile defines is checked, and the optional organizations too.
    listed = {p for p in openapi["paths"] if p != "/" and "{" not in p}
    assert listed <= set(LISTS)

    for path, (item_schema, by_id, full_schema) in LISTS.items():
        items_v, full_v = (
            schema(item_schema[1], item_schema[0]),
            schema(full_schema[1], full_schema[0]),
        )
        first = oruk.get(f"/oruk{path}", params={"per_page": 5})
        if first.headers.get("content-type") != "application/json":
            found.append(f"{path}: answered {first.headers.get('content-type')}")
            continue
        envelope = first.json()
        pages = envelope["total_pages"]
        seen = 0
        ids: list[str] = []
        for number in sorted({1, (pages + 1) // 2, pages}):
            body = oruk.get(f"/oruk{path}", params={"per_page": 5, "page": number}).json()
            found += problems(page_validator, body, f"{path} page {number}")
            if body["size"] != len(body["contents"]):
                found.append(f"{path} page {number}: size {body['size']} holds a different count")
            if number < pages and len(body["contents"]) != 5:
                found.append(f"{path} page {number} of {pages} is not full")
            if body["empty"] != (not body["contents"]):
                found.append(f"{path} page {number}: empty is {body['empty']}")
            for item in body["contents"]:
                found += problems(items_v, item, f"{path} page {number} item {item.get('id')}")
                ids.append(item["id"])
            seen += len(body["contents"])
        last = oruk.get(f"/oruk{path}", params={"per_page": 5, "page": pages}).json()
        if (pages - 1) * 5 + len(last["contents"]) != envelope["total_items"]:
            found.append(f"{path}: total_items {envelope['total_items']} is not what pages hold")
        beyond = oruk.get(f"/oruk{path}", params={"per_page": 5, "page": pages + 1}).json()
        if beyond["contents"] or not beyond["empty"]:
            found.append(f"{path}: the page past the end is not empty")
        assert seen, f"{path} listed nothing"
        for wanted in ids[:10]:
            response = oruk.get("/oruk" + by_id.replace("{id}", wanted))
            if response.status_code != 200:
                found.append(f"{by_id} {wanted}: {response.status_code}")
                continue
            found += problems(full_v, response.json(), f"{by_id} {wanted}")
        missing = oruk.get("/oruk" + by_id.replace("{id}", "no-such-id"))
        if missing.status_code != 404 or missing.headers["content-type"] != "application/json":
            found.append(f"{by_id}: an unknown id gave {missing.status_code}")
    assert not found, "\n".join(found[:30])


# --- schemathesis over the served OpenAPI document --------------------------------------


@pytest.fixture(scope="module")
def oruk_openapi(demo_db: Database) -> Any:
    app = create_app(get_settings(public_url=PUBLIC_URL), db=demo_db)
    return schemathesis.openapi.from_asgi("/oruk/openapi.json", app)


served = schemathesis.pytest.from_fixture("oruk_openapi")


@served.parametrize()
@hypothesis.settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_schemathesis_finds_nothing(case: Any) -> None:
    # Every check schemathesis has: no 5xx, status codes, content types and headers as
    # documented, responses valid against the profile's schemas, schema-invalid requests
    # refused and schema-valid ones accepted. One exception: a postcode can be well formed
    # and still unknown, and a proximity needs a postcode to measure from; both are rightly a
    # 400 naming the parameter, which a schema cannot express.
    query = case.query or {}
    place = case.operation.path == "/service_at_locations" and (
        "postcode" in query or "proximity" in query
    )
    case.call_and_validate(excluded_checks=[positive_data_acceptance] if place else [])
