"""Every operation of the GraphQL schema, read from the schema itself (so new ones are
covered), written with fictional personal identifiers: inline and with variables, with values
chosen by argument name so that most can succeed, and wrong on purpose. For tests that follow
what a caller sends wherever it could end up (tests/test_logs.py)."""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
)

from api.graphql.schema import build_schema
from tests.referral_support import nhs_number

NHS = nhs_number(731_004)
GIVEN, FAMILY = "Zebedee", "Quokkaworth"
DOB = "1937-06-23"
PHONE = "01632 960777"
EMAIL = "zebedee.quokkaworth@example.org"
REASON = "Xanthippe-lonely since spring; type 2 diabetes"
TEXT = f"{GIVEN} {FAMILY} born {DOB}, {NHS}, {PHONE}: {REASON}"
# What must never be in a log, in the forms it could take there (a query string encodes it).
_PLAIN = (NHS, f"{NHS[:3]} {NHS[3:6]} {NHS[6:]}", GIVEN, FAMILY, DOB, PHONE, "Xanthippe")
SECRETS = tuple({form for s in _PLAIN for form in (s, s.replace(" ", ""), quote_plus(s), quote(s))})


class Enum(str):
    """An enum value: written bare in a document, as a string in variables."""


# Values chosen by name, so that most operations can succeed as well as fail.
HINTS: dict[str, object] = {
    "nhsNumber": NHS,
    "givenName": GIVEN,
    "familyName": FAMILY,
    "dateOfBirth": DOB,
    "phone": PHONE,
    "email": EMAIL,
    "reporterEmail": EMAIL,
    "preferredLanguage": "en",
    "language": "en",
    "languages": ["en"],
    "postcode": "LS1 4AP",
    "organisation": f"{FAMILY} Walking Club",
    "title": f"Walks with {GIVEN}",
    "url": f"https://{FAMILY.lower()}.example.org/hook",
    "website": f"https://{FAMILY.lower()}.example.org/",
    "startsAt": "10:00",
    "endsAt": "11:00",
    "from": "2025-11-01",
    "to": "2026-10-31",
    "first": 5,
    "after": None,
    "instrumentKey": "ons4",
    "recordedAt": None,
    "latitude": None,
    "longitude": None,
    "radiusKm": 5.0,
    "monthWeeks": None,
    "costAmount": None,
    "clientId": 1,
    "submissionKey": None,
    "localityId": None,
    "practiceOdsCode": "C81001",
    # Coded equality data (api/referrals/equality.py): a code from each list.
    "sex": "2",
    "ethnicCategory": "A",
    "longTermConditions": ["diabetes"],
    "declined": [],  # answered above, so none declined (both at once is an error)
}


def literal(value: object) -> str:
    """``value`` written inline in a GraphQL document."""
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return json.dumps(value)


@dataclass
class Ids:
    """Real global IDs, so that operations on objects can succeed."""

    by_arg: dict[tuple[str, str], str] = field(default_factory=dict)

    def get(self, operation: str, arg: str) -> str:
        fake = base64.b64encode(f"{GIVEN}:{NHS}".encode()).decode()
        return self.by_arg.get((operation, arg), self.by_arg.get(("*", arg), fake))


def value_for(name: str, type_: Any, operation: str, ids: Ids) -> object:
    required = isinstance(type_, GraphQLNonNull)
    inner = type_.of_type if required else type_
    if name in HINTS and not (required and HINTS[name] is None):
        return HINTS[name]
    if isinstance(inner, GraphQLList):
        return [value_for(name, inner.of_type, operation, ids)]
    if isinstance(inner, GraphQLInputObjectType):
        values = {key: value_for(key, f.type, operation, ids) for key, f in inner.fields.items()}
        return {k: v for k, v in values.items() if v is not None}
    if isinstance(inner, GraphQLEnumType):
        return Enum(next(iter(inner.values)))
    assert isinstance(inner, GraphQLScalarType), inner
    scalar = inner.name
    if scalar == "ID":
        return ids.get(operation, name)
    if scalar == "String":
        return TEXT
    if not required:
        return None  # optional non-text values: left out, so the request can succeed
    return {
        "Int": 1,
        "Float": 1.0,
        "Boolean": True,
        "Date": "2026-06-01",
        "DateTime": "2026-06-01T10:00:00+00:00",
        "Decimal": "2.50",
    }[scalar]


def selection(type_: Any, depth: int = 0) -> str:
    """Every scalar field (and objects a few levels down) that needs no argument."""
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        type_ = type_.of_type
    if isinstance(type_, (GraphQLUnionType, GraphQLInterfaceType)):
        return "{ __typename }"
    if not isinstance(type_, GraphQLObjectType):
        return ""
    parts = ["__typename"]
    for name, f in type_.fields.items():
        # Deprecated fields are left out, as a current client would: with them, a selection
        # of everything can pass the query cost limit (Provider.sessions counts 100).
        if f.deprecation_reason or any(isinstance(a.type, GraphQLNonNull) for a in f.args.values()):
            continue
        sub = selection(f.type, depth + 1) if depth < 3 else ""
        leaf = not isinstance(_named(f.type), (GraphQLObjectType, GraphQLInterfaceType))
        if leaf:
            parts.append(name)
        elif sub:
            parts.append(f"{name} {sub}")
    return "{ " + " ".join(parts) + " }"


def _named(type_: Any) -> Any:
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        type_ = type_.of_type
    return type_


@dataclass
class Operation:
    kind: str  # "query" or "mutation"
    name: str
    field: GraphQLField

    def values(self, ids: Ids) -> dict[str, object]:
        values = {a: value_for(a, arg.type, self.name, ids) for a, arg in self.field.args.items()}
        return {k: v for k, v in values.items() if v is not None}

    def inline(self, ids: Ids, extra: str = "") -> str:
        args = [f"{k}: {literal(v)}" for k, v in self.values(ids).items()]
        if extra:
            args.append(extra)
        call = f"{self.name}({', '.join(args)})" if args else self.name
        return f"{self.kind} {{ {call} {selection(self.field.type)} }}"

    def with_variables(self, ids: Ids) -> tuple[str, dict[str, object]]:
        values = self.values(ids)
        if not values:
            return self.inline(ids), {}
        params = ", ".join(f"${k}: {self.field.args[k].type}" for k in values)
        call = f"{self.name}({', '.join(f'{k}: ${k}' for k in values)})"
        document = f"{self.kind} Call({params}) {{ {call} {selection(self.field.type)} }}"
        return document, values


@functools.cache
def operations() -> tuple[Operation, ...]:
    schema = build_schema(production=False)._schema
    return tuple(
        Operation(kind, name, f)
        for kind, root in (("query", schema.query_type), ("mutation", schema.mutation_type))
        if root is not None
        for name, f in root.fields.items()
    )


def wrong_types(value: object) -> object:
    """The same variables with every enum and number replaced by the identifiers."""
    if isinstance(value, dict):
        return {k: wrong_types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wrong_types(v) for v in value]
    if isinstance(value, (Enum, int, float)) and not isinstance(value, bool):
        return TEXT
    return value


def operations_by_name() -> dict[str, Operation]:
    return {op.name: op for op in operations()}


def leaks(log: str) -> list[str]:
    """Each log line holding an identifier (case does not matter: emails are lower case)."""
    found = []
    for line in log.splitlines():
        lowered = line.lower()
        if any(secret.lower() in lowered for secret in SECRETS):
            found.append(line[:300])
    return found
