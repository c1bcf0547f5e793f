"""A registration's life: submitted -> confirmed by email -> in the lead provider's queue ->
approved (written into the directory), sent back with a note, or rejected. Editing from the
emailed link, "still right" confirmations and edit-link requests live here too.

Every function works in the caller's transaction and queues the emails it causes in that
same transaction (``mails.queue``): an email never announces a change that was rolled back,
a crash after the commit cannot lose it, and a mail server that is down never loses what a
person typed. Callers may try to send them at once after the commit (``Outcome.mail``);
the mail queue sends whatever is left, with retries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import String, cast, delete, func, or_, orm, select
from sqlalchemy.exc import IntegrityError, OperationalError

from api.access import policy
from api.access.tokens import Principal
from api.audit.log import record
from api.config import Settings
from api.db import Database
from api.directory import publishing
from api.directory import text as textrule
from api.directory.enums import (
    Delivery,
    ListedBy,
    ListingStatus,
    ProviderKind,
    Relationship,
    Verification,
)
from api.directory.models import Locality, Provider, Session, Venue, utcnow
from api.directory.postcodes import InvalidPostcode, normalise_postcode
from api.directory.writing import (
    SessionFields,
    VenueFields,
    find_or_create_venue,
    locality_near,
    slug,
    unique_key,
    write_session,
)
from api.registration import links, mails, summary
from api.registration.answers import Answers, ErrorCode, FieldError, Raw, check, name_key, today
from api.registration.leads import lead_name, lead_provider
from api.registration.models import (
    FormAttempt,
    ListingContact,
    ListingEvent,
    ListingEventKind,
    Registration,
    RegistrationKind,
    RegistrationStatus,
)

T = TypeVar("T")
OPEN = (
    RegistrationStatus.AWAITING_CONFIRMATION,
    RegistrationStatus.PENDING_REVIEW,
    RegistrationStatus.CHANGES_REQUESTED,
)
NOTE_LIMIT = 2000


@dataclass
class Outcome:
    """What a change did: the registration, the errors that stopped it, the ids of the
    emails it queued."""

    registration: Registration | None = None
    errors: list[FieldError] = field(default_factory=list)
    mail: list[int] = field(default_factory=list)
    # A same-name listing at the same postcode: offer to update it instead.
    duplicate_of: Duplicate | None = None
    # The honeypot was filled in: nothing was stored, and the sender is not told.
    dropped: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


# ---------------------------------------------------------------------------------------------
# Short write transactions that survive SQLite's "database is locked"


def write_retrying(db: Database, fn: Callable[[orm.Session], T], attempts: int = 6) -> T:
    """``db.write(fn)``, run again when SQLite reports the database locked, or when a
    concurrent request stored the same unique key first. busy_timeout already waits for a
    lock; a transaction that read before writing can still be refused at once when another
    writer committed in between, and then the whole unit of work is simply redone."""
    for attempt in range(attempts):
        try:
            return db.write(fn)
        except IntegrityError:
            if attempt >= 1:
                raise
        except OperationalError as exc:
            if "locked" not in str(exc).lower() or attempt == attempts - 1:
                raise
            time.sleep(0.02 * (attempt + 1))
    raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------------------
# The per-address rate limit


def address_hash(settings: Settings, address: str) -> str:
    key = settings.secret("secret_key").encode()
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()


def rate_limited(
    db: orm.Session,
    settings: Settings,
    form: str,
    address: str,
    submission_key: str | None = None,
    *,
    limit: int | None = None,
) -> bool:
    """Record one submission from ``address`` and say whether it is over the hourly limit.
    The same form sent again (one ``submission_key``: a double click, concurrent retries)
    counts once. The write comes first, so on SQLite the transaction holds the write lock
    from here on."""
    limit = settings.form_rate_limit if limit is None else limit
    if limit <= 0:
        return False
    hashed = address_hash(settings, address)
    db.add(FormAttempt(form=form, address_hash=hashed, submission_key=submission_key))
    db.flush()
    since = utcnow() - dt.timedelta(hours=1)
    # Attempts older than the window count for nothing: keep the table small.
    db.execute(delete(FormAttempt).where(FormAttempt.at < since - dt.timedelta(hours=1)))
    count = db.scalar(
        select(
            func.count(
                func.distinct(
                    func.coalesce(FormAttempt.submission_key, cast(FormAttempt.id, String))
                )
            )
        ).where(
            FormAttempt.address_hash == hashed,
            FormAttempt.form == form,
            FormAttempt.at >= since,
        )
    )
    return (count or 0) > limit


def rate_limit_error(field_name: str) -> FieldError:
    return FieldError(
        field_name,
        "Too many forms have been sent from your connection in the last hour. Your answers "
        "are still here: please try again later.",
        ErrorCode.RATE_LIMITED,
    )


# ---------------------------------------------------------------------------------------------
# Submitting


@dataclass(frozen=True)
class Duplicate:
    name: str
    provider_id: int | None = None
    registration_id: int | None = None


def find_duplicate(db: orm.Session, answers: Answers) -> Duplicate | None:
    """A listing (or open registration) of the same organisation at the same postcode; with
    no postcode, of the same name at no fixed place."""
    key = name_key(answers.organisation)
    stmt = select(Registration.id, Registration.organisation).where(
        Registration.name_key == key,
        Registration.status.in_(OPEN),
        Registration.kind == RegistrationKind.NEW,
    )
    stmt = stmt.where(
        Registration.postcode == answers.postcode
        if answers.postcode
        else Registration.postcode.is_(None)
    )
    found = db.execute(stmt.limit(1)).first()
    if found:
        return Duplicate(found[1], registration_id=found[0])
    providers = select(Provider.id, Provider.name).where(Provider.status != ListingStatus.WITHDRAWN)
    if answers.postcode:
        providers = providers.where(
            Provider.id.in_(
                select(Session.provider_id)
                .join(Venue, Venue.id == Session.venue_id)
                .where(Venue.postcode == answers.postcode)
            )
        )
    for provider_id, name in db.execute(providers):
        if name_key(name) == key:
            return Duplicate(name, provider_id=provider_id)
    return None


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def link_to_duplicate(
    db: orm.Session, settings: Settings, raw: Raw, *, address: str
) -> tuple[str | None, list[int], list[FieldError]]:
    """ "Update the existing listing instead": email its edit link to the address that
    listing was registered with (never to the address typed now). Returns that address,
    masked, for the page to show, and the queued email."""
    answers, errors = check(raw)
    if errors or answers is None:
        return None, [], errors
    if rate_limited(db, settings, "register", address):
        return None, [], [rate_limit_error("organisation")]
    duplicate = find_duplicate(db, answers)
    if duplicate is None:
        return None, [], []
    if duplicate.provider_id is not None:
        provider = db.get(Provider, duplicate.provider_id)
        email = listing_email(db, provider) if provider else None
        link = (
            links.edit_url(settings, "p", provider.id, email, provider.edit_link_version)
            if provider and email
            else None
        )
    else:
        registration = db.get(Registration, duplicate.registration_id)
        email = registration.email if registration else None
        link = (
            links.edit_url(settings, "r", registration.id, email, registration.edit_link_version)
            if registration and email
            else None
        )
    if not email or not link:
        return None, [], []
    return _mask(email), mails.queue(db, [mails.edit_links(email, [(duplicate.name, link)])]), []


def _by_submission_key(db: orm.Session, submission_key: str) -> Registration | None:
    return db.scalars(
        select(Registration).where(Registration.submission_key == submission_key)
    ).first()


def submit(
    db: orm.Session,
    settings: Settings,
    raw: Raw,
    *,
    submission_key: str,
    address: str,
    honeypot: str = "",
    confirm_different: bool = False,
) -> Outcome:
    """A new organisation's registration, from the form or GraphQL."""
    answers, errors = check(raw)
    if not submission_key or len(submission_key) > 64:
        errors.append(
            FieldError(
                "submission_key",
                "This form has expired: reload the page (your answers are kept) and send it again",
                ErrorCode.INVALID,
            )
        )
    if errors or answers is None:
        return Outcome(errors=errors)
    if honeypot.strip():
        return Outcome(dropped=True)
    # The same form sent again (a double click, a retry): it is stored once, and the retry
    # stores and sends nothing, so it is not counted against the rate limit either.
    existing = _by_submission_key(db, submission_key)
    if existing is not None:
        return Outcome(registration=existing)
    if rate_limited(db, settings, "register", address, submission_key):
        return Outcome(errors=[rate_limit_error("organisation")])
    if not confirm_different:
        duplicate = find_duplicate(db, answers)
        # On PostgreSQL each statement sees what committed before it began: a concurrent
        # request with this key may have committed between the look-up above and the
        # duplicate check, and its registration is then this caller's own, not a duplicate.
        existing = _by_submission_key(db, submission_key) if duplicate else None
        if existing is not None:
            return Outcome(registration=existing)
        if duplicate:
            return Outcome(errors=[_duplicate_error(duplicate, answers)], duplicate_of=duplicate)
    registration = Registration(
        submission_key=submission_key,
        kind=RegistrationKind.NEW,
        status=RegistrationStatus.AWAITING_CONFIRMATION,
        locality_id=locality_near(db, answers.postcode),
        organisation=answers.organisation,
        name_key=name_key(answers.organisation),
        postcode=answers.postcode,
        email=answers.email,
        answers=raw,
    )
    db.add(registration)
    # A concurrent request with the same key fails here on the unique key; write_retrying
    # runs it again, and then it finds the stored one above.
    db.flush()
    message = mails.confirm_registration(
        answers.email,
        answers.organisation,
        links.confirm_url(settings, registration.id),
        links.edit_url(
            settings, "r", registration.id, answers.email, registration.edit_link_version
        ),
        settings.confirm_link_days,
        lead=lead_name(db, registration.locality_id),
        review_days=settings.review_days,
        sent=summary.rows(answers, summary.domain_labels(db)),
    )
    # In the registration's transaction: committed together, or not at all.
    return Outcome(registration=registration, mail=mails.queue(db, [message]))


