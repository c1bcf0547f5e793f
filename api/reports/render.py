"""A report as files: one self-contained HTML page (inline CSS and SVG, no scripts, A4 print
layout; written with jinja2 autoescaping) and one CSV file per table."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from api.reports import summary
from api.reports.costs import NHS_CATEGORIES, NHS_LABELS
from api.reports.disclosure import HIDDEN
from api.reports.report import Cell, Column, Report, Table, Unit
from api.reports.summary import Headline

HTML_NAME = "report.html"
README_NAME = "README.txt"

_env = Environment(
    loader=PackageLoader("api.reports", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def css_string(text: str) -> Markup:
    """``text`` as a quoted CSS string (the running header of the printed page): every
    character but letters and digits as a CSS escape (spaces too: CSS eats one space after
    an escape), so no name can end the string or the style sheet."""
    safe = "".join(c if c.isalnum() else f"\\{ord(c):06x}" for c in text)
    return Markup(f'"{safe}"')


_env.filters["css_string"] = css_string


def headlines(report: Report) -> list[Headline]:
    """The key figures at the top of the report (each one a cell of a table below)."""
    return summary.headlines(report)[0]


def csv_name(table: Table) -> str:
    return f"{table.key}.csv"


def render_html(report: Report) -> str:
    template = _env.get_template("report.html.j2")
    key_figures, caveats = summary.headlines(report)
    previous = report.previous
    return template.render(
        report=report,
        headlines=key_figures,
        caveats=caveats,
        lines=summary.lines(report, previous),
        previous_text=summary.period_text(previous.start, previous.end) if previous else None,
        period=summary.period_text(report.start, report.end),
        produced=summary.uk_time(report.generated_at),
        hidden=HIDDEN,
        few=summary.FEW,
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
