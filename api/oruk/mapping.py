"""Petunia's public directory in Open Referral UK (HSDS 3.0) terms: one module used by the
read API (api/oruk/routes.py) and the export (api/oruk/export.py).

=====================  =================================================================
Petunia                HSDS / ORUK
=====================  =================================================================
provider               organization (charity and company numbers as identifiers)
session                service (+ service_at_location at its venue; online: a virtual
                       location; at home: a service_area, the locality)
schedule rule          schedule: freq/interval/byday as RRULE, opens_at/closes_at,
                       valid_from/valid_to; a one-off date has dtstart = valid_from =
                       valid_to and no freq; breaks are written in ``notes``
venue                  location (physical) with address and accessibility
the six domains        a taxonomy; each service's domains are attributes
cost                   fees (text) + cost_options (amount per session, concessions)
languages              language (name, ISO 639-1 code)
last confirmed         assured_date; "may be out of date" in alert
=====================  =================================================================

Ids must be UUIDs: each is derived (uuid5) from the record's stable key and the service's
public URL, so they survive reloads and differ between deployments.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from api.directory import addresses
from api.directory import schedules as sched
from api.directory.enums import Delivery, Domain, Frequency, HowToJoin
from api.directory.labels import language_name
from api.directory.models import Provider, Schedule, Session, Venue
from api.directory.public import Freshness, PublicDirectory, confirmed_on

TAXONOMY_NAME = "Petunia social prescribing domains"
PROFILE_URL = "https://github.com/openreferral/uk-profile"


def api_index(public_url: str) -> dict[str, str]:
    """What ``GET /oruk/`` and an export's ``index.json`` say: the HSDS version, the profile,
    and Petunia's own OpenAPI document (api/oruk/openapi.py), served by the read API."""
    return {
        "version": "3.0",
        "profile": PROFILE_URL,
        "openapi_url": public_url.rstrip("/") + "/oruk/openapi.json",
    }


_ATTENDING = {
    Delivery.AT_VENUE: "in person",
    Delivery.ONLINE: "online",
    Delivery.AT_HOME: "at home: visits or phone calls",
    Delivery.VARIOUS_PLACES: "in various places: ask the organiser",
}
_HOW_TO_JOIN = {
    HowToJoin.DROP_IN: "Drop in: no need to book.",
    HowToJoin.BOOK_FIRST: "Book a place first with the contact given.",
    HowToJoin.REFERRAL_ONLY: "By referral only: ask a GP practice or link worker.",
}
_GENDER = {"WOMEN_ONLY": "Women only.", "MEN_ONLY": "Men only."}


class Ids:
    """Deterministic UUIDs for every HSDS record."""

    def __init__(self, public_url: str) -> None:
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, public_url.rstrip("/") + "/oruk")
        self._cache: dict[str, str] = {}

    def __call__(self, *parts: object) -> str:
        name = "/".join(str(p) for p in parts)
        found = self._cache.get(name)
        if found is None:
            found = self._cache[name] = str(uuid.uuid5(self.namespace, name))
        return found

    def service(self, provider_key: str, session_key: str) -> str:
        return self("service", provider_key, session_key)

    def taxonomy(self) -> str:
        return self("taxonomy", "domains")

    def term(self, domain: Domain) -> str:
        return self("taxonomy_term", domain.value)


def _email(value: str | None) -> str | None:
    # Checked at every entrance; rows stored before that are checked again here, so that
    # what is published validates (the schemas check the email and uri formats).
    try:
        return addresses.email(value) if value else None
    except addresses.InvalidAddress:
        return None


def _uri(value: str | None) -> str | None:
    try:
        return addresses.website(value) if value else None
    except addresses.InvalidAddress:
        return None


def _time(value: dt.time | None) -> str | None:
    return f"{value:%H:%M:%S}" if value else None