def locality_of(db: orm.Session, raw: Raw) -> int | None:
    """The locality of the postcode typed in a form, if it is a real one near a locality."""
    try:
        postcode = normalise_postcode(str(raw.get("postcode") or ""))
    except InvalidPostcode:
        return None
    return locality_near(db, postcode)


@dataclass
class Preview:
    """What the "check your answers" page shows before anything is stored."""

    answers: Answers | None
    errors: list[FieldError]
    lead: str = "the local lead provider"


def preview(db: orm.Session, raw: Raw, *, confirm_different: bool = False) -> Preview:
    """Check a registration's answers, and its duplicate, without storing anything."""
    answers, errors = check(raw)
    if errors or answers is None:
        return Preview(None, errors)
    if not confirm_different and (duplicate := find_duplicate(db, answers)):
        return Preview(None, [_duplicate_error(duplicate, answers)])
    return Preview(answers, [], lead_name(db, locality_near(db, answers.postcode)))


def _duplicate_error(duplicate: Duplicate, answers: Answers) -> FieldError:
    where = f" at {answers.postcode}" if answers.postcode else ""
    return FieldError(
        "organisation",
        f"{duplicate.name}{where} is already in the directory or waiting to be "
        "checked. You can update that listing instead: we email a link to "
        "change it to the address it was registered with. If yours is a "
        "different organisation, say so and send the form again.",
        ErrorCode.DUPLICATE,
    )


