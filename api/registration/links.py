"""Signed links in emails: "confirm your listing" (expires after a few days) and "edit your
listing" (works for about a year). Signed with ``PETUNIA_SECRET_KEY`` by itsdangerous;
nothing is stored per link.

An edit link carries the listing's link version (``edit_link_version`` of the registration
or provider) and a hash of the address it was sent to. The version only moves forward: it
goes up whenever the listing's email address changes (see ``api/registration/models.py``) or
its links are revoked, and every link with an older version stops working for good, even if
the address is later changed back."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from api.config import Settings

DAY = 24 * 60 * 60


class LinkProblem(ValueError):
    """A link that is expired, damaged or no longer valid, with what to do about it."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def _signer(settings: Settings, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret("secret_key"), salt=f"petunia.{purpose}")


def url(settings: Settings, path: str) -> str:
    return settings.public_url.rstrip("/") + path


def email_hash(email: str) -> str:
    # Binds an edit link to the address it was sent to, without putting the address in it.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def confirm_token(settings: Settings, registration_id: int) -> str:
    return _signer(settings, "confirm").dumps({"r": registration_id})


def read_confirm_token(settings: Settings, token: str) -> int:
    try:
        data = _signer(settings, "confirm").loads(token, max_age=settings.confirm_link_days * DAY)
    except SignatureExpired:
        raise LinkProblem(
            f"This link has expired: links to confirm a listing work for "
            f"{settings.confirm_link_days} days.",
            expired=True,
        ) from None
    except BadSignature:
        raise LinkProblem(
            "This link is not complete or has been changed: copy the whole link from the email."
        ) from None
    return int(data["r"])


@dataclass(frozen=True)
class EditTarget:
    """What an edit link opens: a registration not yet approved ("r"), or a listed
    provider ("p"); ``email`` is the hash of the address it was sent to, ``version`` the
    listing's link version when it was made (0 for links made before versions existed)."""

    kind: Literal["r", "p"]
    id: int
    email: str
    version: int = 0

    def opens(self, email: str | None, version: int) -> bool:
        """Whether the link still works for a listing now reached at ``email`` whose link
        version is ``version``."""
        return bool(email) and self.email == email_hash(email or "") and self.version == version


def edit_token(
    settings: Settings, kind: Literal["r", "p"], target_id: int, email: str, version: int
) -> str:
    return _signer(settings, "edit").dumps(
        {kind: target_id, "e": email_hash(email), "v": int(version)}
    )


def read_edit_token(settings: Settings, token: str) -> EditTarget:
    try:
        data = _signer(settings, "edit").loads(token, max_age=settings.edit_link_days * DAY)
    except SignatureExpired:
        raise LinkProblem(
            "This edit link has expired: ask for a new one below.", expired=True
        ) from None
    except BadSignature:
        raise LinkProblem(
            "This link is not complete or has been changed: copy the whole link from the "
            "email, or ask for a new one below."
        ) from None
    kind: Literal["r", "p"] = "r" if "r" in data else "p"
    return EditTarget(kind, int(data[kind]), str(data.get("e", "")), int(data.get("v", 0)))


def confirm_url(settings: Settings, registration_id: int) -> str:
    return url(settings, f"/register/confirm/{confirm_token(settings, registration_id)}")


def edit_url(
    settings: Settings, kind: Literal["r", "p"], target_id: int, email: str, version: int
) -> str:
    return url(settings, f"/listing/{edit_token(settings, kind, target_id, email, version)}")


def still_right_url(settings: Settings, provider_id: int, email: str, version: int) -> str:
    token = edit_token(settings, "p", provider_id, email, version)
    return url(settings, f"/listing/{token}/still-right")
