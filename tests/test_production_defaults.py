"""Production defaults: who may say where a request came from, the security headers on every
response, GraphiQL from Petunia's own files, no production over http://, a health check that
notices a database refusing writes, and a database outage answered as a GraphQL 503."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient
from typer.testing import CliRunner

from api import migrations
from api.access import tokens
from api.access.models import Role
from api.app import create_app
from api.cli import app as cli
from api.config import Mode, UnsafeConfiguration, get_settings
from api.db import Database
from api.web.headers import (
    headers_file,
    inline_script_hashes,
    read_headers_file,
    site_csp,
    site_headers,
)
from tests.conftest import PG_URL, ROOT, client_for

PROD = {"mode": Mode.PRODUCTION, "secret_key": "x" * 32, "encryption_key": "y" * 32}


# -- Trusted proxies -------------------------------------------------------------------------


def ask_for_edit_links(client: TestClient, forwarded_for: str | None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = client.post(
        "/listing/edit-link", data={"email": "someone@example.org"}, headers=headers
    )
    return response.status_code


def app_seen_from(db: Database, address: str, **settings: object) -> TestClient:
    app = create_app(get_settings(form_rate_limit=2, **settings), db=db)
    return TestClient(app, client=(address, 40000))


def test_visitors_behind_a_trusted_proxy_each_have_their_own_limit(empty_db: Database) -> None:
    with app_seen_from(empty_db, "172.18.0.5", trusted_proxies="172.16.0.0/12") as proxy:
        # Ten visitors through the proxy: none is held back by the others.
        for n in range(10):
            assert ask_for_edit_links(proxy, f"203.0.113.{n}") == 200
        # One visitor past the limit is.
        assert [ask_for_edit_links(proxy, "198.51.100.7") for _ in range(3)] == [200, 200, 429]


@pytest.mark.parametrize(
    ("address", "trusted"),
    [("127.0.0.1", ""), ("127.0.0.1", "172.16.0.0/12"), ("192.0.2.9", "172.16.0.0/12")],
    ids=["nobody-trusted", "loopback-not-trusted", "not-the-proxy"],
)
def test_a_caller_that_is_not_a_trusted_proxy_cannot_claim_another_address(
    empty_db: Database, address: str, trusted: str
) -> None:
    with app_seen_from(empty_db, address, trusted_proxies=trusted) as client:
        codes = [ask_for_edit_links(client, f"203.0.113.{n}") for n in range(3)]
    assert codes == [200, 200, 429]


def test_trusted_proxies_must_be_addresses() -> None:
    assert get_settings(trusted_proxies="10.0.0.1, fd00::/8").trusted_proxy_list == [
        "10.0.0.1",
        "fd00::/8",
    ]
    with pytest.raises(ValidationError, match="'proxy.internal' is not an IP address or network"):
        get_settings(trusted_proxies="10.0.0.1, proxy.internal")


# -- Security headers ------------------------------------------------------------------------

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def assert_secure(response) -> str:  # noqa: ANN001 - an httpx response
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, (response.url, name)
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    return csp


@pytest.fixture()
def site_dir(tmp_path: Path) -> Path:
    """A site as the build leaves it: a page and its _headers file."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>Home</title><p>Hello</p>")
    (site / "404.html").write_text("<!doctype html><title>Not found</title>")
    csp = site_csp(["'sha256-abc'"], "https://search.example.org/")
    (site / "_headers").write_text(headers_file(site_headers(csp)))
    return site


def test_every_response_carries_the_security_headers(mini_db: Database, site_dir: Path) -> None:
    with client_for(mini_db, site_dir=site_dir) as client:
        data = [
            client.get("/healthz"),
            client.post("/graphql", json={"query": "{ domains { label } }"}),
            client.get("/graphql?query={__typename}"),
            client.get("/oruk/services?per_page=1", headers={"Origin": "https://council.example"}),
            client.get("/oruk/nothing-here"),
        ]
        for response in data:
            assert assert_secure(response).startswith("default-src 'none'"), response.url
        oruk = data[3]
        assert oruk.status_code == 200 and oruk.headers["access-control-allow-origin"] == "*"

        form = client.get("/register")
        assert form.status_code == 200 and "script-src" not in assert_secure(form)
        assert "form-action 'self'" in assert_secure(form)

        page = client.get("/")
        assert page.status_code == 200 and "Hello" in page.text
        csp = assert_secure(page)
        assert "script-src 'self' 'sha256-abc'" in csp
        assert "connect-src 'self' https://search.example.org" in csp
        missing = client.get("/no/such/page/")
        assert missing.status_code == 404 and "'sha256-abc'" in assert_secure(missing)


