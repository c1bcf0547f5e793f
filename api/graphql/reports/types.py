"""Report types: the same tables as the HTML report and its CSV files, cell by cell."""

from __future__ import annotations

import datetime as dt

import strawberry

from api.graphql.directory.types import LocalityType
from api.reports import report as domain

ReportSection = strawberry.enum(domain.Section, name="ReportSection")
ReportUnit = strawberry.enum(domain.Unit, name="ReportUnit")


@strawberry.input(description="Referrals received from `from` to `to` (dates in England).")
class ReportPeriodInput:
    from_: dt.date = strawberry.field(name="from")
    to: dt.date


@strawberry.type(description="The period a report covers.")
class ReportPeriod:
    from_: dt.date = strawberry.field(name="from")
    to: dt.date


@strawberry.type
class ReportColumn:
    key: str
    label: str
    unit: ReportUnit  # type: ignore[valid-type]
    decimals: int


@strawberry.type
class ReportCell:
    column: str = strawberry.field(description="The column's key.")
    value: float | None = strawberry.field(
        description="The figure; null when suppressed or when there is nothing to show."
    )
    display: str = strawberry.field(
        description='As printed: "<5" for a count from 1 to 4, "[c]" for a figure hidden to '
        'protect one, "–" for nothing to show.'
    )
    suppressed: bool


@strawberry.type
class ReportRow:
    key: str
    label: str
    group: str | None
    is_total: bool
    cells: list[ReportCell]


@strawberry.type
class ReportTable:
    key: str
    section: ReportSection  # type: ignore[valid-type]
    title: str
    description: str
    columns: list[ReportColumn]
    rows: list[ReportRow]
    notes: list[str]


@strawberry.type
class ReportTariff:
    low: float
    medium: float
    high: float
    maintenance: float
    maintenance_after_days: int


@strawberry.type
class ReportUnitCosts:
    gp_appointments: float
    ae_attendances: float
    unplanned_admissions: float
    prescriptions: float


def table_of(table: domain.Table) -> ReportTable:
    return ReportTable(
        key=table.key,
        section=table.section,
        title=table.title,
        description=table.description,
        columns=[
            ReportColumn(key=c.key, label=c.label, unit=c.unit, decimals=c.decimals)
            for c in table.columns
        ],  # fmt: skip
        rows=[
            ReportRow(
                key=r.key,
                label=r.label,
                group=r.group,
                is_total=r.total,
                cells=[
                    ReportCell(
                        column=col.key, value=c.value, display=c.display, suppressed=c.suppressed
                    )
                    for c, col in zip(r.cells, table.columns, strict=True)
                ],  # fmt: skip
            )
            for r in table.rows
        ],
        notes=list(table.notes),
    )


@strawberry.type(
    description="Figures for commissioners: referrals, waiting, tariff, outcomes, NHS use, "
    "unmet need and directory health, with small numbers suppressed (see `rule`)."
)
class CommissioningReport:
    period: ReportPeriod
    as_of: dt.date = strawberry.field(description="Directory health is as at this date.")
    localities: list[LocalityType] = strawberry.field(description="The localities covered.")
    generated_at: dt.datetime
    rule: str = strawberry.field(description="The disclosure control rule, as printed.")
    exact: bool = strawberry.field(
        description="True: the exact figures (ADMIN only). False: figures perturbed by the "
        "cell key method, so that reports cannot be compared to find out about a person."
    )
    target_working_days: int
    tariff: ReportTariff
    unit_costs: ReportUnitCosts
    all_tables: strawberry.Private[list[domain.Table]]

    @strawberry.field(description="The tables, in report order; only those named by `keys`.")
    def tables(self, keys: list[str] | None = None) -> list[ReportTable]:
        return [table_of(t) for t in self.all_tables if keys is None or t.key in keys]

    @strawberry.field(description="One table by key (e.g. `first_contact`); null if none.")
    def table(self, key: str) -> ReportTable | None:
        return next((table_of(t) for t in self.all_tables if t.key == key), None)
