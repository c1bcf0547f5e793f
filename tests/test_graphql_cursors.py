# ruff: noqa: F811  (the `world` fixture is imported, then used as an argument)
"""Keyset cursors: a page continues after the last row seen, however many rows came before
it meanwhile; a cursor only continues the connection and order that returned it; a changed
cursor is refused; old 'offset:N' cursors still work during their deprecation window."""

from __future__ import annotations

import base64
import binascii
import itertools
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from api.access import tokens
from api.access.models import Role
from api.audit.log import record
from api.db import Database
from api.directory.enums import (
    Delivery,
    HowToJoin,
    ListedBy,
    ListingStatus,
    ProviderKind,
    Relationship,
)
from api.directory.models import Provider, Session
from tests.conftest import GraphQLClient, client_for
from tests.referral_support import CareWorld, new_referral, world  # noqa: F401 (fixture)

PROVIDERS = """query($first: Int, $after: String) {
  providers(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name } } } }"""
SESSIONS = """query($first: Int, $after: String, $filter: SessionFilter) {
  sessions(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor distanceKm node { title } } } }"""
OF_PROVIDER = """query($id: ID!, $first: Int, $after: String) { provider(id: $id) {
  sessionsConnection(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { title } } } } }"""
AUDIT = """query($first: Int, $after: String) { auditLog(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { action recordId } } } }"""

_numbers = itertools.count(1)


@pytest.fixture()
def api(db: Database) -> Iterator[GraphQLClient]:
    with client_for(db) as client:
        yield GraphQLClient(client)


def _provider(db: Database, name: str) -> int:
    with db.session() as s:
        row = Provider(
            key=f"added-{next(_numbers)}",
            name=name,
            kind=ProviderKind.NTP,
            relationship=Relationship.INFORMAL,
            listed_by=ListedBy.ADDED_BY_LEAD,
            status=ListingStatus.PUBLISHED,
        )
        s.add(row)
        s.commit()
        return row.id


def _session(db: Database, provider_id: int, title: str) -> None:
    with db.session() as s:
        s.add(
            Session(
                provider_id=provider_id,
                key=f"added-{next(_numbers)}",
                title=title,
                delivery=Delivery.ONLINE,
                how_to_join=HowToJoin.DROP_IN,
            )
        )
        s.commit()


def _names(connection: dict, field: str = "name") -> list[str]:
    return [edge["node"][field] for edge in connection["edges"]]


def test_a_provider_added_before_the_page_neither_repeats_nor_skips_one(
    api: GraphQLClient, db: Database
) -> None:
    everyone = _names(api.data(PROVIDERS, first=100)["providers"])
    first = api.data(PROVIDERS, first=2)["providers"]
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    _provider(db, "Aardvark Allotments")  # sorts before the whole first page
    rest = api.data(PROVIDERS, first=100, after=first["pageInfo"]["endCursor"])["providers"]
    assert _names(first) + _names(rest) == everyone  # ("offset:1" repeated the second)
    assert rest["totalCount"] == len(everyone) + 1
    assert rest["pageInfo"]["hasPreviousPage"] and not rest["pageInfo"]["hasNextPage"]


def test_a_session_added_before_the_page_neither_repeats_nor_skips_one(
    api: GraphQLClient, db: Database
) -> None:
    everything = _names(api.data(SESSIONS, first=100)["sessions"], "title")
    assert len(everything) >= 3
    first = api.data(SESSIONS, first=2)["sessions"]
    with db.session() as s:
        provider_id = s.scalars(select(Provider.id)).first()
    _session(db, provider_id, "Aaa added meanwhile")
    rest = api.data(SESSIONS, first=100, after=first["pageInfo"]["endCursor"])["sessions"]
    assert _names(first, "title") + _names(rest, "title") == everything


def test_a_providers_sessions_page_on_by_key(api: GraphQLClient, db: Database) -> None:
    provider_id = _provider(db, "Many Sessions Trust")
    for title in ("Bowls", "Choir", "Darts"):
        _session(db, provider_id, title)
    gid = base64.b64encode(f"Provider:{provider_id}".encode()).decode()
    first = api.data(OF_PROVIDER, id=gid, first=2)["provider"]["sessionsConnection"]
    assert _names(first, "title") == ["Bowls", "Choir"] and first["pageInfo"]["hasNextPage"]
    _session(db, provider_id, "Archery")
    rest = api.data(OF_PROVIDER, id=gid, first=2, after=first["pageInfo"]["endCursor"])
    page = rest["provider"]["sessionsConnection"]
    assert _names(page, "title") == ["Darts"] and not page["pageInfo"]["hasNextPage"]
    assert page["totalCount"] == 4


def test_newest_first_pages_are_not_shifted_by_newer_rows(api: GraphQLClient, db: Database) -> None:
    with db.session() as s:
        _client, token = tokens.create_client(s, role=Role.ADMIN, name="auditor")
        for n in range(1, 6):
            record(s, None, "test.read", "thing", n)
        s.commit()
    api.http.headers["Authorization"] = f"Bearer {token}"
    first = api.data(AUDIT, first=2)["auditLog"]
    seen = [e["node"]["recordId"] for e in first["edges"]]
    with db.session() as s:
        for n in range(6, 9):  # newer: they come before the page
            record(s, None, "test.read", "thing", n)
        s.commit()
    rest = api.data(AUDIT, first=100, after=first["pageInfo"]["endCursor"])["auditLog"]
    more = [e["node"]["recordId"] for e in rest["edges"] if e["node"]["action"] == "test.read"]
    assert seen == [5, 4] and more == [3, 2, 1]


