"""What ``petunia import oruk`` remembers of another directory's records: which Petunia
provider or session each organization or service became, so that a later run updates it
instead of adding it again, and can tell what the other directory no longer lists."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base


class ImportedRecord(Base):
    __tablename__ = "imported_records"
    __table_args__ = (UniqueConstraint("source", "kind", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The feed: its API's address, or the export folder's absolute path.
    source: Mapped[str] = mapped_column(String(500), index=True)
    # "organization" or "service": the ORUK record it came from.
    kind: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    # True when the import made the Petunia record; False when it matched one already here
    # (same organisation and postcode), which the import then never removes.
    created_here: Mapped[bool] = mapped_column(Boolean)
    first_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # When a run no longer found it in the feed (None while it is there).
    gone_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
