"""Outcome tables. Instruments are data: their items and scale come from YAML files
(directory_data/outcomes/), so adding one is a file, not a code change."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
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
from api.outcomes.enums import Direction, NhsUsePeriod, TimePoint
from api.reports.noise import new_record_key


class OutcomeInstrument(Base):
    __tablename__ = "outcome_instruments"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    scale_min: Mapped[int] = mapped_column(Integer)
    scale_max: Mapped[int] = mapped_column(Integer)
    direction: Mapped[Direction] = mapped_column(enum_column(Direction))
    # [{"key": "satisfied", "text": "...", "direction": "HIGHER_IS_BETTER"}, ...]; an item's
    # own direction overrides the instrument's (ONS4's anxiety question: lower is better).
    items: Mapped[list] = mapped_column(JSON)
    # {"0": "not at all", "10": "completely"}: labels of some scale points.
    scale_labels: Mapped[dict | None] = mapped_column(JSON)
    # A lead provider's own configuration of a configurable instrument (its licensed star
    # tool); None for the shipped instruments everyone uses.
    owner_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), index=True
    )
    configurable: Mapped[bool] = mapped_column(default=False)


class OutcomeMeasurement(Base):
    __tablename__ = "outcome_measurements"
    __table_args__ = (
        UniqueConstraint("referral_id", "instrument_id", "time_point", "follow_up_months"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    instrument_id: Mapped[int] = mapped_column(
        ForeignKey("outcome_instruments.id", ondelete="RESTRICT"), index=True
    )
    time_point: Mapped[TimePoint] = mapped_column(enum_column(TimePoint))
    # Months after the end, for FOLLOW_UP; 0 otherwise (so the unique key works everywhere).
    follow_up_months: Mapped[int] = mapped_column(Integer, default=0)
    taken_on: Mapped[dt.date] = mapped_column(Date)
    # {"item key": score}: every item of the instrument, each within its scale.
    scores: Mapped[dict] = mapped_column(JSON)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(200))


class NhsUse(Base):
    """NHS use over the 6 months before or after the intervention, recorded by the practice."""

    __tablename__ = "nhs_use"
    __table_args__ = (UniqueConstraint("referral_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    period: Mapped[NhsUsePeriod] = mapped_column(enum_column(NhsUsePeriod))
    gp_appointments: Mapped[int] = mapped_column(Integer)
    ae_attendances: Mapped[int] = mapped_column(Integer)
    unplanned_admissions: Mapped[int] = mapped_column(Integer)
    prescriptions: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))


class UnmetNeed(Base):
    """A need found in care planning that nothing in the directory meets. No patient
    identity: it is not linked to a referral."""

    __tablename__ = "unmet_needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: fits none of the six domains ("other"); the description says what it is.
    domain: Mapped[Domain | None] = mapped_column(enum_column(Domain), index=True)
    locality_id: Mapped[int] = mapped_column(
        ForeignKey("localities.id", ondelete="RESTRICT"), index=True
    )
    description: Mapped[str] = mapped_column(Text)
    practice_id: Mapped[int | None] = mapped_column(
        ForeignKey("gp_practices.id", ondelete="SET NULL")
    )
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id", ondelete="SET NULL"))
    # Fixed random key for disclosure control of reports (api/reports/noise.py).
    record_key: Mapped[int] = mapped_column(Integer, default=new_record_key)
