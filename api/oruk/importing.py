"""``petunia import oruk``: another directory's Open Referral UK feed, brought into Petunia as
listings added by the lead provider, with where they came from kept.

All or nothing per run: every service is read and checked first, every one Petunia cannot
use is reported (where it came from, and why), and the database changes only when there are
none. Then, for each service:

- one this feed brought in before (api/oruk/models.py remembers which) is updated where the
  feed changed it;
- otherwise, one Petunia already lists (the same organisation, by name, with a venue at the
  same postcode; and the same title) is matched and left as it is listed here;
- otherwise it is added: a provider (``ADDED_BY_LEAD``, not yet checked), venue and session.

What the feed listed before and no longer does is marked gone. A session this feed added is
removed (kept, and reported, when referrals point at it); a provider this feed added whose
services are all gone is withdrawn. Records that were matched are never changed or removed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, exists, func, orm, select

from api.directory import addresses, text
from api.directory import schedules as sched
from api.directory.enums import (
    AccessibilityFeature,
    Delivery,
    Domain,
    Frequency,
    HowToJoin,
    ListedBy,
    ListingStatus,
    ProviderKind,
    Relationship,
    Weekday,
)
from api.directory.models import DomainLabel, Locality, Provider, Session, Venue
from api.directory.postcodes import InvalidPostcode, normalise_postcode
from api.directory.writing import (
    SessionFields,
    VenueFields,
    find_or_create_venue,
    locality_near,
    slug,
    unique_key,
    write_session,
)
from api.oruk.feed import FeedService
from api.oruk.models import ImportedRecord
from api.referrals.models import Signpost
from api.registration.answers import name_key

_WEEKDAYS = {d.value: d for d in Weekday} | {
    name: d
    for d, name in zip(
        Weekday,
        ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"),
        strict=True,
    )
}
# Words that say which domain a service belongs to, when its taxonomy does not.
_KEYWORDS = {
    Domain.PHYSICAL_ACTIVITY: r"walk|sport|exercis|fitness|active|dance|yoga|swim|garden|"
    r"football|cycl|tai chi|pilates|keep fit|run(?:ning|ners)?\b",
    Domain.HEALTHY_EATING: r"cook|food|eat|nutrition|diet|meal|kitchen|weight",
    Domain.ARTS_FOR_HEALTH: r"\bart|craft|knit|music|sing|choir|paint|creative|drama|poetry|sew",
    Domain.BEFRIENDING: r"befriend|lonel|isolat|friendship|coffee morning|social group|companion",
    Domain.WELFARE_RIGHTS: r"benefit|money|debt|welfare|advocacy|housing advice|legal|advice",
    Domain.VOLUNTEERING: r"volunteer",
}
_FEATURES = {f.value for f in AccessibilityFeature}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?")
LIMITS = {"name": 200, "title": 200}


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class ImportProblems(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class Service:
    """One feed service, checked and mapped to Petunia's terms."""

    where: str
    organization_id: str
    service_id: str
    organisation: str
    organisation_description: str
    email: str | None
    website: str | None
    phone: str | None
    venue: VenueFields | None
    fields: SessionFields
    rules: list[sched.Rule]
    min_age: int | None
    max_age: int | None
    contact_name: str | None
    capacity: int | None
    # The names of the areas it serves (HSDS service_area), to find its locality by.
    areas: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    """What a run did (or, on a dry run, would do)."""

    services: int = 0
    providers_created: int = 0
    sessions_created: int = 0
    sessions_updated: int = 0
    sessions_unchanged: int = 0
    sessions_matched: int = 0
    gone: int = 0
    sessions_removed: int = 0
    providers_withdrawn: int = 0
    kept: list[str] = field(default_factory=list)  # gone but still signposted
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"{self.services} services: {self.sessions_created} added, "
            f"{self.sessions_updated} updated, {self.sessions_unchanged} unchanged, "
            f"{self.sessions_matched} matched to listings already here",
            f"{self.providers_created} organisations added",
            f"{self.gone} no longer in the feed ({self.sessions_removed} removed, "
            f"{self.providers_withdrawn} organisations withdrawn, {len(self.kept)} kept because "
            "referrals point at them)",
        ]
        return "; ".join(parts) + "."


