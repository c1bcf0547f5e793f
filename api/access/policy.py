"""The one place that decides who may do what.

Every GraphQL resolver, HTML page and CLI command that touches protected data asks here.
Rules about records (which referrals a role may see) live here too, as SQL filters, so that
"not yours" and "does not exist" look the same to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from api.access.models import Role
from api.access.tokens import Principal


class NotAuthenticated(PermissionError):
    def __init__(self) -> None:
        super().__init__("sign in: send `Authorization: Bearer <token>` with a Petunia API token")


class NotAllowed(PermissionError):
    def __init__(self, action: str) -> None:
        super().__init__(f"your token does not allow {action}")


def require(principal: Principal | None, action: str, *roles: Role) -> Principal:
    """The principal, if it has one of ``roles``; raise otherwise."""
    if principal is None:
        raise NotAuthenticated()
    if principal.role not in roles:
        raise NotAllowed(action)
    return principal


# ---------------------------------------------------------------------------------------------
# Referrals and outcomes: who may attempt each operation (checked first, as a top-level
# FORBIDDEN error), then which records each role reaches (SQL filters below: a record out of
# reach is "not found", exactly like one that does not exist).

READ_REFERRALS = (Role.GP_PRACTICE, Role.LEAD_PROVIDER, Role.PROVIDER, Role.ADMIN)
CREATE_REFERRAL = (Role.GP_PRACTICE,)
# Status changes, assessment and signposting: the link worker's work.
CHANGE_REFERRAL = (Role.LEAD_PROVIDER, Role.ADMIN)
RECORD_ATTENDANCE = (Role.LEAD_PROVIDER, Role.PROVIDER, Role.ADMIN)
# A PROVIDER only when sub-contracted (see outcome_scope).
RECORD_OUTCOME = (Role.LEAD_PROVIDER, Role.PROVIDER, Role.ADMIN)
RECORD_NHS_USE = (Role.GP_PRACTICE, Role.ADMIN)
RECORD_UNMET_NEED = (Role.GP_PRACTICE, Role.LEAD_PROVIDER, Role.ADMIN)
READ_UNMET_NEED = (Role.LEAD_PROVIDER, Role.COMMISSIONER, Role.ADMIN)
MANAGE_WEBHOOKS = (Role.GP_PRACTICE,)
CONFIGURE_INSTRUMENTS = (Role.LEAD_PROVIDER,)
READ_AUDIT_LOG = (Role.ADMIN,)
READ_INSTRUMENTS = tuple(Role)  # every signed-in client: the questions are not personal
# Commissioning reports: aggregates with small numbers suppressed, never a referral.
READ_REPORTS = (Role.COMMISSIONER, Role.ADMIN)
# The exact figures (no cell key noise, any period): they can be differenced, so the operator only.
READ_EXACT_REPORTS = (Role.ADMIN,)


def referral_scope(principal: Principal) -> ColumnElement[bool]:
    """The referrals ``principal`` may read, as a condition on ``Referral``."""
    from api.referrals.models import Referral

    if principal.role is Role.ADMIN:
        return true()
    if principal.role is Role.GP_PRACTICE and principal.practice_id is not None:
        return Referral.practice_id == principal.practice_id
    if principal.role is Role.LEAD_PROVIDER:
        return Referral.locality_id.in_(sorted(principal.locality_ids))
    if principal.role is Role.PROVIDER and principal.provider_id is not None:
        # Only while the referral is open: once it has ended (COMPLETED, DECLINED, CLOSED) the
        # provider has no one to welcome, so it reads nothing more of the person.
        return and_(_signposted_to(principal), Referral.closed_at.is_(None))
    return false()  # COMMISSIONER: aggregates only, never a referral


def _signposted_to(principal: Principal) -> ColumnElement[bool]:
    from api.referrals.models import Referral, Signpost

    return Referral.id.in_(
        select(Signpost.referral_id).where(Signpost.provider_id == principal.provider_id)
    )


def change_scope(principal: Principal) -> ColumnElement[bool]:
    """The referrals whose status, assessment and signposting ``principal`` may change."""
    if principal.role in CHANGE_REFERRAL:
        return referral_scope(principal)
    return false()


def nhs_use_scope(principal: Principal) -> ColumnElement[bool]:
    """The referrals whose NHS use ``principal`` may record: the practice's own."""
    if principal.role in RECORD_NHS_USE:
        return referral_scope(principal)
    return false()


def outcome_scope(principal: Principal) -> ColumnElement[bool]:
    """The referrals ``principal`` may record outcomes for. A provider: those signposted to
    it, and only while it is sub-contracted (informal providers do not report outcomes); also
    after the referral has ended (END and FOLLOW_UP scores come then), though it no longer
    reads it."""
    from api.directory.enums import Relationship
    from api.directory.models import Provider

    if principal.role is Role.PROVIDER:
        subcontracted = exists().where(
            Provider.id == principal.provider_id,
            Provider.relationship == Relationship.SUB_CONTRACTED,
        )
        return and_(_signposted_to(principal), subcontracted)
    if principal.role in RECORD_OUTCOME:
        return referral_scope(principal)
    return false()


