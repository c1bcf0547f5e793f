"""Registration through the real app: the form, the emailed links (a real SMTP server), the
moderation queue and what the directory shows afterwards."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.pool import NullPool
from starlette.testclient import TestClient

from api.access import tokens
from api.access.models import Role
from api.audit.models import AuditEvent
from api.config import get_settings
from api.db import Database, make_engine
from api.directory.models import Provider
from api.mail.models import QueuedEmail
from api.registration import flow
from api.registration.models import ListingContact, Registration, RegistrationStatus
from tests.conftest import GraphQLClient, client_for
from tests.mailbox import Mailbox
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
    """The form, then "check your answers", then Accept and send (a form with problems comes
    back from the first step)."""
    page = app.get("/register")
    assert page.status_code == 200
    data = {**answers, "submission_key": key_of(page.text)}
    checked = app.post("/register", data=data, headers=headers)
    if "Check your answers before sending" not in checked.text:
        return checked
    return app.post("/register", data={**data, "send": "yes"}, headers=headers)


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
    # Confirming the address is not the check: the page says who checks it, and when.
    assert confirmed.status_code == 200 and "Your listing is confirmed" not in confirmed.text
    assert "Email confirmed" in confirmed.text
    assert "Better Services Testtown will check it, usually within 5 days" in confirmed.text
    assert app.get(path_of(confirm)).status_code == 200  # following it twice is harmless

    # A lead provider signs in (email link, authenticator app) and approves it.
    csrf = staff_sign_in(app, db, mailbox, "mod@lead.example", coordinator=True).csrf
    queue = app.get("/moderation")
    assert queue.status_code == 200 and "Northfield Cat &amp; Dog Rescue" in queue.text
    reg_path = re.search(r'href="(/moderation/registrations/\d+)"', queue.text).group(1)
    detail = app.get(reg_path)
    assert "Every Saturday and Sunday, 10am to midday" in detail.text
    done = app.post(reg_path, data={"csrf": csrf, "action": "approve"})
    assert done.status_code == 200 and "is approved" in done.text

    live = mailbox.last("walks@rescue.example")
    assert "Your listing is approved" in live["Subject"]
    # No background rebuild runs here: the email says so, not "now in the directory".
    assert "when the site is next built" in Mailbox.text(live)
    assert "when the site is next built" in done.text
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
    assert ours["schedule"][0]["description"] == "Every Saturday and Sunday, 10am to midday"
    with db.session() as s:
        actions = s.scalars(select(AuditEvent.action)).all()
        # Every email went through the mail queue, and was sent from there.
        statuses = s.scalars(select(QueuedEmail.status)).all()
    assert "registration.approve" in actions
    assert len(statuses) == len(mailbox.messages) >= 2
    assert {status.value for status in statuses} == {"SENT"}


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


# ---------------------------------------------------------------------------------------------
# Edit links: bound to a version that only moves forward


def test_an_edit_link_stays_dead_when_the_email_is_changed_back(
    app: TestClient, db: Database, mailbox: Mailbox
) -> None:
    assert register(app, SHELTER).status_code == 200
    first = path_of(mailbox.link(mailbox.last("walks@rescue.example"), "/listing/"))
    form = app.get(first)
    assert form.status_code == 200
    moved = app.post(
        first, data={**SHELTER, "email": "new@rescue.example", "submission_key": key_of(form.text)}
    )
    assert moved.status_code == 200 and "Your changes are saved" in moved.text
    second = path_of(mailbox.link(mailbox.last("new@rescue.example"), "/listing/"))
    assert "older email address" in app.get(first).text
    form = app.get(second)
    back = app.post(second, data={**SHELTER, "submission_key": key_of(form.text)})
    assert back.status_code == 200 and "Your changes are saved" in back.text
    third = path_of(mailbox.link(mailbox.last("walks@rescue.example"), "/listing/"))
    # The address is the first one again, but the first link stays dead, as does the second.
    assert app.get(first).status_code == 400
    assert app.get(second).status_code == 400
    assert app.get(third).status_code == 200


def _set_email(db: Database, provider_key: str, email: str) -> None:
    with db.session() as s:
        s.scalars(select(Provider).where(Provider.key == provider_key)).one().email = email


def test_a_listed_providers_edit_link_stays_dead_when_its_email_is_changed_back(
    app: TestClient, db: Database, mailbox: Mailbox
) -> None:
    # A provider loaded from the directory files (no registered contact): its public email.
    _set_email(db, "shelter", "dogs@shelter.example")
    app.post("/listing/edit-link", data={"email": "dogs@shelter.example"})
    link = path_of(mailbox.link(mailbox.last("dogs@shelter.example"), "/listing/"))
    assert app.get(link).status_code == 200
    # Changed by any path (here `petunia load`'s way: the row's email), then changed back.
    _set_email(db, "shelter", "someone-else@shelter.example")
    assert app.get(link).status_code == 400
    _set_email(db, "shelter", "Dogs@Shelter.example")
    assert app.get(link).status_code == 400
    # A case-only change is the same address: a new link works, and keeps working.
    app.post("/listing/edit-link", data={"email": "dogs@shelter.example"})
    fresh = path_of(_newest_link(mailbox))
    assert app.get(fresh).status_code == 200
    _set_email(db, "shelter", "DOGS@shelter.example")
    assert app.get(fresh).status_code == 200

    # A registered contact (set on approval) that changes and changes back.
    with db.session() as s:
        shelter = s.scalars(select(Provider).where(Provider.key == "shelter")).one()
        s.add(ListingContact(provider_id=shelter.id, email="dogs@shelter.example"))
    assert app.get(fresh).status_code == 200  # the same address: still the listing's
    with db.session() as s:
        s.get(ListingContact, shelter.id).email = "owner@shelter.example"
    with db.session() as s:
        s.get(ListingContact, shelter.id).email = "dogs@shelter.example"
    assert app.get(fresh).status_code == 400


def test_revoking_a_listings_edit_links_stops_them_for_good(
    app: TestClient, db: Database, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from typer.testing import CliRunner

    from api.cli import app as cli

    _set_email(db, "shelter", "dogs@shelter.example")
    app.post("/listing/edit-link", data={"email": "dogs@shelter.example"})
    link = path_of(_newest_link(mailbox))
    assert app.get(link).status_code == 200
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    here = ["--data-dir", str(tmp_path)]
    done = CliRunner().invoke(cli, ["revoke-edit-links", "shelter", *here])
    assert done.exit_code == 0 and "has stopped" in done.output, done.output
    assert app.get(link).status_code == 400
    app.post("/listing/edit-link", data={"email": "dogs@shelter.example"})
    assert app.get(path_of(_newest_link(mailbox))).status_code == 200
    unknown = CliRunner().invoke(cli, ["revoke-edit-links", "no-such-provider", *here])
    assert unknown.exit_code == 1 and "no provider 'no-such-provider'" in unknown.output


def _newest_link(mailbox: Mailbox) -> str:
    return mailbox.link(mailbox.last("dogs@shelter.example"), "/listing/")


# ---------------------------------------------------------------------------------------------
# One submissionKey sent by many callers at once


@pytest.mark.parametrize("rate_limit", [0, 10])
def test_concurrent_registrations_with_one_key_all_get_the_stored_one(
    db: Database, tmp_path, rate_limit: int
) -> None:
    """20 threads, each with its own connection, send the same registration with the same
    submissionKey at the same moment: it is stored once, every caller gets it (none is told
    DUPLICATE, none RATE_LIMITED: the same form counts once), and its confirmation email is
    queued once. Several rounds, as the race is a matter of timing."""
    settings = get_settings(data_dir=tmp_path, form_rate_limit=rate_limit)
    own = Database(make_engine(db.engine.url.render_as_string(hide_password=False),
                               poolclass=NullPool))  # fmt: skip
    answers = {**SHELTER, "days": ["SA", "SU"]}
    callers = 20
    try:
        for round_number in range(4):
            key = f"same-key-{round_number}"
            raw = {**answers, "organisation": f"Rescue {round_number}"}
            start = threading.Barrier(callers)

            def send(
                _index: int, key: str = key, raw: dict = raw, start: threading.Barrier = start
            ) -> flow.Outcome:
                start.wait()
                return flow.write_retrying(
                    own,
                    lambda s: flow.submit(s, settings, raw, submission_key=key, address="a"),
                )

            with ThreadPoolExecutor(callers) as pool:
                outcomes = list(pool.map(send, range(callers)))
            assert [o.errors for o in outcomes] == [[]] * callers
            ids = {o.registration.id for o in outcomes if o.registration is not None}
            assert len(ids) == 1 and all(o.registration is not None for o in outcomes)
            with db.session() as s:
                stored = s.scalars(
                    select(Registration).where(Registration.submission_key == key)
                ).all()
                assert [r.id for r in stored] == list(ids)
        with db.session() as s:
            # One confirmation email per stored registration: retries queue nothing.
            assert s.scalar(select(func.count()).select_from(QueuedEmail)) == 4
    finally:
        own.dispose()


def test_graphql_registration_asks_no_more_than_the_form(app: TestClient, mailbox: Mailbox) -> None:
    """registerProvider keeps its inputs; the kind of activity is optional now, as on the
    form (a relaxed input: every query that worked still works)."""
    without = {k: v for k, v in SHELTER_INPUT.items() if k not in ("domains", "venueName")}
    done = gql(app, REGISTER, input={**without, "submissionKey": "gql-2"})
    assert done.get("errors") is None, done
    payload = done["data"]["registerProvider"]
    assert payload["errors"] == [] and payload["registration"]["status"] == "AWAITING_CONFIRMATION"
    # The confirmation email restates what was sent.
    body = Mailbox.text(mailbox.last("woof@southfield.example"))
    assert "What it is called: Dog walking" in body and "What happens next:" in body
