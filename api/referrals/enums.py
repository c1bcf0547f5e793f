"""Referrals' closed vocabularies. Values are stored as these strings."""

from enum import StrEnum


class ReferralStatus(StrEnum):
    RECEIVED = "RECEIVED"
    CONTACTED = "CONTACTED"
    ASSESSED = "ASSESSED"
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    DID_NOT_ATTEND = "DID_NOT_ATTEND"
    DECLINED = "DECLINED"
    CLOSED = "CLOSED"


class Urgency(StrEnum):
    ROUTINE = "ROUTINE"
    URGENT = "URGENT"


class ContactMethod(StrEnum):
    PHONE = "PHONE"
    EMAIL = "EMAIL"
    LETTER = "LETTER"
    TEXT_MESSAGE = "TEXT_MESSAGE"


class ContactOutcome(StrEnum):
    """What came of trying to reach the person; REACHED is the first successful contact."""

    REACHED = "REACHED"
    NO_ANSWER = "NO_ANSWER"
    LEFT_MESSAGE = "LEFT_MESSAGE"
    WRONG_DETAILS = "WRONG_DETAILS"


class SupportLevel(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class WebhookDeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"  # gave up after the last attempt
