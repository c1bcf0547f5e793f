"""Signing in without a password: an emailed one-time link (single use, short expiry, stored
hashed), then, for every role that can read personal data, a TOTP code from an authenticator
app (pyotp) or a one-time recovery code. Sessions live in the database: the browser holds a
random id, the table its hash, so ending a session (sign-out, idle or absolute expiry, an
admin's revocation, deactivation) stops a copied cookie at once.

Every outcome is audited with the account (never the email address typed)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

import pyotp
from sqlalchemy import delete, func, orm, select, update

from api.access import policy
from api.access.tokens import Principal
from api.audit.log import record
from api.config import Settings
from api.directory.models import utcnow
from api.referrals.protection import protector
from api.staff.accounts import normalise_email, principal_of
from api.staff.models import StaffAccount, StaffRecoveryCode, StaffSession, StaffSignInLink

# At most this many links per account per hour: a typed address cannot flood a mailbox.
LINKS_PER_HOUR = 5
# A session signed in by link but not yet through the second factor lasts this long...
PENDING_MINUTES = 10
# ...and ends after this many wrong codes.
MAX_FAILED_CODES = 5
RECOVERY_CODES = 10
# Refresh last_seen_at at most this often, so reading a page is not always a write.
SEEN_GRANULARITY = dt.timedelta(seconds=60)
_TOTP_FIELD = "staff totp secret"


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite returns naive datetimes for timezone-aware columns; they are UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class Failure(StrEnum):
    UNKNOWN_EMAIL = "UNKNOWN_EMAIL"
    TOO_MANY_LINKS = "TOO_MANY_LINKS"
    BAD_LINK = "BAD_LINK"
    USED_LINK = "USED_LINK"
    EXPIRED_LINK = "EXPIRED_LINK"
    INACTIVE = "INACTIVE"
    DEMO_IN_PRODUCTION = "DEMO_IN_PRODUCTION"
    WRONG_CODE = "WRONG_CODE"
    TOO_MANY_CODES = "TOO_MANY_CODES"
    NO_SESSION = "NO_SESSION"


def _failed(
    db: orm.Session, failure: Failure, account: StaffAccount | None, **detail: object
) -> Failure:
    # Returned, not raised: the caller's transaction must commit this record (and a wrong
    # code's count), which an exception would roll back.
    record(
        db,
        principal_of(db, account) if account else None,
        "staff.sign_in_failed",
        "staff_account",
        account.id if account else None,
        reason=failure.value,
        **detail,
    )
    return failure


def _usable(settings: Settings, account: StaffAccount) -> Failure | None:
    if account.deactivated_at is not None:
        return Failure.INACTIVE
    if account.demo and settings.production:
        return Failure.DEMO_IN_PRODUCTION
    return None


# --- the emailed link --------------------------------------------------------------------


@dataclass(frozen=True)
class LinkSent:
    account_id: int
    name: str
    email: str
    token: str
    demo: bool


def request_link(db: orm.Session, settings: Settings, email: str) -> LinkSent | None:
    """A new sign-in link for the active account with this address; None otherwise (the
    page says the same either way, so nobody learns who has an account)."""
    now = utcnow()
    account = db.scalars(
        select(StaffAccount).where(StaffAccount.email == normalise_email(email))
    ).first()
    if account is None:
        _failed(db, Failure.UNKNOWN_EMAIL, None)
        return None
    failure = _usable(settings, account)
    if failure is not None:
        _failed(db, failure, account)
        return None
    recent = db.scalar(
        select(func.count())
        .select_from(StaffSignInLink)
        .where(
            StaffSignInLink.account_id == account.id,
            StaffSignInLink.created_at > now - dt.timedelta(hours=1),
        )
    )
    if (recent or 0) >= LINKS_PER_HOUR:
        _failed(db, Failure.TOO_MANY_LINKS, account)
        return None
    token = secrets.token_urlsafe(32)
    db.add(
        StaffSignInLink(
            account_id=account.id,
            token_hash=_hash(token),
            created_at=now,
            expires_at=now + dt.timedelta(minutes=settings.staff_link_minutes),
        )
    )
    record(db, principal_of(db, account), "staff.sign_in_link", "staff_account", account.id)
    return LinkSent(account.id, account.name, account.email, token, account.demo)


def use_link(db: orm.Session, settings: Settings, token: str) -> str | Failure:
    """Spend a sign-in link: a new session's id (for the cookie), or why not. The session
    is complete at once for a role without a second factor, pending otherwise."""
    now = utcnow()
    # Row lock on PostgreSQL: two clicks on one link cannot both spend it.
    link = db.scalars(
        select(StaffSignInLink)
        .where(StaffSignInLink.token_hash == _hash(token.strip()))
        .with_for_update()
    ).first()
    if link is None:
        return _failed(db, Failure.BAD_LINK, None)
    account = db.get(StaffAccount, link.account_id)
    assert account is not None
    if link.used_at is not None:
        return _failed(db, Failure.USED_LINK, account)
    if _aware(link.expires_at) <= now:
        return _failed(db, Failure.EXPIRED_LINK, account)
    failure = _usable(settings, account)
    if failure is not None:
        return _failed(db, failure, account)
    link.used_at = now
    complete = not policy.needs_second_factor(account.role)
    session_id = secrets.token_urlsafe(32)
    db.add(
        StaffSession(
            id_hash=_hash(session_id),
            account_id=account.id,
            created_at=now,
            last_seen_at=now,
            second_factor_at=now if complete else None,
        )
    )
    if complete:
        _signed_in(db, account, now, method="link")
    return session_id


def _signed_in(db: orm.Session, account: StaffAccount, now: dt.datetime, method: str) -> None:
    account.last_sign_in_at = now
    record(db, principal_of(db, account), "staff.sign_in", "staff_account", account.id, by=method)


# --- sessions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    """The browser's session: ``principal`` is None until the second factor is passed."""

    session_hash: str
    account_id: int
    name: str
    email: str
    demo: bool
    complete: bool
    enrolled: bool
    principal: Principal | None


