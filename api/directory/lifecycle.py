"""Listings that stop: a provider says an activity (or its whole organisation) has stopped or
is on a break, from its edit link; a lead provider withdraws or suspends one (suspension is
reversible) from moderation.

A stopped, withdrawn or suspended listing keeps its rows (with the reason) but is no longer
public (``api/directory/public.py``): the next site build takes it off the site, its search
index, Meilisearch and the open data. A break is a ``SessionBreak``: the session stays listed,
its page says "On a break until ...", and its next dates skip the break. Every action is
audited; every change queues a site rebuild (api/directory/publishing.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import orm, select

from api.access import policy
from api.access.tokens import Principal
from api.audit.log import record
from api.directory.enums import ListingStatus
from api.directory.models import Provider, Session, SessionBreak
from api.registration.answers import ErrorCode, FieldError

REASON_LIMIT = 500
LONGEST_BREAK_DAYS = 366  # longer than a year is not a break: say it has stopped
BREAK_REASON = "On a break"


@dataclass
class Changed:
    """What an action did: the listings it names (for the message), or why it did nothing."""

    about: str = ""
    errors: list[FieldError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _error(field_name: str, message: str, code: ErrorCode = ErrorCode.INVALID) -> Changed:
    return Changed(errors=[FieldError(field_name, message, code)])


def _own_session(db: orm.Session, provider: Provider, session_id: int) -> Session | None:
    session = db.get(Session, session_id)
    return session if session is not None and session.provider_id == provider.id else None


def _public_sessions(db: orm.Session, provider: Provider) -> list[Session]:
    return list(
        db.scalars(
            select(Session)
            .where(Session.provider_id == provider.id, Session.status == ListingStatus.PUBLISHED)
            .order_by(Session.title, Session.id)
        )
    )


# ---------------------------------------------------------------------------------------------
# From the provider's edit link


def stop(db: orm.Session, provider: Provider, session_id: int | None) -> Changed:
    """The provider says an activity (``session_id``), or the whole organisation (None), has
    stopped. It leaves the site at the next build; the rows stay, for the record."""
    if session_id is None:
        if provider.status is not ListingStatus.PUBLISHED:
            return _error(
                "session", "This listing is not in the directory.", ErrorCode.INVALID_STATE
            )
        provider.status = ListingStatus.STOPPED
        provider.status_reason = "The provider said it has stopped."
        record(db, None, "listing.stop", "provider", provider.id)
        return Changed(about=provider.name)
    session = _own_session(db, provider, session_id)
    if session is None:
        return _error("session", "Choose one of your activities.", ErrorCode.NOT_FOUND)
    if session.status is not ListingStatus.PUBLISHED:
        return _error("session", "This activity is not in the directory.", ErrorCode.INVALID_STATE)
    session.status = ListingStatus.STOPPED
    session.status_reason = "The provider said it has stopped."
    record(db, None, "listing.stop", "session", session.id, provider_id=provider.id)
    return Changed(about=session.title)


def parse_day(day: str, month: str, year: str) -> dt.date | None:
    """A date from the three GOV.UK date input fields; None when it is not a date."""
    try:
        return dt.date(int(year.strip()), int(month.strip()), int(day.strip()))
    except (ValueError, AttributeError):
        return None


def take_break(
    db: orm.Session,
    provider: Provider,
    session_id: int | None,
    until: dt.date | None,
    *,
    today: dt.date,
) -> Changed:
    """The provider says an activity (or every activity of the organisation) is on a break
    from today until ``until``, the day it runs again: its page says "On a break until ..."
    and its next dates skip the break."""
    if until is None:
        return _error("until", "Enter the date it starts again, for example 5 1 2027")
    if until <= today:
        return _error("until", "The date it starts again must be after today")
    if until > today + dt.timedelta(days=LONGEST_BREAK_DAYS):
        return _error(
            "until",
            "A break can last up to a year: if it will not start again, say it has stopped",
        )
    if session_id is None:
        sessions = _public_sessions(db, provider)
        about = provider.name
        if not sessions:
            return _error("session", "None of your activities is in the directory.")
    else:
        session = _own_session(db, provider, session_id)
        if session is None or session.status is not ListingStatus.PUBLISHED:
            return _error("session", "Choose one of your activities.", ErrorCode.NOT_FOUND)
        sessions, about = [session], session.title
    for session in sessions:
        db.add(
            # The break's last day is the day before it starts again.
            SessionBreak(
                session_id=session.id,
                starts_on=today,
                ends_on=until - dt.timedelta(days=1),
                reason=BREAK_REASON,
            )
        )
        record(db, None, "listing.break", "session", session.id, until=until.isoformat())
    return Changed(about=about)


# ---------------------------------------------------------------------------------------------
# From moderation


def _reason(text: str) -> tuple[str, list[FieldError]]:
    reason = " ".join((text or "").split())
    if not reason:
        return "", [FieldError("reason", "Say why (the provider is told)", ErrorCode.REQUIRED)]
    if len(reason) > REASON_LIMIT:
        return "", [
            FieldError(
                "reason", f"Keep it to {REASON_LIMIT} characters or fewer", ErrorCode.TOO_LONG
            )
        ]
    return reason, []


def moderated_listing(db: orm.Session, principal: Principal, provider_id: int) -> Provider | None:
    """A listing this moderator may withdraw, suspend or reinstate (None: no such listing
    for them)."""
    provider = db.get(Provider, provider_id)
    if provider is None or not policy.may_moderate_listing(principal, provider.locality_id):
        return None
    return provider


TAKEN_DOWN = {"withdraw": ListingStatus.WITHDRAWN, "suspend": ListingStatus.SUSPENDED}


def take_down(
    db: orm.Session,
    principal: Principal,
    provider_id: int,
    session_id: int | None,
    action: str,
    reason: str,
) -> Changed:
    """Withdraw (for good) or suspend (until reinstated) an activity, or the whole
    organisation when ``session_id`` is None, with the reason."""
    status = TAKEN_DOWN.get(action)
    if status is None:
        return _error("action", "Choose withdraw or suspend")
    provider = moderated_listing(db, principal, provider_id)
    if provider is None:
        return _error("id", "There is no such listing for you.", ErrorCode.NOT_FOUND)
    text, errors = _reason(reason)
    if errors:
        return Changed(errors=errors)
    target: Provider | Session = provider
    if session_id is not None:
        session = _own_session(db, provider, session_id)
        if session is None:
            return _error("session", "Choose one of its activities.", ErrorCode.NOT_FOUND)
        target = session
    if target.status is status:
        return _error("action", f"It is already {status.value.lower()}.", ErrorCode.INVALID_STATE)
    target.status = status
    target.status_reason = text
    record(
        db,
        principal,
        f"listing.{action}",
        "session" if isinstance(target, Session) else "provider",
        target.id,
        provider_id=provider.id,
    )
    return Changed(about=target.title if isinstance(target, Session) else target.name)


def reinstate(
    db: orm.Session, principal: Principal, provider_id: int, session_id: int | None
) -> Changed:
    """Put a suspended listing back (withdrawn and stopped ones come back by registering
    or editing again, through moderation)."""
    provider = moderated_listing(db, principal, provider_id)
    if provider is None:
        return _error("id", "There is no such listing for you.", ErrorCode.NOT_FOUND)
    target: Provider | Session = provider
    if session_id is not None:
        session = _own_session(db, provider, session_id)
        if session is None:
            return _error("session", "Choose one of its activities.", ErrorCode.NOT_FOUND)
        target = session
    if target.status is not ListingStatus.SUSPENDED:
        return _error(
            "action", "Only a suspended listing can be put back.", ErrorCode.INVALID_STATE
        )
    target.status = ListingStatus.PUBLISHED
    target.status_reason = None
    record(
        db,
        principal,
        "listing.reinstate",
        "session" if isinstance(target, Session) else "provider",
        target.id,
        provider_id=provider.id,
    )
    return Changed(about=target.title if isinstance(target, Session) else target.name)


def is_public(provider: Provider, session: Session | None) -> bool:
    """Whether a listing is up (its freshness aside)."""
    up = provider.status is ListingStatus.PUBLISHED
    return up and (session is None or session.status is ListingStatus.PUBLISHED)
