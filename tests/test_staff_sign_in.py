"""Staff sign-in: an emailed one-time link (a real SMTP server), TOTP with recovery codes for
roles that read personal data, sessions held on the server (sign-out, idle and absolute
expiry, revocation), CSRF on every form, and every outcome audited with the person."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from api.access import policy
from api.access.models import Role
from api.access.tokens import authenticate, create_client
from api.app import create_app
from api.audit.models import AuditEvent
from api.config import get_settings
from api.db import Database
from api.referrals.models import Referral
from api.staff import accounts
from api.staff.models import StaffAccount, StaffSession, StaffSignInLink
from api.web.staff_session import COOKIE
from tests.conftest import client_for
from tests.mailbox import Mailbox
from tests.staff_support import (
    PUBLIC,
    code,
    csrf_in,
    follow_link,
    invite,
    request_link,
    sign_in_first_time,
    staff_sign_in,
)


@pytest.fixture()
def app(db: Database, mailbox: Mailbox, tmp_path) -> Iterator[TestClient]:
    with client_for(db, data_dir=tmp_path, public_url=PUBLIC, **mailbox.settings()) as client:
        yield client


def events(db: Database, action: str) -> list[AuditEvent]:
    with db.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_link_then_authenticator_then_sign_out_ends_the_session_on_the_server(
    app, db, mailbox
) -> None:
    account_id = invite(db, "alex@lead.example", link_worker="alex")
    me = sign_in_first_time(app, mailbox, "alex@lead.example")
    assert len(me.recovery) == 10
    home = app.get("/staff")
    assert home.status_code == 200 and "Hello, Alex" in home.text
    assert "Lead provider link worker" in home.text and "link worker Alex Link" in home.text

    # The session is a row; the cookie only its key. Sign-out deletes the row, so a copy
    # of the cookie taken before stops working too (issue 10, section 3).
    copied = app.cookies.get(COOKIE)
    with db.session() as s:
        assert s.scalar(select(StaffSession.account_id)) == account_id
    out = app.post("/staff/sign-out", data={"csrf": me.csrf})
    assert out.status_code == 200 and "You are signed out" in out.text
    with db.session() as s:
        assert s.scalars(select(StaffSession)).all() == []
    thief = TestClient(app.app, cookies={COOKIE: copied})
    again = thief.get("/staff", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/staff/sign-in"

    # Audited with the person, not just the role.
    signed = events(db, "staff.sign_in")
    assert [(e.staff_account_id, e.detail) for e in signed] == [(account_id, {"by": "totp"})]
    assert signed[0].actor == "LEAD_PROVIDER:Alex"
    assert events(db, "staff.sign_out")[0].staff_account_id == account_id

    # The second time: link, then the code (no new enrolment).
    page = follow_link(app, request_link(app, mailbox, "alex@lead.example"))
    assert "Enter your code" in page.text
    done = app.post(
        "/staff/second-factor", data={"csrf": csrf_in(page.text), "code": code(me.secret, 1)}
    )
    assert done.status_code == 200 and "Hello, Alex" in done.text


def test_a_link_works_once_and_not_after_it_expires(app, db, mailbox) -> None:
    invite(db, "alex@lead.example")
    path = request_link(app, mailbox, "alex@lead.example")
    assert "Set up your authenticator app" in follow_link(app, path).text
    used = follow_link(app, path)
    assert used.status_code == 400 and "already been used" in used.text

    path = request_link(app, mailbox, "alex@lead.example")
    with db.session() as s:
        s.execute(
            update(StaffSignInLink)
            .where(StaffSignInLink.used_at.is_(None))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    expired = follow_link(app, path)
    assert expired.status_code == 400 and "expired" in expired.text
    # Only hashes are stored.
    token = path.rsplit("/", 1)[1]
    with db.session() as s:
        hashes = s.scalars(select(StaffSignInLink.token_hash)).all()
    assert token not in hashes and all(len(h) == 64 for h in hashes)
    reasons = [e.detail["reason"] for e in events(db, "staff.sign_in_failed")]
    assert reasons == ["USED_LINK", "EXPIRED_LINK"]


def test_an_unknown_address_is_told_the_same_and_gets_nothing(app, db, mailbox) -> None:
    invite(db, "alex@lead.example")
    page = app.get("/staff/sign-in")
    sent = app.post("/staff/sign-in", data={"csrf": csrf_in(page.text), "email": "who@x.example"})
    assert sent.status_code == 200 and "Check your email" in sent.text
    assert mailbox.to("who@x.example") == []
    failed = events(db, "staff.sign_in_failed")
    assert [(e.staff_account_id, e.detail) for e in failed] == [(None, {"reason": "UNKNOWN_EMAIL"})]
    # The address typed is never stored.
    with db.session() as s:
        assert "who@x.example" not in str(s.scalars(select(AuditEvent.detail)).all())


def test_wrong_codes_end_the_attempt_and_a_code_works_once(app, db, mailbox) -> None:
    me = staff_sign_in(app, db, mailbox, "alex@lead.example")
    app.post("/staff/sign-out", data={"csrf": me.csrf})
    page = follow_link(app, request_link(app, mailbox, "alex@lead.example"))
    # The code used to enrol is refused: a code is never accepted twice.
    replay = app.post(
        "/staff/second-factor", data={"csrf": csrf_in(page.text), "code": code(me.secret)}
    )
    assert replay.status_code == 400 and "The code is not right" in replay.text
    for _ in range(3):
        wrong = app.post(
            "/staff/second-factor", data={"csrf": csrf_in(page.text), "code": "000000"}
        )
        assert wrong.status_code == 400
    last = app.post("/staff/second-factor", data={"csrf": csrf_in(page.text), "code": "000000"})
    assert "Too many wrong codes" in last.text
    assert app.get("/staff", follow_redirects=False).headers["location"] == "/staff/sign-in"
    reasons = [e.detail["reason"] for e in events(db, "staff.sign_in_failed")]
    assert reasons == ["WRONG_CODE"] * 4 + ["TOO_MANY_CODES"]


def test_a_recovery_code_signs_in_once(app, db, mailbox) -> None:
    me = staff_sign_in(app, db, mailbox, "alex@lead.example")
    for attempt in range(2):
        app.post("/staff/sign-out", data={"csrf": csrf_in(app.get("/staff").text)})
        page = follow_link(app, request_link(app, mailbox, "alex@lead.example"))
        done = app.post(
            "/staff/second-factor",
            data={"csrf": csrf_in(page.text), "code": me.recovery[0].upper()},
        )
        if attempt == 0:
            assert "You signed in with a recovery code: 9 left" in done.text
        else:
            assert done.status_code == 400 and "The code is not right" in done.text


def test_sessions_end_when_idle_and_after_the_absolute_limit(app, db, mailbox) -> None:
    staff_sign_in(app, db, mailbox, "alex@lead.example")
    assert app.get("/staff").status_code == 200
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)
    with db.session() as s:
        s.execute(update(StaffSession).values(last_seen_at=long_ago))
    assert app.get("/staff", follow_redirects=False).status_code == 303
    with db.session() as s:
        assert s.scalars(select(StaffSession)).all() == []

    app.cookies.clear()
    page = follow_link(app, request_link(app, mailbox, "alex@lead.example"))
    with db.session() as s:
        secret_holder = s.scalars(select(StaffAccount)).one()
        assert secret_holder.totp_confirmed_at is not None
    # Still pending (no code yet): the pages refuse, only the code page opens.
    assert app.get("/staff", follow_redirects=False).headers["location"] == "/staff/second-factor"
    assert "Enter your code" in page.text
    with db.session() as s:
        s.execute(
            update(StaffSession).values(
                created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=13),
                second_factor_at=dt.datetime.now(dt.UTC),
            )
        )
    assert app.get("/staff", follow_redirects=False).status_code == 303


def test_a_commissioner_signs_in_with_the_link_alone(app, db, mailbox) -> None:
    assert not policy.needs_second_factor(Role.COMMISSIONER)
    invite(db, "comm@icb.example", Role.COMMISSIONER)
    done = follow_link(app, request_link(app, mailbox, "comm@icb.example"))
    assert done.status_code == 200 and "Hello, Comm" in done.text and "Commissioner" in done.text
    # Every role that can read personal data needs the second factor.
    for role in Role:
        assert policy.needs_second_factor(role) == (
            policy.referral_view(_principal(role), consent_share_outcomes=True).person is not None
        )


def _principal(role: Role):  # type: ignore[no-untyped-def]
    from api.access.tokens import Principal

    return Principal(None, "x", role)  # type: ignore[arg-type]


def test_every_form_needs_its_csrf_token(app, db, mailbox) -> None:
    invite(db, "alex@lead.example")
    assert app.post("/staff/sign-in", data={"email": "alex@lead.example"}).status_code == 403
    assert mailbox.to("alex@lead.example") == []
    me = staff_sign_in(app, db, mailbox, "boss@lead.example", coordinator=True)
    assert app.post("/staff/sign-out", data={"csrf": "forged"}).status_code == 403
    forged = app.post(
        "/staff/accounts/new",
        data={"csrf": "forged", "name": "Eve", "email": "eve@x.example", "role": "LEAD_PROVIDER"},
    )
    assert forged.status_code == 403
    with db.session() as s:
        assert (
            s.scalar(select(StaffAccount.id).where(StaffAccount.email == "eve@x.example")) is None
        )
    assert app.get("/staff").status_code == 200 and me.csrf


def test_the_cookie_is_httponly_lax_and_secure_over_https(db, mailbox, tmp_path) -> None:
    invite(db, "comm@icb.example", Role.COMMISSIONER)
    for public, secure in (("http://petunia.test", False), ("https://petunia.test", True)):
        settings = get_settings(data_dir=tmp_path, public_url=public, **mailbox.settings())
        base = public.replace("petunia.test", "testserver")
        with TestClient(create_app(settings, db=db), base_url=base) as client:
            page = client.get("/staff/sign-in")
            client.post(
                "/staff/sign-in", data={"csrf": csrf_in(page.text), "email": "comm@icb.example"}
            )
            path = mailbox.link(mailbox.last("comm@icb.example"), "/staff/sign-in/").removeprefix(
                public
            )
            page = client.get(path)
            token = path.rsplit("/", 1)[1]
            done = client.post(
                "/staff/sign-in/continue",
                data={"csrf": csrf_in(page.text), "token": token},
                follow_redirects=False,
            )
            cookie = done.headers["set-cookie"]
            assert cookie.startswith(f"{COOKIE}=")
            assert "HttpOnly" in cookie and "SameSite=lax" in cookie
            assert ("Secure" in cookie) is secure


def test_a_coordinator_invites_and_deactivates_its_own_people(app, db, mailbox, tmp_path) -> None:
    me = staff_sign_in(app, db, mailbox, "boss@lead.example", coordinator=True)
    form = app.get("/staff/accounts/new")
    assert form.status_code == 200 and "Yes: Alex Link" in form.text
    assert "ADMIN" not in form.text  # a coordinator invites only into its own lead provider
    missing = app.post(
        "/staff/accounts/new",
        data={"csrf": me.csrf, "name": "", "email": "bad", "role": "LEAD_PROVIDER"},
    )
    assert missing.status_code == 400 and "There is a problem" in missing.text
    refused = app.post(
        "/staff/accounts/new",
        data={"csrf": me.csrf, "name": "Eve", "email": "eve@x.example", "role": "ADMIN"},
    )
    assert (
        refused.status_code == 400 and "You cannot create an account with this role" in refused.text
    )
    made = app.post(
        "/staff/accounts/new",
        data={
            "csrf": me.csrf,
            "name": "Alex Link",
            "email": "Alex@Lead.example",
            "role": "LEAD_PROVIDER",
            "link_worker": "alex",
        },
    )
    assert made.status_code == 200 and "Alex Link is invited" in made.text
    invitation = mailbox.last("alex@lead.example")
    assert mailbox.link(invitation, "/staff/sign-in") == f"{PUBLIC}/staff/sign-in"

    # Alex signs in elsewhere; the coordinator deactivates the account after confirming.
    with client_for(db, data_dir=tmp_path, public_url=PUBLIC, **mailbox.settings()) as alex:
        sign_in_first_time(alex, mailbox, "alex@lead.example")
        assert alex.get("/staff").status_code == 200
        with db.session() as s:
            alex_id = s.scalar(
                select(StaffAccount.id).where(StaffAccount.email == "alex@lead.example")
            )
        confirm = app.get(f"/staff/accounts/{alex_id}/deactivate")
        assert "Are you sure you want to deactivate" in confirm.text
        done = app.post(f"/staff/accounts/{alex_id}/deactivate", data={"csrf": me.csrf})
        assert "The account is deactivated and signed out" in done.text
        assert alex.get("/staff", follow_redirects=False).status_code == 303
        page = alex.get("/staff/sign-in")
        alex.post("/staff/sign-in", data={"csrf": csrf_in(page.text), "email": "alex@lead.example"})
        assert len(mailbox.to("alex@lead.example")) == 2  # the invitation and one link: no more
    assert events(db, "staff.deactivate")[0].staff_account_id is not None


def test_accounts_are_managed_only_within_scope(app, db, mailbox, tmp_path) -> None:
    other = invite(db, "gp@north.example", Role.GP_PRACTICE)
    me = staff_sign_in(app, db, mailbox, "boss@lead.example", coordinator=True)
    assert app.get(f"/staff/accounts/{other}").status_code == 404
    assert (
        app.post(f"/staff/accounts/{other}/deactivate", data={"csrf": me.csrf}).status_code == 404
    )
    assert "gp@north.example" not in app.get("/staff/accounts").text
    # A link worker (not a coordinator) manages nobody.
    with client_for(db, data_dir=tmp_path, public_url=PUBLIC, **mailbox.settings()) as worker:
        staff_sign_in(worker, db, mailbox, "alex@lead.example", link_worker="alex")
        assert worker.get("/staff/accounts").status_code == 403
        assert "Staff accounts" not in worker.get("/staff").text


def test_an_admin_signs_someone_out_everywhere(app, db, mailbox, tmp_path) -> None:
    me = staff_sign_in(app, db, mailbox, "root@petunia.example", Role.ADMIN)
    with client_for(db, data_dir=tmp_path, public_url=PUBLIC, **mailbox.settings()) as other:
        staff_sign_in(other, db, mailbox, "gp@north.example", Role.GP_PRACTICE)
        assert other.get("/staff").status_code == 200
        with db.session() as s:
            gp = s.scalar(select(StaffAccount.id).where(StaffAccount.email == "gp@north.example"))
        done = app.post(f"/staff/accounts/{gp}/sign-out", data={"csrf": me.csrf})
        assert "They are signed out everywhere" in done.text
        assert other.get("/staff", follow_redirects=False).status_code == 303


def test_a_staff_principal_has_the_api_client_shape(db) -> None:
    """policy.py decides for people as for tokens: same role, same scope, same records."""
    with db.session() as s:
        _client, token = create_client(s, role=Role.LEAD_PROVIDER, provider="lead-north")
    invite(db, "alex@lead.example", link_worker="alex")
    with db.session() as s:
        by_token = authenticate(s, token)
        account = s.scalars(select(StaffAccount)).one()
        person = accounts.principal_of(s, account)
        assert by_token is not None
        assert (person.role, person.provider_id, person.locality_ids) == (
            by_token.role,
            by_token.provider_id,
            by_token.locality_ids,
        )
        assert person.client_id is None and person.staff_account_id == account.id
        assert person.link_worker_id is not None
        for scope in (policy.referral_scope, policy.change_scope, policy.outcome_scope):
            assert str(
                select(Referral.id)
                .where(scope(person))
                .compile(compile_kwargs={"literal_binds": True})
            ) == str(
                select(Referral.id)
                .where(scope(by_token))
                .compile(compile_kwargs={"literal_binds": True})
            )


def test_one_connection_asking_for_many_links_is_refused(db, mailbox, tmp_path) -> None:
    settings = {"data_dir": tmp_path, "public_url": PUBLIC, "staff_sign_in_rate_limit": 3}
    for n in range(4):
        invite(db, f"person{n}@lead.example")
    with client_for(db, **settings, **mailbox.settings()) as client:
        page = client.get("/staff/sign-in")
        for n in range(3):
            sent = client.post(
                "/staff/sign-in",
                data={"csrf": csrf_in(page.text), "email": f"person{n}@lead.example"},
            )
            assert sent.status_code == 200, sent.text
        refused = client.post(
            "/staff/sign-in", data={"csrf": csrf_in(page.text), "email": "person3@lead.example"}
        )
    assert refused.status_code == 429 and "Too many sign-in links" in refused.text
    assert 'value="person3@lead.example"' in refused.text  # what was typed is kept
    assert mailbox.to("person3@lead.example") == []
