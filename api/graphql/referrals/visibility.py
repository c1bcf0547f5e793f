"""Field-level visibility of referrals in GraphQL: one field extension, put on every field of
the referral types by ``policed``, that asks api/access/policy.py's table whether the caller
may read that part of this referral, and reads null (without running the resolver, so nothing
is loaded or decrypted) when it may not. No resolver decides visibility itself."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from strawberry.extensions.field_extension import FieldExtension
from strawberry.types import Info

from api.access import policy
from api.referrals import models

T = TypeVar("T")


def visible_parts(source: Any, info: Info) -> frozenset[str]:
    """The parts of the referral ``source`` is (or came from) that the caller may read."""
    if isinstance(source, models.Referral):
        principal = info.context.principal
        if principal is None:
            return frozenset()
        return policy.referral_fields(
            principal.role, consent_share_outcomes=source.consent_share_outcomes_at is not None
        )
    # A nested object carries the set of the referral it was made from.
    return source.visible


class Visible(FieldExtension):
    """Null unless ``path`` is among the parts the caller may read."""

    def __init__(self, path: str) -> None:
        self.path = path

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        if self.path not in visible_parts(source, info):
            return None
        return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        if self.path not in visible_parts(source, info):
            return None
        result = next_(source, info, **kwargs)
        return await result if inspect.isawaitable(result) else result


def policed(prefix: str | None = None) -> Callable[[type[T]], type[T]]:
    """Class decorator (outside ``@strawberry.type``): every field of the type is read through
    the policy as ``prefix.field`` (or ``field`` for the referral itself)."""

    def apply(cls: type[T]) -> type[T]:
        for field in cls.__strawberry_definition__.fields:  # type: ignore[attr-defined]
            name = field.python_name
            field.extensions.append(Visible(name if prefix is None else f"{prefix}.{name}"))
        return cls

    return apply
