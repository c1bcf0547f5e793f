"""The public directory API on the small fixed directory (tests/data/mini)."""

import base64

import pytest
from sqlalchemy import orm

from api.db import Database
from api.directory import related, search
from tests.conftest import GraphQLClient

SESSIONS = """
query($filter: SessionFilter, $first: Int, $after: String) {
  sessions(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor distanceKm node { id title } }
  }
}"""


def titles(api: GraphQLClient, **filter: object) -> list[str]:
    data = api.data(SESSIONS, filter=filter)["sessions"]
    assert data["totalCount"] == len(data["edges"])
    return [edge["node"]["title"] for edge in data["edges"]]


ALL = [
    "Bengali men's cookery club",
    "Dog walking",
    "Knit and natter",
    "Telephone befriending",
    "Winter craft fair",
]


def test_domains_with_labels_and_counts(mini_api: GraphQLClient) -> None:
    domains = mini_api.data("{ domains { domain label description sessionCount } }")["domains"]
    assert [d["domain"] for d in domains] == [
        "PHYSICAL_ACTIVITY",
        "HEALTHY_EATING",
        "ARTS_FOR_HEALTH",
        "BEFRIENDING",
        "WELFARE_RIGHTS",
        "VOLUNTEERING",
    ]
    counts = {d["domain"]: d["sessionCount"] for d in domains}
    assert counts == {
        "PHYSICAL_ACTIVITY": 1,
        "HEALTHY_EATING": 1,
        "ARTS_FOR_HEALTH": 2,
        "BEFRIENDING": 2,
        "WELFARE_RIGHTS": 0,
        "VOLUNTEERING": 1,
    }
    assert domains[0]["label"] == "Getting active"


def test_all_sessions_by_title(mini_api: GraphQLClient) -> None:
    assert titles(mini_api) == ALL


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"text": "dog"}, ["Dog walking"]),
        ({"text": "walking dogs"}, ["Dog walking"]),  # stemmed: dogs ~ dog
        ({"text": "natter"}, ["Knit and natter"]),
        # Synonyms (api/directory/search_words.yaml): the words people use for the same thing.
        ({"text": "cooking"}, ["Bengali men's cookery club"]),
        ({"text": "lonely"}, ["Telephone befriending"]),
        ({"text": "rambling dogs"}, ["Dog walking"]),
        ({"text": "knit"}, ["Knit and natter", "Winter craft fair"]),  # prefix: "Knitters"
        ({"text": "united"}, ["Knit and natter", "Winter craft fair"]),  # provider name
        (
            {"text": "hall"},
            ["Bengali men's cookery club", "Knit and natter", "Winter craft fair"],
        ),  # venue name
        ({"text": "zzzz"}, []),
        ({"text": "  '\"*) OR 1=1 --"}, []),  # FTS syntax and SQL are just words here
        ({"domains": ["BEFRIENDING"]}, ["Knit and natter", "Telephone befriending"]),
        (
            {"domains": ["HEALTHY_EATING", "PHYSICAL_ACTIVITY"]},
            ["Bengali men's cookery club", "Dog walking"],
        ),
        ({"daysOfWeek": ["SATURDAY"]}, ["Dog walking", "Winter craft fair"]),
        ({"daysOfWeek": ["TUESDAY"], "timeOfDay": ["EVENING"]}, ["Bengali men's cookery club"]),
        ({"daysOfWeek": ["TUESDAY"], "timeOfDay": ["MORNING"]}, []),
        ({"timeOfDay": ["AFTERNOON"]}, ["Knit and natter", "Winter craft fair"]),
        ({"timeOfDay": "MORNING"}, ["Dog walking", "Telephone befriending"]),
        ({"free": True}, ["Dog walking", "Knit and natter", "Telephone befriending"]),
        ({"free": False}, ["Bengali men's cookery club", "Winter craft fair"]),
        (
            {"accessibility": ["STEP_FREE", "HEARING_LOOP"]},
            ["Bengali men's cookery club", "Knit and natter", "Winter craft fair"],
        ),
        ({"accessibility": ["STEP_FREE", "PARKING"]}, []),
        ({"language": "bn"}, ["Bengali men's cookery club"]),
        ({"language": "BN"}, ["Bengali men's cookery club"]),
        (
            {"howToJoin": ["REFERRAL_ONLY", "BOOK_FIRST"]},
            ["Bengali men's cookery club", "Telephone befriending"],
        ),
        (
            {"text": "club", "domains": ["HEALTHY_EATING"], "free": False},
            ["Bengali men's cookery club"],
        ),
    ],
)
def test_session_filters(mini_api: GraphQLClient, filter: dict, expected: list[str]) -> None:
    # Text results come best match first; compare the sets (expected is alphabetical).
    assert sorted(titles(mini_api, **filter)) == expected