# ---------------------------------------------------------------------------------------------
# Reading one service


def _text(value: Any, limit: int | None = None) -> str:
    """One line by the text rule of every entrance (api/directory/text.py); characters it
    refuses are dropped here (the fields that matter are checked strictly in map_service)."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    line = text.clean(text.without_refused(str(value)))
    return line[:limit] if limit else line


def _long_text(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    return text.clean(text.without_refused(value), multiline=True)[:5000]


def _strict(value: Any, label: str, problems: list[str]) -> None:
    if isinstance(value, str) and (problem := text.refused(value)):
        problems.append(f"its {label} has a control character ({problem.code}) Petunia refuses")


def _address(value: Any, check: Any, label: str, notes: list[str]) -> str | None:
    typed = _text(value)
    if not typed:
        return None
    try:
        return check(typed)
    except addresses.InvalidAddress:
        notes.append(f"{label} '{typed[:80]}' left out: it is not a valid address")
        return None


def _first(items: Any) -> dict[str, Any]:
    return items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}


def _time(value: Any) -> dt.time | None:
    match = _TIME.match(_text(value))
    if not match:
        return None
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    try:
        return dt.time(hour, minute, second)
    except ValueError:
        return None


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(_text(value)[:10])
    except ValueError:
        return None


def _byday(raw: Any) -> str:
    """'MO,WE', '1TU' or 'Monday' -> RRULE BYDAY ('' when it cannot be read)."""
    parts = []
    for part in _text(raw).upper().replace(" ", "").split(","):
        match = re.match(r"^([+-]?[1-5])?([A-Z]+)$", part)
        if not match or match[2] not in _WEEKDAYS:
            return ""
        parts.append((match[1] or "") + _WEEKDAYS[match[2]].value)
    return ",".join(parts)


def _rules(data: dict[str, Any]) -> tuple[list[sched.Rule], list[str]]:
    """The schedule rules Petunia can read, and what it could not."""
    rules, unreadable = [], []
    raw = data.get("schedules") or data.get("regular_schedules") or []
    for n, item in enumerate(raw if isinstance(raw, list) else [], start=1):
        if not isinstance(item, dict):
            continue
        opens, closes = _time(item.get("opens_at")), _time(item.get("closes_at"))
        freq = _text(item.get("freq")).upper()
        byday = _byday(item.get("byday") or item.get("weekday"))
        starts = _date(item.get("dtstart") or item.get("valid_from"))
        ends = _date(item.get("until") or item.get("valid_to"))
        # `description` restates the rule in words (Petunia writes its own); `notes` is news.
        note = _text(item.get("notes"), 300) or None
        if opens is None:
            unreadable.append(f"schedule {n} has no opening time")
            continue
        if not freq and starts and (item.get("count") == 1 or starts == ends):
            day = Weekday(list(Weekday)[starts.weekday()]).value
            rules.append(sched.Rule(Frequency.ONCE, day, opens, closes, 1, starts, starts, note))
            continue
        if freq not in ("WEEKLY", "MONTHLY", "") or not byday:
            unreadable.append(f"schedule {n} ({freq or 'no freq'}, '{_text(item.get('byday'))}')")
            continue
        interval = item.get("interval") if isinstance(item.get("interval"), int) else 1
        frequency = Frequency.MONTHLY if freq == "MONTHLY" else Frequency.WEEKLY
        try:
            sched.parse_byday(byday)
        except sched.InvalidSchedule:
            unreadable.append(f"schedule {n}: '{byday}'")
            continue
        rules.append(
            sched.Rule(frequency, byday, opens, closes, max(1, interval), starts, ends, note)
        )
    return rules, unreadable


def _terms(data: dict[str, Any]) -> list[str]:
    found = []
    for attribute in data.get("attributes") or []:
        term = attribute.get("taxonomy_term") if isinstance(attribute, dict) else None
        if isinstance(term, dict):
            found += [_text(term.get(k)) for k in ("code", "term", "name")]
    for item in data.get("service_taxonomys") or data.get("taxonomy_terms") or []:
        if isinstance(item, dict):
            term = item.get("taxonomy") if isinstance(item.get("taxonomy"), dict) else item
            found += [_text(term.get(k)) for k in ("code", "term", "name")]
    return [t for t in found if t]


def _domains(
    data: dict[str, Any], labels: dict[str, Domain], default: Domain | None
) -> tuple[list[Domain], str | None]:
    """The domains, and a note when they were inferred rather than stated."""
    terms = _terms(data)
    stated = [Domain(t) for t in terms if t in Domain.__members__]
    stated += [labels[t.lower()] for t in terms if t.lower() in labels]
    if stated:
        return list(dict.fromkeys(stated)), None
    words = " ".join([_text(data.get("name")), _text(data.get("description")), *terms]).lower()
    inferred = [d for d, pattern in _KEYWORDS.items() if re.search(pattern, words)]
    if inferred:
        names = ", ".join(d.value for d in inferred)
        return inferred, f"domains inferred from its words: {names}"
    if default is not None:
        return [default], f"no domain stated: {default.value} (--domain)"
    return [], None


def _cost(data: dict[str, Any]) -> tuple[bool, Decimal | None, str | None]:
    """(free, the price of a session, concessions or what the feed says of the cost)."""
    amounts: list[tuple[Decimal, str]] = []
    for option in data.get("cost_options") or []:
        if isinstance(option, dict) and option.get("amount") is not None:
            with contextlib.suppress(InvalidOperation):
                amount = Decimal(str(option["amount"]))
                if amount.is_finite() and 0 <= amount < 100_000:
                    amounts.append((amount, _text(option.get("amount_description"), 300)))
    fees = _text(data.get("fees") or data.get("fees_description"), 300)
    positive = sorted(a for a in amounts if a[0] > 0)
    if positive:
        amount, concessions = positive[0]
        return False, amount.quantize(Decimal("0.01")), concessions or None
    if amounts or re.search(r"\bfree\b", fees.lower()):
        return True, None, None
    return False, None, fees or "Cost not given: ask the organiser."


def _contact_email(
    contact: dict[str, Any], data: dict[str, Any], org: dict[str, Any], notes: list[str]
) -> str | None:
    # A service's own email, or its contact's; not the organisation's repeated (exports,
    # Petunia's too, fill a service's email from its organisation's).
    if _text(contact.get("email")):
        return _address(contact.get("email"), addresses.email, "contact email", notes)
    own = _text(data.get("email"), 320)
    if not own or own == _text(org.get("email"), 320):
        return None
    return _address(own, addresses.email, "service email", notes)


def _how_to_join(data: dict[str, Any]) -> HowToJoin:
    text = _text(data.get("application_process")).lower()
    if "referral" in text:
        return HowToJoin.REFERRAL_ONLY
    if "drop in" in text or "drop-in" in text or "just turn up" in text:
        return HowToJoin.DROP_IN
    return HowToJoin.BOOK_FIRST  # nothing said: contacting first is the safe advice


def _place(data: dict[str, Any], where: str) -> tuple[Delivery, VenueFields | None, list[str]]:
    problems: list[str] = []
    for sal in data.get("service_at_locations") or []:
        location = sal.get("location") if isinstance(sal, dict) else None
        if not isinstance(location, dict):
            continue
        if _text(location.get("location_type")).lower() == "virtual":
            return Delivery.ONLINE, None, problems
        address = _first(location.get("addresses") or location.get("physical_addresses"))
        raw_postcode = _text(address.get("postal_code"))
        if not raw_postcode:
            problems.append("its location has no postcode")
            continue
        try:
            postcode = normalise_postcode(raw_postcode)
        except InvalidPostcode as exc:
            problems.append(str(exc))
            continue
        street = ", ".join(
            x for x in (_text(address.get(k)) for k in ("address_1", "address_2", "city")) if x
        )
        name = _text(location.get("name"), 200) or _text(address.get("address_1"), 200)
        features = [
            AccessibilityFeature(_text(item.get("details")))
            for item in location.get("accessibility") or []
            if isinstance(item, dict) and _text(item.get("details")) in _FEATURES
        ]
        venue = VenueFields(name or postcode, postcode, street[:500], accessibility=features)
        return Delivery.AT_VENUE, venue, problems
    if data.get("service_areas") and not problems:
        return Delivery.AT_HOME, None, problems  # an area it serves, and no place to go
    return Delivery.VARIOUS_PLACES, None, problems


def map_service(
    item: FeedService, labels: dict[str, Domain], default_domain: Domain | None
) -> Service | list[str]:
    """The service in Petunia's terms, or every reason it cannot be used."""
    data = item.data
    problems: list[str] = []
    org = data.get("organization") if isinstance(data.get("organization"), dict) else {}
    service_id = _text(data.get("id"), 200)
    org_id = _text(org.get("id") or data.get("organization_id"), 200)
    title = _text(data.get("name"))
    organisation = _text(org.get("name"))
    _strict(data.get("name"), "name", problems)
    _strict(data.get("description"), "description", problems)
    _strict(org.get("name"), "organization name", problems)
    if not service_id:
        problems.append("the service has no id")
    if not title:
        problems.append("the service has no name")
    if not organisation or not org_id:
        problems.append("the service names no organization (with an id and a name)")
    for label, value in (("name", title), ("organization name", organisation)):
        if len(value) > 200:
            problems.append(f"its {label} is longer than 200 characters")
    domains, domain_note = _domains(data, labels, default_domain)
    if not domains:
        problems.append(
            "no domain: its taxonomy terms and words match none of the six "
            "(give --domain to use one for such services)"
        )
    rules, unreadable = _rules(data)
    if not rules:
        problems.append(
            "no schedule Petunia can read"
            + (f" ({'; '.join(unreadable)})" if unreadable else " (it has none)")
        )
    delivery, venue, place_problems = _place(data, item.where)
    if delivery is Delivery.VARIOUS_PLACES and place_problems:
        problems += place_problems
    if problems:
        return problems
    notes: list[str] = []
    org_email = _address(org.get("email"), addresses.email, "organization email", notes)
    website = _address(org.get("website"), addresses.website, "website", notes)
    contact = _first(data.get("contacts"))
    phone = _text(_first(contact.get("phones") or data.get("phones")).get("number"), 40)
    is_free, amount, concessions = _cost(data)
    languages = [
        _text(lang.get("code")).lower()[:2]
        for lang in data.get("languages") or []
        if isinstance(lang, dict) and re.fullmatch(r"[A-Za-z]{2}", _text(lang.get("code")))
    ] or ["en"]
    fields = SessionFields(
        title=title,
        description=_long_text(data.get("description")),
        domains=domains,
        delivery=delivery,
        venue_id=None,
        is_free=is_free,
        cost_amount=amount,
        cost_concessions=concessions,
        how_to_join=_how_to_join(data),
        who_for_notes=_text(data.get("eligibility_description"), 500) or None,
        languages=languages,
        contact_email=_contact_email(contact, data, org, notes),
        contact_phone=phone or None,
    )
    notes = [f"{item.where}: {note}" for note in notes]
    if domain_note:
        notes.append(f"{item.where}: {domain_note}")
    if unreadable:
        notes.append(f"{item.where}: left out {'; '.join(unreadable)}")

    def age(name: str) -> int | None:
        value = data.get(name)
        return int(value) if isinstance(value, (int, float)) and 0 <= value <= 150 else None

    return Service(
        where=item.where,
        organization_id=org_id,
        service_id=service_id,
        organisation=organisation,
        organisation_description=_long_text(org.get("description")),
        email=org_email,
        website=website,
        phone=phone or None,
        venue=venue,
        fields=fields,
        rules=rules,
        min_age=age("minimum_age"),
        max_age=age("maximum_age"),
        contact_name=_text(contact.get("name"), 200) or None,
        areas=[
            _text(a.get("name") or a.get("service_area"))
            for a in data.get("service_areas") or []
            if isinstance(a, dict)
        ],
        capacity=data["capacity"]
        if isinstance(data.get("capacity"), int) and 0 < data["capacity"] < 100_000
        else None,
        notes=notes,
    )


