"""A report as files: one self-contained HTML page (inline CSS and SVG, no scripts, A4 print
layout; written with jinja2 autoescaping) and one CSV file per table."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from api.reports.costs import NHS_CATEGORIES, NHS_LABELS
from api.reports.report import Cell, Column, Report, Table, Unit

HTML_NAME = "report.html"
README_NAME = "README.txt"

_env = Environment(
    loader=PackageLoader("api.reports", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Headline:
    label: str
    value: str
    note: str


def headlines(report: Report) -> list[Headline]:
    """The key figures at the top of the report (each one a cell of a table below)."""
    first = report.table("first_contact")
    within = first.cell("all", "within_share").display
    median = first.cell("all", "median_days").display
    cost = report.table("cost_avoided")
    return [
        Headline(
            "Referrals received",
            report.table("referrals_by_month").cell("total", "referrals").display,
            "in the period",
        ),
        Headline(
            f"Contacted within {report.target_days} working days",
            within,
            f"median {median} working days to first contact",
        ),
        Headline(
            "Completed their support",
            report.table("lifecycle_conversion").cell("COMPLETED", "referrals").display,
            report.table("lifecycle_conversion").cell("COMPLETED", "of_received").display
            + " of referrals received",
        ),
        Headline(
            "Tariff due",
            report.table("support_levels").cell("total", "due").display,
            "for the people assessed, with the maintenance incentive",
        ),
        Headline(
            "Estimated NHS cost avoided",
            cost.cell("all", "total").display,
            f"95% CI {cost.cell('all', 'total_low').display} to "
            f"{cost.cell('all', 'total_high').display}, resting on "
            f"{cost.cell('all', 'people').display} people",
        ),
    ]


def csv_name(table: Table) -> str:
    return f"{table.key}.csv"


def render_html(report: Report) -> str:
    template = _env.get_template("report.html.j2")
    return template.render(
        report=report,
        headlines=headlines(report),
        csv_name=csv_name,
        svg=Markup,  # charts are built escaped (api/reports/charts.py)
        nhs=[(NHS_LABELS[c], report.unit_costs.costs[c]) for c in NHS_CATEGORIES],
        areas=", ".join(name for _i, name in report.localities)
        if not report.all_localities
        else "all localities",
    )


# ---------------------------------------------------------------------------------------------
# CSV


def _safe(text: str) -> str:
    """Text a spreadsheet will not run as a formula (OWASP's CSV injection advice)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_value(cell: Cell, column: Column) -> str:
    if cell.suppressed:
        return cell.display
    if cell.value is None:
        return ""
    if column.unit is Unit.COUNT:
        return str(round(cell.value))
    return f"{cell.value:.{column.decimals}f}"


_UNITS = {Unit.PERCENT: " (%)", Unit.MONEY: " (GBP)"}


def table_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    grouped = any(r.group for r in table.rows)
    header = (["Group"] if grouped else []) + [""]
    header += [
        c.label if c.unit is Unit.PERCENT and "%" in c.label else c.label + _UNITS.get(c.unit, "")
        for c in table.columns
    ]
    writer.writerow([_safe(h) for h in header])
    for row in table.rows:
        lead = ([_safe(row.group or "")] if grouped else []) + [_safe(row.label)]
        writer.writerow(
            lead + [_csv_value(c, col) for c, col in zip(row.cells, table.columns, strict=True)]
        )
    return out.getvalue()


def readme(report: Report) -> str:
    lines = [
        "Social prescribing: commissioning report",
        f"Referrals received {report.start:%d %B %Y} to {report.end:%d %B %Y}, "
        + (
            "all localities"
            if report.all_localities
            else ", ".join(n for _i, n in report.localities)
        )
        + ".",
        "",
        "Disclosure control: " + report.rule,
        *(
            ["", "EXACT FIGURES: NOT FOR PUBLICATION (for the operator only)."]
            if report.exact
            else []
        ),  # fmt: skip
        "",
        f"{HTML_NAME}: the report (open it in a browser; it prints on A4).",
    ]
    for table in report.tables:
        lines.append(f"{csv_name(table)}: {table.title}.")
    return "\n".join(lines) + "\n"


def write_report(report: Report, folder: Path) -> list[Path]:
    """Write the HTML report, a CSV per table and a README into ``folder``; the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    html = folder / HTML_NAME
    html.write_text(render_html(report), encoding="utf-8")
    written.append(html)
    for table in report.tables:
        path = folder / csv_name(table)
        # utf-8-sig: spreadsheets then read "£" and accents correctly.
        path.write_text(table_csv(table), encoding="utf-8-sig", newline="")
        written.append(path)
    path = folder / README_NAME
    path.write_text(readme(report), encoding="utf-8")
    written.append(path)
    return written
