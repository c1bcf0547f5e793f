"""Inline SVG charts for the HTML report: no scripts, no external files, print-friendly.

Every label is escaped; a hidden figure (None) is drawn as a "<5" marker with no bar, so a
chart never shows more than its table.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from api.reports.disclosure import HIDDEN

BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 220
CHART_WIDTH = 640


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    unit: str = "",
    decimals: int = 0,
    marks: Sequence[str] | None = None,
) -> str:
    """A horizontal bar chart as an <svg> element (role=img, titled for screen readers).
    A hidden value (None) is drawn as its mark (``marks[n]``, default "<5") with no bar."""
    shown = [v for v in values if v is not None]
    top = max(shown, default=0) or 1
    plot = CHART_WIDTH - LABEL_WIDTH - 80
    height = len(labels) * (BAR_HEIGHT + GAP) + GAP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {CHART_WIDTH} {height}" width="100%" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for n, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = GAP + n * (BAR_HEIGHT + GAP)
        text_y = y + BAR_HEIGHT * 0.7
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{text_y:.1f}" text-anchor="end">'
            f"{escape(_shorten(label))}</text>"
        )
        if value is None:
            parts.append(
                f'<text x="{LABEL_WIDTH + 4}" y="{text_y:.1f}" class="hidden">'
                f"{escape(marks[n] if marks else HIDDEN)}</text>"
            )
            continue
        width = max(plot * (value / top), 0) if top > 0 else 0
        parts.append(
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" '
            f'height="{BAR_HEIGHT}" class="bar"/>'
        )
        parts.append(
            f'<text x="{LABEL_WIDTH + width + 4:.1f}" y="{text_y:.1f}">'
            f"{escape(_number(value, unit, decimals))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _shorten(label: str, limit: int = 34) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _number(value: float, unit: str, decimals: int) -> str:
    if unit == "£":
        return f"{'-' if value < 0 else ''}£{abs(value):,.{decimals}f}"
    return f"{value:,.{decimals}f}{unit}"
