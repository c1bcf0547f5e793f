"""A provider without an account marks who came: signposting sends the provider's contact a
link per session to its register (the given names of the people signposted there, and the
dates), where ticking attended or not records attendance (care.record_attendance, acting as
that provider). The link shows nothing else, expires, and can be revoked; only its hash is
stored (like staff sign-in links)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field

from sqlalchemy import exists, orm, select

from api.access import policy
from api.access.models import Role
from api.access.tokens import Principal
from api.audit.log import record
from api.config import Settings
from api.directory.models import Provider, Session, utcnow
from api.referrals import care
from api.referrals.errors import ErrorCode, reject
from api.referrals.intake import actor_of
from api.referrals.models import Attendance, Referral, RegisterLink, Signpost
from api.referrals.protection import Protector
from api.referrals.working_days import local_date
from api.registration.links import url
from api.registration.mails import Message, queue


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _may_manage(db: orm.Session, principal: Principal, session_id: int) -> bool:
    """The care team of a referral signposted to this session may send and stop its link."""
    if principal.role not in policy.CHANGE_REFERRAL:
        return False
    return bool(
        db.scalar(
            select(
                exists().where(
                    Signpost.session_id == session_id,
                    Signpost.referral_id.in_(
                        select(Referral.id).where(policy.change_scope(principal))
                    ),
                )
            )
        )
    )


def contact_email(db: orm.Session, session_id: int) -> str | None:
    """Where the register link goes: the session's contact, else the provider's private
    listing address, else its public one."""
    from api.registration.models import ListingContact

    session = db.get(Session, session_id)
    if session is None:
        return None
    if session.contact_email:
        return session.contact_email
    listing = db.get(ListingContact, session.provider_id)
    if listing is not None:
        return listing.email
    provider = db.get(Provider, session.provider_id)
    return provider.email if provider else None


def active_links(db: orm.Session, session_ids: list[int]) -> dict[int, RegisterLink]:
    now = utcnow()
    found = {}
    for link in db.scalars(
        select(RegisterLink)
        .where(RegisterLink.session_id.in_(session_ids), RegisterLink.revoked_at.is_(None))
        .order_by(RegisterLink.id)
    ):
        if _aware(link.expires_at) > now:
            found[link.session_id] = link
    return found


def issue(
    db: orm.Session, principal: Principal, session_id: int, *, days: int
) -> tuple[RegisterLink, str]:
    """A new link for the session's register (any older one stops working)."""
    if not _may_manage(db, principal, session_id):
        raise reject("sessionId", "no referral of yours is signposted there", ErrorCode.NOT_FOUND)
    session = db.get(Session, session_id)
    assert session is not None
    now = utcnow()
    for old in db.scalars(
        select(RegisterLink).where(
            RegisterLink.session_id == session_id, RegisterLink.revoked_at.is_(None)
        )
    ):
        old.revoked_at = now
    token = secrets.token_urlsafe(32)
    link = RegisterLink(
        session_id=session_id,
        provider_id=session.provider_id,
        token_hash=_hash(token),
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
        actor=actor_of(principal),
    )
    db.add(link)
    db.flush()
    record(db, principal, "register_link.issue", "session", session_id, link_id=link.id)
    return link, token


def link_email(settings: Settings, to: str, title: str, token: str, days: int) -> Message:
    return Message(
        to,
        f"Who came to {title}? Your register link",
        [
            f"Our link workers have suggested {title} to people they support.",
            "The link below opens a register with their first names and when each was "
            "suggested. Please tick whether they came, after each session: it helps us "
            "support them. No account or password is needed.",
            f"The link works for {days} days. Do not forward it.",
        ],
        [("Open the register", url(settings, f"/attendance/{token}"))],
    )


