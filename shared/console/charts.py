"""Charts as inline SVG, drawn on the server from the numbers a page already read: the browser
only displays them (no script, nothing computed client side)."""
from __future__ import annotations

from html import escape
from typing import Sequence

WIDTH, BAR_HEIGHT, GAP, LABEL_WIDTH = 640, 18, 4, 150


def bar_chart(title: str, bars: Sequence[tuple[str, float]], *, unit: str = "", maximum: float | None = None) -> str:
    """Horizontal bars, one per (label, value); `maximum` fixes the scale (e.g. 1.0 for ratios)."""
    if not bars:
        return f'<p class="empty">{escape(title)}: no data yet</p>'
    top = maximum or max(value for _, value in bars) or 1.0
    span = WIDTH - LABEL_WIDTH - 70
    height = len(bars) * (BAR_HEIGHT + GAP) + 24
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">',
             f'<text x="0" y="14" class="chart-title">{escape(title)}</text>']
    for row, (label, value) in enumerate(bars):
        y = 24 + row * (BAR_HEIGHT + GAP)
        length = max(0.0, min(1.0, value / top)) * span
        shown = f"{value:.0%}" if unit == "%" else f"{value:g}{unit}"
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 13}" text-anchor="end">{escape(label)}</text>'
                     f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" class="bar"/>'
                     f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + 13}">{escape(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)


LINE_HEIGHT, LINE_LEFT, LINE_BOTTOM = 200, 60, 30
LEGEND_RIGHT_CHARS = 12


def line_chart(title: str, series: dict[str, Sequence[tuple[str, float]]], *, unit: str = "") -> str:
    """One polyline per named series over shared x labels (the first series' labels, in order). The
    legend sits right of the plot, or below it when a name is longer than fits there."""
    labels = [label for label, _ in next(iter(series.values()), ())]
    if not labels:
        return f'<p class="empty">{escape(title)}: no data yet</p>'
    top = max((value for points in series.values() for _, value in points), default=0.0) or 1.0
    legend_below = any(len(name) > LEGEND_RIGHT_CHARS for name in series)
    height = LINE_HEIGHT + LINE_BOTTOM + 24 + (16 * len(series) + 4 if legend_below else 0)
    axis_y = LINE_HEIGHT + LINE_BOTTOM + 18
    span_x, span_y = WIDTH - LINE_LEFT - 90, LINE_HEIGHT
    step = span_x / max(1, len(labels) - 1)
    index = {label: i for i, label in enumerate(labels)}
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">',
             f'<text x="0" y="14" class="chart-title">{escape(title)}</text>',
             f'<text x="{LINE_LEFT - 6}" y="30" text-anchor="end">{top:g}{unit}</text>',
             f'<text x="{LINE_LEFT - 6}" y="{24 + span_y}" text-anchor="end">0{unit}</text>',
             f'<text x="{LINE_LEFT}" y="{axis_y}">{escape(labels[0])}</text>',
             f'<text x="{LINE_LEFT + span_x}" y="{axis_y}" text-anchor="end">{escape(labels[-1])}</text>']
    for number, (name, points) in enumerate(series.items()):
        xy = " ".join(f"{LINE_LEFT + index[label] * step:.1f},{24 + span_y - min(1.0, value / top) * span_y:.1f}"
                      for label, value in points if label in index)
        x, y = (LINE_LEFT, axis_y + 18 + 16 * number) if legend_below else (LINE_LEFT + span_x + 6, 40 + 16 * number)
        parts.append(f'<polyline points="{xy}" fill="none" class="line line-{number}" stroke-width="2"/>'
                     f'<text x="{x}" y="{y}" class="line-{number}">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
