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
