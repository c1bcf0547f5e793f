"""The duplicate dead end, by HTML: a volunteer of an organisation already listed (who cannot
reach the address it was registered with) sends their activity to the lead provider, who
adds it to the existing listing; another asks for access, and the lead provider grants it by
emailing them an edit link of their own. Real SMTP (aiosmtpd), real database."""

from __future__ import annotations

import re

from sqlalchemy import select

from api.directory.models import Provider, Session
from api.registration.models import ListingContact, Registration, RegistrationStatus
from tests.mailbox import Mailbox
from tests.test_registration_flow import SHELTER, key_of, path_of
from tests.test_registration_pages import app, sign_in  # noqa: F401 - the app fixture

VOLUNTEER = {
    **SHELTER,
    "organisation": "Testtown Cat and Dog Shelter",
    "postcode": "AT2 1AA",
    "title": "Cat cuddling",
    "description": "Sit with the shelter's cats so they get used to people.",
    "email": "vol@example.org",
}


def _duplicate_form(app) -> tuple[str, dict]:  # noqa: F811
    page = app.get("/register")
    data = {**VOLUNTEER, "submission_key": key_of(page.text)}
    found = app.post("/register", data=data)
    return found.text, data


def _decide(app, db, mailbox, csrf: str, kind_label: str) -> None:  # noqa: F811
    queue = app.get("/moderation")
    assert kind_label in queue.text
    path = re.search(r'href="(/moderation/registrations/\d+)"', queue.text).group(1)
    done = app.post(path, data={"csrf": csrf, "action": "approve"})
    assert done.status_code == 200, done.text


def test_a_volunteer_adds_their_activity_to_the_listed_organisation(app, db, mailbox) -> None:  # noqa: F811
    text, data = _duplicate_form(app)
    # The duplicate is no dead end: two more ways on, naming who decides.
    assert "is already in the directory" in text
    assert "send your activity to Better Services Testtown to add to it" in text
    assert "ask Better Services Testtown for access" in text

    sent = app.post("/register/join", data=data)
    assert sent.status_code == 200 and "Check your email" in sent.text
    email = mailbox.last("vol@example.org")
    assert "Cat cuddling" in Mailbox.text(email)  # it restates what was sent
    confirmed = app.get(path_of(mailbox.link(email, "/register/confirm/")))
    assert "Better Services Testtown will check it" in confirmed.text

    with db.session() as s:
        shelter = s.scalars(select(Provider).where(Provider.key == "shelter")).one()
        contact_before = s.get(ListingContact, shelter.id)
        contact_before = contact_before.email if contact_before else shelter.email
    csrf = sign_in(app, db, mailbox)
    _decide(app, db, mailbox, csrf, "Activity for a listing")
    with db.session() as s:
        shelter = s.scalars(select(Provider).where(Provider.key == "shelter")).one()
        titles = s.scalars(select(Session.title).where(Session.provider_id == shelter.id)).all()
        assert "Cat cuddling" in titles and "Dog walking" in titles
        assert shelter.name == "Testtown Cat and Dog Shelter"
        contact = s.get(ListingContact, shelter.id)
        assert (contact.email if contact else shelter.email) == contact_before  # not taken over
    assert "in the directory" in mailbox.last("vol@example.org")["Subject"]


def test_a_volunteer_asks_for_access_and_the_lead_provider_grants_it(app, db, mailbox) -> None:  # noqa: F811
    _text, data = _duplicate_form(app)
    sent = app.post("/register/ask-access", data=data)
    assert sent.status_code == 200 and "Check your email" in sent.text
    confirm = mailbox.link(mailbox.last("vol@example.org"), "/register/confirm/")
    assert app.get(path_of(confirm)).status_code == 200
    csrf = sign_in(app, db, mailbox)
    queue = app.get("/moderation")
    path = re.search(r'href="(/moderation/registrations/\d+)"', queue.text).group(1)
    page = app.get(path)
    assert "Request for access" in page.text and "Grant access" in page.text
    _decide(app, db, mailbox, csrf, "Access request")
    granted = mailbox.last("vol@example.org")
    assert "You can now change the listing" in granted["Subject"]
    listing = app.get(path_of(mailbox.link(granted, "/listing/")))
    assert listing.status_code == 200 and "Testtown Cat and Dog Shelter" in listing.text
    with db.session() as s:
        assert s.scalars(select(Registration.status)).all() == [RegistrationStatus.APPROVED]