def test_a_reused_search_statement_takes_each_searchs_values(mini_db: Database) -> None:
    """Search statements are built once per shape and cached: the values must still be
    this search's, every time, in either order."""
    from api.directory.enums import Domain, HowToJoin

    def found(**filters: object) -> list[str]:
        def read(db: orm.Session) -> list[str]:
            page = search.search_sessions(db, search.SessionQuery(**filters), offset=0, limit=10)
            rows = related.sessions(db, page.items)
            return sorted(rows[i].session.title for i in page.items)

        return mini_db.read(read)

    for _ in range(2):
        assert found(domains=(Domain.BEFRIENDING,)) == ["Knit and natter", "Telephone befriending"]
        assert found(domains=(Domain.HEALTHY_EATING,)) == ["Bengali men's cookery club"]
        assert found(text="dog", free=True) == ["Dog walking"]
        assert found(text="dog", free=False) == []
        assert found(language="bn", how_to_join=(HowToJoin.BOOK_FIRST,)) == [
            "Bengali men's cookery club"
        ]
        assert found(language="so", how_to_join=(HowToJoin.BOOK_FIRST,)) == []


def locality_id(api: GraphQLClient, name: str) -> str:
    found = api.data("{ localities { id name } }")["localities"]
    return next(loc["id"] for loc in found if loc["name"] == name)


def test_locality_filter_uses_venue_or_provider_locality(mini_api: GraphQLClient) -> None:
    north = locality_id(mini_api, "Testtown North")
    south = locality_id(mini_api, "Testtown South")
    # Telephone befriending has no venue: it is in its provider's locality (north).
    assert titles(mini_api, localityId=north) == [
        "Bengali men's cookery club",
        "Knit and natter",
        "Telephone befriending",
        "Winter craft fair",
    ]
    assert titles(mini_api, localityId=south) == ["Dog walking"]


def test_near_a_postcode_orders_by_distance(mini_api: GraphQLClient) -> None:
    # AT2 1AA is the park; the hall (AT1 1AA) is 5.56 km north of it.
    data = mini_api.data(SESSIONS, filter={"near": {"postcode": "at2 1aa", "radiusKm": 10}})
    edges = data["sessions"]["edges"]
    assert [(e["node"]["title"], e["distanceKm"]) for e in edges] == [
        ("Dog walking", 0.0),
        ("Bengali men's cookery club", 5.56),
        ("Knit and natter", 5.56),
        ("Winter craft fair", 5.56),
    ]
    # A smaller radius leaves the hall out; sessions with no venue are never "near".
    assert titles(mini_api, near={"postcode": "AT2 1AA", "radiusKm": 5}) == ["Dog walking"]
    assert titles(
        mini_api,
        near={"latitude": 52.65, "longitude": -1.13, "radiusKm": 1},
        domains=["ARTS_FOR_HEALTH"],
    ) == ["Knit and natter", "Winter craft fair"]


def test_pagination_walks_every_result_once(mini_api: GraphQLClient) -> None:
    seen, after, pages = [], None, 0
    while True:
        data = mini_api.data(SESSIONS, first=2, after=after)["sessions"]
        assert data["totalCount"] == 5
        seen += [e["node"]["title"] for e in data["edges"]]
        pages += 1
        info = data["pageInfo"]
        assert info["hasPreviousPage"] == (after is not None)
        if not info["hasNextPage"]:
            break
        assert info["endCursor"] == data["edges"][-1]["cursor"]
        after = info["endCursor"]
    assert seen == ALL and pages == 3
    empty = mini_api.data(SESSIONS, first=0)["sessions"]
    assert empty["edges"] == [] and empty["pageInfo"]["endCursor"] is None


def test_pagination_with_near(mini_api: GraphQLClient) -> None:
    near = {"postcode": "AT2 1AA", "radiusKm": 10}
    first = mini_api.data(SESSIONS, filter={"near": near}, first=1)["sessions"]
    rest = mini_api.data(
        SESSIONS, filter={"near": near}, first=10, after=first["pageInfo"]["endCursor"]
    )["sessions"]
    assert first["totalCount"] == rest["totalCount"] == 4
    assert [e["node"]["title"] for e in first["edges"] + rest["edges"]] == [
        "Dog walking",
        "Bengali men's cookery club",
        "Knit and natter",
        "Winter craft fair",
    ]


