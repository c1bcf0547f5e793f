"""Every table, imported in one place so alembic and tests see the whole schema."""

from api.access.models import ApiClient
from api.audit.models import AuditEvent
from api.directory.models import (
    DomainLabel,
    GpPractice,
    LinkWorker,
    Locality,
    Postcode,
    Provider,
    Schedule,
    Session,
    SessionBreak,
    SessionDomain,
    SessionLanguage,
    Venue,
    VenueFeature,
)
from api.mail.models import QueuedEmail
from api.oruk.models import ImportedRecord
from api.outcomes.models import NhsUse, OutcomeInstrument, OutcomeMeasurement, UnmetNeed
from api.referrals.models import (
    Attendance,
    Referral,
    ReferralDomain,
    ReferralEvent,
    Signpost,
    Webhook,
    WebhookDelivery,
)
from api.registration.models import (
    FormAttempt,
    ListingContact,
    ListingEvent,
    PrizeDraw,
    ProblemReport,
    Registration,
    Reminder,
)

__all__ = [
    "ApiClient",
    "AuditEvent",
    "QueuedEmail",
    "DomainLabel",
    "GpPractice",
    "LinkWorker",
    "Locality",
    "Postcode",
    "Provider",
    "Schedule",
    "Session",
    "SessionBreak",
    "SessionDomain",
    "SessionLanguage",
    "Venue",
    "VenueFeature",
    # referrals and outcomes
    "Attendance",
    "NhsUse",
    "OutcomeInstrument",
    "OutcomeMeasurement",
    "Referral",
    "ReferralDomain",
    "ReferralEvent",
    "Signpost",
    "UnmetNeed",
    "Webhook",
    "WebhookDelivery",
    "FormAttempt",
    "ListingContact",
    "ListingEvent",
    "PrizeDraw",
    "ProblemReport",
    "Registration",
    "Reminder",
    # other directories' records brought in by `petunia import oruk`
    "ImportedRecord",
]