# -- GraphiQL --------------------------------------------------------------------------------


def graphiql(client: TestClient):  # noqa: ANN201
    return client.get("/graphql", headers={"Accept": "text/html"})


def test_graphiql_is_served_from_petunias_own_files(mini_db: Database) -> None:
    with client_for(mini_db) as client:
        page = graphiql(client)
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        assert "https://" not in page.text and "http://" not in page.text  # nothing from a CDN
        assert "script-src" not in assert_secure(page)  # only its own scripts, none inline
        for asset in ("graphiql.min.js", "graphiql.min.css", "react.production.min.js"):
            assert f"/graphiql/{asset}" in page.text
            assert client.get(f"/graphiql/{asset}").status_code == 200


def test_graphiql_is_off_in_production_unless_asked_for(mini_db: Database, site_dir: Path) -> None:
    production = {**PROD, "public_url": "https://petunia.example", "site_dir": site_dir}
    with client_for(mini_db, **production) as client:
        assert graphiql(client).status_code == 404
        assert client.get("/graphiql/graphiql.min.js").status_code == 404
    with client_for(mini_db, **production, graphiql=True) as client:
        assert graphiql(client).status_code == 200


# -- Production over http:// -----------------------------------------------------------------


def test_production_refuses_an_http_public_url(mini_db: Database) -> None:
    http = {**PROD, "public_url": "http://directory.example"}
    with pytest.raises(UnsafeConfiguration, match="must start with https://"):
        create_app(get_settings(**http), db=mini_db)
    create_app(get_settings(**http, allow_http_public_url=True), db=mini_db)
    create_app(get_settings(**PROD, public_url="https://directory.example"), db=mini_db)


def test_serve_and_up_refuse_an_http_public_url_in_one_line(tmp_path: Path) -> None:
    env = {
        "PETUNIA_MODE": "production",
        "PETUNIA_PUBLIC_URL": "http://directory.example",
        "PETUNIA_SECRET_KEY": "x" * 32,
        "PETUNIA_ENCRYPTION_KEY": "y" * 32,
    }
    for command in ("serve", "up"):
        result = CliRunner().invoke(cli, [command, "--data-dir", str(tmp_path)], env=env)
        assert result.exit_code == 1
        assert "PETUNIA_PUBLIC_URL is 'http://directory.example'" in result.output
        assert "PETUNIA_ALLOW_HTTP_PUBLIC_URL" in result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "petunia.db").exists()  # `up` stopped before touching anything
    # What `up` chose for its server processes does not stay behind in this process (it made
    # later tests' messages say "within a minute" where nothing rebuilds).
    assert "PETUNIA_SITE_REBUILD_IN_BACKGROUND" not in os.environ


# -- /healthz and database outages -----------------------------------------------------------


@pytest.fixture()
def read_only(empty_db: Database) -> Iterator[Database]:
    """The same database, opened read-only for real: a read-only SQLite file (mode=ro), or a
    PostgreSQL database whose sessions default to read-only transactions."""
    url = empty_db.engine.url
    if not PG_URL:
        ro = Database.from_url(f"sqlite:///file:{url.database}?mode=ro&uri=true")
        yield ro
        ro.dispose()
        return
    empty_db.dispose()
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(f'ALTER DATABASE "{url.database}" SET default_transaction_read_only = on')
        )
    yield empty_db
    empty_db.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{url.database}" RESET default_transaction_read_only'))
    admin.dispose()


def test_healthz_checks_that_the_database_accepts_a_write(
    empty_db: Database, read_only: Database
) -> None:
    with client_for(read_only) as client:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json() == {
            "status": "unavailable",
            "problem": "the database refuses writes (read-only, or its disk is full)",
        }
        # Reads still work: the public directory is still answered meanwhile.
        assert client.post("/graphql", json={"query": "{ domains { label } }"}).status_code == 200


