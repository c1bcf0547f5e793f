"""Shared set-up for the referral and outcome tests: the demo directory with its outcome
instruments, one API client per role (and a second practice and lead provider to prove
they cannot see each other's referrals), and helpers to call the API as each."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from api.access import tokens
from api.access.models import Role
from api.db import Database
from api.directory.models import Provider, Session
from api.outcomes.instruments import load_instruments
from tests.conftest import DEMO, _loaded, client_for

# Anytown North: practice C81001 (link worker Priya Shah), lead provider better-services.
# Anytown East: practice C81004, lead provider eastside-community-trust.
ENCRYPTION_KEY = "test-encryption-key-0123456789abcdef"
_numbers = itertools.count(1)


def nhs_number(n: int | None = None) -> str:
    """A valid NHS number from the reserved test range (999 ...)."""
    from api.referrals.nhs_number import check_digit

    given = n is not None
    n = n if given else next(_numbers)
    while True:
        nine = f"999{n:06d}"
        digit = check_digit(nine)
        if digit is not None:
            return nine + str(digit)
        n = n + 1 if given else next(_numbers)


@dataclass
class Api:
    """GraphQL as one client (a role)."""

    http: TestClient
    token: str | None

    def execute(self, query: str, **variables: object) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, query: str, **variables: object) -> dict:
        body = self.execute(query, **variables)
        assert not body.get("errors"), body["errors"]
        return body["data"]


@dataclass
class CareWorld:
    db: Database
    http: TestClient
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def api(self, who: str | None) -> Api:
        return Api(self.http, self.tokens[who] if who else None)

    def session_id(self, provider_key: str) -> int:
        with self.db.session() as s:
            return s.scalars(
                select(Session.id)
                .join(Provider, Provider.id == Session.provider_id)
                .where(Provider.key == provider_key)
                .order_by(Session.id)
            ).first()


CLIENTS = {
    "gp": dict(role=Role.GP_PRACTICE, practice="C81001"),
    "gp_other": dict(role=Role.GP_PRACTICE, practice="C81004"),
    "lead": dict(role=Role.LEAD_PROVIDER, provider="better-services"),
    "lead_other": dict(role=Role.LEAD_PROVIDER, provider="eastside-community-trust"),
    "provider": dict(role=Role.PROVIDER, provider="anytown-carers-centre"),  # sub-contracted
    "provider_informal": dict(role=Role.PROVIDER, provider="anytown-cat-and-dog-shelter"),
    "commissioner": dict(role=Role.COMMISSIONER),
    "admin": dict(role=Role.ADMIN),
}


def make_world(url: str, **settings: object) -> Iterator[CareWorld]:
    db = _loaded(url, DEMO)
    with db.session() as s:
        load_instruments(s, DEMO / "outcomes")
    world_tokens = {}
    with db.session() as s:
        for name, kwargs in CLIENTS.items():
            _client, token = tokens.create_client(s, name=name, **kwargs)
            world_tokens[name] = token
    settings.setdefault("encryption_key", ENCRYPTION_KEY)
    with client_for(db, **settings) as http:
        yield CareWorld(db, http, world_tokens)
    db.dispose()


@pytest.fixture(scope="module")
def world(new_database_url: Callable[[], str]) -> Iterator[CareWorld]:
    yield from make_world(new_database_url())


CREATE = """
mutation($input: CreateReferralInput!, $key: String!) {
  createReferral(input: $input, idempotencyKey: $key) {
    created
    referral { id status contactDueOn practice { odsCode } linkWorker { name } }
    errors { field message code }
  }
}"""


def referral_input(**overrides: object) -> dict:
    person = {
        "nhsNumber": nhs_number(),
        "givenName": "Ada",
        "familyName": "Testperson",
        "dateOfBirth": "1950-03-14",
        "contact": {"preferredMethod": "PHONE", "phone": "07700 900123"},
        "preferredLanguage": "en",
        "needsInterpreter": False,
    }
    person.update(overrides.pop("person", {}))  # type: ignore[arg-type]
    value = {
        "person": person,
        "reason": "Lonely since her husband died; type 2 diabetes.",
        "whatMatters": "Getting out of the house and meeting people.",
        "domains": ["BEFRIENDING", "PHYSICAL_ACTIVITY"],
        "consent": {"toBeReferred": True, "toShareOutcomesWithPractice": True},
        "urgency": "ROUTINE",
        "notes": "Prefers mornings.",
    }
    value.update(overrides)
    return value


def create(world: CareWorld, who: str = "gp", key: str | None = None, **overrides: object) -> dict:
    body = world.api(who).data(
        CREATE, input=referral_input(**overrides), key=key or str(uuid.uuid4())
    )
    return body["createReferral"]


def new_referral(world: CareWorld, who: str = "gp", **overrides: object) -> str:
    result = create(world, who, **overrides)
    assert result["errors"] == [], result
    return result["referral"]["id"]


SET_STATUS = """
mutation($id: ID!, $status: ReferralStatus!, $note: String) {
  updateReferralStatus(id: $id, status: $status, note: $note) {
    referral { id status }
    errors { field message code }
  }
}"""

ASSESS = """
mutation($input: AssessmentInput!) {
  recordAssessment(input: $input) {
    referral { id assessment { supportLevel goals actionPlan } }
    errors { field message code }
  }
}"""


def move(world: CareWorld, referral_id: str, *statuses: str, who: str = "lead") -> None:
    for status in statuses:
        if status == "ASSESSED":
            assess(world, referral_id, who=who)
        result = world.api(who).data(SET_STATUS, id=referral_id, status=status)
        assert result["updateReferralStatus"]["errors"] == [], (status, result)


def assess(world: CareWorld, referral_id: str, who: str = "lead") -> dict:
    result = world.api(who).data(
        ASSESS,
        input={
            "referralId": referral_id,
            "supportLevel": "MEDIUM",
            "goals": ["Walk to the shops again"],
            "actionPlan": "Try the Tuesday walking group with a buddy.",
            "coMorbidities": 2,
            "mentalHealthNeed": True,
        },
    )["recordAssessment"]
    assert result["errors"] == [], result
    return result
