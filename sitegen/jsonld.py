"""schema.org JSON-LD for provider and session pages (Organization, Event/Service, Place).

``script_json`` makes any JSON safe inside <script type="application/ld+json">: the
characters that could end the element or start markup are written as \\u escapes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from api.directory import schedules as sched
from api.directory.enums import Delivery
from api.directory.labels import DAY_NAMES
from api.directory.models import Provider, Session
from sitegen.pages import web_url

if TYPE_CHECKING:
    from sitegen.pages import SiteModel

_SCHEMA_DAYS = {day: f"https://schema.org/{name}" for day, name in DAY_NAMES.items()}


def script_json(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, "", [], {})}


def organization(model: SiteModel, p: Provider, sessions: list[Session]) -> dict[str, Any]:
    site = model.config.site_url
    return _clean(
        {
            "@context": "https://schema.org",
            "@type": "Organization",
            "@id": site + model.provider_path[p.id] + "#organization",
            "name": p.name,
            "description": p.description,
            "url": web_url(p.website) or site + model.provider_path[p.id],
            "email": p.email,
            "telephone": p.phone,
            "identifier": p.charity_number and f"Registered charity {p.charity_number}",
            "subjectOf": [
                {"@type": "WebPage", "url": site + model.session_path[s.id], "name": s.title}
                for s in sessions
            ],
        }
    )


def place(model: SiteModel, s: Session) -> dict[str, Any] | None:
    venue = model.d.venues.get(s.venue_id) if s.venue_id else None
    if venue is None:
        return None
    geo = None
    if venue.latitude is not None and venue.longitude is not None:
        geo = {"@type": "GeoCoordinates", "latitude": venue.latitude, "longitude": venue.longitude}
    return _clean(
        {
            "@type": "Place",
            "name": venue.name,
            "address": _clean(
                {
                    "@type": "PostalAddress",
                    "streetAddress": venue.address,
                    "postalCode": venue.postcode,
                    "addressCountry": "GB",
                }
            ),
            "geo": geo,
        }
    )


def _schedule(row: Any) -> dict[str, Any]:
    rule = sched.rule_from(row)
    data: dict[str, Any] = {
        "@type": "Schedule",
        "startTime": f"{rule.opens_at:%H:%M}",
        "endTime": f"{rule.closes_at:%H:%M}" if rule.closes_at else None,
        "scheduleTimezone": "Europe/London",
        "description": sched.describe(rule),
    }
    if rule.freq == "ONCE":
        data["startDate"] = rule.starts_on.isoformat() if rule.starts_on else None
    else:
        data["byDay"] = [_SCHEMA_DAYS[d] for _n, d in sched.parse_byday(rule.byday)]
        data["repeatFrequency"] = f"P{rule.interval}W" if rule.freq == "WEEKLY" else "P1M"
        if rule.freq == "MONTHLY":
            data["byMonthWeek"] = sorted({n for n, _d in sched.parse_byday(rule.byday) if n})
        data["startDate"] = rule.starts_on.isoformat() if rule.starts_on else None
        data["endDate"] = rule.ends_on.isoformat() if rule.ends_on else None
    return _clean(data)


def session(model: SiteModel, s: Session) -> list[dict[str, Any]]:
    site = model.config.site_url
    provider = model.d.providers[s.provider_id]
    url = site + model.session_path[s.id]
    organizer = {
        "@type": "Organization",
        "@id": site + model.provider_path[provider.id] + "#organization",
        "name": provider.name,
        "url": site + model.provider_path[provider.id],
    }
    offers = _clean(
        {
            "@type": "Offer",
            "price": "0" if s.is_free else (f"{s.cost_amount:.2f}" if s.cost_amount else None),
            "priceCurrency": "GBP",
            "description": s.cost_concessions,
            "url": url,
        }
    )
    common = {
        "@context": "https://schema.org",
        "name": s.title,
        "description": s.description,
        "url": url,
        "isAccessibleForFree": bool(s.is_free),
        "offers": offers,
        "inLanguage": model.d.languages.get(s.id) or None,
    }
    if s.delivery == Delivery.AT_HOME:
        # Visits and calls are a service, not an event with a place.
        return [
            _clean(
                dict(
                    common,
                    **{
                        "@type": "Service",
                        "provider": organizer,
                        "areaServed": (loc := model.d.locality_of(s)) and loc.name,
                        "hoursAvailable": None,
                    },
                )
            )
        ]
    nexts = model.next_dates(s.id, 1)
    start = None
    if nexts:
        start = f"{nexts[0].date.isoformat()}T{nexts[0].starts_at:%H:%M}"
    location = place(model, s)
    if s.delivery == Delivery.ONLINE:
        location = {"@type": "VirtualLocation", "url": url}
    event = dict(
        common,
        **{
            "@type": "Event",
            "organizer": organizer,
            "location": location,
            "startDate": start,
            "eventSchedule": [_schedule(r) for r in model.d.schedules.get(s.id, [])],
            "eventAttendanceMode": "https://schema.org/OnlineEventAttendanceMode"
            if s.delivery == Delivery.ONLINE
            else "https://schema.org/OfflineEventAttendanceMode",
            "eventStatus": "https://schema.org/EventScheduled",
        },
    )
    return [_clean(event)]
