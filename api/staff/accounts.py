"""Staff accounts: inviting, listing, deactivating, and the Principal a signed-in account
acts as. Who may manage which accounts is decided in api/access/policy.py."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, orm, select

from api.access import policy
from api.access.models import Role
from api.access.tokens import ClientError, Principal, lead_localities, resolve_binding
from api.audit.log import record
from api.directory.models import LinkWorker, utcnow
from api.staff.models import StaffAccount, StaffSession

_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")


class StaffError(ValueError):
    """An account cannot be created or changed as asked; ``field`` names the answer."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Invitation:
    name: str
    email: str
    role: Role
    practice: str | None = None  # ODS code
    provider: str | None = None  # key or id
    link_worker: str | None = None  # LinkWorker key (LEAD_PROVIDER)
    coordinator: bool = False


def normalise_email(value: str) -> str:
    return value.strip().lower()


def principal_of(db: orm.Session, account: StaffAccount) -> Principal:
    """The Principal a signed-in account acts as: the same shape as an API client's, so
    every policy function applies unchanged."""
    return Principal(
        None,  # type: ignore[arg-type]  # no API client behind a person
        account.name,
        account.role,
        account.practice_id,
        account.provider_id,
        lead_localities(db, account.role, account.provider_id),
        staff_account_id=account.id,
        link_worker_id=account.link_worker_id,
        coordinator=account.coordinator,
    )


def invite(
    db: orm.Session, principal: Principal | None, invitation: Invitation, *, demo: bool = False
) -> StaffAccount:
    """A new account. ``principal`` None is the command line (the operator)."""
    name = " ".join(invitation.name.split())
    email = normalise_email(invitation.email)
    if not name:
        raise StaffError("name", "Enter the person's name")
    if len(name) > 200:
        raise StaffError("name", "The name must be 200 characters or fewer")
    if not _EMAIL.match(email) or len(email) > 320:
        raise StaffError("email", "Enter a work email address, like name@example.nhs.uk")
    if principal is not None and invitation.role not in policy.invitable_roles(principal):
        raise StaffError("role", "You cannot create an account with this role")
    try:
        practice, provider = resolve_binding(
            db, invitation.role, invitation.practice, invitation.provider
        )
    except ClientError as exc:
        raise StaffError("provider" if invitation.provider else "role", str(exc)) from None
    provider_id = provider.id if provider else None
    if principal is not None and not policy.may_invite(principal, invitation.role, provider_id):
        raise StaffError("role", "You cannot create an account with this role")
    link_worker_id = None
    if invitation.link_worker:
        if invitation.role is not Role.LEAD_PROVIDER:
            raise StaffError("link_worker", "Only a lead provider's account is a link worker's")
        worker = db.scalars(
            select(LinkWorker).where(LinkWorker.key == invitation.link_worker.strip())
        ).first()
        if worker is None or worker.lead_provider_id != provider_id:
            raise StaffError("link_worker", "No such link worker at this lead provider")
        link_worker_id = worker.id
    if invitation.coordinator and invitation.role is not Role.LEAD_PROVIDER:
        raise StaffError("coordinator", "Only a lead provider's account can coordinate")
    if db.scalars(select(StaffAccount.id).where(StaffAccount.email == email)).first():
        raise StaffError("email", "There is already an account with this email address")
    account = StaffAccount(
        name=name,
        email=email,
        role=invitation.role,
        practice_id=practice.id if practice else None,
        provider_id=provider_id,
        link_worker_id=link_worker_id,
        coordinator=invitation.coordinator,
        demo=demo,
        invited_by=f"{principal.role.value}:{principal.name}" if principal else "command line",
    )
    db.add(account)
    db.flush()
    record(db, principal, "staff.invite", "staff_account", account.id, role=account.role.value)
    return account


def manageable(db: orm.Session, principal: Principal | None) -> list[StaffAccount]:
    """The accounts ``principal`` manages (None: the command line, all of them)."""
    query = select(StaffAccount).order_by(StaffAccount.deactivated_at.is_not(None), StaffAccount.id)
    if principal is not None:
        query = query.where(policy.staff_scope(principal))
    return list(db.scalars(query))


def find_manageable(
    db: orm.Session, principal: Principal | None, account_id: int
) -> StaffAccount | None:
    query = select(StaffAccount).where(StaffAccount.id == account_id)
    if principal is not None:
        query = query.where(policy.staff_scope(principal))
    return db.scalars(query).first()


def _target(db: orm.Session, principal: Principal | None, account_id: int) -> StaffAccount:
    account = find_manageable(db, principal, account_id)
    if account is None:
        raise StaffError("account", f"No account {account_id} that you manage")
    return account


def end_sessions(db: orm.Session, principal: Principal | None, account_id: int) -> int:
    """Sign the account out everywhere (its cookies stop working at once); how many ended."""
    _target(db, principal, account_id)
    ended = db.execute(delete(StaffSession).where(StaffSession.account_id == account_id))
    record(db, principal, "staff.sign_out_everywhere", "staff_account", account_id)
    return ended.rowcount or 0  # type: ignore[attr-defined]


def deactivate(db: orm.Session, principal: Principal | None, account_id: int) -> StaffAccount:
    """The account can no longer sign in; its sessions end now. Its audit trail stays."""
    account = _target(db, principal, account_id)
    if principal is not None and principal.staff_account_id == account.id:
        raise StaffError("account", "You cannot deactivate your own account")
    if account.deactivated_at is None:
        account.deactivated_at = utcnow()
        db.execute(delete(StaffSession).where(StaffSession.account_id == account.id))
        record(db, principal, "staff.deactivate", "staff_account", account.id)
    return account


def reset_second_factor(
    db: orm.Session, principal: Principal | None, account_id: int
) -> StaffAccount:
    """For a lost phone and lost recovery codes: the next sign-in enrols again."""
    from api.staff.models import StaffRecoveryCode

    account = _target(db, principal, account_id)
    account.totp_secret_enc = account.totp_confirmed_at = account.totp_last_step = None
    db.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.account_id == account.id))
    db.execute(delete(StaffSession).where(StaffSession.account_id == account.id))
    record(db, principal, "staff.reset_second_factor", "staff_account", account.id)
    return account
