"""A commissioning report: every table of figures, computed in SQL (figures.py), protected
together (disclosure.py: Release) and ready to render (render.py) or to serve (GraphQL).

Each table cell is one of: a published figure of the release (a count or an amount, hidden
when disclosure control says so), a value derived from published figures (a rate, a mean, a
median: hidden when any figure it rests on is hidden), or a plain value that is not about
people (a tariff, a number of sessions in the directory).

This module runs the sections in order (``_Builder.parts``) and solves the release; the
tables of each section are built in its own module (activity, support, uptake, reached,
outcomes, nhs, supply), on the shapes and machinery of tables.py; periods.py says which
periods a report may cover. The public names stay importable from here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial

from sqlalchemy import orm, select

from api.directory.enums import Domain
from api.directory.models import DomainLabel, utcnow
from api.reports import activity, figures, nhs, outcomes, reached, supply, support, uptake
from api.reports.costs import Tariff, UnitCosts
from api.reports.disclosure import Release
from api.reports.noise import CellKey, Exact, Noise
from api.reports.periods import (  # noqa: F401 (the report's public names, kept here)
    ReportRequest,
    check_request,
    counted_to,
    fixed_period,
    previous_period,
)
from api.reports.supply import OTHER_NEED
from api.reports.tables import (  # noqa: F401 (the report's public names, kept here)
    ALL,
    MAX_DAYS,
    PERTURBED_RULE_TEXT,
    RULE_TEXT,
    SECTION_TITLES,
    Cell,
    Chart,
    Column,
    Report,
    ReportError,
    Row,
    Section,
    Table,
    Unit,
    _Draft,
    _finish,
)


def build_report(
    db: orm.Session,
    request: ReportRequest,
    *,
    tariff: Tariff,
    unit_costs: UnitCosts,
    target_days: int = 5,
    on_step: Callable[[str], None] | None = None,
    compare: bool = False,
    protector: object | None = None,
    population: dict | None = None,
    _previous: bool = False,
) -> Report:
    """Compute, protect and lay out every table of the report. ``compare``: also the
    previous period of the same length (``Report.previous``), for the summary page. That
    period is the previous month, quarter or financial year, or its first months as far as
    this one is counted: a report anyone could have asked for once those months ended."""
    _snapshot(db)
    localities = check_request(db, request, fixed=not _previous)
    step = on_step or (lambda _name: None)
    end = request.end if request.exact or _previous else counted_to(request.start, request.end)
    scope = figures.Scope(
        request.start,
        end,
        None if request.locality_ids is None else tuple(i for i, _ in localities),
    )
    as_of = request.as_of or dt.date.today()
    noise: Noise = Exact() if request.exact else CellKey(figures.release_keys(db, scope))
    build = _Builder(db, scope, localities, tariff, unit_costs, target_days, as_of, noise,
                     protector, population)  # fmt: skip
    for name, part in build.parts():
        step(name)
        part()
    step("Disclosure control")
    released = build.release.solve()
    tables = tuple(_finish(d, released) for d in build.drafts)
    previous = None
    if compare:
        step("Previous period")
        before = previous_period(request.start, request.end, end)
        previous = build_report(
            db,
            ReportRequest(*before, request.locality_ids, as_of=as_of, exact=request.exact),
            tariff=tariff,
            unit_costs=unit_costs,
            target_days=target_days,
            protector=protector,
            population=population,
            _previous=True,
        )
    return Report(
        start=request.start,
        end=end,
        as_of=as_of,
        localities=tuple(localities),
        all_localities=request.locality_ids is None,
        generated_at=utcnow(),
        target_days=target_days,
        tariff=tariff,
        unit_costs=unit_costs,
        tables=tables,
        rule=RULE_TEXT if request.exact else PERTURBED_RULE_TEXT,
        exact=request.exact,
        previous=previous,
    )


def _snapshot(db: orm.Session) -> None:
    """Read every figure from one consistent snapshot, so the same people add up the same
    way in every table (the disclosure equations are checked against the true values).
    Only possible before the session's first query: callers pass a fresh session."""
    connection = db.connection()
    driver = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        import psycopg

        if driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:  # type: ignore[union-attr]
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    elif connection.dialect.name == "sqlite" and not driver.in_transaction:  # type: ignore[union-attr]
        # pysqlite starts a transaction only before a write; reads need an explicit one.
        connection.exec_driver_sql("BEGIN")


STEPS = (
    "Referrals",
    "Lifecycle and first contact",
    "Support levels and tariff",
    "Uptake and attendance",
    "Who is reached",
    "Outcomes",
    "NHS use",
    "Unmet need and supply",
    "Directory health",
)


class _Builder:
    """What every section builds on: the scope, the settings, the release the figures go
    into and the tables drafted so far. The sections are the modules imported above."""

    def __init__(
        self,
        db: orm.Session,
        scope: figures.Scope,
        localities: list[tuple[int, str]],
        tariff: Tariff,
        unit_costs: UnitCosts,
        target_days: int,
        as_of: dt.date,
        noise: Noise,
        protector: object | None = None,
        population: dict | None = None,
    ) -> None:
        # The key to the referrals' equality data (None: it cannot be read, and every
        # referral counts as "not recorded"), and the area's population by each dimension.
        self.protector, self.population = protector, population
        self.db, self.scope, self.localities = db, scope, localities
        self.tariff, self.unit_costs = tariff, unit_costs
        self.target_days, self.as_of = target_days, as_of
        self.noise = noise
        self.release = Release(perturbed=not noise.exact)
        self.drafts: list[_Draft] = []
        # Published sessions and providers by (domain, locality): supply.unmet_need reads
        # them, supply.directory shows them.
        self.sessions: dict = {}
        self.providers: dict = {}
        self.domain_labels = {
            Domain(d): label
            for d, label in db.execute(select(DomainLabel.domain, DomainLabel.label))
        }

    def parts(self) -> list[tuple[str, Callable[[], None]]]:
        """Each step's name and the section that builds its tables, in order (later
        sections use figures earlier ones put in the release)."""
        sections = [
            activity.referrals,
            activity.lifecycle,
            support.build,
            uptake.build,
            reached.build,
            outcomes.build,
            nhs.build,
            supply.unmet_need,
            supply.directory,
        ]
        return [(name, partial(part, self)) for name, part in zip(STEPS, sections, strict=True)]

    def draft(self, key: str, section: Section, title: str, description: str,
              *columns: Column) -> _Draft:  # fmt: skip
        d = _Draft(key, section, title, description, list(columns))
        self.drafts.append(d)
        return d

    def need_label(self, domain: Domain | None) -> str:
        return OTHER_NEED if domain is None else self.label(domain)

    def label(self, domain: Domain) -> str:
        return self.domain_labels.get(domain, domain.value.replace("_", " ").capitalize())
