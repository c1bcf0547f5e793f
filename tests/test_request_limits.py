"""What one request may ask of the APIs: body size, JSON nesting, odd bodies, overflowing ids
and dates, several operations in one document, and the query cost limit."""

from __future__ import annotations

import asyncio
import base64

import pytest

from api.db import Database
from api.graphql.cost import MAX_COST
from api.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH, json_depth
from tests.conftest import GraphQLClient, StatementCounter

JSON = {"content-type": "application/json"}
DOMAINS = b'{"query": "{ domains { label } }"'


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_a_body_over_the_limit_is_refused_with_413(mini_api: GraphQLClient) -> None:
    padding = b', "extensions": {"pad": "' + b"x" * MAX_BODY_BYTES + b'"}}'
    response = mini_api.http.post("/graphql", content=DOMAINS + padding, headers=JSON)
    assert response.status_code == 413
    assert "larger than 100 KB" in response.json()["errors"][0]["message"]
    oruk = mini_api.http.request("GET", "/oruk/services", content=b"x" * (MAX_BODY_BYTES + 1))
    assert oruk.status_code == 413
    assert "larger than 100 KB" in oruk.json()["error"]


def test_a_body_within_the_limit_is_read(mini_api: GraphQLClient) -> None:
    padding = b', "extensions": {"pad": "' + b"x" * (MAX_BODY_BYTES - 200) + b'"}}'
    response = mini_api.http.post("/graphql", content=DOMAINS + padding, headers=JSON)
    assert response.status_code == 200 and len(response.json()["data"]["domains"]) == 6


@pytest.mark.parametrize("path", ["/graphql", "/oruk/services"])
def test_a_200_mb_body_is_refused_without_reading_it_all(
    mini_api: GraphQLClient, path: str
) -> None:
    """Sent in 1 MB chunks with no Content-Length, straight to the ASGI app (the test client
    would read the whole body first): the app stops asking for more past the limit."""
    app = mini_api.http.app
    asked = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal asked
        asked += 1
        return {"type": "http.request", "body": b"x" * 1024 * 1024, "more_body": asked < 200}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST" if path == "/graphql" else "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
        "app": app,
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert asked == 1, f"read {asked} MB of the body"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 40_000])
def test_deeply_nested_json_is_a_400(mini_api: GraphQLClient, depth: int) -> None:
    body = DOMAINS + b', "variables": {"a": ' + b"[" * depth + b"]" * depth + b"}}"
    response = mini_api.http.post("/graphql", content=body, headers=JSON)
    assert response.status_code == 400
    assert f"nests deeper than {MAX_JSON_DEPTH} levels" in response.text


def test_deeply_nested_variables_in_a_get_are_a_400(mini_api: GraphQLClient) -> None:
    deep = "[" * 40 + "]" * 40
    response = mini_api.http.get(
        "/graphql", params={"query": "{ domains { label } }", "variables": f'{{"a": {deep}}}'}
    )
    assert response.status_code == 400
    assert f"nests deeper than {MAX_JSON_DEPTH} levels" in response.text


