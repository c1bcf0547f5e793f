"""Staff tables: accounts, one-time sign-in links, recovery codes and sessions. Every secret
a browser or an email carries (link tokens, session ids, recovery codes) is stored only as
its SHA-256 hash; the TOTP secret, which must be readable to check a code, is encrypted."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.access.models import Role
from api.db import Base
from api.directory.models import enum_column, utcnow


class StaffAccount(Base):
    """A person, bound to a role and scope exactly as an API client is."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Work email, lower-cased: where sign-in links go; unique among all accounts.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[Role] = mapped_column(enum_column(Role))
    practice_id: Mapped[int | None] = mapped_column(
        ForeignKey("gp_practices.id", ondelete="RESTRICT"), index=True
    )
    provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("providers.id", ondelete="RESTRICT"), index=True
    )
    # A link worker's account (LEAD_PROVIDER): the LinkWorker whose caseload is "mine".
    link_worker_id: Mapped[int | None] = mapped_column(
        ForeignKey("link_workers.id", ondelete="SET NULL"), index=True
    )
    # A lead provider's coordinator: manages its accounts and sees every caseload.
    coordinator: Mapped[bool] = mapped_column(Boolean, default=False)
    # Demo accounts (`petunia up` on the demo data) sign in without email in development
    # and never in production.
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret_enc: Mapped[str | None] = mapped_column(Text)
    totp_confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The last TOTP time step accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    invited_by: Mapped[str] = mapped_column(String(200))
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class StaffSignInLink(Base):
    """An emailed one-time link: single use, short expiry."""

    __tablename__ = "staff_sign_in_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class StaffRecoveryCode(Base):
    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class StaffSession(Base):
    """A signed-in browser. The cookie holds a random id; only its hash is stored, and
    deleting the row (sign-out, idle or absolute expiry, an admin's revocation) ends it."""

    __tablename__ = "staff_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When the second factor was passed; None: signed in by link only (not yet usable when
    # the role needs TOTP).
    second_factor_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    failed_codes: Mapped[int] = mapped_column(Integer, default=0)
