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
    SiteChange,
    Venue,
    VenueFeature,
)
from api.mail.models import QueuedEmail
from api.oruk.models import ImportedRecord
from api.outcomes.models import NhsUse, OutcomeInstrument, OutcomeMeasurement, UnmetNeed
from api.referrals.models import (
    Attendance,
    ContactAttempt,
    Referral,
    ReferralDomain,
    ReferralEvent,
    RegisterLink,
    Signpost,
    Webhook,
    WebhookDelivery,
)
from api.referrals.plan_models import LevelChange, PlanRevision, Review
from api.registration.models import (
    FormAttempt,
    ListingContact,
    ListingEvent,
    PrizeDraw,
    ProblemReport,
    Registration,
    Reminder,
)
from api.reports.imd import ImdDecile
from api.staff.models import StaffAccount, StaffRecoveryCode, StaffSession, StaffSignInLink

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
    "SiteChange",
    "Venue",
    "VenueFeature",
    # referrals and outcomes
    "Attendance",
    "ContactAttempt",
    "NhsUse",
    "OutcomeInstrument",
    "OutcomeMeasurement",
    "Referral",
    "ReferralDomain",
    "ReferralEvent",
    "RegisterLink",
    "Signpost",
    "UnmetNeed",
    "Webhook",
    "WebhookDelivery",
    "LevelChange",
    "PlanRevision",
    "Review",
    "FormAttempt",
    "ListingContact",
    "ListingEvent",
    "PrizeDraw",
    "ProblemReport",
    "Registration",
    "Reminder",
    # the IMD lookup for "who is reached" in the report
    "ImdDecile",
    # other directories' records brought in by `petunia import oruk`
    "ImportedRecord",
    "StaffAccount",
    "StaffRecoveryCode",
    "StaffSession",
    "StaffSignInLink",
]