def current(db: orm.Session, settings: Settings, session_id: str | None) -> SignedIn | None:
    """The session a cookie names, if it is still alive; an expired one is deleted."""
    if not session_id:
        return None
    now = utcnow()
    row = db.get(StaffSession, _hash(session_id))
    if row is None:
        return None
    account = db.get(StaffAccount, row.account_id)
    created, seen = _aware(row.created_at), _aware(row.last_seen_at)
    expired = (
        account is None
        or _usable(settings, account) is not None
        or now - seen > dt.timedelta(minutes=settings.staff_idle_minutes)
        or now - created > dt.timedelta(hours=settings.staff_session_hours)
        or (row.second_factor_at is None and now - created > dt.timedelta(minutes=PENDING_MINUTES))
    )
    if expired:
        db.delete(row)
        return None
    assert account is not None
    if now - seen > SEEN_GRANULARITY:
        row.last_seen_at = now
    complete = row.second_factor_at is not None
    return SignedIn(
        row.id_hash,
        account.id,
        account.name,
        account.email,
        account.demo,
        complete,
        account.totp_confirmed_at is not None,
        principal_of(db, account) if complete else None,
    )


def end_session(db: orm.Session, session_id: str | None) -> None:
    """Sign-out: the row goes, so the cookie (or any copy of it) is worthless."""
    if not session_id:
        return
    row = db.get(StaffSession, _hash(session_id))
    if row is not None:
        account = db.get(StaffAccount, row.account_id)
        db.delete(row)
        if account is not None:
            record(db, principal_of(db, account), "staff.sign_out", "staff_account", account.id)


def csrf_for(settings: Settings, session_hash: str) -> str:
    """The CSRF token of a signed-in session: an HMAC of its id (OWASP's "signed token"
    pattern), so it needs no storage and dies with the session."""
    key = settings.secret("secret_key").encode()
    return hmac.new(key, b"staff-csrf:" + session_hash.encode(), hashlib.sha256).hexdigest()


def csrf_matches(settings: Settings, session_hash: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(csrf_for(settings, session_hash), str(sent))


# --- the second factor -------------------------------------------------------------------


def _secret(settings: Settings, account: StaffAccount) -> str | None:
    if account.totp_secret_enc is None:
        return None
    return protector(settings).decrypt(_TOTP_FIELD, account.totp_secret_enc)


def set_secret(settings: Settings, account: StaffAccount, secret: str) -> None:
    account.totp_secret_enc = protector(settings).encrypt(_TOTP_FIELD, secret)


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str  # otpauth:// for authenticator apps


def enrolment(db: orm.Session, settings: Settings, session_hash: str) -> Enrolment | None:
    """The secret to add to an authenticator app (made on first call); None once enrolled."""
    found = _pending(db, session_hash)
    if found is None or found[1].totp_confirmed_at is not None:
        return None
    account = found[1]
    secret = _secret(settings, account)
    if secret is None:
        secret = pyotp.random_base32()
        set_secret(settings, account, secret)
    uri = pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name="Petunia")
    return Enrolment(secret, uri)


