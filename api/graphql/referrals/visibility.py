"""Field-level visibility of referrals in GraphQL: one field extension, put on every field of
the referral types by ``policed``, that asks api/access/policy.py's table whether the caller
may read that part of this referral, and reads null (without running the resolver, so nothing
is loaded or decrypted) when it may not. No resolver decides visibility itself."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from graphql import GraphQLObjectType, GraphQLSchema
from strawberry.extensions.field_extension import FieldExtension
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

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


# GraphQL type name -> {GraphQL field name: policy path}, for ``describe_readers``.
_POLICED: dict[str, dict[str, str]] = {}


def policed(prefix: str | None = None) -> Callable[[type[T]], type[T]]:
    """Class decorator (outside ``@strawberry.type``): every field of the type is read through
    the policy as ``prefix.field`` (or ``field`` for the referral itself)."""

    def apply(cls: type[T]) -> type[T]:
        definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
        for field in definition.fields:
            name = field.python_name
            path = name if prefix is None else f"{prefix}.{name}"
            field.extensions.append(Visible(path))
            _POLICED.setdefault(definition.name, {})[field.graphql_name or to_camel_case(name)] = (
                path
            )
        return cls

    return apply


def readers(path: str) -> str:
    """Who may read the part ``path`` of a referral, in words, from the policy's table."""
    roles = [role.value for role in policy.Role if path in policy.readable_fields(role)]
    if not roles:
        return "Read by no role."
    gated = (
        " (GP_PRACTICE only once the person agreed to share outcomes)"
        if path in policy.CONSENT_GATED
        else ""
    )
    return f"Read by {', '.join(roles)}{gated}; null for other roles."


def describe_readers(schema: GraphQLSchema) -> None:
    """Add to each policed field's description who may read it."""
    for type_name, fields in _POLICED.items():
        type_ = schema.type_map.get(type_name)
        if not isinstance(type_, GraphQLObjectType):
            continue
        for field_name, path in fields.items():
            field = type_.fields.get(field_name)
            if field is not None and "Read by" not in (field.description or ""):
                about = field.description.rstrip() + " " if field.description else ""
                field.description = about + readers(path)
