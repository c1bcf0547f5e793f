"""Load a directory from human-edited files (the format is in directory_data/README.md).

Loading is all or nothing: every file is read and checked first, every problem is reported
with its file and line, and the database is changed only when there are none. Records are
matched by their ``key``, so loading the same files twice changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from sqlalchemy import delete, orm, select

from api.directory import addresses, text
from api.directory import schedules as sched
from api.directory.enums import (
    AccessibilityFeature,
    Delivery,
    Domain,
    Gender,
    HowToJoin,
    ListedBy,
    ProviderKind,
    Relationship,
    Verification,
    Weekday,
)
from api.directory.models import (
    DomainLabel,
    GpPractice,
    LinkWorker,
    Locality,
    Postcode,
    Provider,
    Schedule,
    Session,
    SessionBreak,
    SessionDomain,
    SessionLanguage,
    Venue,
    VenueFeature,
)
from api.directory.postcodes import InvalidPostcode, normalise_postcode
from api.directory.search import refresh_search_text

# ---------------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class LoadError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line))
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class LoadReport:
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    removed: Counter[str] = field(default_factory=Counter)

    def count(self, kind: str, outcome: str) -> None:
        getattr(self, outcome)[kind] += 1

    @property
    def changed(self) -> bool:
        return bool(
            sum(self.created.values()) + sum(self.updated.values()) + sum(self.removed.values())
        )

    def summary(self) -> str:
        kinds = sorted(
            set(self.created) | set(self.updated) | set(self.unchanged) | set(self.removed)
        )
        return "\n".join(
            f"{kind}: {self.created[kind]} created, {self.updated[kind]} updated, "
            f"{self.unchanged[kind]} unchanged, {self.removed[kind]} removed"
            for kind in kinds
        )


# ---------------------------------------------------------------------------------------------
# YAML with line numbers


class LineDict(dict[str, Any]):
    """A YAML mapping that remembers the line of itself and of each of its keys."""

    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> Iterator[LineDict]:
    data = LineDict()
    data.line = node.start_mark.line + 1
    data.key_lines = {str(key.value): key.start_mark.line + 1 for key, _value in node.value}
    yield data
    data.update(loader.construct_mapping(node))


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)  # type: ignore[arg-type]


def _line_of(raw: Any, loc: tuple[int | str, ...], default: int) -> int:
    """The line of the deepest part of ``raw`` that a pydantic error location reaches."""
    line, node = default, raw
    for step in loc:
        if isinstance(node, LineDict):
            line = node.key_lines.get(str(step), node.line)
            node = node.get(step) if isinstance(step, str) else None
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
            line = getattr(node, "line", line)
        else:
            break
    return line


# ---------------------------------------------------------------------------------------------
# Records as written in the files


def _by_rule(multiline: bool = False, join: str = " ") -> BeforeValidator:
    """The text rule of every entrance (api/directory/text.py), before the length checks."""

    def apply(value: Any) -> Any:
        return (
            text.clean(value, multiline=multiline, join=join) if isinstance(value, str) else value
        )

    return BeforeValidator(apply)


Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,119}$")]
# Multi-line (descriptions, notes), one line (everything else), and an address (lines
# joined with ", ").
Text = Annotated[str, StringConstraints(max_length=5000), _by_rule(multiline=True)]
Line = Annotated[str, StringConstraints(max_length=5000), _by_rule()]
# Published as written here, so checked as every entrance checks them (addresses.py).
Website = Annotated[str, _by_rule(), AfterValidator(addresses.website)]
EmailAddress = Annotated[str, _by_rule(), AfterValidator(addresses.email)]
Address = Annotated[str, StringConstraints(max_length=5000), _by_rule(join=", ")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), _by_rule()]


def _time_text(value: Any) -> Any:
    # Unquoted 10:00 is a number in YAML 1.1 (600): ask for quotes rather than guess.
    if isinstance(value, int):
        raise ValueError('write times in quotes, like "10:00"')
    return value


TimeText = Annotated[dt.time, BeforeValidator(_time_text)]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DomainIn(Record):
    domain: Domain
    label: Name
    description: Text = ""


class LocalityIn(Record):
    key: Key
    name: Name
    lead_provider: Key | None = None


class VenueIn(Record):
    key: Key
    name: Name
    address: Address = ""
    postcode: str | None = None
    latitude: float | None = Field(default=None, ge=49, le=61)
    longitude: float | None = Field(default=None, ge=-9, le=2.5)
    locality: Key | None = None
    accessibility: list[AccessibilityFeature] = []

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str | None) -> str | None:
        return normalise_postcode(value) if value else None


class ScheduleIn(Record):
    days: list[Weekday] = []
    opens_at: TimeText = Field(alias="from")
    closes_at: TimeText | None = Field(default=None, alias="to")
    every: int = 1
    monthly: list[int] = []
    date: dt.date | None = None
    starts: dt.date | None = None
    ends: dt.date | None = None
    note: Line | None = None

    def rule(self) -> sched.Rule:
        return sched.make_rule(
            days=self.days,
            opens_at=self.opens_at,
            closes_at=self.closes_at,
            every_weeks=self.every,
            monthly=self.monthly,
            date=self.date,
            starts_on=self.starts,
            ends_on=self.ends,
            note=self.note,
        )


class BreakIn(Record):
    starts_on: dt.date = Field(alias="from")
    ends_on: dt.date = Field(alias="to")
    reason: Line | None = None


class CostIn(Record):
    amount: Decimal = Field(ge=0, le=10000, decimal_places=2)
    concessions: Line | None = None


class WhoForIn(Record):
    min_age: int | None = Field(default=None, ge=0, le=120)
    max_age: int | None = Field(default=None, ge=0, le=120)
    gender: Gender = Gender.ANY
    carers_welcome: bool | None = None
    notes: Text | None = None


class ContactIn(Record):
    name: Line | None = None
    email: EmailAddress | None = None
    phone: Line | None = None


class SessionIn(Record):
    key: Key
    title: Name
    description: Text = ""
    domains: list[Domain] = Field(min_length=1)
    venue: Key | None = None
    delivery: Delivery | None = None
    schedule: list[ScheduleIn] = []
    breaks: list[BreakIn] = []
    cost: Literal["free"] | CostIn = "free"
    how_to_join: HowToJoin = HowToJoin.DROP_IN
    who_for: WhoForIn = WhoForIn()
    languages: list[Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]] = ["en"]
    capacity: int | None = Field(default=None, ge=1, le=100000)
    contact: ContactIn = ContactIn()


class ProviderIn(Record):
    key: Key
    name: Name
    description: Text = ""
    kind: ProviderKind = ProviderKind.NTP
    relationship: Relationship = Relationship.INFORMAL
    locality: Key | None = None
    charity_number: str | None = None
    company_number: str | None = None
    website: Website | None = None
    email: EmailAddress | None = None
    phone: Line | None = None
    listed_by: ListedBy = ListedBy.ADDED_BY_LEAD
    verification: Verification = Verification.UNVERIFIED
    verified_on: dt.date | None = None
    last_confirmed: dt.date | None = None
    sessions: list[SessionIn] = []

    @field_validator("charity_number", "company_number", mode="before")
    @classmethod
    def _number_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class PracticeIn(Record):
    ods_code: Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9A-Z]{2,9}$")]
    name: Name
    locality: Key
    postcode: str | None = None

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str | None) -> str | None:
        return normalise_postcode(value) if value else None


class LinkWorkerIn(Record):
    key: Key
    name: Name
    email: EmailAddress | None = None
    phone: Line | None = None
    lead_provider: Key
    practices: list[str] = []

    @field_validator("practices", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [p.strip() for p in value.split(";") if p.strip()]
        return value


class PostcodeIn(Record):
    postcode: str
    latitude: float = Field(ge=49, le=61)
    longitude: float = Field(ge=-9, le=2.5)

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str) -> str:
        return normalise_postcode(value)


T = TypeVar("T")
R = TypeVar("R", bound="Record")


@dataclass
class Located(Generic[T]):
    """A checked record with where it came from, for the second round of checks."""

    record: T
    file: str
    line: int
    raw: Any


@dataclass
class DirectoryFiles:
    domains: list[Located[DomainIn]] = field(default_factory=list)
    localities: list[Located[LocalityIn]] = field(default_factory=list)
    postcodes: list[Located[PostcodeIn]] = field(default_factory=list)
    venues: list[Located[VenueIn]] = field(default_factory=list)
    providers: list[Located[ProviderIn]] = field(default_factory=list)
    practices: list[Located[PracticeIn]] = field(default_factory=list)
    link_workers: list[Located[LinkWorkerIn]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Reading and checking


class _Reader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def name(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    def problem(self, path: Path | str, line: int, message: str) -> None:
        file = path if isinstance(path, str) else self.name(path)
        self.problems.append(Problem(file, line, message))

    def yaml(self, path: Path) -> Any:
        try:
            return yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            self.problem(path, mark.line + 1 if mark else 1, f"not valid YAML: {exc}")
        except UnicodeDecodeError:
            self.problem(path, 1, "not UTF-8 text: save the file as UTF-8")
        return None

    def csv(self, path: Path, columns: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                missing = set(columns) - set(reader.fieldnames or [])
                if missing:
                    self.problem(path, 1, f"missing column(s): {', '.join(sorted(missing))}")
                    return
                # A cell may hold line breaks: a row is reported by the line it starts on.
                last = reader.line_num
                for row in reader:
                    start, last = last + 1, reader.line_num
                    yield start, {k: (v or "").strip() for k, v in row.items() if k}
        except UnicodeDecodeError:
            self.problem(path, 1, "not UTF-8 text: save the file as UTF-8")

    def check(
        self, model: type[R], raw: Any, path: Path, line: int, what: str
    ) -> Located[R] | None:
        try:
            return Located(model.model_validate(raw), self.name(path), line, raw)
        except ValidationError as exc:
            for error in exc.errors():
                loc = ".".join(str(part) for part in error["loc"])
                where = _line_of(raw, tuple(error["loc"]), line)
                msg = error["msg"].removeprefix("Value error, ")
                self.problem(path, where, f"{what}: {loc}: {msg}" if loc else f"{what}: {msg}")
        return None

    def records(self, model: type[R], path: Path, what: str) -> list[Located[R]]:
        """A YAML file holding a list of records (domains, localities, venues)."""
        if not path.exists():
            self.problem(path, 0, "file missing")
            return []
        data = self.yaml(path)
        if data is None:
            return []
        if not isinstance(data, list):
            self.problem(path, 1, f"expected a list of {what}s")
            return []
        found = []
        for item in data:
            line = getattr(item, "line", 1)
            label = (
                f"{what} '{item.get('key', item.get('domain', '?'))}'"
                if isinstance(item, dict)
                else what
            )
            checked = self.check(model, item, path, line, label)
            if checked:
                found.append(checked)
        return found

    def rows(self, model: type[R], path: Path, columns: list[str], what: str) -> list[Located[R]]:
        if not path.exists():
            self.problem(path, 0, "file missing")
            return []
        found = []
        for line, row in self.csv(path, columns):
            checked = self.check(
                model, {k: row[k] or None for k in columns if k in row}, path, line, what
            )
            if checked:
                found.append(checked)
        return found


def read_directory(root: Path) -> DirectoryFiles:
    """Read and check every file; raise LoadError listing every problem found."""
    root = Path(root)
    if not root.is_dir():
        raise LoadError([Problem(str(root), 0, "not a folder")])
    reader = _Reader(root)
    files = DirectoryFiles(
        domains=reader.records(DomainIn, root / "domains.yaml", "domain"),
        localities=reader.records(LocalityIn, root / "localities.yaml", "locality"),
        postcodes=reader.rows(
            PostcodeIn, root / "postcodes.csv", ["postcode", "latitude", "longitude"], "postcode"
        ),
        venues=reader.records(VenueIn, root / "venues.yaml", "venue"),
        practices=reader.rows(
            PracticeIn,
            root / "practices.csv",
            ["ods_code", "name", "locality", "postcode"],
            "practice",
        ),
        link_workers=reader.rows(
            LinkWorkerIn,
            root / "link_workers.csv",
            ["key", "name", "email", "phone", "lead_provider", "practices"],
            "link worker",
        ),
    )
    for path in sorted((root / "providers").glob("*.yaml")):
        data = reader.yaml(path)
        if data is None:
            continue
        if not isinstance(data, dict):
            reader.problem(path, 1, "expected one provider (a mapping with key, name...)")
            continue
        checked = reader.check(ProviderIn, data, path, 1, f"provider '{data.get('key', '?')}'")
        if checked:
            files.providers.append(checked)
    _cross_check(files, reader)
    if reader.problems:
        raise LoadError(reader.problems)
    return files


def _duplicates(items: list[Located[Any]], key: str, what: str, reader: _Reader) -> None:
    seen: dict[str, Located[Any]] = {}
    for item in items:
        value = getattr(item.record, key)
        if value in seen:
            first = seen[value]
            reader.problem(
                item.file,
                item.line,
                f"{what} '{value}' is already defined at {first.file}:{first.line}",
            )
        seen[value] = item


def _cross_check(files: DirectoryFiles, reader: _Reader) -> None:
    """References between files, and rules that span fields."""
    _duplicates(files.localities, "key", "locality", reader)
    _duplicates(files.venues, "key", "venue", reader)
    _duplicates(files.providers, "key", "provider", reader)
    _duplicates(files.practices, "ods_code", "practice", reader)
    _duplicates(files.link_workers, "key", "link worker", reader)

    localities = {loc.record.key for loc in files.localities}
    providers = {p.record.key: p.record for p in files.providers}
    venues = {v.record.key for v in files.venues}
    postcodes = {p.record.postcode for p in files.postcodes}
    practices = {p.record.ods_code for p in files.practices}

    for loc in files.localities:
        lead = loc.record.lead_provider
        if lead and lead not in providers:
            reader.problem(
                loc.file,
                loc.line,
                f"locality '{loc.record.key}': lead_provider "
                f"'{lead}' is not a provider in providers/",
            )
    for venue in files.venues:
        v = venue.record
        if v.locality and v.locality not in localities:
            reader.problem(
                venue.file, venue.line, f"venue '{v.key}': unknown locality '{v.locality}'"
            )
        if (v.latitude is None) != (v.longitude is None):
            reader.problem(
                venue.file,
                venue.line,
                f"venue '{v.key}': give both latitude and longitude, or neither",
            )
        if v.latitude is None and v.postcode and v.postcode not in postcodes:
            reader.problem(
                venue.file,
                venue.line,
                f"venue '{v.key}': postcode {v.postcode} is "
                "not in postcodes.csv; add it there or give latitude and longitude",
            )
    for practice in files.practices:
        if practice.record.locality not in localities:
            reader.problem(
                practice.file,
                practice.line,
                f"practice {practice.record.ods_code}:"
                f" unknown locality '{practice.record.locality}'",
            )
    named: dict[str, str] = {}
    for worker in files.link_workers:
        w = worker.record
        if w.lead_provider not in providers:
            reader.problem(
                worker.file,
                worker.line,
                f"link worker '{w.key}': unknown lead_provider '{w.lead_provider}'",
            )
        for ods in w.practices:
            if ods not in practices:
                reader.problem(
                    worker.file, worker.line, f"link worker '{w.key}': unknown practice '{ods}'"
                )
            elif ods in named:
                reader.problem(
                    worker.file,
                    worker.line,
                    f"practice {ods} already has a named "
                    f"link worker ('{named[ods]}'); a practice has one",
                )
            named[ods] = w.key
    for provider in files.providers:
        _check_provider(provider, localities, venues, reader)


def _check_provider(
    provider: Located[ProviderIn], localities: set[str], venues: set[str], reader: _Reader
) -> None:
    p, raw = provider.record, provider.raw
    where = provider.file
    if p.locality and p.locality not in localities:
        reader.problem(
            where,
            _line_of(raw, ("locality",), 1),
            f"provider '{p.key}': unknown locality '{p.locality}'",
        )
    if p.verification is Verification.VERIFIED and p.verified_on is None:
        reader.problem(
            where,
            _line_of(raw, ("verification",), 1),
            f"provider '{p.key}': VERIFIED needs verified_on (the date it was checked)",
        )
    seen: set[str] = set()
    for i, s in enumerate(p.sessions):
        line = _line_of(raw, ("sessions", i), 1)
        what = f"session '{s.key}'"
        if s.key in seen:
            reader.problem(where, line, f"{what}: key used twice in this provider")
        seen.add(s.key)
        if s.venue and s.venue not in venues:
            reader.problem(
                where,
                _line_of(raw, ("sessions", i, "venue"), line),
                f"{what}: unknown venue '{s.venue}' (see venues.yaml)",
            )
        delivery = s.delivery or (Delivery.AT_VENUE if s.venue else None)
        if delivery is None:
            reader.problem(where, line, f"{what}: give a venue, or delivery ONLINE or AT_HOME")
        elif delivery is Delivery.AT_VENUE and not s.venue:
            reader.problem(where, line, f"{what}: delivery AT_VENUE needs a venue")
        w = s.who_for
        if w.min_age is not None and w.max_age is not None and w.min_age > w.max_age:
            reader.problem(where, line, f"{what}: min_age is above max_age")
        for j, rule in enumerate(s.schedule):
            try:
                rule.rule()
            except sched.InvalidSchedule as exc:
                reader.problem(
                    where,
                    _line_of(raw, ("sessions", i, "schedule", j), line),
                    f"{what}: schedule: {exc}",
                )
        for j, b in enumerate(s.breaks):
            if b.ends_on < b.starts_on:
                reader.problem(
                    where,
                    _line_of(raw, ("sessions", i, "breaks", j), line),
                    f"{what}: break ends before it starts",
                )


# ---------------------------------------------------------------------------------------------
# Writing


def _sync(db: orm.Session, row: Any, values: dict[str, Any], kind: str, report: LoadReport) -> Any:
    """Create ``row`` (when None) or update only the fields that differ."""
    if row is None:
        report.count(kind, "created")
        return values
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    report.count(kind, "updated" if changed else "unchanged")
    return None


def _by(db: orm.Session, model: Any, column: str) -> dict[Any, Any]:
    return {getattr(row, column): row for row in db.scalars(select(model))}


def _upsert(
    db: orm.Session,
    model: Any,
    existing: dict[Any, Any],
    key: Any,
    values: dict[str, Any],
    kind: str,
    report: LoadReport,
) -> Any:
    row = existing.get(key)
    new = _sync(db, row, values, kind, report)
    if new is not None:
        row = model(**new)
        db.add(row)
        existing[key] = row
    return row


def load_directory(db: orm.Session, root: Path) -> LoadReport:
    """Read, check and apply the files in ``root`` in the caller's transaction."""
    files = read_directory(root)
    return apply_directory(db, files)


