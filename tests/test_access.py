"""API clients, bearer tokens and the `me` query."""

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from api.access import tokens
from api.access.models import ApiClient, Role
from api.audit.models import AuditEvent
from api.cli import app
from api.db import Database
from tests.conftest import client_for

runner = CliRunner()
ME = "{ me { name role practiceOdsCode providerName } }"


def me(db: Database, token: str | None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with client_for(db) as client:
        return client.post("/graphql", json={"query": ME}, headers=headers).json()


def test_each_role_is_bound_as_it_should_be(db: Database) -> None:
    with db.session() as s:
        _, gp = tokens.create_client(s, role=Role.GP_PRACTICE, practice="t00001")
        _, lead = tokens.create_client(s, role=Role.LEAD_PROVIDER, provider="lead-north")
        _, provider = tokens.create_client(s, role=Role.PROVIDER, provider="shelter")
        _, commissioner = tokens.create_client(s, role=Role.COMMISSIONER)
    assert me(db, gp)["data"]["me"] == {
        "name": "gp_practice for North Surgery",
        "role": "GP_PRACTICE",
        "practiceOdsCode": "T00001",
        "providerName": None,
    }
    assert me(db, lead)["data"]["me"]["providerName"] == "Better Services Testtown"
    assert me(db, provider)["data"]["me"]["role"] == "PROVIDER"
    assert me(db, commissioner)["data"]["me"]["practiceOdsCode"] is None
    assert me(db, None)["data"]["me"] is None
    with db.session() as s:
        principal = tokens.authenticate(s, lead)
        assert principal and principal.locality_ids == frozenset({1, 2})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"role": Role.GP_PRACTICE}, "needs --practice ODS"),
        ({"role": Role.GP_PRACTICE, "practice": "X99999"}, "no GP practice with ODS code"),
        ({"role": Role.LEAD_PROVIDER, "provider": "shelter"}, "is not a lead provider"),
        ({"role": Role.PROVIDER, "provider": "nobody"}, "no provider 'nobody'"),
        ({"role": Role.ADMIN, "practice": "T00001"}, "is not bound to a practice"),
    ],
)
def test_bad_bindings_are_refused(db: Database, kwargs: dict, message: str) -> None:
    with pytest.raises(tokens.ClientError, match=message), db.session() as s:
        tokens.create_client(s, **kwargs)


def test_tokens_are_stored_only_as_hashes(db: Database) -> None:
    with db.session() as s:
        _, token = tokens.create_client(s, role=Role.ADMIN)
    with db.engine.connect() as conn:
        dump = "\n".join(str(row) for row in conn.execute(text("SELECT * FROM api_clients")))
    assert token not in dump and token[10:30] not in dump
    assert tokens.hash_token(token) in dump


def test_bad_tokens_get_a_clear_error(db: Database) -> None:
    wrong = me(db, "pt_not-a-real-token")
    assert wrong["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "not valid" in wrong["errors"][0]["message"]
    with client_for(db) as client:
        basic = client.post(
            "/graphql", json={"query": ME}, headers={"Authorization": "Basic abc"}
        ).json()
    assert "Bearer" in basic["errors"][0]["message"]
    # Public directory queries still answer.
    with client_for(db) as client:
        public = client.post(
            "/graphql",
            json={"query": "{ sessions { totalCount } }"},
            headers={"Authorization": "Bearer wrong"},
        ).json()
    assert public["data"]["sessions"]["totalCount"] == 5


def test_cli_create_list_rotate_revoke(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "200")
    created = runner.invoke(
        app, ["clients", "create", "--role", "GP_PRACTICE", "--practice", "T00002"]
    )
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert token.startswith("pt_")
    assert me(db, token)["data"]["me"]["practiceOdsCode"] == "T00002"

    listed = runner.invoke(app, ["clients", "list"]).output
    assert token[:10] in listed and token not in listed

    with db.session() as s:
        client_id = s.scalars(select(ApiClient.id)).one()
    rotated = runner.invoke(app, ["clients", "rotate", str(client_id)])
    new_token = rotated.output.strip().splitlines()[-1]
    assert new_token != token
    assert me(db, token)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert me(db, new_token)["data"]["me"]["role"] == "GP_PRACTICE"

    assert runner.invoke(app, ["clients", "revoke", str(client_id)]).exit_code == 0
    assert me(db, new_token)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    again = runner.invoke(app, ["clients", "revoke", str(client_id)])
    assert again.exit_code == 1 and "no active client" in again.output

    bad = runner.invoke(app, ["clients", "create", "--role", "PROVIDER"])
    assert bad.exit_code == 1 and "needs --provider" in bad.output
    with db.session() as s:
        actions = s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["client.create", "client.rotate", "client.revoke"]