def _pending(db: orm.Session, session_hash: str) -> tuple[StaffSession, StaffAccount] | None:
    row = db.get(StaffSession, session_hash, with_for_update=True)
    if row is None:
        return None
    account = db.get(StaffAccount, row.account_id)
    assert account is not None
    return row, account


def _totp_step(secret: str, code: str, last_step: int | None, now: dt.datetime) -> int | None:
    """The time step ``code`` belongs to (this one or either neighbour, for clock drift), if
    it is right and newer than the last accepted: a code is never accepted twice."""
    totp = pyotp.TOTP(secret)
    here = totp.timecode(now)
    for step in (here, here - 1, here + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(
            totp.generate_otp(step), code
        ):
            return step
    return None


def _wrong(db: orm.Session, row: StaffSession, account: StaffAccount) -> Failure:
    row.failed_codes += 1
    if row.failed_codes >= MAX_FAILED_CODES:
        db.delete(row)
        return _failed(db, Failure.TOO_MANY_CODES, account)
    return _failed(db, Failure.WRONG_CODE, account)


def _clean(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def confirm_enrolment(
    db: orm.Session, settings: Settings, session_hash: str, code: str
) -> list[str] | Failure:
    """Check the first code from the app; the session is complete and the recovery codes
    (shown once, stored hashed) are returned."""
    now = utcnow()
    found = _pending(db, session_hash)
    if found is None:
        return Failure.NO_SESSION
    row, account = found
    secret = _secret(settings, account)
    step = _totp_step(secret, _clean(code), None, now) if secret else None
    if step is None or account.totp_confirmed_at is not None:
        return _wrong(db, row, account)
    account.totp_confirmed_at, account.totp_last_step = now, step
    codes = new_recovery_codes(db, account)
    row.second_factor_at = now
    record(db, principal_of(db, account), "staff.enrol", "staff_account", account.id)
    _signed_in(db, account, now, method="totp")
    return codes


def new_recovery_codes(db: orm.Session, account: StaffAccount) -> list[str]:
    """Ten fresh recovery codes (80 random bits each); the old ones stop working."""
    db.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.account_id == account.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode()  # 80 bits, 16 characters
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:12]}-{raw[12:]}".lower())
        db.add(StaffRecoveryCode(account_id=account.id, code_hash=_hash(raw)))
    return codes


def second_factor(
    db: orm.Session, settings: Settings, session_hash: str, code: str
) -> bool | Failure:
    """Check a TOTP code or a recovery code; the session is then complete. True when a
    recovery code was spent (the page says how many are left)."""
    now = utcnow()
    found = _pending(db, session_hash)
    if found is None:
        return Failure.NO_SESSION
    row, account = found
    cleaned = _clean(code)
    secret = _secret(settings, account)
    if account.totp_confirmed_at is None or secret is None:
        return _wrong(db, row, account)
    if len(cleaned) == 6 and cleaned.isdigit():
        step = _totp_step(secret, cleaned, account.totp_last_step, now)
        if step is None:
            return _wrong(db, row, account)
        account.totp_last_step = step
        row.second_factor_at = now
        _signed_in(db, account, now, method="totp")
        return False
    spent = db.execute(
        update(StaffRecoveryCode)
        .where(
            StaffRecoveryCode.account_id == account.id,
            StaffRecoveryCode.code_hash == _hash(cleaned),
            StaffRecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    if not spent.rowcount:  # type: ignore[attr-defined]
        return _wrong(db, row, account)
    row.second_factor_at = now
    _signed_in(db, account, now, method="recovery code")
    return True


def recovery_codes_left(db: orm.Session, account_id: int) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(StaffRecoveryCode)
            .where(StaffRecoveryCode.account_id == account_id, StaffRecoveryCode.used_at.is_(None))
        )
        or 0
    )


def demo_code(db: orm.Session, settings: Settings, account_id: int) -> str | None:
    """The current code of a demo account, shown on the page in development only."""
    account = db.get(StaffAccount, account_id)
    if account is None or not account.demo or settings.production:
        return None
    secret = _secret(settings, account)
    return pyotp.TOTP(secret).now() if secret else None
