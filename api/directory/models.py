"""Directory tables. The shape follows Open Referral UK / HSDS 3.0 where it can:

=================  ===========================================
Petunia            HSDS
=================  ===========================================
Provider           organization
Session            service (+ service_at_location for its venue)
Venue              location (+ accessibility)
Schedule           schedule (RRULE fields: freq, interval, byday)
session domains    attribute -> taxonomy_term (the six domains)
=================  ===========================================

Relations are plain foreign keys; readers load them through DataLoaders, so no model here
declares lazy-loading relationships that could issue queries behind a caller's back.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base
from api.directory.enums import (
    AccessibilityFeature,
    Delivery,
    Domain,
    Frequency,
    Gender,
    HowToJoin,
    ListedBy,
    ListingStatus,
    ProviderKind,
    Relationship,
    Verification,
)


def enum_column(enum: type, **kwargs: object) -> Enum:
    # Stored as plain strings (no native ENUM type): adding a value is a code change only.
    return Enum(enum, native_enum=False, length=40, validate_strings=True, **kwargs)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Timestamped:
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class DomainLabel(Base):
    """Plain-language label and description of each of the six domains (the taxonomy)."""

    __tablename__ = "domains"

    domain: Mapped[Domain] = mapped_column(enum_column(Domain), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")


class Locality(Base):
    __tablename__ = "localities"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    lead_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("providers.id", ondelete="SET NULL", use_alter=True)
    )


class Provider(Timestamped, Base):
    """An organisation: the lead NTP of a locality or any other non-traditional provider."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[ProviderKind] = mapped_column(enum_column(ProviderKind))
    relationship: Mapped[Relationship] = mapped_column(enum_column(Relationship))
    locality_id: Mapped[int | None] = mapped_column(
        ForeignKey("localities.id", ondelete="SET NULL"), index=True
    )
    charity_number: Mapped[str | None] = mapped_column(String(20))
    company_number: Mapped[str | None] = mapped_column(String(20))
    website: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    listed_by: Mapped[ListedBy] = mapped_column(enum_column(ListedBy))
    verification: Mapped[Verification] = mapped_column(
        enum_column(Verification), default=Verification.UNVERIFIED
    )
    verified_at: Mapped[dt.date | None] = mapped_column(Date)
    # The lead provider whose staff checked the entry ("checked by ... on ...").
    verified_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("providers.id", ondelete="SET NULL")
    )
    last_confirmed_at: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[ListingStatus] = mapped_column(
        enum_column(ListingStatus), default=ListingStatus.PUBLISHED, index=True
    )
    # Edit links carry it; it goes up (never down) when the listing's email changes or its
    # links are revoked, so older links stop for good (api/registration/links.py).
    edit_link_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Why it is not PUBLISHED (a moderator's reason for a withdrawal or suspension).
    status_reason: Mapped[str | None] = mapped_column(String(500))


class Postcode(Base):
    """A postcode's centroid (from the demo data or the ONS Postcode Directory)."""

    __tablename__ = "postcodes"

    postcode: Mapped[str] = mapped_column(String(8), primary_key=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)


class Venue(Base):
    __tablename__ = "venues"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500), default="")
    postcode: Mapped[str | None] = mapped_column(String(8))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    locality_id: Mapped[int | None] = mapped_column(
        ForeignKey("localities.id", ondelete="SET NULL"), index=True
    )


class VenueFeature(Base):
    __tablename__ = "venue_features"

    venue_id: Mapped[int] = mapped_column(
        ForeignKey("venues.id", ondelete="CASCADE"), primary_key=True
    )
    feature: Mapped[AccessibilityFeature] = mapped_column(
        enum_column(AccessibilityFeature), primary_key=True
    )