def test_json_depth_ignores_brackets_in_strings() -> None:
    assert json_depth(b'{"a": "[[[{{{\\"[[", "b": [[1], {"c": []}]}') == 4
    assert json_depth(b"42") == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"query": "{ domains { label } }", "x": "\xff"}', "not UTF-8"),
        (b"[1, 2]", "must be a JSON object"),
        (b"42", "must be a JSON object"),
        (b'"{ domains { label } }"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b'{"query": ', "is not valid"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400(
    mini_api: GraphQLClient, body: bytes, message: str
) -> None:
    response = mini_api.http.post("/graphql", content=body, headers=JSON)
    assert response.status_code == 400 and message in response.text, response.text
    # Shaped as every other GraphQL error, not plain text.
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST" and message in error["message"]


@pytest.mark.parametrize(
    ("query", "variables", "field", "message"),
    [
        (
            "query($id: ID!) { session(id: $id) { id } }",
            {"id": b64("Session:99999999999999999999")},
            "id",
            "is not a valid ID",
        ),
        (
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": b64("Provider:2147483648")},
            "id",
            "is not a valid ID",
        ),
        (
            "query($id: ID!) { sessions(filter: {providerId: $id}) { totalCount } }",
            {"id": b64("Provider:99999999999999999999")},
            "filter.providerId",
            "is not a valid ID",
        ),
        (
            "query($after: String) { sessions(after: $after) { totalCount } }",
            {"after": b64("offset:99999999999999999999")},
            "after",
            "is not a valid cursor",
        ),
    ],
)
def test_overflowing_ids_and_cursors_are_bad_input(
    mini_api: GraphQLClient, query: str, variables: dict, field: str, message: str
) -> None:
    (error,) = mini_api.errors(query, **variables)
    assert message in error["message"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


@pytest.mark.parametrize("start", ["9999-12-31", "9999-06-30", "9996-12-30"])
def test_next_occurrences_at_the_end_of_the_calendar(mini_api: GraphQLClient, start: str) -> None:
    data = mini_api.data(
        """query($from: Date) { sessions { edges { node {
        nextOccurrences(first: 20, from: $from) { date } } } } }""",
        **{"from": start},
    )
    dates = [o["date"] for e in data["sessions"]["edges"] for o in e["node"]["nextOccurrences"]]
    assert all(start <= d <= "9999-12-31" for d in dates)


def _nest(levels: int, first: int) -> str:
    inner = "title"
    for _ in range(levels):
        inner = f"provider {{ sessions {{ {inner} }} }}"
    return f"sessions(first: {first}) {{ edges {{ node {{ {inner} }} }} }}"


def test_the_issues_aliased_nested_query_is_refused_before_it_runs(
    mini_api: GraphQLClient, mini_db: Database
) -> None:
    """Twenty aliases of sessions(first: 100) > provider > sessions, three deep: within the
    depth, token and alias limits, and 409,060 sessions on a large directory."""
    query = "{ " + " ".join(f"a{i}: {_nest(3, 100)}" for i in range(20)) + " }"
    with StatementCounter(mini_db) as counter:
        body = mini_api.execute(query)
    assert body["data"] is None and counter.count == 0
    (error,) = body["errors"]
    cost = error["extensions"]["cost"]
    assert error["extensions"] == {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": MAX_COST}
    assert cost > MAX_COST
    assert f"up to {cost:,} fields; the limit is {MAX_COST:,}" in error["message"]


NESTED = """query($outer: Int, $inner: Int) { sessions(first: $outer) { edges { node {
  provider { sessionsConnection(first: $inner) { edges { node { title } } } } } } } }"""


def test_the_cost_counts_variables_and_multiplies_nested_pages(mini_api: GraphQLClient) -> None:
    (error,) = mini_api.errors(NESTED, outer=100, inner=100)
    # 2,400 for the search, then 1 + 100 x (edge, node, provider, connection
    # + 100 x (edge, node, title)).
    assert error["extensions"]["cost"] == 2_400 + 1 + 100 * (4 + 100 * 3)
    data = mini_api.data(NESTED, outer=10, inner=10)
    assert len(data["sessions"]["edges"]) == 5


def test_fragments_count_and_cannot_blow_up_the_check(mini_api: GraphQLClient) -> None:
    """Each fragment spreads the next twice: 2^15 copies of `title`, worked out in linear
    time because each fragment is costed once."""
    fragments = " ".join(
        f"fragment F{i} on Session {{ ...F{i + 1} ...F{i + 1} }}" for i in range(15)
    )
    query = (
        "{ sessions(first: 1) { edges { node { ...F0 } } } } "
        + fragments
        + " fragment F15 on Session { title }"
    )
    (error,) = mini_api.errors(query)
    assert error["extensions"]["cost"] == 2_400 + 1 + 1 * (1 + 1 + 2**15)


def test_a_full_page_of_the_sites_search_is_within_the_limit(mini_api: GraphQLClient) -> None:
    query = """{ sessions(first: 100) { totalCount pageInfo { hasNextPage endCursor }
      edges { cursor distanceKm node { id title description domains languages delivery
        cost { isFree price { amount } } provider { id name } venue { name postcode }
        schedule { description } nextOccurrences(first: 3) { date startsAt } } } } }"""
    assert len(mini_api.data(query)["sessions"]["edges"]) == 5


def test_several_operations_without_an_operation_name_are_bad_input(
    mini_api: GraphQLClient,
) -> None:
    document = "query A { domains { label } } query B { localities { name } }"
    (error,) = mini_api.errors(document)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "operationName"}
    assert "2 operations (A, B)" in error["message"]
    response = mini_api.http.post("/graphql", json={"query": document, "operationName": "B"})
    assert list(response.json()["data"]) == ["localities"]


SESSIONS_OF = """query($id: ID!, $first: Int, $after: String) { provider(id: $id) {
  sessions { title }
  sessionsConnection(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { title provider { name } } } } } }"""


def _provider_id(api: GraphQLClient, name: str) -> str:
    data = api.data("{ providers { edges { node { id name } } } }")
    return next(e["node"]["id"] for e in data["providers"]["edges"] if e["node"]["name"] == name)


def test_provider_sessions_is_a_connection(mini_api: GraphQLClient) -> None:
    provider = _provider_id(mini_api, "Knitters United")
    titles, after, pages = [], None, 0
    while True:
        data = mini_api.data(SESSIONS_OF, id=provider, first=1, after=after)["provider"]
        page = data["sessionsConnection"]
        assert page["totalCount"] == 2
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        titles += [e["node"]["title"] for e in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert titles == ["Knit and natter", "Winter craft fair"] and pages == 2
    # The old list is still there, deprecated, and the same.
    assert [s["title"] for s in data["sessions"]] == titles
    deprecated = mini_api.data("""{ __type(name: "Provider") {
        fields(includeDeprecated: true) { name isDeprecated } } }""")["__type"]["fields"]
    assert {"name": "sessions", "isDeprecated": True} in deprecated
    assert {"name": "sessionsConnection", "isDeprecated": False} in deprecated


def test_provider_sessions_pages_are_checked(mini_api: GraphQLClient) -> None:
    provider = _provider_id(mini_api, "Knitters United")
    (error,) = mini_api.errors(SESSIONS_OF, id=provider, first=101)
    assert "`first` must be between 0 and 100" in error["message"]
    (error,) = mini_api.errors(SESSIONS_OF, id=provider, after="nonsense!")
    assert error["extensions"]["field"] == "after"
    data = mini_api.data(SESSIONS_OF, id=provider, first=5, after=b64("offset:7"))
    assert data["provider"]["sessionsConnection"]["edges"] == []
    assert data["provider"]["sessionsConnection"]["totalCount"] == 2


PAGES = """query($first: Int) { providers(first: 3) { edges { node {
  a: sessionsConnection(first: $first) { edges { node { title venue { name } schedule { byDay } } }
  }
  b: sessionsConnection(first: $first, after: "b2Zmc2V0OjA=") { totalCount edges { node { id } } }
  c: sessions { title venue { name } }
} } } }"""


def test_provider_session_pages_take_the_same_statements_whatever_their_size(
    mini_api: GraphQLClient, mini_db: Database
) -> None:
    """Statements grow with the distinct windows asked for (here three: a, b, and the
    deprecated list's first 100), never with their size or the number of providers."""
    counts = {}
    for first in (1, 2, 99):
        with StatementCounter(mini_db) as counter:
            data = mini_api.data(PAGES, first=first)
        edges = [e["node"]["a"]["edges"] for e in data["providers"]["edges"]]
        assert max(len(e) for e in edges) == min(first, 2)
        counts[first] = counter.count
    assert counts[1] == counts[2] == counts[99], counts


def test_the_schema_states_the_limits(mini_api: GraphQLClient) -> None:
    data = mini_api.data("""{ __type(name: "Query") { description
        fields { name args { name description } } } }""")["__type"]
    for limit in ("10,000", "2,400", "10 levels", "2,000 tokens", "20 aliases", "100 KB", "32"):
        assert limit in data["description"], limit
    sessions = next(f for f in data["fields"] if f["name"] == "sessions")
    first = next(a for a in sessions["args"] if a["name"] == "first")
    assert "at most 100" in first["description"] and "cost" in first["description"]
