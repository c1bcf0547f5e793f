"""`commissioningReport`: COMMISSIONER and ADMIN only (api/access/policy.py: READ_REPORTS)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from sqlalchemy import orm, select
from strawberry.types import Info

from api.access import policy
from api.audit.log import record
from api.directory.models import Locality
from api.graphql.context import Context
from api.graphql.directory.types import LocalityType
from api.graphql.errors import UserInputError
from api.graphql.relay import expect_id
from api.graphql.reports.types import (
    CommissioningReport,
    ReportPeriod,
    ReportPeriodInput,
    ReportTariff,
    ReportUnitCosts,
)
from api.referrals.enums import SupportLevel
from api.referrals.protection import protector
from api.referrals.working_days import LONDON
from api.reports import costs
from api.reports.report import ReportError, ReportRequest, build_report


@strawberry.type
class ReportQuery:
    @strawberry.field(
        description="The commissioning report for referrals received in `period` (a calendar "
        "month, a quarter or a financial year), for one locality or all, perturbed by the cell "
        "key method (see `rule`). The same figures as `petunia report`; reading it is audited."
    )
    async def commissioning_report(
        self,
        info: Info[Context],
        period: ReportPeriodInput,
        locality_id: strawberry.ID | None = None,
        exact: Annotated[
            bool,
            strawberry.argument(
                description="The exact figures for any period, without noise (ADMIN only)."
            ),
        ] = False,
    ) -> CommissioningReport:
        principal = info.context.authorize("reading commissioning reports", *policy.READ_REPORTS)
        if exact:
            info.context.authorize("reading exact commissioning reports",
                                   *policy.READ_EXACT_REPORTS)  # fmt: skip
        settings = info.context.settings
        ids = None if locality_id is None else (expect_id(locality_id, "Locality", "localityId"),)
        request = ReportRequest(
            period.from_, period.to, ids, as_of=dt.datetime.now(LONDON).date(), exact=exact
        )
        tariff = costs.load_tariff(settings.report_tariff_file or costs.DEFAULT_TARIFF)
        unit_costs = costs.load_unit_costs(
            settings.report_unit_costs_file or costs.DEFAULT_UNIT_COSTS
        )

        def run(db: orm.Session) -> tuple:
            try:
                report = build_report(
                    db,
                    request,
                    tariff=tariff,
                    unit_costs=unit_costs,
                    target_days=settings.contact_target_working_days,
                    protector=protector(settings),  # equality data is counted, never shown
                )
            except ReportError as exc:
                raise UserInputError(str(exc), field=exc.field) from None
            localities = [
                LocalityType.of(row)
                for row in db.scalars(
                    select(Locality)
                    .where(Locality.id.in_([i for i, _n in report.localities]))
                    .order_by(Locality.name)
                )
            ]
            record(db, principal, "report.read", "report", None, start=request.start.isoformat(),
                   end=request.end.isoformat(), localities=list(ids) if ids else None,
                   **({"exact": True} if exact else {}))  # fmt: skip
            return report, localities

        report, localities = await info.context.db.run_sync_write(run)
        levels = report.tariff.levels
        return CommissioningReport(
            period=ReportPeriod(from_=report.start, to=report.end),
            as_of=report.as_of,
            localities=localities,
            generated_at=report.generated_at,
            rule=report.rule,
            exact=report.exact,
            target_working_days=report.target_days,
            tariff=ReportTariff(
                low=float(levels[SupportLevel.LOW]),
                medium=float(levels[SupportLevel.MEDIUM]),
                high=float(levels[SupportLevel.HIGH]),
                maintenance=float(report.tariff.maintenance),
                maintenance_after_days=report.tariff.maintenance_after_days,
            ),
            unit_costs=ReportUnitCosts(**{c: float(v) for c, v in report.unit_costs.costs.items()}),
            all_tables=list(report.tables),
        )
