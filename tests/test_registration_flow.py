"""Registration through the real app: the form, the emailed links (a real SMTP server), the
moderation queue and what the directory shows afterwards."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from api.access import tokens
from api.access.models import Role
from api.audit.models import AuditEvent
from api.db import Database
from api.directory.loading import load_directory
from api.registration.models import Registration, RegistrationStatus
from tests.conftest import MINI, GraphQLClient, client_for
from tests.mailbox import Mailbox, running_mailbox
from tests.staff_support import staff_sign_in

SHELTER = {
    "organisation": "Northfield Cat & Dog Rescue",
    "title": "Dog walking",
    "description": "Walk one of our rescue dogs round the park with a volunteer.",
    "domains": "PHYSICAL_ACTIVITY",
    "where": "VENUE",
    "venue_name": "Northfield Rescue Centre",
    "postcode": "at1 2ab",
    "when": "TIMES",
    "days": ["SA", "SU"],
    "starts": "10am",
    "ends": "12",
    "email": "walks@rescue.example",
    "show_email": "yes",
}


@pytest.fixture()
def mailbox() -> Iterator[Mailbox]:
    yield from running_mailbox()


@pytest.fixture()
def db(empty_db: Database) -> Database:
    with empty_db.session() as session:
        load_directory(session, MINI)
    return empty_db


@pytest.fixture()
def app(db: Database, mailbox: Mailbox, tmp_path) -> Iterator[TestClient]:
    with client_for(
        db,
        data_dir=tmp_path,
        public_url="http://petunia.test",
        form_rate_limit=5,
        **mailbox.settings(),
    ) as client:
        yield client


def key_of(page: str) -> str:
    match = re.search(r'name="submission_key" value="([0-9a-f]+)"', page)
    assert match, page
    return match.group(1)


def register(app: TestClient, answers: dict, **headers: str):
    page = app.get("/register")
    assert page.status_code == 200
    return app.post(
        "/register", data={**answers, "submission_key": key_of(page.text)}, headers=headers
    )


def lead_token(db: Database) -> str:
    with db.session() as s:
        _client, token = tokens.create_client(s, role=Role.LEAD_PROVIDER, provider="lead-north")
    return token


def path_of(url: str) -> str:
    return url.removeprefix("http://petunia.test")


def test_the_whole_flow_by_html(app: TestClient, db: Database, mailbox: Mailbox) -> None:
    sent = register(app, SHELTER)
    assert sent.status_code == 200, sent.text
    assert "Check your email" in sent.text
    email = mailbox.last("walks@rescue.example")
    assert "Confirm your listing" in email["Subject"]
    confirm = mailbox.link(email, "/register/confirm/")
    assert mailbox.link(email, "/listing/")
    with db.session() as s:
        reg = s.scalars(select(Registration)).one()
        assert reg.status is RegistrationStatus.AWAITING_CONFIRMATION
        assert reg.postcode == "AT1 2AB" and reg.locality_id is not None

    confirmed = app.get(path_of(confirm))
    assert confirmed.status_code == 200 and "Your listing is confirmed" in confirmed.text
    assert app.get(path_of(confirm)).status_code == 200  # following it twice is harmless

    # A lead provider signs in (email link, authenticator app) and approves it.
    csrf = staff_sign_in(app, db, mailbox, "mod@lead.example", coordinator=True).csrf
    queue = app.get("/moderation")
    assert queue.status_code == 200 and "Northfield Cat &amp; Dog Rescue" in queue.text
    reg_path = re.search(r'href="(/moderation/registrations/\d+)"', queue.text).group(1)
    detail = app.get(reg_path)
    assert "Every Saturday and Sunday, 10:00 to 12:00" in detail.text
    done = app.post(reg_path, data={"csrf": csrf, "action": "approve"})
    assert done.status_code == 200 and "is approved" in done.text

    live = mailbox.last("walks@rescue.example")
    assert "Your listing is live" in live["Subject"]
    data = GraphQLClient(app).data(
        '{ sessions(filter: {text: "dog"}) { edges { node { title provider { name listedBy '
        "verification verifiedAt provenance verifiedBy { name } } venue { postcode } "
        "schedule { description } } } } }"
    )
    titles = {
        (e["node"]["title"], e["node"]["provider"]["name"]) for e in data["sessions"]["edges"]
    }
    assert ("Dog walking", "Northfield Cat & Dog Rescue") in titles
    ours = next(
        e["node"]
        for e in data["sessions"]["edges"]
        if e["node"]["provider"]["name"].startswith("Northfield")
    )
    assert ours["provider"]["listedBy"] == "SELF_REGISTERED"
    assert ours["provider"]["verifiedBy"]["name"] == "Better Services Testtown"
    assert ours["provider"]["provenance"].startswith(
        "Listed by the organisation; checked by Better Services Testtown on "
    )
    assert ours["venue"]["postcode"] == "AT1 2AB"
    assert ours["schedule"][0]["description"] == "Every Saturday and Sunday, 10:00 to 12:00"
    with db.session() as s:
        actions = s.scalars(select(AuditEvent.action)).all()
    assert "registration.approve" in actions


REGISTER = """
mutation($input: RegisterProviderInput!) {
  registerProvider(input: $input) {
    registration { id status organisation title }
    errors { field message code }
  }
}"""
QUEUE = "{ moderationQueue { totalCount edges { node { id organisation status answers } } } }"
APPROVE = """mutation($id: ID!) { approveRegistration(id: $id) {
  registration { id status provider { name verification } } errors { field message code } } }"""
SHELTER_INPUT = {
    "organisation": "Southfield Dog Rescue",
    "title": "Dog walking",
    "description": "Walk a rescue dog with us.",
    "domains": ["PHYSICAL_ACTIVITY"],
    "where": "VENUE",
    "venueName": "The Kennels",
    "postcode": "AT2 1AA",
    "when": "TIMES",
    "days": ["WEDNESDAY"],
    "startsAt": "2pm",
    "endsAt": "3:30pm",
    "email": "woof@southfield.example",
    "showEmail": True,
    "submissionKey": "gql-1",
}


def gql(app: TestClient, query: str, token: str | None = None, **variables: object) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = app.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_same_flow_through_graphql(app: TestClient, db: Database, mailbox: Mailbox) -> None:
    bad = gql(app, REGISTER, input={**SHELTER_INPUT, "postcode": "not one", "startsAt": "teatime"})
    errors = bad["data"]["registerProvider"]["errors"]
    assert {(e["field"], e["code"]) for e in errors} == {
        ("input.postcode", "INVALID"),
        ("input.startsAt", "INVALID"),
    }
    assert bad["data"]["registerProvider"]["registration"] is None

    done = gql(app, REGISTER, input=SHELTER_INPUT)["data"]["registerProvider"]
    assert done["errors"] == [] and done["registration"]["status"] == "AWAITING_CONFIRMATION"
    again = gql(app, REGISTER, input=SHELTER_INPUT)["data"]["registerProvider"]
    assert again["registration"]["id"] == done["registration"]["id"]  # a retry is stored once
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Registration)) == 1

    # Moderation needs a moderator's token, and shows nothing before confirmation.
    anonymous = gql(app, QUEUE)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    with db.session() as s:
        _c, provider_token = tokens.create_client(s, role=Role.PROVIDER, provider="shelter")
    assert gql(app, QUEUE, provider_token)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    token = lead_token(db)
    assert gql(app, QUEUE, token)["data"]["moderationQueue"]["totalCount"] == 0

    confirm = mailbox.link(mailbox.last("woof@southfield.example"), "/register/confirm/")
    assert app.get(path_of(confirm)).status_code == 200
    queue = gql(app, QUEUE, token)["data"]["moderationQueue"]
    assert queue["totalCount"] == 1
    node = queue["edges"][0]["node"]
    assert node["answers"]["venue_name"] == "The Kennels"

    approved = gql(app, APPROVE, token, id=node["id"])["data"]["approveRegistration"]
    assert approved["errors"] == []
    assert approved["registration"]["provider"] == {
        "name": "Southfield Dog Rescue",
        "verification": "VERIFIED",
    }
    twice = gql(app, APPROVE, token, id=node["id"])["data"]["approveRegistration"]
    assert twice["errors"][0]["code"] == "INVALID_STATE"
    found = GraphQLClient(app).data(
        '{ sessions(filter: {text: "dog", daysOfWeek: [WEDNESDAY]}) '
        "{ edges { node { title provider { name } } } } }"
    )
    assert {"title": "Dog walking", "provider": {"name": "Southfield Dog Rescue"}} in [
        e["node"] for e in found["sessions"]["edges"]
    ]
