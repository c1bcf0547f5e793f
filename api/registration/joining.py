"""The duplicate dead end: someone of an organisation that is already listed, who cannot
reach the address it was registered with, can still add their activity or get access.

- ``submit(..., kind=JOIN)``: their activity goes to the lead provider, who approves it into
  the existing listing (a new session of it; the listing's name, contact and other
  activities stay as they are).
- ``submit(..., kind=ACCESS)``: a request for access; the lead provider grants it from
  moderation, which emails the person an edit link of their own for the listing (it opens
  through this registration: ``opens_listing``), or refuses it.

Both first confirm the person's address by an emailed link, as a new registration does."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import orm

from api.access.tokens import Principal
from api.audit.log import record
from api.config import Settings
from api.directory.enums import ListingStatus
from api.directory.models import Provider, utcnow
from api.registration import links, mails, summary
from api.registration.answers import Answers, ErrorCode, FieldError, Raw, check, name_key
from api.registration.flow import (
    Outcome,
    _by_submission_key,
    find_duplicate,
    rate_limit_error,
    rate_limited,
    write_answered_session,
)
from api.registration.leads import lead_name
from api.registration.models import Registration, RegistrationKind, RegistrationStatus

KINDS = (RegistrationKind.JOIN, RegistrationKind.ACCESS)


@dataclass
class Joined:
    outcome: Outcome
    organisation: str = ""  # the listed organisation's name
    lead: str = "the local lead provider"


def submit(
    db: orm.Session,
    settings: Settings,
    raw: Raw,
    *,
    kind: RegistrationKind,
    submission_key: str,
    address: str,
) -> Joined:
    """Store the activity (JOIN) or the request for access (ACCESS) for the listed
    organisation the answers duplicate, and email the person a link to confirm it."""
    assert kind in KINDS
    answers, errors = check(raw)
    if errors or answers is None:
        return Joined(Outcome(errors=errors))
    duplicate = find_duplicate(db, answers)
    provider = (
        db.get(Provider, duplicate.provider_id) if duplicate and duplicate.provider_id else None
    )
    if provider is None or provider.status is ListingStatus.WITHDRAWN:
        return Joined(
            Outcome(
                errors=[
                    FieldError(
                        "organisation",
                        "That organisation is not in the directory yet, so there is nothing to "
                        "add to: ask the person who registered it, or list yours as a "
                        "different organisation.",
                        ErrorCode.NOT_FOUND,
                    )
                ]
            )
        )
    key = f"{kind.value.lower()}:{submission_key}"[:64]
    lead = lead_name(db, provider.locality_id)
    existing = _by_submission_key(db, key)
    if existing is not None:
        return Joined(Outcome(registration=existing), provider.name, lead)
    if rate_limited(db, settings, "register", address, key):
        return Joined(Outcome(errors=[rate_limit_error("organisation")]))
    registration = Registration(
        submission_key=key,
        kind=kind,
        status=RegistrationStatus.AWAITING_CONFIRMATION,
        provider_id=provider.id,
        locality_id=provider.locality_id,
        organisation=provider.name,
        name_key=name_key(provider.name),
        postcode=answers.postcode,
        email=answers.email,
        answers=raw,
    )
    db.add(registration)
    db.flush()
    what = (
        f"your activity {answers.title} for {provider.name}"
        if kind is RegistrationKind.JOIN
        else f"your request for access to the listing of {provider.name}"
    )
    message = mails.confirm_joining(
        answers.email,
        provider.name,
        what,
        links.confirm_url(settings, registration.id),
        settings.confirm_link_days,
        lead=lead,
        review_days=settings.review_days,
        sent=summary.rows(answers, summary.domain_labels(db)),
    )
    return Joined(
        Outcome(registration=registration, mail=mails.queue(db, [message])), provider.name, lead
    )


def approve(
    db: orm.Session,
    settings: Settings,
    principal: Principal,
    registration: Registration,
    answers: Answers,
    lead: str,
) -> Outcome:
    """Decide a JOIN or ACCESS registration the moderator may decide (flow.approve checked
    it): add the activity to the listing, or grant access."""
    provider = db.get(Provider, registration.provider_id) if registration.provider_id else None
    if provider is None or provider.status is ListingStatus.WITHDRAWN:
        return Outcome(
            registration=registration,
            errors=[
                FieldError(
                    "id",
                    "The listing it belongs to is no longer in the directory: reject it.",
                    ErrorCode.INVALID_STATE,
                )
            ],
        )
    registration.status = RegistrationStatus.APPROVED
    registration.decided_at = utcnow()
    registration.decided_by_client_id = principal.client_id
    if registration.kind is RegistrationKind.ACCESS:
        record(db, principal, "registration.grant_access", "registration", registration.id)
        db.flush()
        link = links.edit_url(
            settings, "r", registration.id, registration.email, registration.edit_link_version
        )
        message = mails.access_granted(registration.email, provider.name, lead, link)
        return Outcome(registration=registration, mail=mails.queue(db, [message]))
    # The listing's own name and contact stay as they are: only the activity is added, with
    # the sender's contact on it.
    session = write_answered_session(db, provider, None, answers, registration)
    registration.session_id = session.id
    record(
        db, principal, "registration.approve", "registration", registration.id,
        provider_id=provider.id,
    )  # fmt: skip
    message = mails.joined(answers.email, answers.title, provider.name, lead)
    return Outcome(registration=registration, mail=mails.queue(db, [message]))


def opens_listing(
    db: orm.Session, registration: Registration
) -> tuple[Provider | None, str | None]:
    """What an edit link of an ACCESS registration opens: the listing, once granted."""
    if registration.status is not RegistrationStatus.APPROVED:
        return None, ("Your request for access has not been granted yet: we email you when it is.")
    provider = db.get(Provider, registration.provider_id) if registration.provider_id else None
    if provider is None or provider.status is ListingStatus.WITHDRAWN:
        return None, "This listing is no longer in the directory."
    return provider, None