def test_healthz_is_ok_when_the_database_reads_and_writes(empty_db: Database) -> None:
    with client_for(empty_db) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/healthz").json() == {"status": "ok"}  # the write changed nothing
    assert migrations.current_revision(empty_db.engine) is not None


def refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


@pytest.fixture()
def unreachable(tmp_path: Path) -> Callable[[], Database]:
    """A database that cannot be reached, for real: a SQLite file in a folder that is gone,
    or a PostgreSQL server address where nothing listens."""

    def make() -> Database:
        if PG_URL:
            return Database.from_url(f"postgresql+psycopg://petunia@127.0.0.1:{refused_port()}/x")
        return Database.from_url(f"sqlite:///{tmp_path / 'gone' / 'petunia.db'}")

    return make


def test_a_database_outage_is_a_graphql_503_even_with_a_token(
    unreachable: Callable[[], Database],
) -> None:
    db = unreachable()
    with client_for(db) as client:
        response = client.post(
            "/graphql",
            json={"query": "{ me { name } }"},
            headers={"Authorization": "Bearer pt_some-token"},
        )
        health = client.get("/healthz")
    db.dispose()
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "try again" in body["errors"][0]["message"]
    assert health.status_code == 503
    assert health.json()["problem"] == "the database cannot be reached"


def test_a_database_outage_is_a_graphql_503_without_a_token_too(
    unreachable: Callable[[], Database],
) -> None:
    # Before, an anonymous search during an outage answered 200 with "Unexpected error.", so
    # neither clients nor load balancers knew to try again.
    db = unreachable()
    with client_for(db) as client:
        response = client.post(
            "/graphql", json={"query": '{ sessions(filter: {text: "walk"}) { totalCount } }'}
        )
    db.dispose()
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE" and "try again" in error["message"]


def test_a_token_still_works_when_the_database_is_up(empty_db: Database) -> None:
    with empty_db.session() as session:
        _client, token = tokens.create_client(session, role=Role.ADMIN, name="ops")
    with client_for(empty_db) as client:
        response = client.post(
            "/graphql",
            json={"query": "{ me { role } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200 and response.json()["data"]["me"]["role"] == "ADMIN"


def test_the_site_build_writes_the_headers_the_app_serves_it_with(
    mini_db: Database, tmp_path: Path
) -> None:
    from sitegen.build import build_site

    site = tmp_path / "site"
    build_site(mini_db, get_settings(data_dir=tmp_path, site_dir=site), site)
    headers = read_headers_file(site / "_headers")
    csp = headers["Content-Security-Policy"]
    # Every script a page runs inline is allowed by its hash; nothing else is.
    for page in site.rglob("*.html"):
        for digest in inline_script_hashes([page.read_text()]):
            assert digest in csp, page
    assert "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    with client_for(mini_db, site_dir=site) as client:
        for path in ("/", "/search/", "/no/such/page/"):
            response = client.get(path)
            assert response.headers["content-security-policy"] == csp, path
            assert_secure(response)


def test_the_compose_file_trusts_only_its_own_gateway() -> None:
    import ipaddress
    import re

    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = compose["services"]["petunia"]["environment"]
    trusted = re.fullmatch(r"\$\{PETUNIA_TRUSTED_PROXIES:-(.+)\}", env["PETUNIA_TRUSTED_PROXIES"])
    assert trusted, env["PETUNIA_TRUSTED_PROXIES"]
    network = compose["networks"]["default"]["ipam"]["config"][0]
    assert get_settings(trusted_proxies=trusted[1]).trusted_proxy_list == [network["gateway"]]
    assert ipaddress.ip_address(network["gateway"]) in ipaddress.ip_network(network["subnet"])
    # Only the host's proxy reaches it; production needs an https:// address.
    assert compose["services"]["petunia"]["ports"] == ["127.0.0.1:8000:8000"]
    assert env["PETUNIA_PUBLIC_URL"].startswith("${PETUNIA_PUBLIC_URL:?")