def _lead_notice(
    db: orm.Session, settings: Settings, registration: Registration
) -> list[mails.Message]:
    if registration.locality_id is None:
        return []
    lead = lead_provider(db, registration.locality_id)
    if lead is None or not lead.email:
        return []
    return [
        mails.new_in_queue(
            lead.email, registration.organisation, links.url(settings, "/moderation")
        )
    ]


def confirm(db: orm.Session, settings: Settings, registration_id: int) -> Outcome:
    """The emailed link was followed: the registration joins the moderation queue. Following
    it again changes nothing."""
    registration = db.get(Registration, registration_id)
    if registration is None:
        return Outcome(
            errors=[FieldError("token", "This listing no longer exists.", ErrorCode.NOT_FOUND)]
        )
    if registration.status is not RegistrationStatus.AWAITING_CONFIRMATION:
        return Outcome(registration=registration)
    registration.status = RegistrationStatus.PENDING_REVIEW
    registration.confirmed_at = utcnow()
    return Outcome(
        registration=registration, mail=mails.queue(db, _lead_notice(db, settings, registration))
    )


def revise(db: orm.Session, settings: Settings, registration: Registration, raw: Raw) -> Outcome:
    """Changes to a registration not yet approved, from its edit link. Saving proves the
    address, so it also confirms; a registration sent back with a note returns to the queue."""
    if registration.status not in OPEN:
        return Outcome(
            errors=[
                FieldError(
                    "organisation",
                    "This registration has already been decided, so it cannot be changed here.",
                    ErrorCode.INVALID_STATE,
                )
            ]
        )
    answers, errors = check(raw, allow_keep=registration.session_id is not None)
    if errors or answers is None:
        return Outcome(registration=registration, errors=errors)
    old_email = registration.email
    registration.answers = raw
    registration.organisation = answers.organisation
    registration.name_key = name_key(answers.organisation)
    registration.postcode = answers.postcode
    registration.email = answers.email
    if registration.kind is RegistrationKind.NEW:
        registration.locality_id = locality_near(db, answers.postcode)
    was = registration.status
    registration.status = RegistrationStatus.PENDING_REVIEW
    registration.confirmed_at = registration.confirmed_at or utcnow()
    # The flush moves the link version forward if the address changed (models.py): the new
    # link below must carry the new version.
    db.flush()
    messages = []
    if answers.email != old_email:
        messages.append(
            mails.edit_links(
                answers.email,
                [
                    (
                        answers.organisation,
                        links.edit_url(
                            settings,
                            "r",
                            registration.id,
                            answers.email,
                            registration.edit_link_version,
                        ),
                    )
                ],
            )
        )
    if was is not RegistrationStatus.PENDING_REVIEW:
        messages += _lead_notice(db, settings, registration)
    return Outcome(registration=registration, mail=mails.queue(db, messages))


