"""The commissioner's report page (/staff/report): choose the period and localities, read
the report, download its HTML and CSV files. The same figures and protection (small numbers
suppressed) as `commissioningReport` and `petunia report`: build_report and the renderer of
api/reports. The chosen period is kept in the signed form cookie, so the report's relative
links to its CSV files work and nothing about it is in the address."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import orm, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.access import policy
from api.audit.log import record
from api.directory.models import Locality
from api.referrals.protection import protector
from api.registration.answers import ErrorCode, FieldError
from api.reports import costs
from api.reports.render import HTML_NAME, csv_name, headlines, render_html, table_csv
from api.reports.report import Report, ReportError, ReportRequest, build_report
from api.staff.signin import SignedIn
from api.web.common import SECURITY_HEADERS, Form, message_page, read, write
from api.web.staff_session import settings_of, staff_page, staff_render

READERS = policy.READ_REPORTS
# The report is a self-contained page with its own inline styles and SVG charts (built
# escaped): it is served with a policy allowing exactly that, and nothing else.
REPORT_HEADERS = SECURITY_HEADERS | {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src data:; frame-ancestors 'none'; form-action 'none'",
}


def this_financial_year(today: dt.date) -> tuple[dt.date, dt.date]:
    """1 April to 31 March: a period a report may cover (api/reports/report.py, fixed_period),
    counted to the end of last month."""
    year = today.year if today.month >= 4 else today.year - 1
    return dt.date(year, 4, 1), dt.date(year + 1, 3, 31)


def _localities(db: orm.Session) -> list[tuple[str, str, None]]:
    return [
        (str(i), name, None)
        for i, name in db.execute(select(Locality.id, Locality.name).order_by(Locality.name))
    ]


async def _page(
    request: Request,
    me: SignedIn,
    v: dict,
    errors: list[FieldError] | None = None,
    report: Report | None = None,
) -> Response:
    return staff_render(
        request,
        me,
        "staff/report.html",
        400 if errors else 200,
        localities=await read(request, _localities),
        v=v,
        errors=errors or [],
        report=report,
        headlines=headlines(report) if report else [],
        csv_name=csv_name,
        html_name=HTML_NAME,
    )


def _chosen(request: Request) -> ReportRequest | None:
    kept = request.session.get("report")
    if not kept:
        return None
    ids = tuple(kept["localities"]) or None
    return ReportRequest(
        dt.date.fromisoformat(kept["from"]), dt.date.fromisoformat(kept["to"]), ids
    )


async def _build(request: Request, me: SignedIn, wanted: ReportRequest) -> Report:
    """The report, as `commissioningReport` builds it; reading it is audited."""
    settings = settings_of(request)
    tariff = costs.load_tariff(settings.report_tariff_file or costs.DEFAULT_TARIFF)
    unit_costs = costs.load_unit_costs(settings.report_unit_costs_file or costs.DEFAULT_UNIT_COSTS)
    principal = me.principal
    wanted = ReportRequest(wanted.start, wanted.end, wanted.locality_ids, dt.date.today())

    def run(db: orm.Session) -> Report:
        report = build_report(
            db,
            wanted,
            tariff=tariff,
            unit_costs=unit_costs,
            target_days=settings.contact_target_working_days,
            compare=True,  # the summary page compares with the previous period
            protector=protector(settings),  # equality data is counted, never shown
        )
        record(
            db,
            principal,
            "report.read",
            "report",
            None,
            start=wanted.start.isoformat(),
            end=wanted.end.isoformat(),
            localities=list(wanted.locality_ids) if wanted.locality_ids else None,
        )
        return report

    return await write(request, run)


@staff_page(READERS)
async def report_page(request: Request, me: SignedIn, _form: Form | None) -> Response:
    wanted = _chosen(request)
    if wanted is None:
        start, end = this_financial_year(dt.date.today())
        return await _page(request, me, {"from": start.isoformat(), "to": end.isoformat()})
    v = {
        "from": wanted.start.isoformat(),
        "to": wanted.end.isoformat(),
        "localities": [str(i) for i in wanted.locality_ids or ()],
    }
    try:
        report = await _build(request, me, wanted)
    except ReportError as exc:
        request.session.pop("report", None)
        return await _page(request, me, v, [FieldError("from", str(exc), ErrorCode.INVALID)])
    return await _page(request, me, v, report=report)


@staff_page(READERS)
async def choose(request: Request, me: SignedIn, form: Form | None) -> Response:
    assert form is not None
    v = {"from": str(form.get("from", "")), "to": str(form.get("to", ""))}
    v["localities"] = [x for x in form.getlist("localities") if x.isdigit() and len(x) < 10]
    errors = []
    dates = {}
    for key, label in (("from", "the first day"), ("to", "the last day")):
        try:
            dates[key] = dt.date.fromisoformat(v[key])
        except ValueError:
            errors.append(
                FieldError(key, f"Enter {label} of the period, like 2026-01-31", ErrorCode.INVALID)
            )
    if errors:
        return await _page(request, me, v, errors)
    try:
        # Checked before it is kept: the same rule as the report's own.
        await read(
            request,
            lambda db: _check(db, dates["from"], dates["to"], v["localities"]),
        )
    except ReportError as exc:
        field = "to" if exc.field == "period.to" else "from"
        message = str(exc)[:1].upper() + str(exc)[1:]
        return await _page(request, me, v, [FieldError(field, message, ErrorCode.INVALID)])
    request.session["report"] = {
        "from": v["from"],
        "to": v["to"],
        "localities": [int(x) for x in v["localities"]],
    }
    return RedirectResponse("/staff/report", 303)


def _check(db: orm.Session, start: dt.date, end: dt.date, localities: list[str]) -> None:
    from api.reports.report import check_request

    check_request(db, ReportRequest(start, end, tuple(int(x) for x in localities) or None))


@staff_page(READERS)
async def report_file(request: Request, me: SignedIn, _form: Form | None) -> Response:
    wanted = _chosen(request)
    if wanted is None:
        return RedirectResponse("/staff/report", 303)
    name = request.path_params["name"]
    report = await _build(request, me, wanted)
    download = request.query_params.get("download") == "1"
    if name == HTML_NAME:
        headers = dict(REPORT_HEADERS)
        if download:
            headers["Content-Disposition"] = f'attachment; filename="{HTML_NAME}"'
        return Response(render_html(report), media_type="text/html", headers=headers)
    table = next((t for t in report.tables if csv_name(t) == name), None)
    if table is None:
        return message_page("Not found", ["There is no such file in the report."], status=404)
    return Response(
        # utf-8-sig: spreadsheets then read "£" and accents correctly (as petunia report).
        table_csv(table).encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers=SECURITY_HEADERS | {"Content-Disposition": f'attachment; filename="{name}"'},
    )


def routes() -> list[Route]:
    return [
        Route("/staff/report", report_page, methods=["GET"]),
        Route("/staff/report", choose, methods=["POST"]),
        Route("/staff/report/{name:str}", report_file, methods=["GET"]),
    ]
