"""The schema: every domain's queries merged into one Query type, with the protective
extensions (depth, token, alias and cost limits, error masking) and the parse/validation
caches."""

from __future__ import annotations

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from api.graphql.access.queries import AccessQuery
from api.graphql.audit.queries import AuditQueryType
from api.graphql.cost import LIST_SIZE, MAX_COST, SEARCH_COST, QueryCost
from api.graphql.descriptions import describe
from api.graphql.directory.queries import DirectoryQuery
from api.graphql.directory.types import LocalityType, ProviderType, SessionType, VenueType
from api.graphql.errors import MaskUnexpected, Schema
from api.graphql.referrals.equality import EqualityMutation
from api.graphql.referrals.mutations import ReferralMutation
from api.graphql.referrals.plans import PlanMutation, PlanQuery
from api.graphql.referrals.queries import ReferralQuery
from api.graphql.referrals.types import ReferralType
from api.graphql.referrals.visibility import describe_readers
from api.graphql.registration.mutations import RegistrationMutation
from api.graphql.registration.queries import RegistrationQuery
from api.graphql.reports.queries import ReportQuery
from api.graphql.scalars import SCALARS
from api.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH

MAX_DEPTH = 10
MAX_TOKENS = 2000
MAX_ALIASES = 20

LIMITS = (
    f"Limits: a query may cost at most {MAX_COST:,}: every field counts once for each time "
    "it can appear in the answer, a connection multiplies what is under its `edges` by its "
    f"`first` (20 when not given, at most 100), other lists count {LIST_SIZE} items "
    "(`Provider.sessions`: 100), and `sessions`, `providers`, `domains` and `__schema` add "
    f"{SEARCH_COST:,} each, for the search they run. A query over the limit is refused "
    "before it runs, with an error (`extensions.code` MAX_COST_EXCEEDED) that gives its "
    f"`cost` and the `maxCost`. Queries may also nest at most {MAX_DEPTH} levels, hold at "
    f"most {MAX_TOKENS:,} tokens and {MAX_ALIASES} aliases; a request body may be at most "
    f"{MAX_BODY_BYTES // 1024} KB (413 past it) and its JSON nest at most {MAX_JSON_DEPTH} "
    "levels (400)."
)

# merge_types, with a description: the limits, where every client's schema browser shows them.
_QUERIES = (
    DirectoryQuery,
    AccessQuery,
    ReferralQuery,
    PlanQuery,
    AuditQueryType,
    RegistrationQuery,
    ReportQuery,
)
Query = strawberry.type(
    type("Query", _QUERIES, {}), description=f"Everything that can be read. {LIMITS}"
)
Mutation = merge_types(
    "Mutation", (ReferralMutation, PlanMutation, EqualityMutation, RegistrationMutation)
)


# The limiters' rules are built once: a fresh rule class per request would change the
# ValidationCache key and make every request validate again (about 0.9 ms each).
_LIMIT_RULES = (
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
)


class QueryLimits(AddValidationRules):
    """Depth and alias limits (strawberry's own rules), cache-friendly."""

    def __init__(self) -> None:
        super().__init__(list(_LIMIT_RULES))


def build_schema(*, production: bool) -> strawberry.Schema:
    schema = build_bare_schema(production=production)
    # Entries unused here are reported by tests/test_schema_lint.py.
    describe(schema._schema)
    describe_readers(schema._schema)
    return schema


def build_bare_schema(*, production: bool) -> strawberry.Schema:
    """The schema as the code defines it, before describe() fills in descriptions."""
    return Schema(
        query=Query,
        mutation=Mutation,
        types=[SessionType, ProviderType, VenueType, LocalityType, ReferralType],
        config=StrawberryConfig(disable_field_suggestions=production),
        scalar_overrides=SCALARS,
        extensions=[
            QueryLimits,
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            MaskUnexpected,
            ParserCache,
            ValidationCache,
            QueryCost,
        ],
    )
