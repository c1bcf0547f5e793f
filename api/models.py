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
    "FormAttempt",
    "ListingContact",
    "ListingEvent",
    "PrizeDraw",
    "ProblemReport",
    "Registration",
    "Reminder",
]
