""" "Report a problem with this listing": anyone can send one from a listing's page; it goes
to the lead provider's queue and, by email, to the provider; a moderator resolves it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import orm, select

from api.access import policy
from api.access.tokens import Principal
from api.audit.log import record
from api.config import Settings
from api.directory import text as textrule
from api.directory.enums import ListingStatus
from api.directory.labels import safe_segment
from api.directory.models import Locality, Provider, Session, utcnow
from api.registration import links, mails
from api.registration.answers import ErrorCode, FieldError
from api.registration.flow import listing_email, rate_limit_error, rate_limited
from api.registration.leads import lead_name
from api.registration.models import ProblemReport, ReportKind, ReportStatus

KIND_LABELS = {
    ReportKind.CLOSED: "It has closed or stopped",
    ReportKind.WRONG_TIME: "The day or time is wrong",
    ReportKind.WRONG_CONTACT: "The contact details are wrong",
    ReportKind.OTHER: "Something else",
}
DETAILS_LIMIT = 2000


@dataclass
class Listing:
    provider: Provider
    session: Session | None
    lead: str = "the local lead provider"  # who keeps the directory up to date

    @property
    def about(self) -> str:
        return f"{self.session.title}, {self.provider.name}" if self.session else self.provider.name


def find_listing(db: orm.Session, provider_key: str, session_key: str | None) -> Listing | None:
    """The published listing a report is about (by the keys the static site links with)."""
    provider = db.scalars(
        select(Provider).where(
            Provider.key == provider_key.strip(), Provider.status == ListingStatus.PUBLISHED
        )
    ).first()
    if provider is None:
        return None
    session = None
    if session_key and session_key.strip():
        session = db.scalars(
            select(Session).where(
                Session.provider_id == provider.id, Session.key == session_key.strip()
            )
        ).first()
        if session is None:
            return None
    return Listing(provider, session, lead_name(db, provider.locality_id))


@dataclass
class Reported:
    report: ProblemReport | None = None
    errors: list[FieldError] = field(default_factory=list)
    mail: list[int] = field(default_factory=list)  # the queued emails
    dropped: bool = False


def report_problem(
    db: orm.Session,
    settings: Settings,
    listing: Listing,
    *,
    kind: str,
    details: str,
    reporter_email: str,
    address: str,
    honeypot: str = "",
) -> Reported:
    errors = []
    try:
        report_kind = ReportKind(kind)
    except ValueError:
        errors.append(FieldError("kind", "Choose what is wrong", ErrorCode.REQUIRED))
        report_kind = ReportKind.OTHER
    try:
        details = textrule.clean(details or "", multiline=True)
    except textrule.TextRefused as problem:
        errors.append(FieldError("details", problem.message("What you wrote"), ErrorCode.INVALID))
        details = ""
    if len(details) > DETAILS_LIMIT:
        errors.append(
            FieldError(
                "details",
                f"Keep it to {DETAILS_LIMIT} characters or fewer (it has {len(details)})",
                ErrorCode.TOO_LONG,
            )
        )
    elif report_kind is ReportKind.OTHER and not details and not errors:
        errors.append(FieldError("details", "Tell us what is wrong", ErrorCode.REQUIRED))
    email = (reporter_email or "").strip()
    if len(email) > 320 or (email and ("@" not in email or " " in email)):
        errors.append(
            FieldError(
                "reporter_email",
                "Enter an email address like name@example.org, or leave it empty",
                ErrorCode.INVALID,
            )
        )
    if errors:
        return Reported(errors=errors)
    if honeypot.strip():
        return Reported(dropped=True)
    if rate_limited(db, settings, "report", address):
        return Reported(errors=[rate_limit_error("kind")])
    report = ProblemReport(
        provider_id=listing.provider.id,
        session_id=listing.session.id if listing.session else None,
        kind=report_kind,
        details=details,
        reporter_email=email or None,
        status=ReportStatus.OPEN,
    )
    db.add(report)
    db.flush()
    messages = []
    what = KIND_LABELS[report_kind].lower()
    session_title = listing.session.title if listing.session else None
    owner = listing_email(db, listing.provider)
    if owner:
        messages.append(
            mails.problem_reported(
                owner,
                listing.provider.name,
                what,
                session_title,
                details,
                links.edit_url(
                    settings, "p", listing.provider.id, owner, listing.provider.edit_link_version
                ),
                "Check and change your listing",
            )
        )
    lead = _lead_of(db, listing.provider)
    if lead is not None and lead.email:
        messages.append(
            mails.problem_reported(
                lead.email,
                listing.provider.name,
                what,
                session_title,
                details,
                links.url(settings, "/moderation"),
                "Open the moderation queue",
            )
        )
    return Reported(report=report, mail=mails.queue(db, messages))


def _lead_of(db: orm.Session, provider: Provider) -> Provider | None:
    if provider.locality_id is None:
        return None
    return db.scalars(
        select(Provider)
        .join(Locality, Locality.lead_provider_id == Provider.id)
        .where(Locality.id == provider.locality_id)
    ).first()


def listing_url(settings: Settings, listing: Listing) -> str:
    """The listing's page on the public site (the paths sitegen/pages.py gives them)."""
    path = f"providers/{safe_segment(listing.provider.key, f'p{listing.provider.id}')}/"
    if listing.session is not None:
        path += f"{safe_segment(listing.session.key, f's{listing.session.id}')}/"
    return settings.resolved_site_url + path


