"""Creating a referral: validation, routing to the practice's named link worker, and
idempotency (a retry with the same key returns the same referral and creates nothing)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from dataclasses import asdict, dataclass, field

from sqlalchemy import orm, select
from sqlalchemy.exc import IntegrityError

from api.access.tokens import Principal
from api.audit.log import record
from api.directory.enums import Domain
from api.directory.models import GpPractice, utcnow
from api.directory.postcodes import InvalidPostcode, normalise_postcode
from api.referrals import equality as equality_data
from api.referrals.enums import ContactMethod, ReferralStatus, Urgency
from api.referrals.errors import ErrorCode, Problem, Rejected, reject
from api.referrals.models import Referral, ReferralDomain, ReferralEvent
from api.referrals.nhs_number import InvalidNhsNumber, normalise_nhs_number
from api.referrals.protection import Protector
from api.referrals.working_days import add_working_days, local_date

MAX_TEXT = 2000
MAX_KEY = 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()-]{10,20}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


@dataclass(frozen=True)
class ContactIn:
    preferred_method: ContactMethod
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    postcode: str | None = None


@dataclass(frozen=True)
class PersonIn:
    nhs_number: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    contact: ContactIn
    preferred_language: str = "en"
    needs_interpreter: bool = False


@dataclass(frozen=True)
class ReferralIn:
    person: PersonIn
    reason: str
    consent_to_refer: bool
    consent_share_outcomes: bool
    what_matters: str = ""
    domains: tuple[Domain, ...] = field(default_factory=tuple)
    urgency: Urgency = Urgency.ROUTINE
    notes: str = ""
    # When the practice took the person's consent (default: now).
    consent_recorded_at: dt.datetime | None = None
    # Optional equality data (api/referrals/equality.py), only as the person chooses.
    equality: equality_data.EqualityIn | None = None


def _text(
    problems: list[Problem], value: str | None, path: str, *, required: bool, limit: int
) -> str:
    value = (value or "").strip()
    if required and not value:
        problems.append(Problem(path, "this is required", ErrorCode.REQUIRED))
    elif len(value) > limit:
        problems.append(Problem(path, f"keep this under {limit} characters", ErrorCode.INVALID))
    return value


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def validate(data: ReferralIn, now: dt.datetime) -> ReferralIn:
    """The input, normalised; Rejected listing every problem (paths as in the API input)."""
    problems: list[Problem] = []
    p, c = data.person, data.person.contact
    try:
        nhs = normalise_nhs_number(p.nhs_number)
    except InvalidNhsNumber as exc:
        problems.append(Problem("input.person.nhsNumber", str(exc), ErrorCode.INVALID))
        nhs = p.nhs_number
    given = _text(problems, p.given_name, "input.person.givenName", required=True, limit=100)
    family = _text(problems, p.family_name, "input.person.familyName", required=True, limit=100)
    today = local_date(now)
    if p.date_of_birth > today:
        problems.append(
            Problem(
                "input.person.dateOfBirth", "the date of birth is in the future", ErrorCode.INVALID
            )
        )
    elif today.year - p.date_of_birth.year > 120:
        problems.append(
            Problem(
                "input.person.dateOfBirth",
                "the date of birth is more than 120 years ago: check the year",
                ErrorCode.INVALID,
            )
        )
    language = (p.preferred_language or "en").strip().lower()
    if not _LANGUAGE.match(language):
        problems.append(
            Problem(
                "input.person.preferredLanguage",
                f"'{p.preferred_language}' is not a language code: use ISO 639-1, e.g. 'bn'",
                ErrorCode.INVALID,
            )
        )
    phone = (c.phone or "").strip() or None
    if phone and not _PHONE.match(phone):
        problems.append(
            Problem(
                "input.person.contact.phone",
                "a phone number has 10 to 15 digits, like 01632 960123",
                ErrorCode.INVALID,
            )
        )
    email = (c.email or "").strip() or None
    if email and (not _EMAIL.match(email) or len(email) > 320):
        problems.append(
            Problem(
                "input.person.contact.email",
                "this is not an email address (like name@example.org)",
                ErrorCode.INVALID,
            )
        )
    address = _text(problems, c.address, "input.person.contact.address", required=False, limit=500)
    postcode = None
    if c.postcode and c.postcode.strip():
        try:
            postcode = normalise_postcode(c.postcode)
        except InvalidPostcode as exc:
            problems.append(Problem("input.person.contact.postcode", str(exc), ErrorCode.INVALID))
    needed = {
        ContactMethod.PHONE: (phone, "phone"),
        ContactMethod.TEXT_MESSAGE: (phone, "phone"),
        ContactMethod.EMAIL: (email, "email"),
        ContactMethod.LETTER: (address, "address"),
    }[c.preferred_method]
    if not needed[0]:
        problems.append(
            Problem(
                f"input.person.contact.{needed[1]}",
                f"the preferred contact method is {c.preferred_method.value}: give the "
                f"{needed[1]} to use",
                ErrorCode.REQUIRED,
            )
        )
    reason = _text(problems, data.reason, "input.reason", required=True, limit=MAX_TEXT)
    matters = _text(
        problems, data.what_matters, "input.whatMatters", required=False, limit=MAX_TEXT
    )
    notes = _text(problems, data.notes, "input.notes", required=False, limit=MAX_TEXT)
    if not data.consent_to_refer:
        problems.append(
            Problem(
                "input.consent.toBeReferred",
                "the person must agree to be referred: record their consent, then refer",
                ErrorCode.CONSENT_REQUIRED,
            )
        )
    consent_at = data.consent_recorded_at
    if consent_at is not None and _aware(consent_at) > now + dt.timedelta(minutes=5):
        problems.append(
            Problem(
                "input.consent.recordedAt",
                "consent cannot be recorded in the future",
                ErrorCode.INVALID,
            )
        )
    equality = None
    if data.equality is not None:
        try:
            equality = equality_data.validate(data.equality)
        except Rejected as exc:
            problems += exc.problems
    if problems:
        raise Rejected(problems)
    return ReferralIn(
        person=PersonIn(
            nhs_number=nhs,
            given_name=given,
            family_name=family,
            date_of_birth=p.date_of_birth,
            contact=ContactIn(c.preferred_method, phone, email, address or None, postcode),
            preferred_language=language,
            needs_interpreter=p.needs_interpreter,
        ),
        reason=reason,
        what_matters=matters,
        domains=tuple(dict.fromkeys(data.domains)),
        consent_to_refer=True,
        consent_share_outcomes=data.consent_share_outcomes,
        urgency=data.urgency,
        notes=notes,
        consent_recorded_at=_aware(consent_at) if consent_at else None,
        equality=equality,
    )


def _request_hash(protector: Protector, key: str, data: ReferralIn) -> str:
    # Keyed (HMAC), because the content includes the NHS number: a plain hash of it could be
    # tested against guesses.
    content = asdict(data)
    if content.get("equality") is None:
        content.pop("equality", None)  # as before equality data existed: retries still match
    elif not content["equality"].get("declined"):
        content["equality"].pop("declined", None)  # likewise before "prefer not to say"
    canonical = json.dumps(content, sort_keys=True, default=str)
    return hmac.new(
        protector.lookup_hash("idempotency:" + key).encode(), canonical.encode(), hashlib.sha256
    ).hexdigest()


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _existing(db: orm.Session, practice_id: int, key: str) -> Referral | None:
    return db.scalars(
        select(Referral).where(Referral.practice_id == practice_id, Referral.idempotency_key == key)
    ).first()


def _retried(db: orm.Session, principal: Principal, found: Referral, request_hash: str) -> Referral:
    if found.request_hash != request_hash:
        raise reject(
            "idempotencyKey",
            "this idempotency key was already used for a different referral: use a new key "
            "for a new referral, or resend exactly the same content to retry",
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
        )
    record(db, principal, "referral.create_retried", "referral", found.id)
    return found


def create_referral(
    db: orm.Session,
    principal: Principal,
    data: ReferralIn,
    idempotency_key: str,
    protector: Protector,
    *,
    now: dt.datetime | None = None,
    contact_target_days: int = 5,
) -> tuple[Referral, bool]:
    """The referral and whether it was created now (False: a retry of an earlier request).

    The caller's session must be fresh: on a concurrent insert with the same key it is
    rolled back and the winner's referral is returned."""
    now = now or utcnow()
    key = (idempotency_key or "").strip()
    if not key or len(key) > MAX_KEY:
        raise reject(
            "idempotencyKey",
            f"give an idempotency key of 1 to {MAX_KEY} characters (a UUID is ideal), and "
            "the same key when you retry",
            ErrorCode.REQUIRED if not key else ErrorCode.INVALID,
        )
    if principal.practice_id is None:
        raise reject(None, "only a GP practice's token can refer", ErrorCode.INVALID)
    clean = validate(data, now)
    request_hash = _request_hash(protector, key, clean)
    found = _existing(db, principal.practice_id, key)
    if found is not None:
        return _retried(db, principal, found, request_hash), False

    practice = db.get(GpPractice, principal.practice_id)
    assert practice is not None  # the token is bound to it (RESTRICT on delete)
    person = clean.person
    # The referral's own data key, stored before anything is encrypted with it (a key whose
    # referral is never written is destroyed by `petunia purge` as an orphan).
    key_id, data_key = protector.keys.create()
    received = local_date(now)
    referral = Referral(
        practice_id=practice.id,
        locality_id=practice.locality_id,
        # No named link worker yet: the referral still reaches the locality's lead
        # provider, who sees every referral of its localities.
        link_worker_id=practice.link_worker_id,
        created_by_client_id=principal.client_id,
        idempotency_key=key,
        request_hash=request_hash,
        key_id=key_id,
        nhs_number_enc=protector.encrypt("nhs_number", person.nhs_number, data_key),
        nhs_number_hash=protector.nhs_hash(person.nhs_number),
        person_enc=protector.encrypt_json(
            "person",
            {
                "givenName": person.given_name,
                "familyName": person.family_name,
                "dateOfBirth": person.date_of_birth.isoformat(),
                "phone": person.contact.phone,
                "email": person.contact.email,
                "address": person.contact.address,
                "postcode": person.contact.postcode,
                "preferredContactMethod": person.contact.preferred_method.value,
                "reason": clean.reason,
                "whatMatters": clean.what_matters,
                "notes": clean.notes,
            },
            data_key,
        ),
        age_at_referral=age_on(person.date_of_birth, received),
        preferred_language=person.preferred_language,
        needs_interpreter=person.needs_interpreter,
        urgency=clean.urgency,
        consent_to_refer_at=clean.consent_recorded_at or now,
        consent_share_outcomes_at=(clean.consent_recorded_at or now)
        if clean.consent_share_outcomes
        else None,
        status=ReferralStatus.RECEIVED,
        received_at=now,
        status_changed_at=now,
        contact_due_on=add_working_days(received, contact_target_days),
    )
    db.add(referral)
    try:
        db.flush()
    except IntegrityError:
        # Another request with the same key won the race: return its referral.
        db.rollback()
        found = _existing(db, principal.practice_id, key)
        if found is None:
            raise
        return _retried(db, principal, found, request_hash), False
    for domain in clean.domains:
        db.add(ReferralDomain(referral_id=referral.id, domain=domain))
    if clean.equality is not None:
        equality_data.record(db, referral, clean.equality, protector,
                             postcode=person.contact.postcode)  # fmt: skip
    db.add(
        ReferralEvent(
            referral_id=referral.id,
            from_status=None,
            to_status=ReferralStatus.RECEIVED,
            at=now,
            client_id=principal.client_id,
            actor=actor_of(principal),
        )
    )
    record(db, principal, "referral.create", "referral", referral.id)
    return referral, True


def actor_of(principal: Principal | None) -> str:
    return f"{principal.role.value}:{principal.name}" if principal else "system"
