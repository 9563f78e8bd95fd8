"""A report's bar chart as a small, accessible SVG (the Markdown report's chart file, and the
picture inside the web page).

The SVG is text: the title, axis titles, every number on the bars and every label are real
``<text>``, so they stay sharp at any zoom, can be searched and selected, and are read by
screen readers. ``role="img"`` with ``aria-labelledby`` names the picture by its ``<title>``
and describes it by its ``<desc>``, which carries the same words as the alt text (every number
when there are few bars). A few kilobytes, made in milliseconds, byte-for-byte the same for
the same numbers.

User text (brew titles, areas) is cleaned of control characters by the layout and escaped here,
so a title reading ``<script>`` or ``&amp;`` is drawn as exactly those characters.
"""

from __future__ import annotations

from html import escape

from bot.core.chart_layout import SERIES_STYLE, ChartLayout, layout_chart
from bot.core.export_document import ChartSpec
from bot.core.reflections import clean_text

__all__ = ["CHART_FONTS", "SVG_MEDIA_TYPE", "chart_svg", "layout_svg"]

SVG_MEDIA_TYPE = "image/svg+xml"
CHART_FONTS = "'DejaVu Sans', Arial, Helvetica, sans-serif"

#: Hatching drawn over each series' colour, in an 8 x 8 tile.
_HATCH = {
    "diagonal": '<path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" stroke="#000" stroke-width="1"/>',
    "dots": '<circle cx="2" cy="2" r="1.1" fill="#000"/>'
    '<circle cx="6" cy="6" r="1.1" fill="#000"/>',
    "cross": '<path d="M0,0 l8,8 M8,0 l-8,8" stroke="#000" stroke-width="0.9"/>',
}


def _n(value: float) -> str:
    """A coordinate with at most one decimal, no trailing zeros (deterministic, short)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _series_ids(layout: ChartLayout) -> dict[str, str]:
    names = sorted({bar.series for bar in layout.bars})
    return {name: f"fill-{name.lower()}" for name in names}


def layout_svg(layout: ChartLayout, description: str) -> str:
    """The SVG document for ``layout``, described (``<desc>``) by ``description``."""
    ids = _series_ids(layout)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{layout.width}" '
        f'height="{layout.height}" viewBox="0 0 {layout.width} {layout.height}" role="img" '
        'aria-labelledby="chart-title chart-desc" lang="en-GB" '
        f'font-family="{CHART_FONTS}" fill="#000">',
        f'<title id="chart-title">{escape(layout.title)}</title>',
        f'<desc id="chart-desc">{escape(" ".join(clean_text(description).split()))}</desc>',
        "<defs>",
    ]
    for name, pattern_id in ids.items():
        colour, hatch = SERIES_STYLE[name]
        out.append(
            f'<pattern id="{pattern_id}" width="8" height="8" patternUnits="userSpaceOnUse">'
            f'<rect width="8" height="8" fill="{colour}"/>{_HATCH[hatch]}</pattern>'
        )
    out += ["</defs>", f'<rect width="{layout.width}" height="{layout.height}" fill="#fff"/>']
    for bar in layout.bars:
        out.append(
            f'<rect x="{_n(bar.x)}" y="{_n(bar.y)}" width="{_n(bar.width)}" '
            f'height="{_n(bar.height)}" fill="url(#{ids[bar.series]})" stroke="#000" '
            'stroke-width="1"/>'
        )
    if layout.rules:
        path = " ".join(f"M{_n(r.x1)},{_n(r.y1)} L{_n(r.x2)},{_n(r.y2)}" for r in layout.rules)
        out.append(f'<path d="{path}" stroke="#000" stroke-width="1" fill="none"/>')
    for label in layout.labels:
        attrs = f'x="{_n(label.x)}" y="{_n(label.y)}" font-size="{label.size}"'
        if label.anchor != "start":
            attrs += f' text-anchor="{label.anchor}"'
        if label.bold:
            attrs += ' font-weight="bold"'
        if label.angle:
            attrs += f' transform="rotate({_n(label.angle)} {_n(label.x)} {_n(label.y)})"'
        out.append(f"<text {attrs}>{escape(label.text)}</text>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def chart_svg(spec: ChartSpec, description: str) -> bytes:
    """``spec``'s chart as SVG (UTF-8), with ``description`` (its alt text) as ``<desc>``."""
    return layout_svg(layout_chart(spec), description).encode("utf-8")
