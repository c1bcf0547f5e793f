"""Website and email addresses: one check for every entrance (api/directory/addresses.py)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import update

from api.db import Database
from api.directory.addresses import InvalidAddress, email, website
from api.directory.loading import LoadError, load_directory
from api.directory.models import Provider
from api.registration.importing import ImportProblems, import_file
from tests.conftest import MINI, client_for

URI = Draft202012Validator({"type": "string", "format": "uri"}, format_checker=FormatChecker())


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("https://example.org", "https://example.org/"),
        ("www.example.org", "https://www.example.org/"),
        ("example.org:8080/news", "https://example.org:8080/news"),
        ("HTTP://Example.ORG/Path", "http://example.org/Path"),
        ("https://example.org/a b?c=<d>", "https://example.org/a%20b?c=%3Cd%3E"),
        ("bücher.example", "https://xn--bcher-kva.example/"),
    ],
)
def test_websites_people_type_are_stored_as_valid_uris(typed: str, stored: str) -> None:
    assert website(typed) == stored
    assert URI.is_valid(stored)


@pytest.mark.parametrize(
    "typed",
    [
        "<script>alert(1)</script>",
        "https://<script>x.y</script>",
        "<script>document.cookie</script>.example.org",
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        "data:text/html,<b>x</b>",
        "mailto:someone@example.org",
        "ftp://example.org",
        "https://exa mple.org",
        "localhost",
        "https://user:secret@example.org",
        "https://",
        "",
    ],
)
def test_what_is_not_a_website_is_refused(typed: str) -> None:
    with pytest.raises(InvalidAddress, match="Enter a website address"):
        website(typed)


def test_email_addresses() -> None:
    assert email(" Jo.Bloggs@Example.ORG ") == "Jo.Bloggs@example.org"
    for bad in ("jo", "jo@example", "<script>@example.org", "a b@example.org", "jo@@x.org", ""):
        with pytest.raises(InvalidAddress, match="Enter an email address"):
            email(bad)


# --- every entrance ----------------------------------------------------------------------

HOSTILE_WEBSITES = ("javascript:alert(document.cookie)", "https://<script>x.y</script>")


def test_graphql_and_the_form_refuse_what_is_not_a_website_or_email(
    empty_db: Database,
) -> None:
    from tests.test_registration_flow import REGISTER, SHELTER_INPUT, gql

    with client_for(empty_db) as app:
        for website in HOSTILE_WEBSITES:
            body = gql(app, REGISTER, input={**SHELTER_INPUT, "website": website})
            errors = body["data"]["registerProvider"]["errors"]
            assert [(e["field"], e["code"]) for e in errors] == [("input.website", "INVALID")]
        body = gql(app, REGISTER, input={**SHELTER_INPUT, "email": "<script>@x.org"})
        errors = body["data"]["registerProvider"]["errors"]
        assert [e["field"] for e in errors] == ["input.email"]


def test_a_spreadsheet_names_the_bad_website_and_email(empty_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "organisation,title,domains,schedule,delivery,website,email\n"
        "Walkers,Health walk,PHYSICAL_ACTIVITY,Mondays 10-11,online,"
        "javascript:alert(document.cookie),walk@\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportProblems) as caught, empty_db.session() as s:
        import_file(s, path, today=dt.date(2026, 11, 22))
    said = str(caught.value)
    assert "website 'javascript:alert(document.cookie)': enter a website address" in said
    assert "email 'walk@': enter an email address" in said


def test_a_directory_folder_with_a_bad_website_loads_nothing(
    empty_db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    shelter = folder / "providers" / "shelter.yaml"
    shelter.write_text(
        shelter.read_text().replace("listed_by:", "website: javascript:alert(1)\nlisted_by:", 1)
    )
    with pytest.raises(LoadError) as caught, empty_db.session() as s:
        load_directory(s, folder)
    assert "website" in str(caught.value) and "Enter a website address" in str(caught.value)


def test_published_websites_validate_even_when_stored_before_the_rule(
    empty_db: Database,
) -> None:
    with empty_db.session() as s:
        load_directory(s, MINI)
        s.execute(update(Provider).values(website="https://<script>x.y</script>"))
    with client_for(empty_db) as app:
        services = app.get("/oruk/services", params={"per_page": 100}).json()["contents"]
    assert services and all("website" not in s["organization"] for s in services)
