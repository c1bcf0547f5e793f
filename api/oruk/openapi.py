"""The OpenAPI document Petunia serves at ``/oruk/openapi.json``, and the ORUK schemas.

Built from the Open Referral UK profile's own files, vendored unchanged in ``spec/`` (CC BY-SA
4.0, see ``spec/LICENSE``). The upstream document cannot be used as it is, so the served one:

- bundles the schemas it points at on the web (``$ref`` to raw.githubusercontent.com) into
  ``components/schemas``, so it resolves offline, and says OpenAPI 3.1 (full JSON Schema,
  which is what the ORUK schemas are written in);
- states what each parameter accepts (api/oruk/parameters.py), which also corrects
  ``start_time`` and ``end_time`` (``"type": "time"`` is not a JSON Schema type);
- documents what Petunia adds within HSDS 3.0: the ``modified_after`` and ``organization_id``
  filters, ``/organizations`` and ``/organizations/{id}``, ``/openapi.json``, and the JSON
  ``400`` and ``404`` answers;
- points ``/service_at_locations/{id}`` at the service-at-location schema (upstream names the
  service schema there, which a service at a location cannot satisfy).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from api.oruk.parameters import DESCRIPTIONS, SCHEMAS

SPEC = Path(__file__).resolve().parent / "spec"

# Schemas served in components: name -> (folder in spec/, file stem).
_SCHEMAS = {
    "service": ("schema", "service"),
    "service_list": ("schema", "service_list"),
    "service_at_location": ("schema", "service_at_location"),
    "service_at_location_list": ("schema", "service_at_location_list"),
    "organization": ("schema", "organization"),
    "organization_list": ("schema", "organization_list"),
    "taxonomy": ("schema-src", "taxonomy"),
    "taxonomy_term": ("schema-src", "taxonomy_term"),
}

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "What was wrong, for a person to act on."},
        "field": {"type": "string", "description": "The parameter that was wrong, if one was."},
    },
}


def spec_json(*parts: str) -> Any:
    """A file of the vendored ORUK profile, parsed."""
    return json.loads(SPEC.joinpath(*parts).read_text(encoding="utf-8"))


def _local_refs(node: Any) -> Any:
    """Rewrite references to schema files ("taxonomy_term.json", or the profile's copies on
    the web) to the bundled components."""
    if isinstance(node, dict):
        out = {k: _local_refs(v) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.endswith(".json"):
            stem = ref.rsplit("/", 1)[-1].removesuffix(".json")
            out["$ref"] = f"#/components/schemas/{stem}"
        return out
    if isinstance(node, list):
        return [_local_refs(v) for v in node]
    return node


def _response(description: str, ref: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": ref}}},
    }


def _page_of(ref: str) -> dict[str, Any]:
    return {
        "allOf": [{"$ref": "#/components/schemas/Page"}],
        "properties": {"contents": {"type": "array", "items": {"$ref": ref}}},
    }


def _id_parameter(what: str) -> dict[str, Any]:
    return {
        "in": "path",
        "name": "id",
        "required": True,
        "description": f"The id of the {what}.",
        "schema": {"type": "string"},
    }


_BAD = _response("A parameter was wrong: `field` names it.", "#/components/schemas/Error")
_MISSING = _response("Nothing has that id.", "#/components/schemas/Error")


def openapi_document(public_url: str) -> dict[str, Any]:
    """The document, with this deployment's address as its server."""
    return {**_bundled(), "servers": [{"url": public_url.rstrip("/") + "/oruk"}]}


@cache
def _bundled() -> dict[str, Any]:
    doc = copy.deepcopy(spec_json("openapi.json"))
    doc["openapi"] = "3.1.0"
    doc["info"]["description"] += (
        " As served by Petunia: the profile's schemas bundled, with Petunia's additions"
        " (organizations, modified_after and organization_id filters, JSON errors)."
    )
    components = doc["components"]
    schemas = components.setdefault("schemas", {})
    for name, (folder, stem) in _SCHEMAS.items():
        schemas[name] = _local_refs(spec_json(folder, f"{stem}.json"))
    schemas["Error"] = _ERROR
    parameters = components["parameters"]
    # What Petunia accepts, exactly (api/oruk/parameters.py): this also corrects the
    # upstream "type": "time", which is not a JSON Schema type.
    for name, schema in SCHEMAS.items():
        parameters[name]["schema"] = schema
    for name, description in DESCRIPTIONS.items():
        parameters[name]["description"] = description

    paths: dict[str, Any] = _local_refs(doc["paths"])
    for path, item in paths.items():
        get = item["get"]
        responses = get["responses"]
        if path.endswith("{id}"):
            responses["404"] = _MISSING
        elif path != "/":
            responses["400"] = _BAD
        if path in ("/services", "/service_at_locations"):
            for extra in ("modified_after", "organization_id"):
                get["parameters"].append({"$ref": f"#/components/parameters/{extra}"})
    paths["/service_at_locations/{id}"]["get"]["responses"]["200"] = _response(
        "A service at a location, fully nested.", "#/components/schemas/service_at_location"
    )
    paths["/organizations"] = {
        "get": {
            "summary": "Paginated listing of organizations (HSDS 3.0, optional).",
            "operationId": "getOrganizations",
            "parameters": [
                {"$ref": "#/components/parameters/search"},
                {"$ref": "#/components/parameters/page"},
                {"$ref": "#/components/parameters/per_page"},
            ],
            "responses": {
                "200": {
                    "description": "A page of organizations, one-to-one fields only.",
                    "content": {
                        "application/json": {
                            "schema": _page_of("#/components/schemas/organization_list")
                        }
                    },
                },
                "400": _BAD,
            },
        }
    }
    paths["/organizations/{id}"] = {
        "parameters": [_id_parameter("organization")],
        "get": {
            "summary": "One organization, with its identifiers and services.",
            "operationId": "getOrganizationById",
            "responses": {
                "200": _response(
                    "An organization, fully nested.", "#/components/schemas/organization"
                ),
                "404": _MISSING,
            },
        },
    }
    doc["paths"] = paths
    return doc
