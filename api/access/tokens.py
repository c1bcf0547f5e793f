"""Issuing, checking, rotating and revoking bearer tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import orm, select

from api.access.models import ApiClient, Role
from api.directory.enums import ProviderKind
from api.directory.models import GpPractice, Locality, Provider, utcnow

TOKEN_PREFIX = "pt_"
# Refresh last_used_at at most this often, so reads do not become writes.
LAST_USED_GRANULARITY = dt.timedelta(minutes=5)


class ClientError(ValueError):
    """A client cannot be created as asked (unknown practice, wrong binding...)."""


@dataclass(frozen=True)
class Principal:
    """An authenticated caller and what it is bound to: an API client (``client_id``) or a
    signed-in staff account (``staff_account_id``; ``client_id`` is then None)."""

    client_id: int
    name: str
    role: Role
    practice_id: int | None = None
    provider_id: int | None = None
    # For LEAD_PROVIDER: the localities whose lead it is.
    locality_ids: frozenset[int] = frozenset()
    # Staff accounts only: the person, their LinkWorker (a link worker's account) and
    # whether they coordinate their lead provider's accounts and caseloads.
    staff_account_id: int | None = None
    link_worker_id: int | None = None
    coordinator: bool = False


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _find_provider(db: orm.Session, ref: str) -> Provider | None:
    if ref.isdigit():
        return db.get(Provider, int(ref))
    return db.scalars(select(Provider).where(Provider.key == ref)).first()


def resolve_binding(
    db: orm.Session, role: Role, practice: str | None, provider: str | None
) -> tuple[GpPractice | None, Provider | None]:
    """The practice (ODS code) or provider (key or id) a role is bound to, checked: a
    GP_PRACTICE needs a practice, LEAD_PROVIDER and PROVIDER a provider (a lead provider for
    LEAD_PROVIDER), COMMISSIONER and ADMIN neither. API clients and staff accounts share it."""
    practice_row = provider_row = None
    if role is Role.GP_PRACTICE:
        if not practice or provider:
            raise ClientError("a GP_PRACTICE client needs --practice ODS (and no --provider)")
        practice_row = db.scalars(
            select(GpPractice).where(GpPractice.ods_code == practice.strip().upper())
        ).first()
        if practice_row is None:
            raise ClientError(
                f"no GP practice with ODS code '{practice}' (see `petunia practices list`)"
            )
    elif role in (Role.LEAD_PROVIDER, Role.PROVIDER):
        if not provider or practice:
            raise ClientError(f"a {role} client needs --provider KEY-OR-ID (and no --practice)")
        provider_row = _find_provider(db, provider)
        if provider_row is None:
            raise ClientError(f"no provider '{provider}'")
        if role is Role.LEAD_PROVIDER and provider_row.kind is not ProviderKind.LEAD_NTP:
            raise ClientError(f"'{provider_row.name}' is not a lead provider")
    elif practice or provider:
        raise ClientError(f"a {role} client is not bound to a practice or provider")
    return practice_row, provider_row


def create_client(
    db: orm.Session,
    *,
    role: Role,
    name: str | None = None,
    practice: str | None = None,
    provider: str | None = None,
) -> tuple[ApiClient, str]:
    """A new client and its token (the only time the token exists in clear)."""
    practice_row, provider_row = resolve_binding(db, role, practice, provider)
    token = _new_token()
    bound = practice_row.name if practice_row else provider_row.name if provider_row else None
    client = ApiClient(
        name=name or (f"{role.value.lower()} for {bound}" if bound else role.value.lower()),
        role=role,
        practice_id=practice_row.id if practice_row else None,
        provider_id=provider_row.id if provider_row else None,
        token_hash=hash_token(token),
        token_prefix=token[:10],
    )
    db.add(client)
    db.flush()
    return client, token


def authenticate(db: orm.Session, token: str) -> Principal | None:
    """The principal for a bearer token, or None for an unknown or revoked one."""
    return authenticate_hash(db, hash_token(token))


def authenticate_hash(db: orm.Session, token_hash: str) -> Principal | None:
    """As ``authenticate``, from the token's hash (what a signed-in page session keeps)."""
    client = db.scalars(
        select(ApiClient).where(ApiClient.token_hash == token_hash, ApiClient.revoked_at.is_(None))
    ).first()
    if client is None:
        return None
    now = utcnow()
    last = client.last_used_at
    if last is None or now - _aware(last) > LAST_USED_GRANULARITY:
        client.last_used_at = now
    localities = lead_localities(db, client.role, client.provider_id)
    return Principal(
        client.id, client.name, client.role, client.practice_id, client.provider_id, localities
    )


def lead_localities(db: orm.Session, role: Role, provider_id: int | None) -> frozenset[int]:
    """A LEAD_PROVIDER's localities (those it leads); nothing for other roles."""
    if role is not Role.LEAD_PROVIDER or provider_id is None:
        return frozenset()
    return frozenset(
        db.scalars(select(Locality.id).where(Locality.lead_provider_id == provider_id))
    )


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite returns naive datetimes for timezone-aware columns; they are UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def rotate(db: orm.Session, client_id: int) -> tuple[ApiClient, str]:
    """A new token for the client; the old one stops working at once."""
    client = _active(db, client_id)
    token = _new_token()
    client.token_hash, client.token_prefix = hash_token(token), token[:10]
    return client, token


def revoke(db: orm.Session, client_id: int) -> ApiClient:
    client = _active(db, client_id)
    client.revoked_at = utcnow()
    return client


def _active(db: orm.Session, client_id: int) -> ApiClient:
    client = db.get(ApiClient, client_id)
    if client is None or client.revoked_at is not None:
        raise ClientError(f"no active client with id {client_id}")
    return client


def list_clients(db: orm.Session) -> list[ApiClient]:
    return list(db.scalars(select(ApiClient).order_by(ApiClient.id)))
