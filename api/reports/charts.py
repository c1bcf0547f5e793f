"""Inline SVG charts for the HTML report: no scripts, no external files, print-friendly.

A chart is a horizontal bar chart with a value axis (ticks, a unit), full labels wrapped
over up to three lines, and text sized to print at 9 pt or more on A4 (the SVG is drawn at
its own size, never scaled down to fit). Every label is escaped. A hidden figure (None) is
left out rather than drawn, and the chart says how many it left out: a chart never shows
more than its table, and never a bar beside a mark such as "[c]".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

FONT = 13  # px in the SVG's own units = CSS px: 13 px is 9.75 pt (the print CSS keeps 1:1)
LINE = FONT + 3
LABEL_WIDTH = 250
CHART_WIDTH = 660  # fits A4's printable width (186 mm = 703 px) without scaling
PLOT_RIGHT = 70  # room for the value after the longest bar
CHARS_PER_LINE = 34  # Arial at 13 px: about 7 px a character
MAX_LINES = 3
GAP = 10
AXIS = 40  # the axis, its ticks and its title under the bars


def wrap(label: str, width: int = CHARS_PER_LINE, lines: int = MAX_LINES) -> list[str]:
    """A label over up to ``lines`` lines, broken at spaces; only a label too long even then
    is cut (with "…"), which needs more than ~100 characters."""
    out: list[str] = []
    line = ""
    for word in label.split():
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    out.append(line)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1] + "…"
    return [part if len(part) <= width + 8 else part[: width + 7] + "…" for part in out]


def _ticks(low: float, high: float) -> list[float]:
    """Round tick values covering [low, high] (about five)."""
    span = high - low or 1.0
    raw = span / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    unit: str = "",
    decimals: int = 0,
    axis_title: str = "",
    marks: Sequence[str] | None = None,  # kept for callers; hidden values are left out
) -> str:
    """A horizontal bar chart as an <svg> element (role=img, titled for screen readers).
    Hidden values (None) are left out and counted in a note under the axis."""
    del marks
    rows = [(label, v) for label, v in zip(labels, values, strict=True) if v is not None]
    left_out = len(labels) - len(rows)
    wrapped = [wrap(label) for label, _v in rows]
    heights = [max(len(w) * LINE, 22) + GAP for w in wrapped]
    plot_top = GAP
    plot_height = sum(heights)
    shown = [v for _l, v in rows]
    low = min([0.0, *shown])
    high = max([0.0, *shown])
    if unit == "%" and high <= 100 and low >= 0:
        high = max(high, 100.0) if high > 50 else high
    ticks = _ticks(low, high if high > low else low + 1)
    low, high = ticks[0], ticks[-1]
    plot = CHART_WIDTH - LABEL_WIDTH - PLOT_RIGHT

    def x(value: float) -> float:
        return LABEL_WIDTH + plot * (value - low) / (high - low)

    note = f"{left_out} hidden by disclosure control: see the table" if left_out else ""
    height = plot_top + plot_height + AXIS + (LINE if axis_title else 0) + (LINE if note else 0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {CHART_WIDTH} {height}" width="{CHART_WIDTH}" height="{height}" '
        f'font-size="{FONT}" font-family="Arial, Helvetica, sans-serif" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    # Grid lines and tick labels.
    axis_y = plot_top + plot_height
    for tick in ticks:
        tx = x(tick)
        parts.append(
            f'<line x1="{tx:.1f}" y1="{plot_top}" x2="{tx:.1f}" y2="{axis_y + 4}" '
            f'class="grid" stroke="#b1b4b6" stroke-width="{1.5 if tick == 0 else 0.5}"/>'
        )
        parts.append(
            f'<text x="{tx:.1f}" y="{axis_y + 4 + LINE}" text-anchor="middle">'
            f"{escape(_number(tick, unit, _tick_decimals(ticks)))}</text>"
        )
    parts.append(
        f'<line x1="{LABEL_WIDTH}" y1="{axis_y}" x2="{LABEL_WIDTH + plot}" y2="{axis_y}" '
        'stroke="#0b0c0c" stroke-width="1"/>'
    )
    y = plot_top
    for (_label, value), lines, h in zip(rows, wrapped, heights, strict=True):
        bar_h = h - GAP
        first = y + (bar_h - len(lines) * LINE) / 2 + FONT
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{first:.1f}" text-anchor="end">')
        for n, line in enumerate(lines):
            dy = 0 if n == 0 else LINE
            parts.append(f'<tspan x="{LABEL_WIDTH - 8}" dy="{dy}">{escape(line)}</tspan>')
        parts.append("</text>")
        start, end = sorted((x(0.0), x(value)))
        parts.append(
            f'<rect x="{start:.1f}" y="{y}" width="{end - start:.1f}" height="{bar_h}" '
            f'class="bar{" negative" if value < 0 else ""}"/>'
        )
        text_x, anchor = (end + 4, "start") if value >= 0 else (start - 4, "end")
        parts.append(
            f'<text x="{text_x:.1f}" y="{y + bar_h / 2 + FONT / 3:.1f}" text-anchor="{anchor}">'
            f"{escape(_number(value, unit, decimals))}</text>"
        )
        y += h
    below = axis_y + 4 + LINE
    if axis_title:
        below += LINE
        parts.append(
            f'<text x="{LABEL_WIDTH + plot / 2:.1f}" y="{below}" text-anchor="middle" '
            f'class="axis-title">{escape(axis_title)}</text>'
        )
    if note:
        below += LINE
        parts.append(f'<text x="0" y="{below}" class="hidden">{escape(note)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _tick_decimals(ticks: list[float]) -> int:
    return 0 if all(float(t).is_integer() for t in ticks) else 2


def _number(value: float, unit: str, decimals: int) -> str:
    if unit == "£":
        return f"{'-' if value < 0 else ''}£{abs(value):,.{decimals}f}"
    return f"{value:,.{decimals}f}{unit}"