def listing_email(db: orm.Session, provider: Provider) -> str | None:
    """Where a listing's owner is reached: the address it registered with, else its public one."""
    contact = db.get(ListingContact, provider.id)
    return contact.email if contact else provider.email


def submit_update(
    db: orm.Session,
    settings: Settings,
    provider: Provider,
    session_id: int | None,
    raw: Raw,
    *,
    submission_key: str,
) -> Outcome:
    """A listed provider's change to one of its offers (or a new offer), from its edit link.
    It goes to the moderation queue; the listing stays as it is until approved. A second
    change to the same offer before then replaces the first."""
    answers, errors = check(raw, allow_keep=session_id is not None)
    if errors or answers is None:
        return Outcome(errors=errors)
    pending = db.scalars(
        select(Registration).where(
            Registration.kind == RegistrationKind.UPDATE,
            Registration.provider_id == provider.id,
            Registration.session_id == session_id
            if session_id is not None
            else Registration.session_id.is_(None),
            Registration.status.in_(OPEN),
        )
    ).first()
    if pending is None:
        existing = db.scalars(
            select(Registration).where(Registration.submission_key == submission_key)
        ).first()
        if existing is not None:
            return Outcome(registration=existing)
        pending = Registration(
            submission_key=submission_key,
            kind=RegistrationKind.UPDATE,
            provider_id=provider.id,
            session_id=session_id,
            locality_id=provider.locality_id or locality_near(db, answers.postcode),
        )
        db.add(pending)
    pending.status = RegistrationStatus.PENDING_REVIEW
    pending.confirmed_at = utcnow()
    pending.organisation = answers.organisation
    pending.name_key = name_key(answers.organisation)
    pending.postcode = answers.postcode
    pending.email = answers.email
    pending.answers = raw
    db.flush()
    return Outcome(registration=pending, mail=mails.queue(db, _lead_notice(db, settings, pending)))


