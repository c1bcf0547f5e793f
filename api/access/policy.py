"""The one place that decides who may do what.

Every GraphQL resolver, HTML page and CLI command that touches protected data asks here.
Rules about records (which referrals a role may see) live here too, as SQL filters, so that
"not yours" and "does not exist" look the same to the caller.
"""

from __future__ import annotations

from api.access.models import Role
from api.access.tokens import Principal


class NotAuthenticated(PermissionError):
    def __init__(self) -> None:
        super().__init__("sign in: send `Authorization: Bearer <token>` with a Petunia API token")


class NotAllowed(PermissionError):
    def __init__(self, action: str) -> None:
        super().__init__(f"your token does not allow {action}")


def require(principal: Principal | None, action: str, *roles: Role) -> Principal:
    """The principal, if it has one of ``roles``; raise otherwise."""
    if principal is None:
        raise NotAuthenticated()
    if principal.role not in roles:
        raise NotAllowed(action)
    return principal
