"""Demo sign-ins: one account per role on the demo data, so a newcomer running `petunia up`
can try every page. They are marked ``demo``: in development the sign-in page shows the link
instead of emailing it and the code page shows the current code; in production they cannot
sign in at all (api/staff/signin.py). All share one fixed, printed TOTP secret, so the
second step can also be tried with a real authenticator app."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import orm, select

from api.access.models import Role
from api.config import Settings
from api.directory.enums import ProviderKind
from api.directory.models import GpPractice, LinkWorker, Locality, Provider, utcnow
from api.staff import accounts
from api.staff.models import StaffAccount
from api.staff.signin import set_secret

DEMO_TOTP_SECRET = "PETUNIADEMOTOTPSECRETFORTRYINGIT"
DOMAIN = "demo.petunia.invalid"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: str


def create_demo_accounts(db: orm.Session, settings: Settings) -> None:
    """One account per role, bound to the first practice, lead provider, its first link
    worker and another provider of its localities. Does nothing if they exist."""
    if db.scalars(select(StaffAccount.id).where(StaffAccount.demo)).first():
        return
    lead = db.scalars(
        select(Provider)
        .where(Provider.kind == ProviderKind.LEAD_NTP, Provider.id.in_(_leads()))
        .order_by(Provider.id)
    ).first()
    if lead is None:
        return
    localities = select(Locality.id).where(Locality.lead_provider_id == lead.id)
    practice = db.scalars(
        select(GpPractice)
        .where(GpPractice.locality_id.in_(localities))
        .order_by(GpPractice.ods_code)
    ).first()
    if practice is None:
        return
    worker = db.scalars(
        select(LinkWorker).where(LinkWorker.lead_provider_id == lead.id).order_by(LinkWorker.id)
    ).first()
    other = db.scalars(
        select(Provider)
        .where(Provider.kind != ProviderKind.LEAD_NTP, Provider.locality_id.in_(localities))
        .order_by(Provider.id)
    ).first()
    wanted = [
        ("practice", Role.GP_PRACTICE, {"practice": practice.ods_code}),
        ("coordinator", Role.LEAD_PROVIDER, {"provider": lead.key, "coordinator": True}),
        ("commissioner", Role.COMMISSIONER, {}),
        ("admin", Role.ADMIN, {}),
    ]
    if worker is not None:
        wanted.insert(
            1,
            ("link-worker", Role.LEAD_PROVIDER, {"provider": lead.key, "link_worker": worker.key}),
        )
    if other is not None:
        wanted.insert(-2, ("provider", Role.PROVIDER, {"provider": other.key}))
    for local, role, binding in wanted:
        account = accounts.invite(
            db,
            None,
            accounts.Invitation(
                name=f"Demo {local.replace('-', ' ')}",
                email=f"{local}@{DOMAIN}",
                role=role,
                **binding,  # type: ignore[arg-type]
            ),
            demo=True,
        )
        set_secret(settings, account, DEMO_TOTP_SECRET)
        account.totp_confirmed_at = utcnow()


def _leads():  # type: ignore[no-untyped-def]
    return select(Locality.lead_provider_id).where(Locality.lead_provider_id.is_not(None))


def demo_accounts(db: orm.Session) -> list[DemoAccount]:
    rows = db.scalars(
        select(StaffAccount)
        .where(StaffAccount.demo, StaffAccount.deactivated_at.is_(None))
        .order_by(StaffAccount.id)
    )
    return [DemoAccount(a.email, a.name.removeprefix("Demo ")) for a in rows]
