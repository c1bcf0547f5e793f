"""What each page of the site shows: plain data (dicts of strings) built from the public
directory. Templates render it; the build hashes it to skip pages whose data did not change.

Every string from the database is untrusted and stays raw here: the templates escape it
(Jinja autoescape), JSON-LD and calendars have their own encoders (jsonld.py, ics.py).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from sqlalchemy import Row
from sqlalchemy import inspect as sa_inspect

from api.directory import labels
from api.directory import schedules as sched
from api.directory.enums import (
    AccessibilityFeature,
    Delivery,
    Domain,
    HowToJoin,
    ListedBy,
    Verification,
    Weekday,
)
from api.directory.labels import DAY_NAMES, safe_segment, slug
from api.directory.models import Provider, Session, Venue
from api.directory.provenance import provenance
from api.directory.public import Freshness, PublicDirectory, confirmed_on
from api.directory.times import say_times
from sitegen import maps
from sitegen.memo import BuildMemo, cached

T = TypeVar("T")

PAGE_SIZE = 100  # items per page of a listing


@functools.lru_cache(maxsize=128)
def weekdays(mask: int) -> tuple[Weekday, ...]:
    """The days of a days mask (128 possible masks; computing them is slow in bulk)."""
    return tuple(sched.weekdays_of(mask))


NEXT_DATES = 4


@dataclass
class Page:
    path: str  # folder of the page from the site root: "" (home), "providers/x/"
    template: str
    title: str
    description: str
    context: dict[str, Any]
    jsonld: list[dict[str, Any]] = field(default_factory=list)
    # Breadcrumbs above the page's content: (title, path from the site root), home first;
    # None: just "Home" (every page but the home page has it).
    crumbs: list[tuple[str, str]] | None = None

    @property
    def depth(self) -> int:
        return self.path.count("/")


@dataclass
class SiteConfig:
    site_name: str
    site_url: str  # ends with "/"
    public_url: str  # the app: report-a-problem links go there
    today: dt.date
    meili: dict[str, str] | None = None  # url, key, index: the search page uses it
    map: dict[str, str] | None = None  # tiles, attribution: maps shown only when set
    # Who runs the site and how to reach them (sitegen/footer_pages.py).
    operator: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    pages_dir: Path | None = None


def long_date(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def short_date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _break_text(b: Any, today: dt.date) -> str:
    """A break as a person reads it: one under way says when it is back ("On a break until 5
    January 2027": the day it runs again); one to come, its dates."""
    if b.starts_on <= today:
        # A provider's own break (api/directory/lifecycle.py) has no other reason to give.
        reason = b.reason if b.reason and b.reason != "On a break" else None
        back = b.ends_on + dt.timedelta(days=1)
        return f"On a break until {short_date(back)}" + (f" ({reason})" if reason else "")
    return (
        f"Not running {short_date(b.starts_on)}"
        + (f" to {short_date(b.ends_on)}" if b.ends_on != b.starts_on else "")
        + (f" ({b.reason})" if b.reason else "")
    )


def money(amount: Any) -> str:
    text = f"£{amount:,.2f}"
    return text[:-3] if text.endswith(".00") else text


def web_url(value: str | None) -> str | None:
    """Only http(s) addresses become links: never `javascript:` or other schemes."""
    if not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return value.strip()
    return None


def tel_url(phone: str | None) -> str | None:
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    return f"tel:{digits}" if len(digits) >= 5 else None


def mail_url(email: str | None) -> str | None:
    if not email or any(ch in email for ch in "<>\"' \t\r\n?&") or "@" not in email:
        return None
    return f"mailto:{email}"


class SiteModel:
    """Builds every page's data from one read of the public directory."""

    def __init__(self, directory: PublicDirectory, config: SiteConfig) -> None:
        self.d = directory
        self.config = config
        self.provider_path: dict[int, str] = {}
        self.session_path: dict[int, str] = {}
        for p in directory.providers.values():
            self.provider_path[p.id] = f"providers/{safe_segment(p.key, f'p{p.id}')}/"
        for s in directory.sessions.values():
            base = self.provider_path[s.provider_id]
            self.session_path[s.id] = f"{base}{safe_segment(s.key, f's{s.id}')}/"
        self.locality_path = {
            loc.id: f"areas/{safe_segment(loc.key, f'a{loc.id}')}/"
            for loc in directory.localities.values()
        }
        self._summaries: dict[int, dict[str, Any]] = {}
        self._details: dict[int, dict[str, Any]] = {}
        self._whats_on: list[dict[str, Any]] | None = None
        self.memo: BuildMemo | None = None
        self.signatures: dict[int, str] = {}
        self.provider_signatures: dict[int, str] = {}

    def remember(
        self,
        memo: BuildMemo | None,
        signatures: dict[int, str],
        provider_signatures: dict[int, str],
    ) -> None:
        """Reuse per-listing results of earlier builds from ``memo`` (sitegen/memo.py) by each
        listing's signature (``session_signature``, ``provider_signature``)."""
        self.memo = memo
        self.signatures = signatures
        self.provider_signatures = provider_signatures

    def per_session(self, kind: str, s: Session, make: Callable[[], T]) -> T:
        """``make()``, or its result from an earlier build for the same rows (the memo)."""
        return cached(self.memo, kind, s.id, self.signatures.get(s.id), make)

    def per_provider(self, kind: str, p: Provider, make: Callable[[], T]) -> T:
        return cached(self.memo, kind, p.id, self.provider_signatures.get(p.id), make)

    # -----------------------------------------------------------------------------------------
    # Pieces

    def domain_label(self, domain: Domain) -> str:
        row = self.d.domain_labels.get(domain)
        return row.label if row else domain.value.replace("_", " ").capitalize()

    def domain_path(self, domain: Domain) -> str:
        return f"activities/{slug(domain.value)}/"

    def report_url(self, provider: Provider, session: Session | None = None) -> str:
        query = {"provider": provider.key}
        if session is not None:
            query["session"] = session.key
        return f"{self.config.public_url.rstrip('/')}/report-a-problem?{urlencode(query)}"

    def ics_name(self, s: Session) -> str:
        """The calendar file's name: the session's own (its page's folder), so a download
        says what it is ("dog-walking.ics")."""
        return self.session_path[s.id].rstrip("/").rsplit("/", 1)[-1] + ".ics"

    def rules(self, session_id: int) -> list[sched.Rule]:
        return [sched.rule_from(r) for r in self.d.schedules.get(session_id, [])]

    def next_dates(self, session_id: int, count: int = NEXT_DATES) -> list[sched.Occurrence]:
        breaks = [
            sched.Break(b.starts_on, b.ends_on, b.reason) for b in self.d.breaks.get(session_id, [])
        ]
        return sched.next_occurrences(
            self.rules(session_id), breaks, after=self.config.today, count=count
        )

    def current_rules(self, session_id: int) -> list[Any]:
        """Schedule rows that can still happen (not ended, not a past one-off date)."""
        today = self.config.today
        return [
            row
            for row in self.d.schedules.get(session_id, [])
            if not (row.ends_on and row.ends_on < today)
            and not (row.freq == "ONCE" and row.starts_on and row.starts_on < today)
        ]

    def days_of(self, session_id: int) -> list[Weekday]:
        """Days it runs, for the day filter and "what's on"."""
        mask = 0
        for row in self.current_rules(session_id):
            mask |= row.days_mask
        return list(weekdays(mask))

    def cost_text(self, s: Session) -> str:
        if s.is_free:
            return "Free"
        if s.cost_amount is not None:
            return f"{money(s.cost_amount)} a session"
        return "There is a charge: ask the organiser"

    def where_text(self, s: Session) -> str:
        venue = self.d.venues.get(s.venue_id) if s.venue_id else None
        if venue is not None:
            return venue.name
        return labels.DELIVERY[Delivery(s.delivery)]

    def trust(self, p: Provider) -> dict[str, Any]:
        """Who vouches for the entry, and how fresh it is."""
        # The same words as the API's Provider.provenance (one place decides them).
        checked = provenance(
            ListedBy(p.listed_by),
            Verification(p.verification),
            p.verified_at,
            self.d.verifiers.get(p.verified_by_id or 0),
        )
        confirmed = confirmed_on(p)
        fresh = self.d.freshness(p)
        return {
            "checked": checked,
            "confirmed": f"Last confirmed {short_date(confirmed)}" if confirmed else None,
            "confirmed_iso": confirmed.isoformat() if confirmed else None,
            "stale": fresh is Freshness.STALE,
            "stale_text": (
                f"This entry was last confirmed on {short_date(confirmed)}, more than "
                f"{self.d.policy.stale_after_days} days ago: it may be out of date. "
                "Check with the organisation before you go."
                if confirmed
                else "This entry has not been confirmed by the organisation yet: "
                "check with them before you go."
            )
            if fresh is Freshness.STALE
            else None,
        }

    def filters(self, s: Session) -> dict[str, list[str]]:
        """Facet values of a session, as the search filters and the lists show them."""
        return self.per_session("filters", s, lambda: self._filters(s))

    def _filters(self, s: Session) -> dict[str, list[str]]:
        venue = self.d.venues.get(s.venue_id) if s.venue_id else None
        features = self.d.accessibility.get(venue.id, []) if venue else []
        locality = self.d.locality_of(s)
        times = sorted(
            {sched.time_of_day(r.opens_at) for r in self.d.schedules.get(s.id, [])},
            key=list(labels.TIME_OF_DAY).index,
        )
        return {
            "type": ["Activity"],
            "activity": [self.domain_label(d) for d in self.d.domains.get(s.id, [])],
            "area": [locality.name] if locality else [],
            "day": [DAY_NAMES[d] for d in self.days_of(s.id)],
            "time": [labels.TIME_OF_DAY[t] for t in times],
            "cost": ["Free" if s.is_free else "Paid"],
            "access": ["Step-free"] if AccessibilityFeature.STEP_FREE in features else [],
            "language": [labels.language_name(c) for c in self.d.languages.get(s.id, [])],
            "join": [labels.HOW_TO_JOIN_SHORT[HowToJoin(s.how_to_join)]],
            "where": [
                "Online"
                if s.delivery == Delivery.ONLINE
                else "At home"
                if s.delivery == Delivery.AT_HOME
                else "In person"
            ],
        }

    def summary(self, s: Session) -> dict[str, Any]:
        """A session in a list: what, who, when, where, cost."""
        if s.id not in self._summaries:
            self._summaries[s.id] = self.per_session("summary", s, lambda: self._summary(s))
        return self._summaries[s.id]

    def _summary(self, s: Session) -> dict[str, Any]:
        provider = self.d.providers[s.provider_id]
        rules = self.rules(s.id)
        when = "; ".join(sched.describe(r) for r in rules[:2]) + ("; ..." if len(rules) > 2 else "")
        first = min((r.opens_at for r in rules), default=None)
        result = {
            "title": s.title,
            "url": self.session_path[s.id],
            "provider": provider.name,
            "provider_url": self.provider_path[provider.id],
            "when": when or "Times to be arranged: contact the organiser",
            "where": self.where_text(s),
            "cost": self.cost_text(s),
            "starts": f"{first:%H:%M}" if first else "",
        }
        return result

    def venue(self, venue: Venue | None) -> dict[str, Any] | None:
        if venue is None:
            return None
        return {
            "name": venue.name,
            "address": venue.address,
            "postcode": venue.postcode,
            "latitude": venue.latitude,
            "longitude": venue.longitude,
            "directions_url": maps.directions_url(venue.latitude, venue.longitude, venue.postcode),
            "accessibility": [
                labels.ACCESSIBILITY[f] for f in self.d.accessibility.get(venue.id, [])
            ],
        }

    def details(self, s: Session) -> dict[str, Any]:
        """Everything a person needs to go: the body of a session on its own page and on its
        provider's page."""
        if s.id in self._details:
            return self._details[s.id]
        provider = self.d.providers[s.provider_id]
        venue = self.d.venues.get(s.venue_id) if s.venue_id else None
        rules = self.d.schedules.get(s.id, [])
        when = []
        for row in rules:
            text = sched.describe(sched.rule_from(row))
            when.append({"text": text, "note": row.note})
        breaks = [
            _break_text(b, self.config.today)
            for b in self.d.breaks.get(s.id, [])
            if b.ends_on >= self.config.today
        ]
        upcoming = [
            f"{long_date(o.date)}, {say_times(o.starts_at, o.ends_at)}"
            for o in self.next_dates(s.id)
        ]
        who = []
        gender = labels.GENDER.get(s.gender)  # type: ignore[call-overload]
        if gender:
            who.append(gender)
        if s.min_age is not None and s.max_age is not None:
            who.append(f"Ages {s.min_age} to {s.max_age}")
        elif s.min_age is not None:
            who.append(f"Ages {s.min_age} and over")
        elif s.max_age is not None:
            who.append(f"Ages up to {s.max_age}")
        if s.carers_welcome:
            who.append("Carers welcome")
        if s.who_for_notes:
            who.append(s.who_for_notes)
        contact_name = s.contact_name
        contact_email = s.contact_email or provider.email
        contact_phone = s.contact_phone or provider.phone
        result = {
            "key": safe_segment(s.key, f"s{s.id}"),
            "title": s.title,
            "description": s.description,
            "url": self.session_path[s.id],
            "provider": provider.name,
            "provider_url": self.provider_path[provider.id],
            "activities": [
                {"label": self.domain_label(d), "url": self.domain_path(d)}
                for d in self.d.domains.get(s.id, [])
            ],
            "delivery": labels.DELIVERY[Delivery(s.delivery)],
            "venue": self.venue(venue),
            "when": when,
            "breaks": breaks,
            "next_dates": upcoming,
            "cost": self.cost_text(s),
            "concessions": s.cost_concessions,
            "how_to_join": labels.HOW_TO_JOIN[HowToJoin(s.how_to_join)],
            "drop_in": s.how_to_join == HowToJoin.DROP_IN,
            "who_for": who,
            "languages": [labels.language_name(c) for c in self.d.languages.get(s.id, [])],
            "capacity": s.capacity,
            "contact": {
                "name": contact_name,
                "email": contact_email,
                "email_url": mail_url(contact_email),
                "phone": contact_phone,
                "phone_url": tel_url(contact_phone),
            },
            "report_url": self.report_url(provider, s),
            "ics": self.session_path[s.id] + self.ics_name(s),
            "ics_name": self.ics_name(s),
            # One directions link, the same as under "Where" (sitegen/maps.py).
            "directions_url": maps.directions_url(venue.latitude, venue.longitude, venue.postcode)
            if venue
            else None,
            "filters": self.filters(s),
            "summary": self.summary(s),
        }
        self._details[s.id] = result
        return result

    # -----------------------------------------------------------------------------------------
    # Pages

    def provider_page(self, p: Provider) -> Page:
        from sitegen import jsonld

        sessions = [self.d.sessions[i] for i in self.d.sessions_of.get(p.id, [])]
        locality = self.d.localities.get(p.locality_id) if p.locality_id else None
        context = {
            "provider": {
                "name": p.name,
                "description": p.description,
                "website": p.website,
                "website_url": web_url(p.website),
                "email": p.email,
                "email_url": mail_url(p.email),
                "phone": p.phone,
                "phone_url": tel_url(p.phone),
                "charity_number": p.charity_number,
                "company_number": p.company_number,
                "lead": p.kind == "LEAD_NTP",
                "locality": {"name": locality.name, "url": self.locality_path[locality.id]}
                if locality
                else None,
                "report_url": self.report_url(p),
                "trust": self.trust(p),
            },
            "sessions": [self.details(s) for s in sessions],
        }
        return Page(
            path=self.provider_path[p.id],
            template="provider.html",
            title=p.name,
            description=(p.description or f"Sessions run by {p.name}")[:300],
            context=context,
            jsonld=[jsonld.organization(self, p, sessions)],
        )

    def session_page(self, s: Session) -> Page:
        from sitegen import jsonld

        provider = self.d.providers[s.provider_id]
        details = self.details(s)
        return Page(
            path=self.session_path[s.id],
            template="session.html",
            title=s.title,
            description=(s.description or f"{s.title} with {provider.name}")[:300],
            context={
                "session": details,
                "map": self.config.map,
                "trust": self.trust(provider),
                "provider_contact": {
                    "name": provider.name,
                    "website": provider.website,
                    "website_url": web_url(provider.website),
                },
            },
            jsonld=jsonld.session(self, s),
            crumbs=[("Home", ""), (provider.name, self.provider_path[provider.id])],
        )

    def _paged(
        self,
        path: str,
        template: str,
        title: str,
        description: str,
        items: list[Any],
        extra: dict[str, Any],
    ) -> list[Page]:
        pages = max(1, math.ceil(len(items) / PAGE_SIZE))
        result = []
        for n in range(1, pages + 1):
            here = path if n == 1 else f"{path}{n}/"
            context = dict(extra)
            context.update(
                items=items[(n - 1) * PAGE_SIZE : n * PAGE_SIZE],
                total=len(items),
                page=n,
                pages=pages,
                prev=None if n == 1 else (path if n == 2 else f"{path}{n - 1}/"),
                next=f"{path}{n + 1}/" if n < pages else None,
            )
            page_title = title if n == 1 else f"{title} (page {n} of {pages})"
            result.append(Page(here, template, page_title, description, context))
        return result

    def home_page(self, counts: dict[Domain, int]) -> Page:
        return Page(
            path="",
            template="home.html",
            title=self.config.site_name,
            description="Local groups and activities that support your health: walking, "
            "cooking, crafts, company, advice and volunteering.",
            context={
                "domains": [
                    {
                        "label": self.domain_label(d),
                        "description": self.d.domain_labels[d].description
                        if d in self.d.domain_labels
                        else "",
                        "url": self.domain_path(d),
                        "count": counts.get(d, 0),
                    }
                    for d in Domain
                ],
                "areas": [
                    {"name": loc.name, "url": self.locality_path[loc.id]}
                    for loc in self.d.localities.values()
                ],
                "days": [
                    {"name": day["name"].split(",")[0], "url": f"whats-on/#{day['anchor']}"}
                    for day in self.whats_on()[:2]
                ],
            },
        )

    def pages(self) -> list[Page]:
        """Every HTML page of the site except organisations' and sessions' own pages, which
        the build makes one by one (``provider_page``, ``session_page``) when they changed."""
        d = self.d
        by_domain: dict[Domain, list[Session]] = defaultdict(list)
        for s in d.sessions.values():
            for domain in d.domains.get(s.id, []):
                by_domain[domain].append(s)
        counts = {dom: len(items) for dom, items in by_domain.items()}
        pages = [self.home_page(counts)]
        order = {loc.id: i for i, loc in enumerate(d.localities.values())}

        def area_key(s: Session) -> tuple[int, str, str]:
            loc = d.locality_of(s)
            return (order.get(loc.id, 999) if loc else 999, s.title.lower(), str(s.id))

        for domain in Domain:
            items = sorted(by_domain.get(domain, []), key=area_key)
            label = self.domain_label(domain)
            row = d.domain_labels.get(domain)
            pages += self._paged(
                self.domain_path(domain),
                "listing.html",
                label,
                row.description if row and row.description else label,
                [dict(self.summary(s), area=self._area_name(s)) for s in items],
                {
                    "intro": row.description if row else "",
                    "group_by_area": True,
                    "search_filter": {"activity": label},
                },
            )
        pages.append(self.whats_on_page())
        providers_by_area: dict[int | None, list[Provider]] = defaultdict(list)
        for p in d.providers.values():
            providers_by_area[p.locality_id].append(p)
        for loc in d.localities.values():
            lead = d.providers.get(loc.lead_provider_id or 0)
            pages += self._paged(
                self.locality_path[loc.id],
                "area.html",
                loc.name,
                f"Organisations running groups and activities in {loc.name}.",
                [
                    {
                        "name": p.name,
                        "url": self.provider_path[p.id],
                        "sessions": len(d.sessions_of.get(p.id, [])),
                        "description": p.description,
                    }
                    for p in providers_by_area.get(loc.id, [])
                ],
                {
                    "lead": {"name": lead.name, "url": self.provider_path[lead.id]}
                    if lead
                    else None,
                    "search_filter": {"area": loc.name},
                },
            )
        pages.append(
            Page(
                "areas/",
                "areas.html",
                "Areas",
                "The areas this directory covers.",
                {
                    "areas": [
                        {
                            "name": loc.name,
                            "url": self.locality_path[loc.id],
                            "count": len(providers_by_area.get(loc.id, [])),
                        }
                        for loc in d.localities.values()
                    ]
                },
            )
        )
        pages.append(self.search_page())
        pages.append(
            Page("near/", "near.html", "Near you", "Search now finds groups near a postcode.", {})
        )
        pages.append(
            Page("shortlist/", "shortlist.html", "Your shortlist", "Sessions you picked.", {})
        )
        pages.append(self.open_data_page())
        from sitegen.footer_pages import footer_pages

        pages += footer_pages(self.config)
        return pages

    # -----------------------------------------------------------------------------------------
    # What a listing's pages depend on, read straight from the rows: the build compares it with
    # the last build's to skip pages that cannot have changed, without making their data.

    def common_signature(self) -> str:
        labels_ = sorted((d.value, r.label, r.description) for d, r in self.d.domain_labels.items())
        localities = sorted((loc.id, loc.key, loc.name) for loc in self.d.localities.values())
        return repr((self.config, self.d.policy, labels_, localities))

    def session_signature(self, s: Session, common: str) -> str:
        d = self.d
        provider = d.providers[s.provider_id]
        venue = d.venues.get(s.venue_id) if s.venue_id else None
        parts = (
            common,
            _values(s),
            _values(provider),
            d.verifiers.get(provider.verified_by_id or 0),
            _values(venue) if venue else None,
            d.accessibility.get(venue.id) if venue else None,
            [_values(r) for r in d.schedules.get(s.id, [])],
            [_values(b) for b in d.breaks.get(s.id, [])],
            d.domains.get(s.id),
            d.languages.get(s.id),
        )
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]

    def provider_signature(self, p: Provider, sessions: list[str], common: str) -> str:
        parts = (common, _values(p), self.d.verifiers.get(p.verified_by_id or 0), sessions)
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]

    def _area_name(self, s: Session) -> str:
        loc = self.d.locality_of(s)
        return loc.name if loc else "Anywhere"

    def search_page(self) -> Page:
        languages = sorted(
            {labels.language_name(c) for codes in self.d.languages.values() for c in codes}
        )
        facets = [
            ("activity", "Type of activity", [self.domain_label(d) for d in Domain]),
            ("area", "Area", [loc.name for loc in self.d.localities.values()]),
            ("day", "Day", list(DAY_NAMES.values())),
            ("time", "Time of day", list(labels.TIME_OF_DAY.values())),
            ("cost", "Cost", ["Free"]),
            ("access", "Access", ["Step-free"]),
            ("join", "How to join", list(labels.HOW_TO_JOIN_SHORT.values())),
            ("language", "Language", languages),
        ]
        return Page(
            "search/",
            "search.html",
            "Search",
            "Search local groups and activities by what, where or both.",
            {
                "facets": [{"name": n, "label": lab, "values": v} for n, lab, v in facets],
                "meili": self.config.meili,
                "map": self.config.map,
            },
        )

    def whats_on(self) -> list[dict[str, Any]]:
        from sitegen.whats_on import days_ahead

        if self._whats_on is None:
            self._whats_on = days_ahead(self, self.config.today)
        return self._whats_on

    def whats_on_page(self) -> Page:
        return Page(
            "whats-on/",
            "whats_on.html",
            "What's on",
            "Groups and activities on today, tomorrow and the next seven days.",
            {
                "days": self.whats_on(),
                "built_for": self.config.today.isoformat(),
                "built_for_text": long_date(self.config.today),
            },
        )

    def open_data_page(self) -> Page:
        return Page(
            "open-data/",
            "open_data.html",
            "Open data",
            "This directory as open data in the Open Referral UK standard.",
            {"api_url": self.config.public_url.rstrip("/") + "/oruk/"},
        )


_COLUMNS: dict[type, list[str]] = {}


def _values(row: Any) -> tuple[Any, ...]:
    """Every column of a row, in a fixed order (the model's): a plain row (the build reads
    rows, api/directory/public.py) is that tuple already."""
    if isinstance(row, Row):
        return tuple(row)
    cls = type(row)
    if cls not in _COLUMNS:
        _COLUMNS[cls] = [c.key for c in sa_inspect(cls).column_attrs]
    return tuple(getattr(row, name) for name in _COLUMNS[cls])
