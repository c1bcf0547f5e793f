"""What one request may ask of the APIs: body size, JSON nesting, odd bodies, overflowing ids
and dates, several operations in one document, and the query cost limit."""

from __future__ import annotations

import asyncio
import base64

import pytest

from api.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH, json_depth
from tests.conftest import GraphQLClient

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