def send(
    db: orm.Session,
    settings: Settings,
    principal: Principal,
    session_ids: list[int],
    *,
    renew: bool,
    days: int,
) -> list[int]:
    """Issue a register link for each session whose provider has a contact address (``renew``:
    always a new one; otherwise only where none works yet) and queue its email in this
    transaction; returns the queued emails' ids."""
    existing = active_links(db, session_ids)
    messages = []
    for session_id in session_ids:
        if session_id in existing and not renew:
            continue
        to = contact_email(db, session_id)
        session = db.get(Session, session_id)
        if not to or session is None:
            continue
        _link, token = issue(db, principal, session_id, days=days)
        messages.append(link_email(settings, to, session.title, token, days))
    return queue(db, messages)


def revoke(db: orm.Session, principal: Principal, link_id: int) -> RegisterLink:
    link = db.get(RegisterLink, link_id)
    if link is None or not _may_manage(db, principal, link.session_id):
        raise reject("id", "there is no such register link of yours", ErrorCode.NOT_FOUND)
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        record(db, principal, "register_link.revoke", "session", link.session_id, link_id=link.id)
    return link


@dataclass(frozen=True)
class RegisterEntry:
    signpost_id: int
    given_name: str
    signposted_on: dt.date
    marks: dict[dt.date, bool]


@dataclass
class Register:
    link_id: int
    session_title: str
    provider_name: str
    expires_on: dt.date
    entries: list[RegisterEntry] = field(default_factory=list)


def _link(db: orm.Session, token: str) -> RegisterLink | None:
    link = db.scalars(select(RegisterLink).where(RegisterLink.token_hash == _hash(token))).first()
    if link is None or link.revoked_at is not None or _aware(link.expires_at) <= utcnow():
        return None
    return link


def _as_provider(link: RegisterLink) -> Principal:
    # The link acts as its provider, with a provider's view (the given name only).
    return Principal(None, f"register link {link.id}", Role.PROVIDER, provider_id=link.provider_id)  # type: ignore[arg-type]


def open_register(db: orm.Session, guard: Protector, token: str) -> Register | None:
    """The register a link opens (None: unknown, expired or revoked). Its reading is
    audited as the provider's."""
    link = _link(db, token)
    if link is None:
        return None
    principal = _as_provider(link)
    session = db.get(Session, link.session_id)
    provider = db.get(Provider, link.provider_id)
    register = Register(
        link.id,
        session.title if session else "",
        provider.name if provider else "",
        local_date(_aware(link.expires_at)),
    )
    rows = db.execute(
        select(Signpost, Referral)
        .join(Referral, Referral.id == Signpost.referral_id)
        .where(Signpost.session_id == link.session_id, policy.signpost_scope(principal))
        .order_by(Signpost.signposted_at, Signpost.id)
    ).all()
    for signpost, referral in rows:
        view = policy.referral_view(principal, consent_share_outcomes=False)
        if view.person is None or referral.person_enc is None:
            continue  # purged: nobody left to tick
        person = (
            guard.decrypt_json("person", referral.person_enc, guard.data_key(referral.key_id)) or {}
        )
        marks = {
            a.on_date: a.attended
            for a in db.scalars(select(Attendance).where(Attendance.signpost_id == signpost.id))
        }
        register.entries.append(
            RegisterEntry(
                signpost.id, person.get("givenName", ""), local_date(signpost.signposted_at), marks
            )
        )
        record(db, principal, "referral.read", "referral", referral.id, via="register link")
    return register


def mark(db: orm.Session, token: str, signpost_id: int, on_date: dt.date, attended: bool) -> bool:
    """Record attendance through a link; False when the link no longer works."""
    link = _link(db, token)
    if link is None:
        return False
    signpost = db.get(Signpost, signpost_id)
    if signpost is None or signpost.session_id != link.session_id:
        raise reject("signpost", "this person is not on this register", ErrorCode.NOT_FOUND)
    care.record_attendance(
        db, _as_provider(link), signpost.referral_id, signpost.session_id, on_date, attended
    )
    return True
