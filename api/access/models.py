"""API clients: one row per issued bearer token (only its hash is stored)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base
from api.directory.models import enum_column, utcnow


class Role(StrEnum):
    GP_PRACTICE = "GP_PRACTICE"  # bound to one practice
    LEAD_PROVIDER = "LEAD_PROVIDER"  # bound to one lead provider (its localities)
    PROVIDER = "PROVIDER"  # bound to one provider
    COMMISSIONER = "COMMISSIONER"  # aggregates only
    ADMIN = "ADMIN"


class ApiClient(Base):
    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    practice_id: Mapped[int | None] = mapped_column(
        ForeignKey("gp_practices.id", ondelete="RESTRICT"), index=True
    )
    provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("providers.id", ondelete="RESTRICT"), index=True
    )
    # SHA-256 of the token: tokens are 256 random bits, so a fast hash is enough, and a
    # lookup by hash is one indexed read.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, shown in listings so people can tell tokens apart.
    token_prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
