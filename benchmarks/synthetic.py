"""A synthetic directory of any size, for benchmarks and scale tests.

Rows are written with bulk inserts (not the file loader) so that 20,000 sessions take
seconds; the result is what the loader would have produced: same tables, same search text.
Seeded (the same arguments give the same directory) and written in batches, so memory stays
bounded at national scale (100,000 sessions / 10,000 providers: ``SCALES``).

    python3 -m benchmarks.synthetic --scale 100000 --database-url URL

fills an empty database once, for the benchmarks to reuse (their ``--database-url``).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import insert, text, update

from api.db import Database
from api.directory import schedules as sched
from api.directory.enums import (
    AccessibilityFeature,
    Delivery,
    Domain,
    Frequency,
    Gender,
    HowToJoin,
    ListedBy,
    ListingStatus,
    ProviderKind,
    Relationship,
    Verification,
)
from api.directory.models import (
    DomainLabel,
    Locality,
    Postcode,
    Provider,
    Schedule,
    Session,
    SessionDomain,
    SessionLanguage,
    Venue,
    VenueFeature,
)
from api.directory.search import search_text_of

CENTRE = (52.63, -1.13)
ACTIVITIES = {
    Domain.PHYSICAL_ACTIVITY: [
        "Dog walking",
        "Health walk",
        "Chair yoga",
        "Community garden",
        "Tai chi",
        "Swimming",
        "Cycling club",
        "Walking football",
        "Nordic walking",
        "Bowls",
        "Seated exercise",
        "Dance fitness",
        "Badminton",
        "Table tennis",
        "Allotment group",
        "Pilates",
        "Parkrun",
        "Green gym",
    ],
    Domain.HEALTHY_EATING: [
        "Cookery club",
        "Healthy lunch",
        "Grow and cook",
        "Community meal",
        "Baking club",
        "Cook and eat",
        "Soup club",
        "Food bank cafe",
        "Diabetes-friendly cooking",
        "Family cooking",
        "Budget meals",
    ],
    Domain.ARTS_FOR_HEALTH: [
        "Knit and natter",
        "Singing for the brain",
        "Pottery",
        "Drama",
        "Watercolour painting",
        "Craft circle",
        "Choir",
        "Ukulele group",
        "Creative writing",
        "Photography walk",
        "Sewing bee",
        "Book club",
        "Woodwork",
        "Mosaic workshop",
    ],
    Domain.BEFRIENDING: [
        "Befriending calls",
        "Coffee morning",
        "Lunch club",
        "Men's shed",
        "Tea and chat",
        "Memory cafe",
        "Carers' cafe",
        "Bereavement group",
        "Dementia cafe",
        "Chatty bench",
        "Games afternoon",
    ],
    Domain.WELFARE_RIGHTS: [
        "Benefits advice",
        "Debt advice",
        "Housing advice drop-in",
        "Energy advice",
        "Pension credit help",
        "Form filling help",
        "Legal advice clinic",
        "Money mentors",
    ],
    Domain.VOLUNTEERING: [
        "Volunteering hub",
        "Conservation volunteers",
        "Repair cafe",
        "Litter pick",
        "Charity shop volunteering",
        "Food bank volunteers",
        "Tree planting",
        "Community larder volunteers",
    ],
}
ORGS = [
    "Community Trust",
    "Friends Group",
    "Association",
    "Club",
    "Charity",
    "Network",
    "Centre",
    "Society",
    "Partnership",
    "Project",
]
PLACES = [
    "Anytown",
    "Northfield",
    "Eastgate",
    "Southbrook",
    "Westwood",
    "Riverside",
    "Hilltop",
    "Meadowbank",
    "Oakley",
    "Millbrook",
]
# --scale: sessions -> providers (10 sessions per provider, as in a real directory).
SCALES = {20_000: 2_000, 100_000: 10_000}
LANGUAGES = ["bn", "so", "ur", "pa", "pl", "gu", "ar", "ro"]


BATCH = 10_000


def _chunks(rows: list[dict], size: int = 2000) -> list[list[dict]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def generate(db: Database, *, providers: int = 2000, sessions: int = 20000, seed: int = 7) -> None:
    """Fill an empty, migrated database with a synthetic directory."""
    rng = random.Random(seed)
    today = dt.date(2026, 11, 1)
    with db.session() as s:
        s.execute(
            insert(DomainLabel),
            [
                {"domain": d, "label": d.value.replace("_", " ").capitalize(), "description": ""}
                for d in Domain
            ],
        )
        s.execute(
            insert(Locality),
            [
                {"id": i + 1, "key": f"locality-{i + 1}", "name": f"Synthetic {name}"}
                for i, name in enumerate(["North", "South", "East"])
            ],
        )
        s.execute(
            insert(Postcode),
            [
                {
                    "postcode": f"AT{d} {u}AA",
                    "latitude": CENTRE[0] + (d - 5) * 0.01,
                    "longitude": CENTRE[1] + (u - 5) * 0.015,
                }
                for d in range(1, 10)
                for u in range(1, 10)
            ],
        )

        provider_rows = []
        for i in range(1, providers + 1):
            place = rng.choice(PLACES)
            provider_rows.append(
                {
                    "id": i,
                    "key": f"provider-{i}",
                    "name": f"{place} {rng.choice(ORGS)} {i}",
                    "description": f"A community organisation in {place}.",
                    "kind": ProviderKind.LEAD_NTP if i <= 3 else ProviderKind.NTP,
                    "relationship": Relationship.LEAD
                    if i <= 3
                    else rng.choice([Relationship.INFORMAL] * 4 + [Relationship.SUB_CONTRACTED]),
                    "locality_id": (i % 3) + 1,
                    "listed_by": rng.choice(list(ListedBy)),
                    "verification": rng.choice(list(Verification)),
                    "last_confirmed_at": today - dt.timedelta(days=rng.randint(0, 500)),
                    "status": ListingStatus.PUBLISHED,
                    "email": f"hello@provider-{i}.example",
                    "phone": "01632 960000",
                }
            )
        for chunk in _chunks(provider_rows):
            s.execute(insert(Provider), chunk)
        for i in range(1, 4):
            s.execute(update(Locality).where(Locality.id == i).values(lead_provider_id=i))

        venue_count = max(1, providers * 3 // 4)
        venue_rows, feature_rows = [], []
        for i in range(1, venue_count + 1):
            venue_rows.append(
                {
                    "id": i,
                    "key": f"venue-{i}",
                    "name": f"{rng.choice(PLACES)} Hall {i}",
                    "address": f"{i} High Street, Anytown",
                    "postcode": None,
                    "latitude": CENTRE[0] + rng.uniform(-0.09, 0.09),
                    "longitude": CENTRE[1] + rng.uniform(-0.14, 0.14),
                    "locality_id": (i % 3) + 1,
                }
            )
            for feature in rng.sample(list(AccessibilityFeature), rng.randint(0, 4)):
                feature_rows.append({"venue_id": i, "feature": feature})
        for chunk in _chunks(venue_rows):
            s.execute(insert(Venue), chunk)
        for chunk in _chunks(feature_rows):
            s.execute(insert(VenueFeature), chunk)

        session_rows, domain_rows, language_rows, schedule_rows = [], [], [], []

        def flush() -> None:
            # Every BATCH sessions: memory stays bounded at any size (100,000 and more).
            for rows, model in (
                (session_rows, Session),
                (domain_rows, SessionDomain),
                (language_rows, SessionLanguage),
                (schedule_rows, Schedule),
            ):
                for chunk in _chunks(rows):
                    s.execute(insert(model), chunk)
                rows.clear()

        for i in range(1, sessions + 1):
            provider = provider_rows[(i - 1) % providers]
            domains = rng.sample(list(Domain), rng.choice([1, 1, 1, 2]))
            title = rng.choice(ACTIVITIES[domains[0]])
            online = rng.random() < 0.05
            venue = None if online else venue_rows[rng.randrange(venue_count)]
            paid = rng.random() < 0.2
            description = f"{title} for adults in {rng.choice(PLACES)}. All welcome."
            session_rows.append(
                {
                    "id": i,
                    "provider_id": provider["id"],
                    "key": f"session-{i}",
                    "title": title,
                    "description": description,
                    "delivery": Delivery.ONLINE if online else Delivery.AT_VENUE,
                    "venue_id": venue["id"] if venue else None,
                    "is_free": not paid,
                    "cost_amount": Decimal(rng.choice(["2.00", "3.50", "5.00"])) if paid else None,
                    "how_to_join": rng.choice(list(HowToJoin)),
                    "gender": Gender.ANY,
                    "carers_welcome": rng.random() < 0.5,
                    "search_text": search_text_of(
                        title, description, provider["name"], venue["name"] if venue else None
                    ),
                }
            )
            for d in domains:
                domain_rows.append({"session_id": i, "domain": d})
            language_rows.append({"session_id": i, "language": "en"})
            if rng.random() < 0.1:
                language_rows.append({"session_id": i, "language": rng.choice(LANGUAGES)})
            days = rng.sample(["MO", "TU", "WE", "TH", "FR", "SA", "SU"], rng.choice([1, 1, 2]))
            monthly = rng.random() < 0.2
            byday = ",".join(f"1{d}" if monthly else d for d in days)
            opens = dt.time(rng.choice([9, 10, 11, 13, 14, 18, 19]), rng.choice([0, 30]))
            schedule_rows.append(
                {
                    "session_id": i,
                    "freq": Frequency.MONTHLY if monthly else Frequency.WEEKLY,
                    "interval": 1,
                    "byday": byday,
                    "days_mask": sched.days_mask(byday),
                    "opens_at": opens,
                    "closes_at": dt.time(opens.hour + 2, opens.minute),
                }
            )
            if i % BATCH == 0:
                flush()
        flush()
    if db.dialect == "postgresql":
        # Explicit ids were inserted: move the sequences past them.
        with db.session() as s:
            for table in ("providers", "venues", "sessions", "localities", "schedules"):
                s.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                    )
                )
    # Statistics now, on both engines: SQLite has none until ANALYZE runs (it then scans the
    # directory's tables), and PostgreSQL's come only when autovacuum gets round to it (the
    # planner then guesses one row per table and scans every session for a search).
    db.analyze()


def session_count(db: Database) -> int:
    with db.session() as s:
        return s.scalar(text("SELECT count(*) FROM sessions")) or 0


def prepared(url: str, *, providers: int, sessions: int) -> Database:
    """A migrated database holding the synthetic directory of this size: generated when
    empty, reused when it already holds it (so 100,000 sessions are generated once)."""
    from api import migrations

    db = Database.from_url(url)
    migrations.upgrade(db.engine)
    have = session_count(db)
    if have == 0:
        generate(db, providers=providers, sessions=sessions)
    elif have != sessions:
        raise SystemExit(f"the database holds {have} sessions, not {sessions}: use an empty one")
    return db


def main() -> None:
    import argparse
    import time

    parser = argparse.ArgumentParser(description="Fill a database with a synthetic directory.")
    parser.add_argument("--scale", type=int, choices=sorted(SCALES), default=20_000)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    prepared(args.database_url, providers=SCALES[args.scale], sessions=args.scale).dispose()
    print(f"{args.scale:,} sessions in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