SESSION_DETAIL = """
query($id: ID!) {
  session(id: $id) {
    id title description delivery howToJoin capacity
    domains languages
    cost { isFree price { amount currency } concessions }
    whoFor { minAge maxAge gender carersWelcome notes }
    contact { name email phone }
    provider { id name kind relationship listedBy verification verifiedAt lastConfirmedAt
               verifiedBy { name } locality { name } }
    venue { id name address postcode latitude longitude accessibility locality { name } }
    schedule { frequency interval byDay daysOfWeek opensAt closesAt startsOn endsOn
               timeOfDay description }
    breaks { startsOn endsOn reason }
    nextOccurrences(first: 3, from: "2026-11-22") { date startsAt endsAt }
  }
}"""


def session_id(api: GraphQLClient, title: str) -> str:
    data = api.data(SESSIONS, filter={"text": title})["sessions"]["edges"]
    return next(e["node"]["id"] for e in data if e["node"]["title"] == title)


def test_session_detail(mini_api: GraphQLClient) -> None:
    sid = session_id(mini_api, "Bengali men's cookery club")
    s = mini_api.data(SESSION_DETAIL, id=sid)["session"]
    assert s["id"] == sid
    assert s["domains"] == ["HEALTHY_EATING"] and s["languages"] == ["bn", "en"]
    assert s["cost"] == {
        "isFree": False,
        "price": {"amount": 2.5, "currency": "GBP"},
        "concessions": "Free for carers",
    }
    assert s["whoFor"]["gender"] == "MEN_ONLY" and s["whoFor"]["minAge"] == 18
    assert s["howToJoin"] == "BOOK_FIRST" and s["delivery"] == "AT_VENUE"
    assert s["provider"]["name"] == "Better Services Testtown"
    assert s["provider"]["kind"] == "LEAD_NTP" and s["provider"]["verification"] == "VERIFIED"
    # A verified entry is "checked by" its locality's lead provider (here: itself).
    assert s["provider"]["verifiedBy"]["name"] == "Better Services Testtown"
    assert s["venue"]["postcode"] == "AT1 1AA"
    assert s["venue"]["accessibility"] == ["STEP_FREE", "ACCESSIBLE_TOILET", "HEARING_LOOP"]
    assert s["schedule"] == [
        {
            "frequency": "MONTHLY",
            "interval": 1,
            "byDay": "1TU,3TU",
            "daysOfWeek": ["TUESDAY"],
            "opensAt": "18:00:00",
            "closesAt": "20:00:00",
            "startsOn": None,
            "endsOn": None,
            "timeOfDay": "EVENING",
            "description": "First and third Tuesday of the month, 6pm to 8pm",
        }
    ]
    assert [o["date"] for o in s["nextOccurrences"]] == ["2026-12-01", "2026-12-15", "2027-01-05"]


def test_breaks_are_skipped_in_next_occurrences(mini_api: GraphQLClient) -> None:
    sid = session_id(mini_api, "Dog walking")
    s = mini_api.data(SESSION_DETAIL, id=sid)["session"]
    assert s["breaks"] == [
        {"startsOn": "2026-12-24", "endsOn": "2027-01-02", "reason": "Christmas"}
    ]
    assert s["provider"]["listedBy"] == "SELF_REGISTERED"
    assert s["provider"]["verifiedBy"] is None
    late = mini_api.data(
        """query($id: ID!) { session(id: $id) {
             nextOccurrences(first: 3, from: "2026-12-20") { date } } }""",
        id=sid,
    )
    assert [o["date"] for o in late["session"]["nextOccurrences"]] == [
        "2026-12-20",
        "2027-01-03",
        "2027-01-09",
    ]


def test_node_resolves_every_type(mini_api: GraphQLClient) -> None:
    sid = session_id(mini_api, "Knit and natter")
    s = mini_api.data(SESSION_DETAIL, id=sid)["session"]
    query = "query($id: ID!) { node(id: $id) { __typename id } }"
    for object_id, typename in [
        (sid, "Session"),
        (s["provider"]["id"], "Provider"),
        (s["venue"]["id"], "Venue"),
        (locality_id(mini_api, "Testtown North"), "Locality"),
    ]:
        assert mini_api.data(query, id=object_id)["node"] == {
            "__typename": typename,
            "id": object_id,
        }