def _timestamp(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def _money(amount: Decimal) -> str:
    return f"£{amount:,.2f}"


class OrukMapper:
    def __init__(self, directory: PublicDirectory, public_url: str, site_url: str) -> None:
        self.d = directory
        self.ids = Ids(public_url)
        self.site_url = site_url
        self._summaries: dict[int, dict[str, Any]] = {}

    # -- taxonomy -----------------------------------------------------------------------------

    def taxonomy(self) -> dict[str, Any]:
        return {
            "id": self.ids.taxonomy(),
            "name": TAXONOMY_NAME,
            "description": "The six domains of social prescribing that every Petunia "
            "session belongs to at least one of.",
            "uri": self.site_url + "open-data/",
            "version": "1",
        }

    def term(self, domain: Domain) -> dict[str, Any]:
        label = self.d.domain_labels.get(domain)
        return {
            "id": self.ids.term(domain),
            "code": domain.value,
            "name": label.label if label else domain.value,
            "description": (label.description if label else "") or domain.value,
            "taxonomy": TAXONOMY_NAME,
            "taxonomy_id": self.ids.taxonomy(),
            "term": domain.value,
        }

    # -- organizations ------------------------------------------------------------------------

    def _site_path(self, *parts: str) -> str:
        return self.site_url + "providers/" + "/".join(parts) + "/"

    def organization(self, p: Provider, *, full: bool = False) -> dict[str, Any]:
        org = _clean(
            {
                "id": self.ids("organization", p.key),
                "name": p.name,
                "description": p.description or p.name,
                "email": _email(p.email),
                "website": _uri(p.website),
                "uri": self._site_path(p.key),
            }
        )
        if full:
            identifiers = []
            if p.charity_number:
                identifiers.append(
                    {
                        "id": self.ids("organization_identifier", p.key, "charity"),
                        "organization_id": org["id"],
                        "identifier_scheme": "GB-CHC",
                        "identifier_type": "Charity number",
                        "identifier": p.charity_number,
                    }
                )
            if p.company_number:
                identifiers.append(
                    {
                        "id": self.ids("organization_identifier", p.key, "company"),
                        "organization_id": org["id"],
                        "identifier_scheme": "GB-COH",
                        "identifier_type": "Company number",
                        "identifier": p.company_number,
                    }
                )
            org["organization_identifiers"] = identifiers
        return org

    # -- services -----------------------------------------------------------------------------

    def _fees(self, s: Session) -> str:
        if s.is_free:
            text = "Free."
        elif s.cost_amount is not None:
            text = f"{_money(s.cost_amount)} per session."
        else:
            text = "There is a charge: ask the organiser."
        return text + (f" {s.cost_concessions}" if s.cost_concessions else "")

    def _alert(self, p: Provider) -> str | None:
        if self.d.freshness(p) is not Freshness.STALE:
            return None
        confirmed = confirmed_on(p)
        if confirmed is None:
            return "Not yet confirmed by the organisation: check before attending."
        return (
            f"Last confirmed on {confirmed.isoformat()}: this may be out of date, "
            "check before attending."
        )

    def service_summary(self, s: Session) -> dict[str, Any]:
        """The one-to-one fields of a service, with its organization (``service_list``)."""
        if s.id not in self._summaries:
            self._summaries[s.id] = self._service_summary(s)
        return dict(self._summaries[s.id])

    def _service_summary(self, s: Session) -> dict[str, Any]:
        p = self.d.providers[s.provider_id]
        confirmed = confirmed_on(p)
        return _clean(
            {
                "id": self.ids.service(p.key, s.key),
                "organization_id": self.ids("organization", p.key),
                "name": s.title,
                "description": s.description or s.title,
                "url": self._site_path(p.key, s.key),
                "email": _email(s.contact_email) or _email(p.email),
                "status": "active",
                "fees": self._fees(s),
                "minimum_age": s.min_age,
                "maximum_age": s.max_age,
                "assured_date": confirmed.isoformat() if confirmed else None,
                "alert": self._alert(p),
                "last_modified": _timestamp(max(s.updated_at, p.updated_at)),
                "organization": self.organization(p),
            }
        )

    def _schedule(self, s: Session, p: Provider, index: int, row: Schedule) -> dict[str, Any]:
        rule = sched.rule_from(row)
        notes = [row.note] if row.note else []
        for b in self.d.breaks.get(s.id, []):
            span = b.starts_on.isoformat() + (
                f" to {b.ends_on.isoformat()}" if b.ends_on != b.starts_on else ""
            )
            notes.append(f"Not running {span}" + (f" ({b.reason})" if b.reason else "") + ".")
        data: dict[str, Any] = {
            "id": self.ids("schedule", p.key, s.key, index),
            "service_id": self.ids.service(p.key, s.key),
            "description": sched.describe(rule),
            "opens_at": _time(rule.opens_at),
            "closes_at": _time(rule.closes_at),
            "schedule_link": self._site_path(p.key, s.key),
            "attending_type": _ATTENDING[Delivery(s.delivery)],
            "notes": " ".join(notes) or None,
            "timezone": "Europe/London",
        }
        if rule.freq == Frequency.ONCE:
            day = rule.starts_on.isoformat() if rule.starts_on else None
            data.update(dtstart=day, valid_from=day, valid_to=day, count=1)
        else:
            data.update(
                freq=rule.freq.value,
                interval=rule.interval,
                byday=rule.byday,
                wkst="MO",
                dtstart=rule.starts_on.isoformat() if rule.starts_on else None,
                valid_from=rule.starts_on.isoformat() if rule.starts_on else None,
                valid_to=rule.ends_on.isoformat() if rule.ends_on else None,
                until=rule.ends_on.isoformat() if rule.ends_on else None,
            )
        return _clean(data)

    def location(self, venue: Venue, *, full: bool = False) -> dict[str, Any]:
        location_id = self.ids("location", venue.key)
        loc = _clean(
            {
                "id": location_id,
                "location_type": "physical",
                "name": venue.name,
                "description": venue.address or venue.name,
                "latitude": venue.latitude,
                "longitude": venue.longitude,
            }
        )
        if full:
            parts = [x.strip() for x in (venue.address or "").split(",") if x.strip()]
            locality = self.d.localities.get(venue.locality_id) if venue.locality_id else None
            city = parts[-1] if len(parts) > 1 else (locality.name if locality else "")
            street = ", ".join(parts[:-1] if len(parts) > 1 else parts) or venue.name
            loc["addresses"] = [
                {
                    "id": self.ids("address", venue.key),
                    "location_id": location_id,
                    "address_1": street,
                    "city": city,
                    "state_province": "England",
                    "postal_code": venue.postcode or "",
                    "country": "GB",
                    "address_type": "physical",
                }
            ]
            from api.directory.labels import ACCESSIBILITY

            loc["accessibility"] = [
                {
                    "id": self.ids("accessibility", venue.key, feature.value),
                    "location_id": location_id,
                    "description": ACCESSIBILITY[feature],
                    "details": feature.value,
                }
                for feature in self.d.accessibility.get(venue.id, [])
            ]
        return loc

    def _virtual_location(self, s: Session, p: Provider) -> dict[str, Any]:
        return {
            "id": self.ids("location", "online", p.key, s.key),
            "location_type": "virtual",
            "name": "Online",
            "description": "Takes place online: the organiser sends the link.",
        }

    def service_at_location(self, s: Session, *, full: bool) -> dict[str, Any] | None:
        p = self.d.providers[s.provider_id]
        venue = self.d.venues.get(s.venue_id) if s.venue_id else None
        if venue is not None:
            location = self.location(venue, full=full)
        elif s.delivery == Delivery.ONLINE:
            location = self._virtual_location(s, p)
        else:
            return None
        item = {
            "id": self.ids("service_at_location", p.key, s.key),
            "service_id": self.ids.service(p.key, s.key),
            "location_id": location["id"],
            "location": location,
        }
        if not full:
            item["service"] = self.service_summary(s)
        return item

    def service(self, s: Session) -> dict[str, Any]:
        """A fully nested service (``service.json``)."""
        p = self.d.providers[s.provider_id]
        service_id = self.ids.service(p.key, s.key)
        data = self.service_summary(s)
        data["organization"] = self.organization(p, full=True)
        data["schedules"] = [
            self._schedule(s, p, i, row) for i, row in enumerate(self.d.schedules.get(s.id, []))
        ]
        sal = self.service_at_location(s, full=True)
        data["service_at_locations"] = [sal] if sal else []
        locality = self.d.locality_of(s)
        data["service_areas"] = (
            [
                {
                    "id": self.ids("service_area", locality.key),
                    "service_id": service_id,
                    "name": locality.name,
                    "service_area": locality.name,
                }
            ]
            if locality and s.delivery == Delivery.AT_HOME
            else []
        )
        data["languages"] = [
            {
                "id": self.ids("language", p.key, s.key, code),
                "service_id": service_id,
                "name": language_name(code),
                "code": code,
            }
            for code in self.d.languages.get(s.id, [])
        ]
        data["cost_options"] = (
            [
                _clean(
                    {
                        "id": self.ids("cost_option", p.key, s.key),
                        "service_id": service_id,
                        "option": "Per session",
                        "amount": float(s.cost_amount),
                        "currency": "GBP",
                        "amount_description": s.cost_concessions,
                    }
                )
            ]
            if not s.is_free and s.cost_amount is not None
            else []
        )
        contacts = []
        if s.contact_name or s.contact_email or s.contact_phone:
            contact_id = self.ids("contact", p.key, s.key)
            contacts.append(
                _clean(
                    {
                        "id": contact_id,
                        "service_id": service_id,
                        "name": s.contact_name,
                        "title": "Bookings and questions",
                        "email": _email(s.contact_email),
                        "phones": [
                            {"id": self.ids("phone", p.key, s.key), "number": s.contact_phone}
                        ]
                        if s.contact_phone
                        else None,
                    }
                )
            )
        data["contacts"] = contacts
        data["funding"] = []
        data["attributes"] = [
            {
                "id": self.ids("attribute", p.key, s.key, domain.value),
                "link_id": service_id,
                "link_type": "service",
                "link_entity": "service",
                "taxonomy_term_id": self.ids.term(domain),
                "taxonomy_term": self.term(domain),
            }
            for domain in self.d.domains.get(s.id, [])
        ]
        eligibility = []
        if s.gender in _GENDER:
            eligibility.append(_GENDER[s.gender])
        if s.carers_welcome:
            eligibility.append("Carers welcome.")
        if s.who_for_notes:
            eligibility.append(s.who_for_notes)
        data["eligibility_description"] = " ".join(eligibility) or None
        data["application_process"] = _HOW_TO_JOIN[HowToJoin(s.how_to_join)]
        if s.capacity:
            data["capacity"] = s.capacity
        return _clean(data)


def page_envelope(items: list[Any], *, total: int, page: int, per_page: int) -> dict[str, Any]:
    """The ORUK page envelope (``total_items``, ``page_number``...)."""
    pages = max(1, -(-total // per_page))
    return {
        "total_items": total,
        "total_pages": pages,
        "page_number": page,
        "size": len(items),
        "first_page": page == 1,
        "last_page": page >= pages,
        # This page's contents: a page past the end is empty too.
        "empty": not items,
        "contents": items,
    }
