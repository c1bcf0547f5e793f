"""Who checks a listing: the lead provider of its locality, named in the pages and emails a
provider reads instead of "your local lead provider"."""

from __future__ import annotations

from sqlalchemy import orm, select

from api.directory.models import Locality, Provider


def lead_provider(db: orm.Session, locality_id: int | None) -> Provider | None:
    """Who checks a listing of this locality: its lead provider; with no locality known (no
    postcode, or none near), the only lead provider if the directory has just one."""
    stmt = select(Provider).join(Locality, Locality.lead_provider_id == Provider.id)
    if locality_id is not None:
        return db.scalars(stmt.where(Locality.id == locality_id)).first()
    ids = db.scalars(
        select(Locality.lead_provider_id)
        .where(Locality.lead_provider_id.is_not(None))
        .distinct()
        .limit(2)
    ).all()
    return db.get(Provider, ids[0]) if len(ids) == 1 else None


def lead_name(db: orm.Session, locality_id: int | None) -> str:
    """The lead provider's name for the pages and emails a provider reads."""
    lead = lead_provider(db, locality_id)
    return lead.name if lead else "the local lead provider"