def revoke_edit_links(db: orm.Session, provider: Provider) -> int:
    """Stop every edit link of a listing for good (an email forwarded or lost), without
    changing its address: its link version moves forward, and so does that of its open
    change requests. Fresh links come from /listing/edit-link. Returns the new version."""
    provider.edit_link_version = (provider.edit_link_version or 0) + 1
    granted = (Registration.kind == RegistrationKind.ACCESS) & (
        Registration.status == RegistrationStatus.APPROVED
    )
    for registration in db.scalars(
        select(Registration).where(
            Registration.provider_id == provider.id,
            Registration.status.in_(OPEN) | granted,
        )
    ):
        registration.edit_link_version = (registration.edit_link_version or 0) + 1
    record(db, None, "listing.revoke_edit_links", "provider", provider.id)
    return provider.edit_link_version


def still_right(db: orm.Session, provider: Provider) -> None:
    """The provider says its listing is still right (the one-click link)."""
    provider.last_confirmed_at = today()
    db.add(ListingEvent(provider_id=provider.id, kind=ListingEventKind.CONFIRMED))
    record(db, None, "listing.still_right", "provider", provider.id)


def edit_links_for(db: orm.Session, settings: Settings, email: str) -> list[int]:
    """Queue one email with an edit link for every listing and open registration of
    ``email`` (and a fresh confirmation link for any not yet confirmed); none when there are
    none. Returns the queued email's id, if any."""
    address = email.strip().lower()
    if not address:
        return None
    found: list[tuple[str, str]] = []
    with_contact = select(ListingContact.provider_id)
    providers = db.scalars(
        select(Provider)
        .where(
            or_(
                Provider.id.in_(
                    select(ListingContact.provider_id).where(
                        func.lower(ListingContact.email) == address
                    )
                ),
                (func.lower(Provider.email) == address) & Provider.id.not_in(with_contact),
            ),
            Provider.status != ListingStatus.WITHDRAWN,
        )
        .order_by(Provider.name)
    )
    for provider in providers:
        found.append(
            (
                provider.name,
                links.edit_url(settings, "p", provider.id, address, provider.edit_link_version),
            )
        )
    for registration in db.scalars(
        select(Registration)
        .where(func.lower(Registration.email) == address, Registration.status.in_(OPEN))
        .order_by(Registration.id)
    ):
        found.append(
            (
                f"{registration.organisation} (not yet in the directory)",
                links.edit_url(
                    settings, "r", registration.id, address, registration.edit_link_version
                ),
            )
        )
        if registration.status is RegistrationStatus.AWAITING_CONFIRMATION:
            found.append(
                (
                    f"Confirm {registration.organisation}",
                    links.confirm_url(settings, registration.id),
                )
            )
    for access in db.scalars(
        select(Registration).where(
            Registration.kind == RegistrationKind.ACCESS,
            Registration.status == RegistrationStatus.APPROVED,
            func.lower(Registration.email) == address,
        )
    ):
        found.append(
            (
                access.organisation,
                links.edit_url(settings, "r", access.id, address, access.edit_link_version),
            )
        )
    return mails.queue(db, [mails.edit_links(address, found)]) if found else []


# ---------------------------------------------------------------------------------------------
# Moderation


def _scope(db: orm.Session, principal: Principal, registration_id: int) -> Registration | None:
    """The registration, if this moderator may see it (else None: "not yours" looks like
    "not found")."""
    return db.scalars(
        select(Registration).where(
            Registration.id == registration_id,
            policy.moderation_filter(principal, Registration.locality_id),
        )
    ).first()


def moderation_queue(
    db: orm.Session,
    principal: Principal,
    statuses: tuple[RegistrationStatus, ...] = (RegistrationStatus.PENDING_REVIEW,),
) -> list[Registration]:
    """Registrations waiting for this moderator, oldest first."""
    return list(
        db.scalars(
            select(Registration)
            .where(
                Registration.status.in_(statuses),
                policy.moderation_filter(principal, Registration.locality_id),
            )
            .order_by(Registration.confirmed_at, Registration.id)
        )
    )


def get_registration(
    db: orm.Session, principal: Principal, registration_id: int
) -> Registration | None:
    return _scope(db, principal, registration_id)


