"""Who am I: what a token is bound to, so integrators can check their set-up."""

from __future__ import annotations

import strawberry

from api.access import models

Role = strawberry.enum(models.Role, description="What an API client may see and do.")


@strawberry.type(description="The API client behind the bearer token of this request.")
class Viewer:
    name: str
    role: Role
    practice_ods_code: str | None
    provider_name: str | None
