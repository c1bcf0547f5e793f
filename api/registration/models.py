"""Tables of registration and upkeep. A registration holds what the person typed until a lead
provider approves it; only then do Provider, Venue and Session rows change."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, event, inspect, orm
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base
from api.directory.models import Provider, enum_column, utcnow


class RegistrationStatus(StrEnum):
    AWAITING_CONFIRMATION = "AWAITING_CONFIRMATION"  # the emailed link is not clicked yet
    PENDING_REVIEW = "PENDING_REVIEW"  # in the lead provider's moderation queue
    CHANGES_REQUESTED = "CHANGES_REQUESTED"  # sent back to the provider with a note
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class RegistrationKind(StrEnum):
    NEW = "NEW"  # a new organisation
    UPDATE = "UPDATE"  # a change to a listed provider, from its edit link
    # Someone of an organisation already listed (who cannot reach its email) sends an
    # activity to add to it (JOIN), or asks for access to change the listing (ACCESS):
    # provider_id is that listing; the lead provider decides (api/registration/joining.py).
    JOIN = "JOIN"
    ACCESS = "ACCESS"


class ReportKind(StrEnum):
    CLOSED = "CLOSED"
    WRONG_TIME = "WRONG_TIME"
    WRONG_CONTACT = "WRONG_CONTACT"
    OTHER = "OTHER"


class ReportStatus(StrEnum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"


class ListingEventKind(StrEnum):
    CONFIRMED = "CONFIRMED"  # "still right"
    UPDATED = "UPDATED"  # a change was approved


class Registration(Base):
    __tablename__ = "registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A one-time key carried by the form (or the GraphQL input): the same submission sent
    # twice (a double click, a retry after a timeout) is stored once.
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[RegistrationKind] = mapped_column(enum_column(RegistrationKind))
    status: Mapped[RegistrationStatus] = mapped_column(enum_column(RegistrationStatus), index=True)
    # UPDATE: the listing it changes (and the session, or None for a new offer). NEW: set on
    # approval to the provider it created.
    provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("providers.id", ondelete="SET NULL"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    # Whose lead provider moderates it; None when the place is unknown (any lead may).
    locality_id: Mapped[int | None] = mapped_column(
        ForeignKey("localities.id", ondelete="SET NULL"), index=True
    )
    organisation: Mapped[str] = mapped_column(String(200))
    # The organisation's name folded for the duplicate check ("The Cat & Dog Shelter" ->
    # "cat and dog shelter").
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    postcode: Mapped[str | None] = mapped_column(String(8), index=True)
    # Where confirmation and edit links go; published only when the person said so.
    email: Mapped[str] = mapped_column(String(320), index=True)
    # Every answer exactly as typed (size-limited): re-displayed on edit, read on approval.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_client_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_clients.id", ondelete="SET NULL")
    )
    # The note of "request changes", or the reason of a rejection (sent to the provider).
    decision_note: Mapped[str | None] = mapped_column(Text)
    # Edit links carry it; it goes up (never down) when ``email`` changes, so links sent to
    # an earlier address stop for good (api/registration/links.py).
    edit_link_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class FormAttempt(Base):
    """One submission of a public form, for the per-address rate limit. The address is
    stored only as a keyed hash."""

    __tablename__ = "form_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    form: Mapped[str] = mapped_column(String(30))
    address_hash: Mapped[str] = mapped_column(String(64), index=True)
    # The form's one-time key, when it has one: the same form sent again counts once.
    submission_key: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class ListingContact(Base):
    """The private address of a listing's owner: edit links, reminders and reports go here."""

    __tablename__ = "listing_contacts"

    provider_id: Mapped[int] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[str] = mapped_column(String(320))


class ListingEvent(Base):
    """A provider confirmed its entry or had a change approved: freshness and the prize."""

    __tablename__ = "listing_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ListingEventKind] = mapped_column(enum_column(ListingEventKind))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class Reminder(Base):
    """A "still right?" email sent by `petunia remind`."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), index=True
    )
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Where it went, not the address: "mail queue <id>" (since the mail queue), or earlier
    # "smtp:host" or the outbox file.
    delivered_to: Mapped[str] = mapped_column(String(500))


class PrizeDraw(Base):
    __tablename__ = "prize_draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), unique=True)  # "2026-10"
    seed: Mapped[str] = mapped_column(String(64))
    # Provider ids in the order the draw used (ascending): with the seed, enough to redo it.
    entrants: Mapped[list[int]] = mapped_column(JSON)
    winner_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("providers.id", ondelete="SET NULL")
    )
    drawn_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProblemReport(Base):
    """ "Report a problem with this listing", from the public."""

    __tablename__ = "problem_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    kind: Mapped[ReportKind] = mapped_column(enum_column(ReportKind))
    details: Mapped[str] = mapped_column(Text, default="")
    # Optional, for a reply; never shown to the provider.
    reporter_email: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[ReportStatus] = mapped_column(enum_column(ReportStatus), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by_client_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_clients.id", ondelete="SET NULL")
    )
    resolution_note: Mapped[str | None] = mapped_column(Text)


# ---------------------------------------------------------------------------------------------
# Edit-link versions follow the address, whichever code changes it


def _address(value: object) -> str:
    return str(value or "").strip().lower()


def _before(obj: object, attribute: str) -> object:
    """The value loaded from the database, before this flush's changes (None for a new row)."""
    history = inspect(obj).attrs[attribute].history
    if history.deleted:
        return history.deleted[0]
    return history.unchanged[0] if history.unchanged else None


def _email_changed(obj: object) -> bool:
    history = inspect(obj).attrs["email"].history
    if not history.deleted:
        return False  # a new row, or not changed
    return _address(history.deleted[0]) != _address(history.added[0] if history.added else None)


def _bump(obj: Registration | Provider) -> None:
    if not inspect(obj).attrs["edit_link_version"].history.has_changes():
        obj.edit_link_version = (obj.edit_link_version or 0) + 1


@event.listens_for(orm.Session, "before_flush")
def _retire_edit_links(db: orm.Session, _context: object, _instances: object) -> None:
    """Move a listing's link version forward when the address its edit links go to changes:
    a registration's email; a provider's registered contact; a provider's public email when
    it has no registered contact. Here, at flush, so that no path (the flow, `petunia load`,
    an import) can forget it; at most once per flush, and not when the code moved it already."""
    with db.no_autoflush:
        new_contacts = {c.provider_id: c for c in db.new if isinstance(c, ListingContact)}
        for obj in list(db.dirty):
            if isinstance(obj, Registration) and _email_changed(obj):
                _bump(obj)
            elif isinstance(obj, ListingContact) and _email_changed(obj):
                provider = db.get(Provider, obj.provider_id)
                if provider is not None:
                    _bump(provider)
            elif (
                isinstance(obj, Provider)
                and _email_changed(obj)
                and obj.id not in new_contacts
                and db.get(ListingContact, obj.id) is None
            ):
                _bump(obj)
        for provider_id, contact in new_contacts.items():
            # A first registered contact: the listing was reached at its public address.
            provider = db.get(Provider, provider_id)
            if provider is None:
                continue
            was = _before(provider, "email")
            if was and _address(was) != _address(contact.email):
                _bump(provider)


__all__ = [
    "FormAttempt",
    "ListingContact",
    "ListingEvent",
    "PrizeDraw",
    "ProblemReport",
    "Registration",
    "Reminder",
]