def apply_directory(db: orm.Session, files: DirectoryFiles) -> LoadReport:
    report = LoadReport()

    domains = _by(db, DomainLabel, "domain")
    for d in files.domains:
        _upsert(
            db,
            DomainLabel,
            domains,
            d.record.domain,
            {
                "domain": d.record.domain,
                "label": d.record.label,
                "description": d.record.description,
            },
            "domain",
            report,
        )

    known = _by(db, Postcode, "postcode")
    coords: dict[str, tuple[float, float]] = {}
    for pc in files.postcodes:
        r = pc.record
        coords[r.postcode] = (r.latitude, r.longitude)
        _upsert(
            db,
            Postcode,
            known,
            r.postcode,
            {"postcode": r.postcode, "latitude": r.latitude, "longitude": r.longitude},
            "postcode",
            report,
        )

    localities = _by(db, Locality, "key")
    for loc in files.localities:
        _upsert(
            db,
            Locality,
            localities,
            loc.record.key,
            {"key": loc.record.key, "name": loc.record.name},
            "locality",
            report,
        )
    db.flush()

    venues = _by(db, Venue, "key")
    for item in files.venues:
        v = item.record
        lat, lon = v.latitude, v.longitude
        if lat is None and v.postcode:
            lat, lon = coords.get(v.postcode) or (
                known[v.postcode].latitude,
                known[v.postcode].longitude,
            )
        _upsert(
            db,
            Venue,
            venues,
            v.key,
            {
                "key": v.key,
                "name": v.name,
                "address": v.address,
                "postcode": v.postcode,
                "latitude": lat,
                "longitude": lon,
                "locality_id": localities[v.locality].id if v.locality else None,
            },
            "venue",
            report,
        )
    db.flush()
    for item in files.venues:
        venue = venues[item.record.key]
        _replace(
            db,
            VenueFeature,
            VenueFeature.venue_id,
            venue.id,
            [{"feature": f} for f in dict.fromkeys(item.record.accessibility)],
            ("feature",),
            "venue accessibility",
            report,
        )

    providers = _by(db, Provider, "key")
    for item in files.providers:
        p = item.record
        _upsert(
            db,
            Provider,
            providers,
            p.key,
            {
                "key": p.key,
                "name": p.name,
                "description": p.description,
                "kind": p.kind,
                "relationship": p.relationship,
                "locality_id": localities[p.locality].id if p.locality else None,
                "charity_number": p.charity_number,
                "company_number": p.company_number,
                "website": p.website,
                "email": p.email,
                "phone": p.phone,
                "listed_by": p.listed_by,
                "verification": p.verification,
                "verified_at": p.verified_on,
                "last_confirmed_at": p.last_confirmed,
            },
            "provider",
            report,
        )
    db.flush()

    for loc in files.localities:
        lead = loc.record.lead_provider
        locality = localities[loc.record.key]
        lead_id = providers[lead].id if lead else None
        if locality.lead_provider_id != lead_id:
            locality.lead_provider_id = lead_id
    # A verified entry from the files was checked by its locality's lead provider.
    lead_of = {loc.id: loc.lead_provider_id for loc in localities.values()}
    for item in files.providers:
        provider = providers[item.record.key]
        checker = (
            lead_of.get(provider.locality_id)
            if provider.verification is Verification.VERIFIED
            else None
        )
        if provider.verified_by_id != checker:
            provider.verified_by_id = checker

    touched: list[int] = []
    for item in files.providers:
        touched.extend(_load_sessions(db, providers[item.record.key], item.record, venues, report))

    workers = _by(db, LinkWorker, "key")
    for item in files.link_workers:
        w = item.record
        _upsert(
            db,
            LinkWorker,
            workers,
            w.key,
            {
                "key": w.key,
                "name": w.name,
                "email": w.email,
                "phone": w.phone,
                "lead_provider_id": providers[w.lead_provider].id,
            },
            "link worker",
            report,
        )
    db.flush()
    worker_of = {
        ods: workers[w.record.key].id for w in files.link_workers for ods in w.record.practices
    }
    practices = _by(db, GpPractice, "ods_code")
    for item in files.practices:
        pr = item.record
        _upsert(
            db,
            GpPractice,
            practices,
            pr.ods_code,
            {
                "ods_code": pr.ods_code,
                "name": pr.name,
                "locality_id": localities[pr.locality].id,
                "postcode": pr.postcode,
                "link_worker_id": worker_of.get(pr.ods_code),
            },
            "practice",
            report,
        )
    db.flush()
    refresh_search_text(db, touched)
    return report


