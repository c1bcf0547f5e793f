"""The schema: every domain's queries merged into one Query type, with the protective
extensions (depth, token and alias limits, error masking) and the parse/validation caches."""

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
from api.graphql.directory.queries import DirectoryQuery
from api.graphql.directory.types import LocalityType, ProviderType, SessionType, VenueType
from api.graphql.errors import MaskUnexpected, Schema
from api.graphql.referrals.mutations import ReferralMutation
from api.graphql.referrals.queries import ReferralQuery
from api.graphql.referrals.types import ReferralType
from api.graphql.registration.mutations import RegistrationMutation
from api.graphql.registration.queries import RegistrationQuery
from api.graphql.reports.queries import ReportQuery

Query = merge_types(
    "Query",
    (DirectoryQuery, AccessQuery, ReferralQuery, AuditQueryType, RegistrationQuery, ReportQuery),
)
Mutation = merge_types("Mutation", (ReferralMutation, RegistrationMutation))

MAX_DEPTH = 10
MAX_TOKENS = 2000
MAX_ALIASES = 20


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
    return Schema(
        query=Query,
        mutation=Mutation,
        types=[SessionType, ProviderType, VenueType, LocalityType, ReferralType],
        config=StrawberryConfig(disable_field_suggestions=production),
        extensions=[
            QueryLimits,
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            MaskUnexpected,
            ParserCache,
            ValidationCache,
        ],
    )
