"""Website and email addresses: one check for every entrance (api/directory/addresses.py)."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from api.directory.addresses import InvalidAddress, email, website

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
