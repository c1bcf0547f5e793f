from __future__ import annotations

import strawberry
from sqlalchemy import orm
from strawberry.types import Info

from api.directory.models import GpPractice, Provider
from api.graphql.access.types import Viewer
from api.graphql.context import Context


@strawberry.type
class AccessQuery:
    @strawberry.field(description="The client behind this request's token (null: anonymous).")
    async def me(self, info: Info[Context]) -> Viewer | None:
        principal = info.context.principal
        if principal is None:
            if info.context.auth_problem:  # a token was sent but refused: say so
                info.context.authorize("reading this")
            return None

        def read(db: orm.Session) -> Viewer:
            practice = db.get(GpPractice, principal.practice_id) if principal.practice_id else None
            provider = db.get(Provider, principal.provider_id) if principal.provider_id else None
            return Viewer(
                name=principal.name,
                role=principal.role,
                practice_ods_code=practice.ods_code if practice else None,
                provider_name=provider.name if provider else None,
            )

        return await info.context.db.run_sync(read)
