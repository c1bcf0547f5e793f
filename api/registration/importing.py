"""Bulk import of providers and sessions from a lead provider's spreadsheet (CSV or .xlsx).

One row is one session; rows with the same organisation make one provider. Columns are
documented in the README (`petunia import`); headings as people write them are matched in
api/registration/headings.py and cells as people write them are read in meanings.py, so no
value is dropped: each is kept, read with a note, or reported. Importing is all or nothing:
every row is read and checked first, every bad row is reported with its line number and the
reason, and the database changes only when there are none. Providers are matched by key or
by name, and sessions by key or title within their provider, so importing the same file twice
creates nothing new.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, orm, select

from api.directory import addresses, text
from api.directory import schedules as sched
from api.directory.enums import (
    AccessibilityFeature,
    Delivery,
    Domain,
    HowToJoin,
    ListedBy,
    ListingStatus,
    ProviderKind,
    Relationship,
)
from api.directory.models import DomainLabel, Locality, Postcode, Provider, Schedule, Session
from api.directory.phrases import parse_schedule
from api.directory.postcodes import InvalidPostcode, normalise_postcode
from api.directory.writing import (
    SessionFields,
    VenueFields,
    find_or_create_venue,
    locality_near,
    locality_of_district,
    slug,
    unique_key,
    write_session,
)
from api.registration import meanings
from api.registration.answers import LANGUAGES, name_key
from api.registration.headings import REQUIRED, HeadingProblem, match_headings

# Columns whose line breaks are kept; every other column is one line (api/directory/text.py).
MULTI_LINE = frozenset({"description", "organisation_description", "who_for"})
LIMITS = {"organisation": 200, "title": 200, "description": 5000, "venue": 200, "address": 500}
_DELIVERY = {
    "": None,
    "venue": Delivery.AT_VENUE,
    "at venue": Delivery.AT_VENUE,
    "online": Delivery.ONLINE,
    "home": Delivery.AT_HOME,
    "at home": Delivery.AT_HOME,
    "phone": Delivery.AT_HOME,
    "various": Delivery.VARIOUS_PLACES,
    "various places": Delivery.VARIOUS_PLACES,
}
_JOIN = {
    "": HowToJoin.DROP_IN,
    "drop in": HowToJoin.DROP_IN,
    "drop-in": HowToJoin.DROP_IN,
    "book": HowToJoin.BOOK_FIRST,
    "book first": HowToJoin.BOOK_FIRST,
    "booking": HowToJoin.BOOK_FIRST,
    "referral": HowToJoin.REFERRAL_ONLY,
    "referral only": HowToJoin.REFERRAL_ONLY,
}


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportProblems(ValueError):
    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class Row:
    line: int
    organisation: str
    provider_key: str | None
    organisation_description: str | None
    email: str | None
    phone: str | None
    website: str | None
    locality_key: str | None
    session_key: str | None
    fields: SessionFields
    venue: VenueFields | None
    rules: list[sched.Rule]
    assumed_start: bool
    contact_name: str | None = None
    # The postcode district, when only that was given or the postcode is not in the table.
    district: str | None = None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    rows: int = 0
    providers_created: int = 0
    providers_matched: int = 0
    sessions_created: int = 0
    sessions_matched: int = 0
    notes: list[str] = field(default_factory=list)
    # What the lead provider should act on (a venue that cannot be placed on the map).
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.rows} rows: providers {self.providers_created} created, "
            f"{self.providers_matched} already listed (updated where different); sessions "
            f"{self.sessions_created} created, {self.sessions_matched} already listed "
            "(updated where different)"
        )


# ---------------------------------------------------------------------------------------------
# Reading the file


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.time):
        return f"{value:%H:%M}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_sheet(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The headings as written, and (line number, {heading: text}) for each non-empty row;
    the headings are line 1."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds
            raise ImportProblems([RowProblem(1, f"not a readable .xlsx file ({exc})")]) from None
        sheet = book.worksheets[0]
        cells = sheet.iter_rows(values_only=True)
        header = [_cell(c) for c in next(cells, ())]
        rows = []
        for number, values in enumerate(cells, start=2):
            row = {h: _cell(v) for h, v in zip(header, values, strict=False) if h}
            if any(row.values()):
                rows.append((number, row))
        book.close()
        return [h for h in header if h], rows
    if suffix != ".csv":
        raise ImportProblems([RowProblem(1, "give a .csv or .xlsx file")])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ImportProblems(
            [RowProblem(1, "not UTF-8 text: save the file as CSV UTF-8")]
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames:
        reader.fieldnames = [h.strip() for h in reader.fieldnames]
    rows = []
    # A cell may hold line breaks: a row is reported by the line it starts on.
    last = reader.line_num
    for row in reader:
        start, last = last + 1, reader.line_num
        values = {k: (v or "").strip() for k, v in row.items() if k}
        if any(values.values()):
            rows.append((start, values))
    return [h for h in reader.fieldnames or [] if h], rows


def name_columns(
    headings: list[str],
    rows: list[tuple[int, dict[str, str]]],
    column_map: dict[str, str] | None = None,
) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """Rows keyed by column instead of heading, and notes on the headings read by their usual
    meaning. Raises ImportProblems (line 1) for headings that match no column."""
    try:
        matched = match_headings(headings, column_map)
    except HeadingProblem as problem:
        raise ImportProblems([RowProblem(1, str(problem))]) from None
    named = []
    for line, row in rows:
        values: dict[str, str] = {}
        for heading, value in row.items():
            column = matched.columns.get(heading)
            if column is None:
                continue  # a heading --map said to skip
            values[column] = f"{values[column]} {value}".strip() if column in values else value
        named.append((line, values))
    notes = [
        f"line 1: read the heading '{heading}' as {column}"
        for heading, column in matched.inferred.items()
    ]
    return named, notes


# ---------------------------------------------------------------------------------------------
# Checking rows


def _languages(text: str) -> list[str]:
    codes = []
    for part in re.split(r"[;,/]", text):
        name = part.strip().lower()
        if not name:
            continue
        if name in LANGUAGES:
            codes.append(LANGUAGES[name])
        elif re.fullmatch(r"[a-z]{2,3}", name):
            codes.append(name)
        else:
            raise ValueError(f"unknown language '{part.strip()}': use its English name or code")
    return list(dict.fromkeys(codes)) or ["en"]


def _accessibility(text: str) -> list[AccessibilityFeature]:
    found = []
    for part in re.split(r"[;,]", text):
        name = part.strip().upper().replace(" ", "_").replace("-", "_")
        if not name:
            continue
        if name not in AccessibilityFeature.__members__:
            raise ValueError(
                f"unknown accessibility feature '{part.strip()}' "
                f"(use: {', '.join(f.value for f in AccessibilityFeature)})"
            )
        found.append(AccessibilityFeature(name))
    return found


def _clean_row(typed: dict[str, str], problems: list[str]) -> dict[str, str]:
    """Every cell by the text rule; a refused character is a problem of the row."""
    values = {}
    for name, value in typed.items():
        try:
            values[name] = text.clean(
                value, multiline=name in MULTI_LINE, join=", " if name == "address" else " "
            )
        except text.TextRefused as problem:
            problems.append(f"{name}: {problem}")
            values[name] = ""
    return values


def _address(
    value: str, check: Callable[[str], str], column: str, problems: list[str]
) -> str | None:
    """The website or email address as published (api/directory/addresses.py), or None with
    the problem added."""
    if not value:
        return None
    try:
        return check(value)
    except addresses.InvalidAddress as problem:
        problems.append(f"{column} '{value}': {str(problem)[0].lower()}{str(problem)[1:]}")
        return None


def check_rows(
    db: orm.Session, rows: list[tuple[int, dict[str, str]]], *, today: dt.date
) -> list[Row]:
    """Every row (keyed by column: see name_columns) checked; raise ImportProblems listing
    every problem found."""
    problems: list[RowProblem] = []
    if not rows:
        raise ImportProblems([RowProblem(1, "the file has no rows under its header")])
    labels = {row.label.lower(): row.domain for row in db.scalars(select(DomainLabel))}
    localities = {key: key for key in db.scalars(select(Locality.key))} | {
        name.lower(): key for key, name in db.execute(select(Locality.key, Locality.name))
    }
    known_postcodes = _known(db, {r.get("postcode", "") for _line, r in rows})
    checked = []
    seen: dict[tuple[str, str], int] = {}
    for line, typed in rows:
        row_problems: list[str] = []
        read: list[str] = []  # how values were read, for the person to check
        values = _clean_row(typed, row_problems)

        def get(name: str, values: dict[str, str] = values) -> str:
            return values.get(name, "").strip()

        refused = {p.split(":", 1)[0] for p in row_problems}
        for name in REQUIRED:
            if not get(name) and name not in refused:
                row_problems.append(
                    "schedule is empty: write when it runs, like 'Tuesdays 10-12', or 'ask us'"
                    if name == "schedule"
                    else f"{name} is empty"
                )
        for name, limit in LIMITS.items():
            if len(get(name)) > limit:
                row_problems.append(f"{name} is longer than {limit} characters")
        domains: list[Domain] = []
        try:
            if get("domains"):
                domains, notes = meanings.read_domains(get("domains"), labels)
                read += notes
        except ValueError as exc:
            row_problems.append(str(exc))
        postcode = district = None
        warnings: list[str] = []
        if get("postcode"):
            try:
                place = meanings.read_postcode(get("postcode"))
                postcode, district = place.postcode, place.district
                warnings += place.notes
            except ValueError as exc:
                row_problems.append(str(exc))
            if postcode and postcode not in known_postcodes:
                warnings.append(
                    f"{postcode} is not in the postcode table, so the venue has no place and "
                    "will not show in searches near a postcode: check it, or load the "
                    "postcode directory (`petunia postcodes import`)"
                )
        delivery_text = get("delivery").lower()
        if delivery_text not in _DELIVERY:
            row_problems.append(
                f"delivery '{get('delivery')}' is not one of: venue, online, home, various"
            )
            delivery = Delivery.AT_VENUE
        else:
            delivery = _DELIVERY[delivery_text] or (
                Delivery.AT_VENUE if get("venue") else Delivery.VARIOUS_PLACES
            )
        if delivery is Delivery.AT_VENUE and not (get("venue") and (postcode or district)):
            if not get("venue"):
                row_problems.append("give the venue's name (or delivery: online, home, various)")
            elif not get("postcode"):
                row_problems.append("give the venue's postcode")
        join_text = get("how_to_join").lower()
        if join_text not in _JOIN:
            row_problems.append(
                f"how_to_join '{get('how_to_join')}' is not drop in, book or referral"
            )
        rules: list[sched.Rule] = []
        assumed_start = False
        try:
            when = get("schedule")
            if get("starts") and when:
                when = f"{when} from {get('starts')}"
            parsed = parse_schedule(when, today=today, times=get("times") or None)
            rules, assumed_start = parsed.rules, parsed.assumed_start
            read += parsed.notes
        except sched.InvalidSchedule as exc:
            row_problems.append(f"schedule: {exc}")
        cost = meanings.Cost(True, None, None)
        try:
            cost = meanings.read_cost(get("cost"))
            read += cost.notes
        except ValueError as exc:
            row_problems.append(str(exc))
        concessions = "; ".join(w for w in (cost.words, get("concessions")) if w) or None
        if concessions and len(concessions) > 300:
            row_problems.append("cost and concessions together are longer than 300 characters")
        languages = ["en"]
        try:
            languages = _languages(get("languages"))
        except ValueError as exc:
            row_problems.append(str(exc))
        accessibility: list[AccessibilityFeature] = []
        try:
            accessibility = _accessibility(get("accessibility"))
        except ValueError as exc:
            row_problems.append(str(exc))
        locality = None
        if get("locality"):
            locality = localities.get(get("locality")) or localities.get(get("locality").lower())
            if locality is None:
                close = difflib.get_close_matches(get("locality").lower(), list(localities), n=1)
                hint = f": did you mean '{close[0]}'?" if close else ""
                row_problems.append(f"unknown locality '{get('locality')}'{hint}")
        contact = meanings.Contact(get("contact_name") or None, None, None)
        if get("contact"):
            contact = meanings.read_contact(get("contact"))
            read += contact.notes
            for column, value, given in (
                ("email", contact.email, get("email")),
                ("phone", contact.phone, get("phone")),
                ("contact_name", contact.name, get("contact_name")),
            ):
                if value and given and value.lower() != given.lower():
                    row_problems.append(
                        f"contact '{get('contact')}' gives {column} '{value}' but the {column} "
                        f"column says '{given}': keep one"
                    )
        key = (name_key(get("organisation")), (get("session_key") or slug(get("title"))))
        if key in seen and get("organisation"):
            row_problems.append(
                f"'{get('title')}' of {get('organisation')} is already on line {seen[key]}"
            )
        seen.setdefault(key, line)
        email, website = (
            _address(get("email") or contact.email or "", addresses.email, "email", row_problems),
            _address(get("website"), addresses.website, "website", row_problems),
        )
        phone = get("phone") or contact.phone
        contact_name = get("contact_name") or contact.name
        if contact_name and len(contact_name) > 200:
            row_problems.append("the contact's name is longer than 200 characters")
        if row_problems:
            problems += [RowProblem(line, p) for p in row_problems]
            continue
        address = get("address")
        if district and postcode is None and district not in address.upper():
            address = f"{address}, {district}" if address else district
        checked.append(
            Row(
                line=line,
                organisation=get("organisation"),
                provider_key=get("provider_key") or None,
                organisation_description=get("organisation_description") or None,
                email=email,
                phone=phone,
                website=website,
                locality_key=locality,
                session_key=get("session_key") or None,
                fields=SessionFields(
                    title=get("title"),
                    description=get("description"),
                    domains=domains,
                    delivery=delivery,
                    venue_id=None,
                    is_free=cost.is_free,
                    cost_amount=cost.amount,
                    cost_concessions=concessions,
                    how_to_join=_JOIN.get(join_text, HowToJoin.DROP_IN),
                    who_for_notes=get("who_for") or None,
                    languages=languages,
                    contact_email=email,
                    contact_phone=phone,
                ),
                contact_name=contact_name,
                venue=VenueFields(
                    name=get("venue"),
                    postcode=postcode,
                    address=address,
                    accessibility=accessibility,
                )
                if delivery is Delivery.AT_VENUE
                else None,
                district=district,
                rules=rules,
                assumed_start=assumed_start,
                notes=[f"line {line}: {n}" for n in read],
                warnings=[f"line {line}: {w}" for w in warnings],
            )
        )
    if problems:
        raise ImportProblems(problems)
    return checked


def _known(db: orm.Session, cells: set[str]) -> set[str]:
    """Which of the postcodes typed are in the postcode table."""
    wanted = set()
    for cell in cells:
        try:
            wanted.add(normalise_postcode(cell))
        except InvalidPostcode:
            continue
    if not wanted:
        return set()
    return set(db.scalars(select(Postcode.postcode).where(Postcode.postcode.in_(wanted))))


# ---------------------------------------------------------------------------------------------
# Writing


def _keep_fortnight_start(
    db: orm.Session, session: Session | None, rules: list[sched.Rule]
) -> list[sched.Rule]:
    """A fortnightly rule whose start was assumed keeps the start already stored for the
    same rule, so importing the file again (on another day) changes nothing."""
    if session is None:
        return rules
    stored = [
        sched.rule_from(r)
        for r in db.scalars(select(Schedule).where(Schedule.session_id == session.id))
    ]
    kept = []
    for rule in rules:
        same = next(
            (
                s
                for s in stored
                if rule.interval > 1
                and (s.freq, s.byday, s.interval, s.opens_at, s.closes_at, s.ends_on)
                == (
                    rule.freq,
                    rule.byday,
                    rule.interval,
                    rule.opens_at,
                    rule.closes_at,
                    rule.ends_on,
                )
            ),
            None,
        )
        if same is not None and same.starts_on is not None:
            rule = sched.Rule(
                rule.freq,
                rule.byday,
                rule.opens_at,
                rule.closes_at,
                rule.interval,
                same.starts_on,
                rule.ends_on,
                rule.note,
            )
        kept.append(rule)
    return kept


def apply_rows(
    db: orm.Session,
    rows: list[Row],
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    report = ImportReport(rows=len(rows))
    localities = {loc.key: loc.id for loc in db.scalars(select(Locality))}
    by_key = {p.key: p for p in db.scalars(select(Provider))}
    by_name = {name_key(p.name): p for p in by_key.values()}
    done: dict[str, Provider] = {}
    for n, row in enumerate(rows, start=1):
        org = name_key(row.organisation)
        provider = done.get(row.provider_key or org)
        if provider is None:
            provider = by_key.get(row.provider_key) if row.provider_key else None
            provider = provider or by_name.get(org)
            locality_id = (
                localities[row.locality_key]
                if row.locality_key
                else locality_near(db, row.venue.postcode if row.venue else None)
            )
            if locality_id is None and row.district:
                # An unknown postcode, or a district alone: the district's locality.
                locality_id = locality_of_district(db, row.district)
            if provider is None:
                provider = Provider(
                    key=row.provider_key or unique_key(db, Provider.key, slug(row.organisation)),
                    name=row.organisation,
                    description=row.organisation_description or "",
                    kind=ProviderKind.NTP,
                    relationship=Relationship.INFORMAL,
                    locality_id=locality_id,
                    email=row.email,
                    phone=row.phone,
                    website=row.website,
                    listed_by=ListedBy.ADDED_BY_LEAD,
                    status=ListingStatus.PUBLISHED,
                )
                db.add(provider)
                db.flush()
                report.providers_created += 1
            else:
                report.providers_matched += 1
                for name, value in (
                    ("name", row.organisation),
                    ("description", row.organisation_description),
                    ("email", row.email),
                    ("phone", row.phone),
                    ("website", row.website),
                ):
                    if value is not None and getattr(provider, name) != value:
                        setattr(provider, name, value)
                if provider.locality_id is None and locality_id is not None:
                    provider.locality_id = locality_id
            done[row.provider_key or org] = provider
        session_key = row.session_key or slug(row.fields.title)
        session = db.scalars(
            select(Session).where(Session.provider_id == provider.id, Session.key == session_key)
        ).first()
        if session is None and row.session_key is None:
            # Listed before under another key (from the files, or a registration).
            session = db.scalars(
                select(Session).where(
                    Session.provider_id == provider.id,
                    func.lower(Session.title) == row.fields.title.lower(),
                )
            ).first()
        if session is not None:
            session_key = session.key
        if row.venue is not None:
            row.venue.locality_id = provider.locality_id
            row.fields.venue_id = find_or_create_venue(db, row.venue).id
        rules = _keep_fortnight_start(db, session, row.rules) if row.assumed_start else row.rules
        if session is None:
            report.sessions_created += 1
        else:
            report.sessions_matched += 1
        written = write_session(db, provider, session, row.fields, rules, key=session_key)
        if row.contact_name is not None and written.contact_name != row.contact_name:
            written.contact_name = row.contact_name
        report.notes += row.notes
        report.warnings += row.warnings
        if on_progress:
            on_progress(n)
    return report


def import_file(
    db: orm.Session,
    path: Path,
    *,
    today: dt.date | None = None,
    on_progress: Callable[[int], None] | None = None,
    column_map: dict[str, str] | None = None,
) -> ImportReport:
    """Read, check and apply ``path`` in the caller's transaction (roll it back for a dry
    run). ``column_map`` is {heading: column or 'skip'} (headings.parse_map). Raises
    ImportProblems with every bad row."""
    headings, raw = read_sheet(Path(path))
    rows, heading_notes = name_columns(headings, raw, column_map)
    checked = check_rows(db, rows, today=today or dt.date.today())
    report = apply_rows(db, checked, on_progress)
    report.notes[:0] = heading_notes
    return report
