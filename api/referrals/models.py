"""Referral tables.

Personal data (the person's NHS number, name, date of birth, contact details and the free
text about them) lives only in the ``*_enc`` columns, encrypted with the referral's own data
key (api/referrals/protection.py, api/referrals/keys.py);
``nhs_number_hash`` is a keyed hash for lookups. Everything else is the anonymous facts that
reports need and that survive ``petunia purge``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base
from api.directory.enums import Domain
from api.directory.models import enum_column, utcnow
from api.referrals.enums import (
    ContactMethod,
    ContactOutcome,
    ReferralStatus,
    SupportLevel,
    Urgency,
    WebhookDeliveryStatus,
)
from api.reports.noise import new_record_key


class Referral(Base):
    __tablename__ = "referrals"
    __table_args__ = (UniqueConstraint("practice_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Routing: the referring practice, its locality and named link worker at the time.
    practice_id: Mapped[int] = mapped_column(
        ForeignKey("gp_practices.id", ondelete="RESTRICT"), index=True
    )
    locality_id: Mapped[int] = mapped_column(
        ForeignKey("localities.id", ondelete="RESTRICT"), index=True
    )
    link_worker_id: Mapped[int | None] = mapped_column(
        ForeignKey("link_workers.id", ondelete="SET NULL"), index=True
    )
    created_by_client_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_clients.id", ondelete="SET NULL")
    )
    # A retry with the same key returns this referral; request_hash tells a retry (same
    # content) from a mistake (same key, different content).
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))

    # The referral's own data key in the key store (api/referrals/keys.py): its personal data
    # is encrypted with it, and purge destroys it. None: written before data keys existed (its
    # data is under the master key until `petunia rekey`).
    key_id: Mapped[str | None] = mapped_column(String(36))
    # Personal data, encrypted; None once purged.
    nhs_number_enc: Mapped[str | None] = mapped_column(Text)
    nhs_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # name, date of birth, contact details, reason, what matters, notes (JSON, encrypted).
    person_enc: Mapped[str | None] = mapped_column(Text)
    # goals and action plan from the assessment (JSON, encrypted).
    plan_enc: Mapped[str | None] = mapped_column(Text)
    # Optional equality data (api/referrals/equality.py: sex, ethnic category, long term
    # conditions, IMD decile; JSON, encrypted); special category data, purged with the rest.
    equality_enc: Mapped[str | None] = mapped_column(Text)

    # Anonymous facts.
    age_at_referral: Mapped[int] = mapped_column(Integer)
    preferred_language: Mapped[str] = mapped_column(String(3), default="en")
    needs_interpreter: Mapped[bool] = mapped_column(Boolean, default=False)
    urgency: Mapped[Urgency] = mapped_column(enum_column(Urgency), default=Urgency.ROUTINE)
    consent_to_refer_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # When the person agreed to outcomes going back to the practice (None: they did not).
    consent_share_outcomes_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # When the person agreed to their plan's goals going back to the practice, and to
    # receiving their own copy of the plan (api/referrals/person_copy.py); None: not (yet).
    consent_share_goals_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    consent_own_copy_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[ReferralStatus] = mapped_column(
        enum_column(ReferralStatus), default=ReferralStatus.RECEIVED, index=True
    )
    received_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    # First contact is due by the end of this day (5 working days, England and Wales).
    contact_due_on: Mapped[dt.date] = mapped_column(Date)
    contacted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    contact_working_days: Mapped[int | None] = mapped_column(Integer)
    status_changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set on COMPLETED, DECLINED or CLOSED; the retention period counts from it.
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    support_level: Mapped[SupportLevel | None] = mapped_column(enum_column(SupportLevel))
    # The assessment's factors: {"coMorbidities": 2, "mentalHealth": true, ...}.
    support_factors: Mapped[dict | None] = mapped_column(JSON)
    assessed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Reminders sent by `petunia nudge` (each at most once).
    nudged_link_worker_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    nudged_lead_provider_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    purged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Fixed random key for disclosure control of reports (api/reports/noise.py): not
    # personal, never shown, kept after purge like the other anonymous facts.
    record_key: Mapped[int] = mapped_column(Integer, default=new_record_key)


class ReferralDomain(Base):
    __tablename__ = "referral_domains"

    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), primary_key=True
    )
    domain: Mapped[Domain] = mapped_column(enum_column(Domain), primary_key=True, index=True)


class ReferralEvent(Base):
    """One status change: from, to, when, by whom, and an optional note (encrypted: it may
    be about the person)."""

    __tablename__ = "referral_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[ReferralStatus | None] = mapped_column(enum_column(ReferralStatus))
    to_status: Mapped[ReferralStatus] = mapped_column(enum_column(ReferralStatus))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(200))
    note_enc: Mapped[str | None] = mapped_column(Text)


class ContactAttempt(Base):
    """One try at reaching the person: when, how, and what came of it (no free text, so no
    personal data beyond the fact of the attempt)."""

    __tablename__ = "referral_contact_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    on_date: Mapped[dt.date] = mapped_column(Date)
    method: Mapped[ContactMethod] = mapped_column(enum_column(ContactMethod))
    outcome: Mapped[ContactOutcome] = mapped_column(enum_column(ContactOutcome))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))


class Signpost(Base):
    """A referral pointed at a session in the directory."""

    __tablename__ = "referral_signposts"
    __table_args__ = (UniqueConstraint("referral_id", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="RESTRICT"), index=True
    )
    # The session's provider when signposted, so a provider's view survives session edits.
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("providers.id", ondelete="RESTRICT"), index=True
    )
    signposted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))


class RegisterLink(Base):
    """A provider's link to the register of one session (who was signposted there, and
    ticking who came): sent to the provider's contact, works until it expires or is
    revoked; only the token's hash is stored."""

    __tablename__ = "register_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))


class Attendance(Base):
    __tablename__ = "referral_attendance"
    __table_args__ = (UniqueConstraint("signpost_id", "on_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    signpost_id: Mapped[int] = mapped_column(
        ForeignKey("referral_signposts.id", ondelete="CASCADE"), index=True
    )
    on_date: Mapped[dt.date] = mapped_column(Date)
    attended: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))


class Webhook(Base):
    """A GP system's HTTPS endpoint, told of its practice's referrals' status changes."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(
        ForeignKey("gp_practices.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id", ondelete="SET NULL"))
    url: Mapped[str] = mapped_column(String(2000))
    # The HMAC signing secret, encrypted (it must be readable to sign, unlike a token).
    secret_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Base):
    """One call to make: written with the status change it reports (same transaction), so
    no change is lost; `petunia webhooks deliver` sends what is due, retrying with back-off."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"))
    # Only the referral's global ID and status: never more.
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[WebhookDeliveryStatus] = mapped_column(
        enum_column(WebhookDeliveryStatus), default=WebhookDeliveryStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
