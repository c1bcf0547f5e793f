"""What a client generator reads from the schema, and the answers that go with it: one enum
for one idea (the replaced ones deprecated, naming the replacement), money as a Decimal,
custom scalars with descriptions and `@specifiedBy`, defaults and caps in descriptions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from api.db import Database
from api.registration.models import Registration
from tests.conftest import GraphQLClient, client_for
from tests.mailbox import Mailbox

TYPE = """query($name: String!) { __type(name: $name) {
  description specifiedByURL
  fields(includeDeprecated: true) { name description isDeprecated deprecationReason
    type { name ofType { name } } args { name description } }
  inputFields(includeDeprecated: true) { name description isDeprecated deprecationReason }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } } }"""


def _type(api: GraphQLClient, name: str) -> dict:
    return api.data(TYPE, name=name)["__type"]


def _by_name(items: list[dict]) -> dict[str, dict]:
    return {item["name"]: item for item in items}


def test_the_custom_scalars_say_what_they_are_and_where_it_is_specified(
    mini_api: GraphQLClient,
) -> None:
    for name, words in (
        ("Date", "'2026-09-14'"),
        ("Time", "'14:30:00'"),
        ("DateTime", "+00:00"),
        ("Decimal", "'2.50'"),
        ("JSON", "JSON value"),
    ):
        scalar = _type(mini_api, name)
        assert scalar["specifiedByURL"].startswith("https://"), name
        assert words in scalar["description"], name


def test_money_is_a_decimal_and_the_float_is_deprecated(mini_api: GraphQLClient) -> None:
    money = _by_name(_type(mini_api, "Money")["fields"])
    assert money["value"]["type"]["ofType"]["name"] == "Decimal"
    assert money["amount"]["isDeprecated"] and "`value`" in money["amount"]["deprecationReason"]
    data = mini_api.data("""{ sessions(filter: {text: "cookery"}) { edges { node {
      cost { price { value amount currency } } } } } }""")
    (edge,) = data["sessions"]["edges"]
    assert edge["node"]["cost"]["price"] == {"value": "2.50", "amount": 2.5, "currency": "GBP"}


def test_one_enum_for_where_and_one_for_how_often(mini_api: GraphQLClient) -> None:
    for old, new in (("PlaceKind", "Delivery"), ("HowOften", "Frequency")):
        for value in _type(mini_api, old)["enumValues"]:
            assert (
                value["isDeprecated"]
                and f"`{new}" in value["deprecationReason"]
                or ("`frequency" in value["deprecationReason"])
            ), value
        assert f"`{new}`" in _type(mini_api, old)["description"]
    fields = _by_name(_type(mini_api, "RegisterProviderInput")["inputFields"])
    assert "`delivery`" in fields["where"]["deprecationReason"]
    assert "`frequency`" in fields["howOften"]["deprecationReason"]
    assert not fields["delivery"]["isDeprecated"] and not fields["frequency"]["isDeprecated"]


def test_defaults_and_caps_are_in_the_descriptions(mini_api: GraphQLClient) -> None:
    query = _by_name(_type(mini_api, "Query")["fields"])
    for connection in ("sessions", "providers", "referrals", "auditLog", "moderationQueue"):
        args = _by_name(query[connection]["args"])
        assert "20 when not given, at most 100" in args["first"]["description"], connection
        assert "refused" in args["after"]["description"], connection
    session = _by_name(_type(mini_api, "Session")["fields"])
    first = _by_name(session["nextOccurrences"]["args"])["first"]
    assert "5 when not given, from 1 to 20" in first["description"]


REGISTER = """mutation($input: RegisterProviderInput!) { registerProvider(input: $input) {
  registration { id } errors { field message code } } }"""
BASE = {
    "organisation": "Fortnightly Folk",
    "title": "Folk singing",
    "description": "Sing old songs together.",
    "domains": ["ARTS_FOR_HEALTH"],
    "when": "TIMES",
    "days": ["TUESDAY"],
    "startsAt": "7pm",
    "email": "folk@example.org",
    "showEmail": True,
}


@pytest.fixture()
def api(db: Database, mailbox: Mailbox, tmp_path) -> Iterator[GraphQLClient]:
    with client_for(db, data_dir=tmp_path, **mailbox.settings()) as client:
        yield GraphQLClient(client)


def test_registration_takes_delivery_and_frequency(api: GraphQLClient, db: Database) -> None:
    """Also: `firstDate` (an ISO date) is read as such, not day first (1 December, not
    12 January)."""
    new = {**BASE, "delivery": "ONLINE", "frequency": "WEEKLY", "interval": 2}
    new["firstDate"] = "2026-12-01"
    done = api.data(REGISTER, input=new)["registerProvider"]
    assert done["errors"] == [], done
    old = {**BASE, "where": "ONLINE", "howOften": "FORTNIGHTLY", "firstDate": "2026-12-01"}
    old.update(organisation="Old Style Folk", submissionKey="old")
    assert api.data(REGISTER, input=old)["registerProvider"]["errors"] == []
    with db.session() as s:
        answers = [r.answers for r in s.scalars(select(Registration).order_by(Registration.id))]
    assert [(a["where"], a["how_often"]) for a in answers] == [("ONLINE", "FORTNIGHTLY")] * 2

    missing = api.data(REGISTER, input={**BASE, "organisation": "Nowhere"})["registerProvider"]
    assert {(e["field"], e["code"]) for e in missing["errors"]} == {("input.delivery", "REQUIRED")}
    odd = {**BASE, "delivery": "ONLINE", "frequency": "WEEKLY", "interval": 3}
    errors = api.data(REGISTER, input=odd)["registerProvider"]["errors"]
    assert [e["field"] for e in errors] == ["input.frequency"]
