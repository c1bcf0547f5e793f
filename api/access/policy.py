"""The one place that decides who may do what.

Every GraphQL resolver, HTML page and CLI command that touches protected data asks here.
Rules about records (which referrals a role may see) live here too, as SQL filters, so that
"not yours" and "does not exist" look the same to the caller.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, true

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


# Moderation of self-registrations and problem reports (api/registration/).
MODERATORS = (Role.LEAD_PROVIDER, Role.ADMIN)


def moderation_filter(principal: Principal, locality_column: Any) -> ColumnElement[bool]:
    """What a moderator may see, as a filter on a locality column: a lead provider, its own
    localities and anything whose place is unknown (no locality yet); an admin, everything."""
    if principal.role is Role.ADMIN:
        return true()
    if principal.role is Role.LEAD_PROVIDER:
        return or_(locality_column.in_(sorted(principal.locality_ids)), locality_column.is_(None))
    return false()