def signpost_scope(principal: Principal) -> ColumnElement[bool]:
    """The signposts ``principal`` may record attendance on: a provider, its own sessions';
    the care team, those of referrals it may change."""
    from api.referrals.models import Referral, Signpost

    if principal.role is Role.PROVIDER:
        return Signpost.provider_id == principal.provider_id
    if principal.role in RECORD_ATTENDANCE:
        return Signpost.referral_id.in_(select(Referral.id).where(change_scope(principal)))
    return false()


# ---------------------------------------------------------------------------------------------
# Which parts of a referral (in reach) each role reads: one table, field by field. Names are
# the Python ones (snake_case; the GraphQL field is the camelCase form), nested parts dotted
# ("person.given_name"). A part a role may not read reads as null; a part missing from the
# table reads as null for everyone, so a new field stays hidden until it is added here.
# README.md's visibility table is generated from these sets (scripts/referral_fields.py).

_PERSON_MINIMAL = frozenset(
    {"person", "person.given_name", "person.preferred_language", "person.needs_interpreter"}
)
_PERSON = _PERSON_MINIMAL | {
    "person.family_name",
    "person.nhs_number",
    "person.date_of_birth",
    "person.contact",
}
_SIGNPOSTS = frozenset(
    {"signposts", "signposts.signposted_at", "signposts.session", "signposts.attendance"}
)
_HISTORY = frozenset(
    {"history", "history.from_status", "history.status", "history.at", "history.by"}
)
_MESSAGE_BACK = frozenset(
    {
        "message_back",
        "message_back.referral_id",
        "message_back.practice_ods_code",
        "message_back.status",
        "message_back.received_on",
        "message_back.first_contact_on",
        "message_back.status_since",
        "message_back.activities",
        "message_back.outcomes",
        "message_back.outcomes_withheld",
        "message_back.codes",
        # The plan's goals with the person's consent to share them (the domain withholds
        # them otherwise: api/referrals/message_back.py).
        "message_back.goals",
        "message_back.goals_withheld",
    }
)
# The facts of the referral itself: routing, dates, status, contact target, consent.
_FACTS = frozenset(
    {
        "status",
        "urgency",
        "received_at",
        "status_changed_at",
        "contact_due_on",
        "contacted_at",
        "contact_working_days",
        "contact_target_met",
        "closed_at",
        "purged_at",
        "practice",
        "locality",
        "link_worker",
        "domains",
        "consent",
        "age_at_referral",
    }
)
# What the person agreed to share: with the practice only with their consent.
CONSENT_GATED = frozenset({"outcomes", "message_back.outcomes"})
# The care team's own record: assessment, goals, plan and the notes on status changes.
_CARE = frozenset(
    {"assessment", "history.note", "contact_attempts", "plan_history", "reviews", "support_levels"}
)
# Equality data (sex, ethnic group, long term conditions, IMD decile: special category data,
# api/referrals/equality.py): for those who read the person's full details, as those are.
_EQUALITY = frozenset({"equality"})

_GP_PRACTICE = (
    frozenset({"id", "preferred_language", "needs_interpreter", "reason", "what_matters"})
    | {"notes", "nhs_use", "outcomes"}
    | _FACTS
    | _PERSON
    | _EQUALITY
    | _SIGNPOSTS
    | _HISTORY
    | _MESSAGE_BACK
)
_CARE_TEAM = _GP_PRACTICE | _CARE
# A provider welcomes the person to its sessions and records attendance: the given name,
# language, interpreter need and its own signposts (other providers' are left out of the list).
_PROVIDER = (
    frozenset({"id", "preferred_language", "needs_interpreter"}) | _PERSON_MINIMAL | _SIGNPOSTS
)

REFERRAL_FIELDS: dict[Role, frozenset[str]] = {
    Role.ADMIN: _CARE_TEAM,
    Role.LEAD_PROVIDER: _CARE_TEAM,
    Role.GP_PRACTICE: _GP_PRACTICE,
    Role.PROVIDER: _PROVIDER,
    Role.COMMISSIONER: frozenset(),  # aggregates only, never a referral
}
# Every part named for some role: the whole readable surface of a referral.
ALL_REFERRAL_FIELDS = frozenset().union(*REFERRAL_FIELDS.values())


# Who records, changes and clears a referral's equality data: the roles that read it (the
# practice, which may give it with the referral, and the care team), on referrals in reach.
RECORD_EQUALITY = tuple(role for role in Role if REFERRAL_FIELDS[role] >= _EQUALITY)


def equality_scope(principal: Principal) -> ColumnElement[bool]:
    """The referrals whose equality data ``principal`` may record, change or clear."""
    if principal.role in RECORD_EQUALITY:
        return referral_scope(principal)
    return false()


def readable_fields(role: Role) -> frozenset[str]:
    """The parts of a referral ``role`` may read (of those in its reach), before the
    person's consent is applied (see ``referral_fields``)."""
    return REFERRAL_FIELDS.get(role, frozenset())