def _replace(
    db: orm.Session,
    model: Any,
    owner_column: Any,
    owner_id: int,
    wanted: list[dict[str, Any]],
    fields: tuple[str, ...],
    kind: str,
    report: LoadReport,
) -> bool:
    """Make a child collection equal ``wanted``; touch nothing when it already is."""
    current = db.scalars(select(model).where(owner_column == owner_id)).all()

    def as_key(values: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(values.get(f) for f in fields)

    have = sorted(as_key({f: getattr(row, f) for f in fields}) for row in current)
    if have == sorted(as_key(w) for w in wanted):
        return False
    db.execute(delete(model).where(owner_column == owner_id))
    for values in wanted:
        db.add(model(**{owner_column.key: owner_id, **values}))
    report.count(kind, "updated" if current else "created")
    return True


def _load_sessions(
    db: orm.Session, provider: Provider, p: ProviderIn, venues: dict[str, Venue], report: LoadReport
) -> list[int]:
    existing = {
        s.key: s for s in db.scalars(select(Session).where(Session.provider_id == provider.id))
    }
    wanted = {s.key for s in p.sessions}
    for key, stale in existing.items():
        if key not in wanted:
            db.delete(stale)
            report.count("session", "removed")
    ids = []
    for s in p.sessions:
        cost = None if s.cost == "free" else s.cost
        assert not isinstance(cost, str)
        delivery = s.delivery or Delivery.AT_VENUE
        session = _upsert(
            db,
            Session,
            existing,
            s.key,
            {
                "provider_id": provider.id,
                "key": s.key,
                "title": s.title,
                "description": s.description,
                "delivery": delivery,
                "venue_id": venues[s.venue].id if s.venue else None,
                "is_free": cost is None or cost.amount == 0,
                "cost_amount": cost.amount if cost else None,
                "cost_concessions": cost.concessions if cost else None,
                "how_to_join": s.how_to_join,
                "min_age": s.who_for.min_age,
                "max_age": s.who_for.max_age,
                "gender": s.who_for.gender,
                "carers_welcome": s.who_for.carers_welcome,
                "who_for_notes": s.who_for.notes,
                "capacity": s.capacity,
                "contact_name": s.contact.name,
                "contact_email": s.contact.email,
                "contact_phone": s.contact.phone,
            },
            "session",
            report,
        )
        db.flush()
        ids.append(session.id)
        rules = [rule.rule() for rule in s.schedule]
        save_schedule(
            db,
            session.id,
            rules,
            [sched.Break(b.starts_on, b.ends_on, b.reason) for b in s.breaks],
            report,
        )
        _replace(
            db,
            SessionDomain,
            SessionDomain.session_id,
            session.id,
            [{"domain": d} for d in dict.fromkeys(s.domains)],
            ("domain",),
            "session domains",
            report,
        )
        _replace(
            db,
            SessionLanguage,
            SessionLanguage.session_id,
            session.id,
            [{"language": lang} for lang in dict.fromkeys(s.languages)],
            ("language",),
            "session languages",
            report,
        )
    return ids


def save_schedule(
    db: orm.Session,
    session_id: int,
    rules: list[sched.Rule],
    breaks: list[sched.Break],
    report: LoadReport | None = None,
) -> None:
    """Set a session's rules and breaks (the one place schedules are written)."""
    report = report or LoadReport()
    _replace(
        db,
        Schedule,
        Schedule.session_id,
        session_id,
        [
            {
                "freq": r.freq,
                "interval": r.interval,
                "byday": r.byday,
                "days_mask": sched.days_mask(r.byday),
                "opens_at": r.opens_at,
                "closes_at": r.closes_at,
                "starts_on": r.starts_on,
                "ends_on": r.ends_on,
                "note": r.note,
            }
            for r in rules
        ],
        ("freq", "interval", "byday", "opens_at", "closes_at", "starts_on", "ends_on", "note"),
        "schedule",
        report,
    )
    _replace(
        db,
        SessionBreak,
        SessionBreak.session_id,
        session_id,
        [{"starts_on": b.starts_on, "ends_on": b.ends_on, "reason": b.reason} for b in breaks],
        ("starts_on", "ends_on", "reason"),
        "session breaks",
        report,
    )


__all__ = [
    "LoadError",
    "LoadReport",
    "Problem",
    "load_directory",
    "read_directory",
    "save_schedule",
    "InvalidPostcode",
]