def _error(api: GraphQLClient, query: str, **variables: object) -> dict:
    (error,) = api.errors(query, **variables)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "after"
    return error


def test_a_cursor_only_continues_its_own_connection(mini_api: GraphQLClient) -> None:
    cursor = mini_api.data(PROVIDERS, first=1)["providers"]["pageInfo"]["endCursor"]
    error = _error(mini_api, SESSIONS, first=1, after=cursor)
    assert "this cursor is from `providers`, not `sessions`" in error["message"]


def test_a_cursor_only_continues_its_own_order(mini_api: GraphQLClient) -> None:
    by_title = mini_api.data(SESSIONS, first=1)["sessions"]["pageInfo"]["endCursor"]
    error = _error(mini_api, SESSIONS, first=1, after=by_title, filter={"text": "walk"})
    assert "in another order (by title" in error["message"]
    near = {"near": {"postcode": "AT2 1AA", "radiusKm": 10}}
    by_distance = mini_api.data(SESSIONS, first=1, filter=near)["sessions"]["pageInfo"]
    elsewhere = {"near": {"latitude": 52.65, "longitude": -1.13, "radiusKm": 10}}
    _error(mini_api, SESSIONS, first=1, after=by_distance["endCursor"], filter=elsewhere)


def test_a_changed_cursor_is_refused(mini_api: GraphQLClient) -> None:
    cursor = mini_api.data(PROVIDERS, first=1)["providers"]["pageInfo"]["endCursor"]
    payload, _dot, signature = cursor.partition(".")
    forged = base64.urlsafe_b64encode(
        base64.urlsafe_b64decode(payload + "==").replace(b'"c":"providers"', b'"c":"sessions"')
    )
    for changed in (forged.decode().rstrip("=") + "." + signature, cursor[:-2] + "xx"):
        error = _error(mini_api, SESSIONS, first=1, after=changed)
        assert "is not a valid cursor" in error["message"]


def test_distance_pages_continue_by_distance_then_title(mini_api: GraphQLClient) -> None:
    near = {"near": {"postcode": "AT2 1AA", "radiusKm": 10}}
    whole = mini_api.data(SESSIONS, first=100, filter=near)["sessions"]
    pages, after = [], None
    while True:
        page = mini_api.data(SESSIONS, first=1, after=after, filter=near)["sessions"]
        pages += page["edges"]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert [e["node"] for e in pages] == [e["node"] for e in whole["edges"]]
    assert len(pages) == whole["totalCount"] >= 2
    distances = [e["distanceKm"] for e in pages]
    assert distances == sorted(distances)


@pytest.mark.parametrize("words", ["united", "hall", "knit"])
def test_relevance_pages_continue_by_rank_then_title(mini_api: GraphQLClient, words: str) -> None:
    """The rank (a float, bm25 on SQLite, ts_rank on PostgreSQL) goes into the cursor and
    back into SQL exactly: paging one by one walks the same list as one page."""
    text = {"text": words}
    whole = _names(mini_api.data(SESSIONS, first=100, filter=text)["sessions"], "title")
    walked, after = [], None
    while True:
        page = mini_api.data(SESSIONS, first=1, after=after, filter=text)["sessions"]
        walked += _names(page, "title")
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert walked == whole and len(whole) >= 2


def test_old_offset_cursors_still_work_for_now(mini_api: GraphQLClient) -> None:
    """Deprecated: taken until OFFSET_CURSORS_UNTIL; the page answers with keyset cursors."""
    everyone = _names(mini_api.data(PROVIDERS, first=100)["providers"])
    old = base64.b64encode(b"offset:0").decode()
    page = mini_api.data(PROVIDERS, first=100, after=old)["providers"]
    assert _names(page) == everyone[1:] and page["pageInfo"]["hasPreviousPage"]
    # The answer's cursors are signed keysets (URL-safe), never offsets again.
    cursor = page["edges"][0]["cursor"]
    try:
        decoded = base64.b64decode(cursor, validate=True)
    except binascii.Error:
        decoded = b""
    assert not decoded.startswith(b"offset:")


REFERRALS = """query($after: String) { referrals(first: 2, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }"""


def test_a_referral_received_between_pages_does_not_repeat_one(world: CareWorld) -> None:
    made = [new_referral(world) for _ in range(4)]  # newest last
    gp = world.api("gp")
    first = gp.data(REFERRALS)["referrals"]
    new_referral(world)  # newest: before the first page
    rest = gp.data(REFERRALS, after=first["pageInfo"]["endCursor"])["referrals"]
    ids = [e["node"]["id"] for e in first["edges"] + rest["edges"]]
    assert ids == made[::-1] and len(set(ids)) == 4
    assert rest["totalCount"] == first["totalCount"] + 1