class Session(Timestamped, Base):
    """An activity people can join (HSDS: a service, delivered at one venue)."""

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("provider_id", "key"),
        # Lists in title order walk it and stop when the page is full (migration 0016).
        Index("ix_sessions_status_title", "status", "title", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    delivery: Mapped[Delivery] = mapped_column(enum_column(Delivery))
    venue_id: Mapped[int | None] = mapped_column(
        ForeignKey("venues.id", ondelete="SET NULL"), index=True
    )
    is_free: Mapped[bool] = mapped_column(Boolean, default=True)
    cost_amount: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    cost_concessions: Mapped[str | None] = mapped_column(String(300))
    how_to_join: Mapped[HowToJoin] = mapped_column(enum_column(HowToJoin))
    min_age: Mapped[int | None] = mapped_column(Integer)
    max_age: Mapped[int | None] = mapped_column(Integer)
    gender: Mapped[Gender] = mapped_column(enum_column(Gender), default=Gender.ANY)
    # None: the provider has not said.
    carers_welcome: Mapped[bool | None] = mapped_column(Boolean)
    who_for_notes: Mapped[str | None] = mapped_column(String(500))
    capacity: Mapped[int | None] = mapped_column(Integer)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    # Title, description, provider and venue names in one column, kept by the directory's
    # write functions; the full-text index (FTS5 or tsvector) is built over it.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Only PUBLISHED sessions are public (of PUBLISHED providers): a stopped, withdrawn or
    # suspended one is kept, with why, but left off (api/directory/lifecycle.py).
    status: Mapped[ListingStatus] = mapped_column(
        enum_column(ListingStatus),
        default=ListingStatus.PUBLISHED,
        server_default=ListingStatus.PUBLISHED.value,
        index=True,
    )
    status_reason: Mapped[str | None] = mapped_column(String(500))


class DirectoryVersion(Base):
    """One row: a number raised by every write to the directory's tables (database triggers,
    migration 0015). Public reads are cached by it (api/caching.py)."""

    __tablename__ = "directory_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class SessionDomain(Base):
    __tablename__ = "session_domains"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    domain: Mapped[Domain] = mapped_column(enum_column(Domain), primary_key=True, index=True)


class SessionLanguage(Base):
    __tablename__ = "session_languages"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    # ISO 639-1 code, lower case ("bn", "so").
    language: Mapped[str] = mapped_column(String(3), primary_key=True, index=True)


class Schedule(Base):
    """One recurrence rule of a session, in RRULE terms (HSDS ``schedule``)."""

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    freq: Mapped[Frequency] = mapped_column(enum_column(Frequency))
    interval: Mapped[int] = mapped_column(Integer, default=1)
    # RRULE BYDAY: "MO,WE" weekly; "1TU,3TU" or "-1FR" monthly; the date's day for ONCE.
    byday: Mapped[str] = mapped_column(String(60))
    # Bit i set when the rule can fall on weekday i (Monday = bit 0): the day filter.
    days_mask: Mapped[int] = mapped_column(Integer, index=True)
    opens_at: Mapped[dt.time] = mapped_column(Time)
    closes_at: Mapped[dt.time | None] = mapped_column(Time)
    # dtstart: the first date (the date itself for ONCE; fortnightly parity counts from it).
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(300))


class SessionBreak(Base):
    """Dates a session does not run (term breaks, holidays)."""

    __tablename__ = "session_breaks"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))


class LinkWorker(Base):
    """A health link worker, employed by a lead provider and named for some GP practices."""

    __tablename__ = "link_workers"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    lead_provider_id: Mapped[int] = mapped_column(
        ForeignKey("providers.id", ondelete="RESTRICT"), index=True
    )


class GpPractice(Base):
    __tablename__ = "gp_practices"

    id: Mapped[int] = mapped_column(primary_key=True)
    ods_code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    locality_id: Mapped[int] = mapped_column(
        ForeignKey("localities.id", ondelete="RESTRICT"), index=True
    )
    postcode: Mapped[str | None] = mapped_column(String(8))
    # The practice's named link worker: where its referrals are routed.
    link_worker_id: Mapped[int | None] = mapped_column(
        ForeignKey("link_workers.id", ondelete="SET NULL"), index=True
    )


class SiteChange(Base):
    """A change to the public directory the site does not show yet: written in the same
    transaction as the change (api/directory/publishing.py), removed once a build shows it."""

    __tablename__ = "site_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# Every flush that changes the public directory queues a site rebuild (api/directory/publishing.py).
from api.directory import publishing as _publishing  # noqa: E402, F401
