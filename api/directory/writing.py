"""Writing single listings into the directory: approved registrations and spreadsheet
imports create or update providers, venues and sessions here (the folder loader,
``loading.py``, writes whole directories). Schedules go through ``loading.save_schedule``
and every written session's search text is refreshed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, orm, select

from api.directory import schedules as sched
from api.directory.enums import AccessibilityFeature, Delivery, Domain, HowToJoin
from api.directory.loading import save_schedule
from api.directory.models import (
    Postcode,
    Provider,
    Session,
    SessionBreak,
    SessionDomain,
    SessionLanguage,
    Venue,
    VenueFeature,
)
from api.directory.postcodes import distance_km
from api.directory.search import refresh_search_text

# A place whose locality is unknown takes the locality of the nearest known venue, when one
# is this close.
LOCALITY_RADIUS_KM = 15.0


def slug(text: str, limit: int = 100) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower().replace("&", " and ")).strip("-")
    return (s or "listing")[:limit].rstrip("-")


def unique_key(db: orm.Session, column: Any, base: str, *where: Any) -> str:
    """``base``, or ``base-2``, ``base-3``... whichever is free in ``column``."""
    taken = set(db.scalars(select(column).where(column.like(f"{base}%"), *where)))
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}-{n}"
    return key


def locate_postcode(db: orm.Session, postcode: str | None) -> tuple[float, float] | None:
    if not postcode:
        return None
    row = db.get(Postcode, postcode)
    return (row.latitude, row.longitude) if row else None


def locality_near(db: orm.Session, postcode: str | None) -> int | None:
    """The locality of the nearest venue that has one, within LOCALITY_RADIUS_KM of the
    postcode; None when the postcode is unknown or nothing is near."""
    point = locate_postcode(db, postcode)
    if point is None:
        return None
    best: tuple[float, int] | None = None
    rows = db.execute(
        select(Venue.latitude, Venue.longitude, Venue.locality_id).where(
            Venue.locality_id.is_not(None), Venue.latitude.is_not(None)
        )
    )
    for lat, lon, locality_id in rows:
        km = distance_km(point[0], point[1], lat, lon)
        if km <= LOCALITY_RADIUS_KM and (best is None or km < best[0]):
            best = (km, locality_id)
    return best[1] if best else None


def locality_of_district(db: orm.Session, district: str) -> int | None:
    """The locality most of a postcode district's venues are in ("NT2"), or None."""
    found = db.execute(
        select(Venue.locality_id, func.count())
        .where(Venue.postcode.like(f"{district} %"), Venue.locality_id.is_not(None))
        .group_by(Venue.locality_id)
        .order_by(func.count().desc(), Venue.locality_id)
    ).first()
    return found[0] if found else None


@dataclass
class VenueFields:
    name: str
    postcode: str | None
    address: str = ""
    locality_id: int | None = None
    accessibility: list[AccessibilityFeature] = field(default_factory=list)


def find_or_create_venue(db: orm.Session, fields: VenueFields) -> Venue:
    """The venue with this name and postcode (ignoring case), or a new one. An existing
    venue gains the accessibility features given; it never loses any here, because other
    providers' listings share it."""
    venue = db.scalars(
        select(Venue)
        .where(func.lower(Venue.name) == fields.name.lower(), Venue.postcode == fields.postcode)
        .order_by(Venue.id)
    ).first()
    if venue is None:
        point = locate_postcode(db, fields.postcode)
        venue = Venue(
            key=unique_key(db, Venue.key, slug(f"{fields.name} {fields.postcode or ''}")),
            name=fields.name,
            address=fields.address,
            postcode=fields.postcode,
            latitude=point[0] if point else None,
            longitude=point[1] if point else None,
            locality_id=fields.locality_id,
        )
        db.add(venue)
        db.flush()
    elif fields.address and not venue.address:
        venue.address = fields.address
    have = set(db.scalars(select(VenueFeature.feature).where(VenueFeature.venue_id == venue.id)))
    for feature in dict.fromkeys(fields.accessibility):
        if feature not in have:
            db.add(VenueFeature(venue_id=venue.id, feature=feature))
    return venue


@dataclass
class SessionFields:
    title: str
    description: str
    domains: list[Domain]
    delivery: Delivery
    venue_id: int | None
    is_free: bool = True
    cost_amount: Decimal | None = None
    cost_concessions: str | None = None
    how_to_join: HowToJoin = HowToJoin.DROP_IN
    who_for_notes: str | None = None
    languages: list[str] = field(default_factory=lambda: ["en"])
    contact_email: str | None = None
    contact_phone: str | None = None


def write_session(
    db: orm.Session,
    provider: Provider,
    session: Session | None,
    fields: SessionFields,
    rules: list[sched.Rule] | None,
    *,
    key: str | None = None,
) -> Session:
    """Create (``session`` None) or update one session with its domains, languages and
    rules (``rules`` None: leave the schedule as it is)."""
    values = {
        "title": fields.title,
        "description": fields.description,
        "delivery": fields.delivery,
        "venue_id": fields.venue_id,
        "is_free": fields.is_free,
        "cost_amount": fields.cost_amount,
        "cost_concessions": fields.cost_concessions,
        "how_to_join": fields.how_to_join,
        "who_for_notes": fields.who_for_notes,
        "contact_email": fields.contact_email,
        "contact_phone": fields.contact_phone,
    }
    if session is None:
        base = key or slug(fields.title)
        session = Session(
            provider_id=provider.id,
            key=unique_key(db, Session.key, base, Session.provider_id == provider.id)
            if key is None
            else key,
            **values,
        )
        db.add(session)
        db.flush()
    else:
        for name, value in values.items():
            if getattr(session, name) != value:
                setattr(session, name, value)
    _set(db, SessionDomain, session.id, "domain", list(dict.fromkeys(fields.domains)))
    _set(db, SessionLanguage, session.id, "language", list(dict.fromkeys(fields.languages)))
    if rules is not None:
        existing_breaks = [
            sched.Break(b.starts_on, b.ends_on, b.reason)
            for b in db.scalars(select(SessionBreak).where(SessionBreak.session_id == session.id))
        ]
        save_schedule(db, session.id, rules, existing_breaks)
    db.flush()
    refresh_search_text(db, [session.id])
    return session


def _set(db: orm.Session, model: Any, session_id: int, column: str, values: list[Any]) -> None:
    have = set(db.scalars(select(getattr(model, column)).where(model.session_id == session_id)))
    if have == set(values):
        return
    db.execute(delete(model).where(model.session_id == session_id))
    for value in values:
        db.add(model(session_id=session_id, **{column: value}))