def referral_fields(role: Role, *, consent_share_outcomes: bool) -> frozenset[str]:
    """The parts of one referral ``role`` may read: the practice sees outcomes only when the
    person agreed to share them."""
    fields = readable_fields(role)
    if role is Role.GP_PRACTICE and not consent_share_outcomes:
        return fields - CONSENT_GATED
    return fields


class PersonDetail(StrEnum):
    FULL = "FULL"  # NHS number, name, date of birth, contact details
    MINIMAL = "MINIMAL"  # given name, preferred language, interpreter: enough to welcome them


@dataclass(frozen=True)
class ReferralView:
    """The same rule as ``referral_fields``, summed up for the staff pages (which show whole
    sections): which parts of a referral in reach a principal sees."""

    person: PersonDetail | None
    referral_text: bool  # the practice's reason, what matters to the person, notes
    care: bool  # assessment, goals, action plan, notes on status changes, contact attempts
    outcomes: bool
    nhs_use: bool
    equality: bool = False  # sex, ethnic group, long term conditions, IMD decile


def referral_view(principal: Principal, *, consent_share_outcomes: bool) -> ReferralView:
    fields = referral_fields(principal.role, consent_share_outcomes=consent_share_outcomes)
    person = (
        PersonDetail.FULL
        if "person.family_name" in fields
        else PersonDetail.MINIMAL
        if "person.given_name" in fields
        else None
    )
    return ReferralView(
        person=person,
        referral_text="reason" in fields,
        care="assessment" in fields,
        outcomes="outcomes" in fields,
        nhs_use="nhs_use" in fields,
        equality="equality" in fields,
    )


# ---------------------------------------------------------------------------------------------
# Moderation of self-registrations and problem reports (api/registration/).
MODERATORS = (Role.LEAD_PROVIDER, Role.ADMIN)


def moderation_filter(principal: Principal, locality_column: Any) -> ColumnElement[bool]:
    """What a moderator may see, as a filter on a locality column: a lead provider, its own
    localities and anything whose place is unknown (no locality yet); an admin, everything."""
    if principal.role is Role.ADMIN:
        return true()
    if principal.role is Role.LEAD_PROVIDER:
        return or_(locality_column.in_(sorted(principal.locality_ids)), locality_column.is_(None))
    return false()


def may_moderate_listing(principal: Principal, locality_id: int | None) -> bool:
    """Who withdraws, suspends or reinstates a listing: the moderators who see it (the same
    rule as ``moderation_filter``, for one listing)."""
    if principal.role is Role.ADMIN:
        return True
    if principal.role is Role.LEAD_PROVIDER:
        return locality_id is None or locality_id in principal.locality_ids
    return False


def may_reassign(principal: Principal) -> bool:
    """Who gives a referral to another link worker: an admin, a lead provider's coordinator
    (a signed-in person; API tokens are never coordinators)."""
    return principal.role is Role.ADMIN or (
        principal.role is Role.LEAD_PROVIDER and principal.coordinator
    )


def link_worker_scope(principal: Principal) -> ColumnElement[bool]:
    """The link workers whose caseloads ``principal`` sees and assigns to."""
    from api.directory.models import LinkWorker

    if principal.role is Role.ADMIN:
        return true()
    if principal.role is Role.LEAD_PROVIDER and principal.provider_id is not None:
        return LinkWorker.lead_provider_id == principal.provider_id
    return false()


# ---------------------------------------------------------------------------------------------
# Staff accounts (api/staff/): people signed in to the pages. A signed-in account yields the
# same Principal as an API token, so every rule above applies to it unchanged.

# Roles that can read a person's data (any referral view with person detail) must pass a
# second factor (TOTP) after the emailed link; a commissioner (aggregates only) need not.
SECOND_FACTOR = READ_REFERRALS
# Who manages staff accounts: admins, any; a lead provider's coordinators, their own.
MANAGE_STAFF = (Role.LEAD_PROVIDER, Role.ADMIN)


def needs_second_factor(role: Role) -> bool:
    return role in SECOND_FACTOR


def may_manage_staff(principal: Principal) -> bool:
    return principal.role is Role.ADMIN or (
        principal.role is Role.LEAD_PROVIDER and principal.coordinator
    )


def staff_scope(principal: Principal) -> ColumnElement[bool]:
    """The staff accounts ``principal`` may list, invite into, deactivate and sign out."""
    from api.staff.models import StaffAccount

    if not may_manage_staff(principal):
        return false()
    if principal.role is Role.ADMIN:
        return true()
    return and_(
        StaffAccount.role == Role.LEAD_PROVIDER, StaffAccount.provider_id == principal.provider_id
    )


def invitable_roles(principal: Principal) -> tuple[Role, ...]:
    """The roles of the accounts ``principal`` may create."""
    if principal.role is Role.ADMIN:
        return tuple(Role)
    return (Role.LEAD_PROVIDER,) if may_manage_staff(principal) else ()


def may_invite(principal: Principal, role: Role, provider_id: int | None) -> bool:
    """Whether ``principal`` may create an account with this role and binding: an admin,
    any; a coordinator, only its own lead provider's link workers and coordinators."""
    if principal.role is Role.ADMIN:
        return True
    return role in invitable_roles(principal) and provider_id == principal.provider_id
