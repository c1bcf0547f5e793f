"""The shipped demo directory (Anytown) and the API on it, including the DataLoader proof."""

import pytest
from sqlalchemy import func, select

from api.db import Database
from api.directory.enums import Frequency
from api.directory.models import GpPractice, Provider, Schedule, Session, SessionBreak
from tests.conftest import GraphQLClient, StatementCounter


def test_size_and_coverage(demo_db: Database) -> None:
    with demo_db.session() as db:
        assert db.scalar(select(func.count()).select_from(Provider)) >= 40
        assert db.scalar(select(func.count()).select_from(Session)) >= 150
        rules = db.execute(select(Schedule.freq, Schedule.interval, Schedule.byday)).all()
        assert db.scalar(select(func.count()).select_from(SessionBreak)) > 0
        practices = db.scalars(select(GpPractice)).all()
    kinds = {
        "weekly": any(f == Frequency.WEEKLY and i == 1 and "," not in b for f, i, b in rules),
        "several days": any(f == Frequency.WEEKLY and "," in b for f, i, b in rules),
        "fortnightly": any(f == Frequency.WEEKLY and i == 2 for f, i, b in rules),
        "nth weekday": any(f == Frequency.MONTHLY and b[0].isdigit() for f, i, b in rules),
        "last weekday": any(f == Frequency.MONTHLY and b.startswith("-1") for f, i, b in rules),
        "one-off": any(f == Frequency.ONCE for f, i, b in rules),
    }
    assert all(kinds.values()), kinds
    assert len(practices) >= 6 and all(p.link_worker_id for p in practices)


def test_every_domain_has_sessions(demo_api: GraphQLClient) -> None:
    domains = demo_api.data("{ domains { domain sessionCount } }")["domains"]
    assert len(domains) == 6 and all(d["sessionCount"] >= 10 for d in domains), domains


FIND = """query($f: SessionFilter) { sessions(filter: $f, first: 100) { edges { node {
  title domains cost { isFree } howToJoin languages whoFor { gender }
  provider { name relationship } venue { accessibility } description } } } }"""


def find(api: GraphQLClient, **f: object) -> list[dict]:
    return [e["node"] for e in api.data(FIND, f=f)["sessions"]["edges"]]


def test_the_cat_and_dog_shelter_lists_its_dog_walking(demo_api: GraphQLClient) -> None:
    walks = [s for s in find(demo_api, text="dog walking") if "Shelter" in s["provider"]["name"]]
    assert walks, "the cat and dog shelter's dog walking is missing"
    walk = walks[0]
    assert "PHYSICAL_ACTIVITY" in walk["domains"] and walk["cost"]["isFree"]
    assert walk["provider"]["relationship"] == "INFORMAL"


@pytest.mark.parametrize(
    ("filter", "check"),
    [
        (
            {"language": "bn", "domains": ["HEALTHY_EATING"]},
            lambda s: s["whoFor"]["gender"] == "MEN_ONLY",
        ),
        ({"text": "knit natter", "domains": ["ARTS_FOR_HEALTH"]}, lambda s: True),
        (
            {"text": "raised beds", "accessibility": ["STEP_FREE"]},
            lambda s: "PHYSICAL_ACTIVITY" in s["domains"],
        ),
        (
            {"text": "Citizens Advice", "domains": ["WELFARE_RIGHTS"], "howToJoin": ["DROP_IN"]},
            lambda s: True,
        ),
        ({"domains": ["BEFRIENDING"], "text": "befriending"}, lambda s: True),
        ({"domains": ["VOLUNTEERING"], "text": "volunteering hub"}, lambda s: True),
        ({"text": "swim", "free": False}, lambda s: s["whoFor"]["gender"] == "WOMEN_ONLY"),
    ],
)
def test_the_sessions_the_guidance_names_are_there(
    demo_api: GraphQLClient, filter: dict, check
) -> None:
    found = [s for s in find(demo_api, **filter) if check(s)]
    assert found, f"nothing for {filter}"


NESTED_SESSIONS = """query($first: Int) { sessions(first: $first) { totalCount edges { node {
  id title domains languages cost { isFree price { amount } }
  provider { name locality { name } }
  venue { name postcode accessibility locality { name } }
  schedule { byDay opensAt description } breaks { startsOn }
  nextOccurrences(first: 2, from: "2026-11-22") { date } } } } }"""

NESTED_PROVIDERS = """query($first: Int) { providers(first: $first) { edges { node {
  name locality { name leadProvider { name } }
  sessionsConnection(first: 3) { totalCount edges { node {
    title venue { name accessibility } schedule { byDay } } } } } } } }"""


@pytest.mark.parametrize("query", [NESTED_SESSIONS, NESTED_PROVIDERS])
def test_statements_do_not_grow_with_the_page(
    demo_db: Database, demo_api: GraphQLClient, query: str
) -> None:
    counts = {}
    # The total of a list in title order is counted once per version of the directory
    # (api/directory/search.py): count it before the pages are compared.
    demo_api.data(query, first=1)
    for first in (5, 40, 100):
        with StatementCounter(demo_db) as counter:
            data = demo_api.data(query, first=first)
        edges = next(iter(data.values()))["edges"]
        assert len(edges) == min(first, 45 if "providers" in query else 100)
        counts[first] = counter.count
    assert 0 < counts[5] == counts[40] == counts[100], counts
