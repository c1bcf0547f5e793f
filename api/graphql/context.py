"""What every resolver is handed: the database, the settings and this request's loaders."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import orm
from starlette.requests import Request
from strawberry.dataloader import DataLoader

from api.access import policy
from api.access.models import Role
from api.access.tokens import Principal
from api.config import Settings
from api.db import Database
from api.graphql.errors import AccessError

if TYPE_CHECKING:
    from api.graphql.directory.loaders import DirectoryLoaders
    from api.graphql.referrals.loaders import ReferralLoaders

V = TypeVar("V")

Fetch = Callable[[orm.Session, Sequence[int]], Mapping[int, V]]


def _loader(db: Database, fetch: Fetch[Any], missing: Callable[[], Any]) -> DataLoader[int, Any]:
    async def load(keys: list[int]) -> list[Any]:
        found = await db.run_sync(lambda session: fetch(session, keys))
        return [found[key] if key in found else missing() for key in keys]

    return DataLoader(load_fn=load)


def one_loader(db: Database, fetch: Fetch[Any]) -> DataLoader[int, Any]:
    """A loader of one row per key (None when there is none)."""
    return _loader(db, fetch, lambda: None)


def many_loader(db: Database, fetch: Fetch[Any]) -> DataLoader[int, Any]:
    """A loader of a list of rows per key (empty when there are none)."""
    return _loader(db, fetch, list)


@dataclass
class Context:
    db: Database
    settings: Settings
    request: Request | None = None
    # Who is calling (None: anonymous), and why a presented token was refused.
    principal: Principal | None = None
    auth_problem: str | None = None
    # The HTTP response being made (strawberry's sub-response): its status can be set, as the
    # error masking does when the database cannot be reached (503).
    response: Any = None
    loaders: DirectoryLoaders = field(init=False)
    referral_loaders: ReferralLoaders = field(init=False)

    def __post_init__(self) -> None:
        # Imported here: the loaders' modules import the GraphQL types, which import Context.
        from api.graphql.directory.loaders import DirectoryLoaders
        from api.graphql.referrals.loaders import ReferralLoaders

        self.loaders = DirectoryLoaders(self.db)
        self.referral_loaders = ReferralLoaders(self.db)

    def authorize(self, action: str, *roles: Role) -> Principal:
        """The caller, if one of ``roles`` may do ``action``; a top-level error otherwise.
        The decision is policy.require's; this only turns it into a GraphQL error."""
        try:
            return policy.require(self.principal, action, *roles)
        except policy.NotAuthenticated as exc:
            raise AccessError(self.auth_problem or str(exc), code="UNAUTHENTICATED") from None
        except policy.NotAllowed as exc:
            raise AccessError(str(exc), code="FORBIDDEN") from None