def _decidable(
    db: orm.Session, principal: Principal, registration_id: int
) -> tuple[Registration | None, list[FieldError]]:
    registration = _scope(db, principal, registration_id)
    if registration is None:
        return None, [
            FieldError(
                "id", "There is no registration with this ID in your queue.", ErrorCode.NOT_FOUND
            )
        ]
    if registration.status is not RegistrationStatus.PENDING_REVIEW:
        state = registration.status.value.replace("_", " ").lower()
        return registration, [
            FieldError(
                "id",
                f"This registration is {state}: only one waiting for review can be decided.",
                ErrorCode.INVALID_STATE,
            )
        ]
    return registration, []


def _lead_for(db: orm.Session, principal: Principal, registration: Registration) -> Provider | None:
    if principal.provider_id is not None:
        return db.get(Provider, principal.provider_id)
    if registration.locality_id is None:
        return None
    locality = db.get(Locality, registration.locality_id)
    return (
        db.get(Provider, locality.lead_provider_id)
        if locality and locality.lead_provider_id
        else None
    )


def check_note(value: str, field_name: str, what: str) -> tuple[str, list[FieldError]]:
    """A moderator's note for the provider, cleaned, or why it cannot be sent."""
    return _note(value, field_name, what)


def _note(value: str, field_name: str, what: str) -> tuple[str, list[FieldError]]:
    try:
        text = textrule.clean(value or "", multiline=True)
    except textrule.TextRefused as problem:
        return "", [FieldError(field_name, problem.message("The note"), ErrorCode.INVALID)]
    if not text:
        return text, [
            FieldError(field_name, f"Write {what}: the provider reads it", ErrorCode.REQUIRED)
        ]
    if len(text) > NOTE_LIMIT:
        return text, [
            FieldError(
                field_name,
                f"Keep it to {NOTE_LIMIT} characters or fewer (it has {len(text)})",
                ErrorCode.TOO_LONG,
            )
        ]
    return text, []


def write_answered_session(
    db: orm.Session,
    provider: Provider,
    session: Session | None,
    answers: Answers,
    registration: Registration,
) -> Session:
    """The activity a registration describes, written into ``provider`` (``session`` None:
    as a new one), at its venue (found or created), with the sender's public contact."""
    venue_id = None
    if answers.delivery is Delivery.AT_VENUE and answers.venue_name:
        venue_id = find_or_create_venue(
            db,
            VenueFields(
                name=answers.venue_name,
                postcode=answers.postcode,
                address=answers.address,
                locality_id=registration.locality_id or provider.locality_id,
                accessibility=answers.accessibility,
            ),
        ).id
    return write_session(
        db,
        provider,
        session,
        SessionFields(
            title=answers.title,
            description=answers.description,
            domains=answers.domains,
            delivery=answers.delivery,
            venue_id=venue_id,
            is_free=answers.is_free,
            cost_amount=answers.cost_amount,
            cost_concessions=answers.concessions,
            how_to_join=answers.how_to_join,
            who_for_notes=answers.who_for,
            languages=answers.languages,
            contact_email=answers.email if answers.show_email else None,
            contact_phone=answers.phone,
        ),
        answers.rules,
    )


