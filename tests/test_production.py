"""Production mode: no default secrets, no field suggestions, no internals in errors."""

import logging

import pytest

from api.config import MissingSecret, Mode, get_settings
from api.directory import search
from tests.conftest import GraphQLClient, client_for

PROD = {"mode": Mode.PRODUCTION, "public_url": "https://petunia.example"}


def test_secrets_have_no_default_in_production(tmp_path) -> None:
    production = get_settings(mode=Mode.PRODUCTION, data_dir=tmp_path, secret_key=None)
    with pytest.raises(MissingSecret, match="PETUNIA_SECRET_KEY must be set in production"):
        production.secret("secret_key")
    assert get_settings(mode=Mode.PRODUCTION, secret_key="s3cret").secret("secret_key") == "s3cret"


def test_production_refuses_to_start_without_its_secrets(mini_db) -> None:
    from api.app import create_app

    with pytest.raises(MissingSecret, match="PETUNIA_ENCRYPTION_KEY must be set"):
        create_app(get_settings(**PROD, secret_key="x", encryption_key=None), db=mini_db)
    create_app(get_settings(**PROD, secret_key="x", encryption_key="y" * 32), db=mini_db)


def test_development_secret_is_kept_in_the_data_folder(tmp_path) -> None:
    dev = get_settings(data_dir=tmp_path, secret_key=None)
    first = dev.secret("secret_key")
    assert len(first) >= 32 and dev.secret("secret_key") == first
    assert (tmp_path / ".secret_key").stat().st_mode & 0o077 == 0


def test_production_gives_no_field_suggestions(mini_db) -> None:
    query = "{ sesions { totalCount } }"
    with client_for(mini_db) as client:
        dev = GraphQLClient(client).errors(query)[0]["message"]
    with client_for(mini_db, **PROD, secret_key="x", encryption_key="y" * 32) as client:
        prod = GraphQLClient(client).errors(query)[0]["message"]
    assert "Did you mean 'sessions'" in dev
    assert "Cannot query field 'sesions'" in prod and "Did you mean" not in prod


def test_unexpected_errors_are_logged_and_masked(
    mini_api: GraphQLClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    detail = "connection string postgres://secret@db"

    def broken(*_args, **_kwargs):
        raise RuntimeError(detail)

    monkeypatch.setattr(search, "search_sessions", broken)
    with caplog.at_level(logging.ERROR, logger="petunia.graphql"):
        errors = mini_api.errors("{ sessions { totalCount } }")
    assert errors[0]["message"] == "Unexpected error."
    assert "secret" not in str(errors)
    # Logged with the id the client was given, the type and the place; not the message,
    # which may hold values (api/logs.py).
    assert errors[0]["extensions"]["errorId"] in caplog.text
    assert "RuntimeError" in caplog.text and "secret" not in caplog.text