def check_feed(
    db: orm.Session, items: list[FeedService], *, default_domain: Domain | None = None
) -> list[Service]:
    """Every service mapped; raise ImportProblems naming every one that cannot be."""
    labels = {row.label.lower(): row.domain for row in db.scalars(select(DomainLabel))}
    services, problems, seen = [], [], {}
    for item in items:
        mapped = map_service(item, labels, default_domain)
        if isinstance(mapped, list):
            problems += [Problem(item.where, message) for message in mapped]
            continue
        if mapped.service_id in seen:
            problems.append(Problem(item.where, f"the same id as {seen[mapped.service_id]}"))
            continue
        seen[mapped.service_id] = item.where
        services.append(mapped)
    if not items:
        problems.append(Problem("the feed", "lists no services"))
    if problems:
        raise ImportProblems(problems)
    return services


# ---------------------------------------------------------------------------------------------
# Applying


def _record(db: orm.Session, source: str, kind: str, external_id: str) -> ImportedRecord | None:
    return db.scalars(
        select(ImportedRecord).where(
            ImportedRecord.source == source,
            ImportedRecord.kind == kind,
            ImportedRecord.external_id == external_id,
        )
    ).first()


def _remember(
    db: orm.Session,
    source: str,
    kind: str,
    external_id: str,
    provider: Provider,
    session: Session | None,
    *,
    created: bool,
    now: dt.datetime,
) -> None:
    record = _record(db, source, kind, external_id)
    if record is None:
        db.add(
            ImportedRecord(
                source=source,
                kind=kind,
                external_id=external_id,
                provider_id=provider.id,
                session_id=session.id if session else None,
                created_here=created,
                first_seen_at=now,
                last_seen_at=now,
            )
        )
    else:
        record.last_seen_at, record.gone_at = now, None