def approve(
    db: orm.Session, settings: Settings, principal: Principal, registration_id: int
) -> Outcome:
    """Write the registration into the directory, checked by the moderator's lead provider:
    it is public in the API at once."""
    registration, errors = _decidable(db, principal, registration_id)
    if errors or registration is None:
        return Outcome(registration=registration, errors=errors)
    answers, problems = check(registration.answers, allow_keep=registration.session_id is not None)
    if problems or answers is None:
        return Outcome(
            registration=registration,
            errors=[
                FieldError(
                    "id",
                    "Its answers no longer pass the checks ("
                    + "; ".join(p.message for p in problems)
                    + "): request changes instead.",
                    ErrorCode.INVALID_STATE,
                )
            ],
        )
    lead = _lead_for(db, principal, registration)
    if registration.kind in (RegistrationKind.JOIN, RegistrationKind.ACCESS):
        from api.registration import joining  # it builds on this module

        return joining.approve(
            db,
            settings,
            principal,
            registration,
            answers,
            lead.name if lead else "The lead provider",
        )
    on = today()
    provider = db.get(Provider, registration.provider_id) if registration.provider_id else None
    if provider is None:
        provider = Provider(
            key=unique_key(db, Provider.key, slug(answers.organisation)),
            name=answers.organisation,
            description="",
            kind=ProviderKind.NTP,
            relationship=Relationship.INFORMAL,
            locality_id=registration.locality_id,
            listed_by=ListedBy.SELF_REGISTERED,
        )
        db.add(provider)
    provider.name = answers.organisation
    provider.website = answers.website
    provider.email = answers.email if answers.show_email else None
    provider.phone = answers.phone
    provider.status = ListingStatus.PUBLISHED
    provider.verification = Verification.VERIFIED
    provider.verified_at = on
    provider.verified_by_id = lead.id if lead else None
    provider.last_confirmed_at = on
    db.flush()

    session = None
    if registration.session_id is not None:
        session = db.get(Session, registration.session_id)
        if session is not None and session.provider_id != provider.id:
            session = None
    session = write_answered_session(db, provider, session, answers, registration)
    contact = db.get(ListingContact, provider.id)
    if contact is None:
        db.add(ListingContact(provider_id=provider.id, email=answers.email))
    else:
        contact.email = answers.email
    db.add(ListingEvent(provider_id=provider.id, kind=ListingEventKind.UPDATED))
    registration.status = RegistrationStatus.APPROVED
    registration.provider_id = provider.id
    registration.session_id = session.id
    registration.decided_at = utcnow()
    registration.decided_by_client_id = principal.client_id
    record(
        db,
        principal,
        "registration.approve",
        "registration",
        registration.id,
        provider_id=provider.id,
    )
    # The flush moves the link version forward if the address changed (models.py).
    db.flush()
    message = mails.approved(
        answers.email,
        answers.organisation,
        lead.name if lead else "The lead provider",
        links.edit_url(settings, "p", provider.id, answers.email, provider.edit_link_version),
        publishing.when_visible(settings),
    )
    return Outcome(registration=registration, mail=mails.queue(db, [message]))


def _decide_with_note(
    db: orm.Session,
    principal: Principal,
    registration_id: int,
    note: str,
    *,
    field_name: str,
    what: str,
    status: RegistrationStatus,
    action: str,
) -> tuple[Registration | None, str, list[FieldError]]:
    """Record a moderator's decision that carries a note for the provider (changes asked
    for, or a rejection): (the registration, the note, the errors that stopped it)."""
    text, errors = _note(note, field_name, what)
    registration, state_errors = _decidable(db, principal, registration_id)
    errors = state_errors + errors
    if errors or registration is None:
        return registration, text, errors
    registration.status = status
    registration.decision_note = text
    registration.decided_at = utcnow()
    registration.decided_by_client_id = principal.client_id
    record(db, principal, action, "registration", registration.id)
    return registration, text, []


def _lead_name(db: orm.Session, principal: Principal, registration: Registration) -> str:
    lead = _lead_for(db, principal, registration)
    return lead.name if lead else "The lead provider"


def request_changes(
    db: orm.Session, settings: Settings, principal: Principal, registration_id: int, note: str
) -> Outcome:
    """Send the registration back to the provider with a note and its edit link."""
    registration, text, errors = _decide_with_note(
        db, principal, registration_id, note, field_name="note", what="what should change",
        status=RegistrationStatus.CHANGES_REQUESTED, action="registration.request_changes",
    )  # fmt: skip
    if errors or registration is None:
        return Outcome(registration=registration, errors=errors)
    message = mails.changes_requested(
        registration.email,
        registration.organisation,
        _lead_name(db, principal, registration),
        text,
        links.edit_url(
            settings, "r", registration.id, registration.email, registration.edit_link_version
        ),
    )
    return Outcome(registration=registration, mail=mails.queue(db, [message]))


def reject(
    db: orm.Session, settings: Settings, principal: Principal, registration_id: int, reason: str
) -> Outcome:
    registration, text, errors = _decide_with_note(
        db, principal, registration_id, reason, field_name="reason", what="the reason",
        status=RegistrationStatus.REJECTED, action="registration.reject",
    )  # fmt: skip
    if errors or registration is None:
        return Outcome(registration=registration, errors=errors)
    message = mails.rejected(
        registration.email,
        registration.organisation,
        _lead_name(db, principal, registration),
        text,
    )
    return Outcome(registration=registration, mail=mails.queue(db, [message]))