def test_providers_with_their_sessions(mini_api: GraphQLClient) -> None:
    data = mini_api.data("""{ providers { totalCount edges { node {
        name sessions { title } } } } }""")["providers"]
    assert data["totalCount"] == 3
    assert [
        (e["node"]["name"], [s["title"] for s in e["node"]["sessions"]]) for e in data["edges"]
    ] == [
        ("Better Services Testtown", ["Bengali men's cookery club", "Telephone befriending"]),
        ("Knitters United", ["Knit and natter", "Winter craft fair"]),
        ("Testtown Cat and Dog Shelter", ["Dog walking"]),
    ]


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"text": "shelter"}, ["Testtown Cat and Dog Shelter"]),
        ({"text": "50%_"}, []),
        ({"domains": ["ARTS_FOR_HEALTH"]}, ["Knitters United"]),
        ({"kinds": ["LEAD_NTP"]}, ["Better Services Testtown"]),
        ({"listedBy": "SELF_REGISTERED"}, ["Testtown Cat and Dog Shelter"]),
    ],
)
def test_provider_filters(mini_api: GraphQLClient, filter: dict, expected: list[str]) -> None:
    data = mini_api.data(
        """query($f: ProviderFilter) { providers(filter: $f) {
        edges { node { name } } } }""",
        f=filter,
    )
    assert [e["node"]["name"] for e in data["providers"]["edges"]] == expected


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        (SESSIONS, {"first": 101}, "`first` must be between 0 and 100"),
        (SESSIONS, {"first": -1}, "`first` must be between 0 and 100"),
        (SESSIONS, {"after": "nonsense!"}, "is not a valid cursor"),
        (SESSIONS, {"after": b64("Session:1")}, "is not a valid cursor"),
        (SESSIONS, {"filter": {"near": {"postcode": "XX"}}}, "'XX' is not a UK postcode"),
        (
            SESSIONS,
            {"filter": {"near": {"postcode": "ZE3 9ZZ"}}},
            "We do not know where ZE3 9ZZ is",
        ),
        (SESSIONS, {"filter": {"near": {"latitude": 52.1}}}, "give a postcode, or both"),
        (
            SESSIONS,
            {"filter": {"near": {"postcode": "AT1 1AA", "radiusKm": 500}}},
            "`radiusKm` must be more than 0 and at most 50",
        ),
        (
            SESSIONS,
            {"filter": {"domains": ["KNITTING"]}},
            "Value 'KNITTING' does not exist in 'Domain' enum",
        ),
        (SESSIONS, {"filter": {"language": "Bengali"}}, "is not a language code"),
        (SESSIONS, {"filter": {"text": "x" * 201}}, "`filter.text` is too long"),
        (SESSIONS, {"filter": {"localityId": "%%%"}}, "'%%%' is not a valid ID"),
        (
            SESSIONS,
            {"filter": {"localityId": b64("Session:1")}},
            "is the ID of a Session, not of a Locality",
        ),
        ("query($id: ID!) { session(id: $id) { id } }", {"id": "abc"}, "is not a valid ID"),
        (
            "query($id: ID!) { provider(id: $id) { id } }",
            {"id": b64("Session:1")},
            "is the ID of a Session, not of a Provider",
        ),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": b64("Session:x")}, "is not a valid ID"),
        (
            "{ sessions { edges { node { nextOccurrences(first: 50) { date } } } } }",
            {},
            "`first` must be between 1 and 20",
        ),
    ],
)
def test_bad_input_gets_a_clear_error_never_a_500(
    mini_api: GraphQLClient, query: str, variables: dict, message: str
) -> None:
    errors = mini_api.errors(query, **variables)
    assert any(message in e["message"] for e in errors), errors
    assert all(e["message"] != "Unexpected error." for e in errors), errors


def test_unknown_ids_are_null(mini_api: GraphQLClient) -> None:
    data = mini_api.data(
        """query($s: ID!, $p: ID!, $n: ID!) {
        session(id: $s) { id } provider(id: $p) { id } node(id: $n) { id } }""",
        s=b64("Session:99999"),
        p=b64("Provider:99999"),
        n=b64("Widget:1"),
    )
    assert data == {"session": None, "provider": None, "node": None}


def test_query_limits(mini_api: GraphQLClient) -> None:
    deep = (
        "{ sessions { edges { node { provider { sessions { provider { sessions { provider {"
        " sessions { provider { sessions { provider { name } } } } } } } } } } } } }"
    )
    assert "exceeds maximum operation depth" in mini_api.errors(deep)[0]["message"]
    aliases = "{ " + " ".join(f"a{i}: domains {{ label }}" for i in range(30)) + " }"
    assert "aliases found. Allowed: 20" in mini_api.errors(aliases)[0]["message"]


def test_graphiql_is_served(mini_api: GraphQLClient) -> None:
    page = mini_api.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert mini_api.http.get("/healthz").json() == {"status": "ok"}
