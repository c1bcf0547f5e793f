"""Website and email addresses, checked once for every entrance (the form and GraphQL, edit
links, `petunia import`, `petunia load`, `petunia import oruk`), so that everything Petunia
publishes is a valid URI and email address (the ORUK schemas check both formats).

Websites are parsed as browsers parse them (pydantic's URL type, the WHATWG rules): only
http and https, a host name with a dot in it, and the result written in its standard form
(international names as punycode, spaces and brackets percent-encoded). "www.example.org" is
taken to mean https. Email addresses are checked by email-validator (syntax only: no look-up).
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email
from pydantic import HttpUrl, TypeAdapter, ValidationError

_URL = TypeAdapter(HttpUrl)
# "javascript:", "mailto:", "https:"...; not "example.org:8080", whose part before the colon
# is a host name.
_SCHEME = re.compile(r"^[a-z][a-z0-9+-]*:", re.IGNORECASE)


class InvalidAddress(ValueError):
    """The address cannot be used; the message says what a person should type."""


def website(value: str) -> str:
    """``value`` as a published website address; raises InvalidAddress."""
    typed = value.strip()
    if not _SCHEME.match(typed):
        typed = "https://" + typed
    problem = InvalidAddress("Enter a website address, like www.example.org")
    if not typed.lower().startswith(("http://", "https://")):
        raise problem  # javascript:, data:, mailto: ... are not websites
    try:
        url = _URL.validate_python(typed)
    except ValidationError:
        raise problem from None
    host = url.host or ""
    if "." not in host.strip(".") or url.username or url.password:
        raise problem
    return str(url)


def email(value: str) -> str:
    """``value`` as a published email address (domain in lower case); raises
    InvalidAddress."""
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidAddress(
            "Enter an email address in the right format, like name@example.org"
        ) from None
    return checked.normalized