def contact(db: orm.Session, listing: Listing) -> tuple[str | None, str | None]:
    """How a moderator reaches the provider about a report: (email, phone)."""
    phone = listing.provider.phone or (listing.session.contact_phone if listing.session else None)
    return listing_email(db, listing.provider), phone


def open_reports(db: orm.Session, principal: Principal) -> list[tuple[ProblemReport, Listing]]:
    """Open reports about listings in this moderator's localities, oldest first."""
    rows = db.execute(
        select(ProblemReport, Provider, Session)
        .join(Provider, Provider.id == ProblemReport.provider_id)
        .outerjoin(Session, Session.id == ProblemReport.session_id)
        .where(
            ProblemReport.status == ReportStatus.OPEN,
            policy.moderation_filter(principal, Provider.locality_id),
        )
        .order_by(ProblemReport.created_at, ProblemReport.id)
    )
    return [(report, Listing(provider, session)) for report, provider, session in rows]


def resolve(
    db: orm.Session,
    principal: Principal,
    report_id: int,
    note: str,
    *,
    withdraw: bool = False,
    stays_up: bool = False,
) -> tuple[ProblemReport | None, list[FieldError]]:
    """Resolve a report. ``withdraw`` takes the listing down with it (the note is the
    reason); a report that it has closed cannot be resolved while the listing stays up
    unless the moderator says so (``stays_up``, with a note saying why)."""
    report = db.scalars(
        select(ProblemReport)
        .join(Provider, Provider.id == ProblemReport.provider_id)
        .where(
            ProblemReport.id == report_id,
            policy.moderation_filter(principal, Provider.locality_id),
        )
    ).first()
    if report is None:
        return None, [
            FieldError(
                "id", "There is no problem report with this ID for you.", ErrorCode.NOT_FOUND
            )
        ]
    if report.status is ReportStatus.RESOLVED:
        return report, [
            FieldError("id", "This report is already resolved.", ErrorCode.INVALID_STATE)
        ]
    text = (note or "").strip()
    if not text:
        # The note is the record of what was done: the README promises one.
        return report, [
            FieldError(
                "note",
                "Write what was done about the report, for example 'Phone number corrected'",
                ErrorCode.REQUIRED,
            )
        ]
    if len(text) > DETAILS_LIMIT:
        return report, [
            FieldError(
                "note", f"Keep it to {DETAILS_LIMIT} characters or fewer", ErrorCode.TOO_LONG
            )
        ]
    errors = _listing_outcome(db, principal, report, text, withdraw=withdraw, stays_up=stays_up)
    if errors:
        return report, errors
    report.status = ReportStatus.RESOLVED
    report.resolved_at = utcnow()
    report.resolved_by_client_id = principal.client_id
    report.resolution_note = text or None
    record(db, principal, "problem_report.resolve", "problem_report", report.id)
    return report, []


def _listing_outcome(
    db: orm.Session,
    principal: Principal,
    report: ProblemReport,
    note: str,
    *,
    withdraw: bool,
    stays_up: bool,
) -> list[FieldError]:
    """What happens to the listing as a report is resolved (see ``resolve``)."""
    from api.directory import lifecycle

    if withdraw:
        reason = note or f"Reported: {KIND_LABELS[report.kind].lower()}"
        changed = lifecycle.take_down(
            db, principal, report.provider_id, report.session_id, "withdraw", reason
        )
        return (
            []
            if changed.ok or changed.errors[0].code is ErrorCode.INVALID_STATE
            else (changed.errors)
        )
    if report.kind is not ReportKind.CLOSED:
        return []
    provider = db.get(Provider, report.provider_id)
    session = db.get(Session, report.session_id) if report.session_id else None
    if provider is None or not lifecycle.is_public(provider, session):
        return []
    if not stays_up:
        return [
            FieldError(
                "withdraw",
                "This report says it has closed, and the listing is still up: withdraw it, "
                "or say it stays up and why",
                ErrorCode.INVALID_STATE,
            )
        ]
    if not note:
        return [FieldError("note", "Say why the listing stays up", ErrorCode.REQUIRED)]
    return []