def _existing_provider(db: orm.Session, service: Service) -> Provider | None:
    """A provider Petunia lists already: the same name, with a venue at the same postcode (or,
    for a service with no venue, the same name alone)."""
    wanted = name_key(service.organisation)
    candidates = [p for p in db.scalars(select(Provider)) if name_key(p.name) == wanted]
    if service.venue is None:
        return candidates[0] if len(candidates) == 1 else None
    for provider in candidates:
        at_postcode = db.scalar(
            select(
                exists().where(
                    Session.provider_id == provider.id,
                    Venue.id == Session.venue_id,
                    Venue.postcode == service.venue.postcode,
                )
            )
        )
        if at_postcode:
            return provider
    return None


def _snapshot(session: Session) -> tuple[Any, ...]:
    return tuple(
        getattr(session, c)
        for c in (
            "title",
            "description",
            "delivery",
            "venue_id",
            "is_free",
            "cost_amount",
            "cost_concessions",
            "how_to_join",
            "who_for_notes",
            "contact_email",
            "contact_phone",
            "min_age",
            "max_age",
            "contact_name",
            "capacity",
        )
    )


def apply_feed(
    db: orm.Session,
    source: str,
    services: list[Service],
    *,
    locality_key: str | None = None,
    now: dt.datetime | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    now = now or dt.datetime.now(dt.UTC)
    report = ImportReport(services=len(services))
    locality_id = (
        db.scalar(select(Locality.id).where(Locality.key == locality_key)) if locality_key else None
    )
    by_name = {name.lower(): i for i, name in db.execute(select(Locality.id, Locality.name))}
    for n, service in enumerate(services, start=1):
        # A new organisation's locality: the one given, else the area it serves when this
        # directory has a locality of that name, else the nearest venue's (by postcode).
        area = next((by_name[a.lower()] for a in service.areas if a.lower() in by_name), None)
        _apply_one(db, source, service, locality_id or area, report, now)
        report.notes += service.notes
        if on_progress:
            on_progress(n)
    _mark_gone(db, source, now, report)
    return report


def _apply_one(
    db: orm.Session,
    source: str,
    service: Service,
    locality_id: int | None,
    report: ImportReport,
    now: dt.datetime,
) -> None:
    known = _record(db, source, "service", service.service_id)
    session = db.get(Session, known.session_id) if known and known.session_id else None
    if known is not None and session is not None and not known.created_here:
        report.sessions_matched += 1  # listed here before the feed: kept as listed here
        _remember(
            db,
            source,
            "service",
            service.service_id,
            session_provider(db, session),
            session,
            created=False,
            now=now,
        )
        return
    org = _record(db, source, "organization", service.organization_id)
    provider = db.get(Provider, org.provider_id) if org else None
    created_provider = bool(org and org.created_here)
    if provider is None:
        provider = _existing_provider(db, service)
        created_provider = False
        if provider is not None and session is None:
            match = db.scalars(
                select(Session).where(
                    Session.provider_id == provider.id,
                    func.lower(Session.title) == service.fields.title.lower(),
                )
            ).first()
            if match is not None:
                report.sessions_matched += 1
                _remember(
                    db,
                    source,
                    "organization",
                    service.organization_id,
                    provider,
                    None,
                    created=False,
                    now=now,
                )
                _remember(
                    db,
                    source,
                    "service",
                    service.service_id,
                    provider,
                    match,
                    created=False,
                    now=now,
                )
                return
    if provider is None:
        postcode = service.venue.postcode if service.venue else None
        provider = Provider(
            key=unique_key(db, Provider.key, slug(service.organisation)),
            name=service.organisation,
            description=service.organisation_description,
            kind=ProviderKind.NTP,
            relationship=Relationship.INFORMAL,
            locality_id=locality_id or locality_near(db, postcode),
            email=service.email,
            phone=service.phone,
            website=service.website,
            listed_by=ListedBy.ADDED_BY_LEAD,
            status=ListingStatus.PUBLISHED,
        )
        db.add(provider)
        db.flush()
        created_provider = True
        report.providers_created += 1
    elif created_provider:
        if provider.locality_id is None and locality_id is not None:
            provider.locality_id = locality_id
        for name in ("email", "phone", "website"):
            value = getattr(service, name)
            if value and getattr(provider, name) != value:
                setattr(provider, name, value)
        if provider.status is ListingStatus.WITHDRAWN:  # back in the feed
            provider.status = ListingStatus.PUBLISHED
    _remember(
        db,
        source,
        "organization",
        service.organization_id,
        provider,
        None,
        created=created_provider,
        now=now,
    )
    if service.venue is not None:
        service.venue.locality_id = provider.locality_id
        service.fields.venue_id = find_or_create_venue(db, service.venue).id
    before = _snapshot(session) if session is not None else None
    key = (
        None
        if session is not None
        else unique_key(
            db, Session.key, slug(service.fields.title), Session.provider_id == provider.id
        )
    )
    written = write_session(db, provider, session, service.fields, service.rules, key=key)
    written.min_age, written.max_age = service.min_age, service.max_age
    written.contact_name, written.capacity = service.contact_name, service.capacity
    db.flush()
    if before is None:
        report.sessions_created += 1
    elif before != _snapshot(written):
        report.sessions_updated += 1
    else:
        report.sessions_unchanged += 1
    _remember(db, source, "service", service.service_id, provider, written, created=True, now=now)


def session_provider(db: orm.Session, session: Session) -> Provider:
    provider = db.get(Provider, session.provider_id)
    assert provider is not None
    return provider


def _mark_gone(db: orm.Session, source: str, now: dt.datetime, report: ImportReport) -> None:
    gone = db.scalars(
        select(ImportedRecord).where(
            ImportedRecord.source == source,
            ImportedRecord.last_seen_at < now,
            ImportedRecord.gone_at.is_(None),
        )
    ).all()
    providers: set[int] = set()
    for record in gone:
        record.gone_at = now
        if record.kind != "service":
            continue
        report.gone += 1
        if not record.created_here or record.session_id is None:
            continue
        providers.add(record.provider_id)
        signposted = db.scalar(select(exists().where(Signpost.session_id == record.session_id)))
        session = db.get(Session, record.session_id)
        if signposted:
            report.kept.append(session.title if session else str(record.session_id))
        elif session is not None:
            record.session_id = None
            db.flush()
            db.execute(delete(Session).where(Session.id == session.id))
            report.sessions_removed += 1
    for provider_id in providers:
        provider = db.get(Provider, provider_id)
        own = db.scalar(
            select(ImportedRecord.created_here).where(
                ImportedRecord.source == source,
                ImportedRecord.kind == "organization",
                ImportedRecord.provider_id == provider_id,
            )
        )
        left = db.scalar(
            select(func.count()).select_from(Session).where(Session.provider_id == provider_id)
        )
        if provider is not None and own and not left:
            provider.status = ListingStatus.WITHDRAWN
            report.providers_withdrawn += 1
    db.flush()
