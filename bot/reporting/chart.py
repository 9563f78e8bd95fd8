"""A report's chart as a PNG picture, for the Word report (Word needs a raster picture).

The shapes come from :func:`bot.core.chart_layout.layout_chart`, the same layout as the SVG of
the Markdown report and the web page, so all three show the same chart. Pillow draws them at
twice the layout's size (sharp when Word scales it to the page), with its bundled font, so the
same numbers give the same bytes on every machine with the same Pillow. Pillow is imported
inside :func:`chart_png`: the running bot only pays for it when a Word report is made.

Accessibility is the layout's (hatching as well as colour, outlines, a number on every bar);
the Word writer adds the alt text and a caption, and a table with every number follows.
"""

from __future__ import annotations

import io
import math
from functools import cache
from typing import Any

from bot.core.chart_layout import SERIES_STYLE, ChartLayout, Label, layout_chart
from bot.core.export_document import ChartSpec

__all__ = ["PNG_SCALE", "chart_png", "draw_chart", "layout_png"]

#: Pixels per layout unit: 2 gives a 1,600 to 4,800 pixel wide picture.
PNG_SCALE = 2
_HATCH_STEP = 8


@cache
def _font(size: int) -> Any:
    from PIL import ImageFont

    return ImageFont.load_default(size)


def _pattern(size: tuple[int, int], colour: str, hatch: str, scale: int) -> Any:
    """A picture the size of the chart, filled with one series' colour and hatching; each bar
    is cut out of it, so the hatching lines up across bars as in the SVG. Built from one
    8 x 8 tile (as the SVG's ``<pattern>``), copied along a row, then the row down the page."""
    from PIL import Image, ImageDraw

    step = _HATCH_STEP * scale
    tile = Image.new("RGB", (step, step), colour)
    draw = ImageDraw.Draw(tile)
    if hatch == "dots":
        radius = 1.1 * scale
        for cx, cy in ((2 * scale, 2 * scale), (6 * scale, 6 * scale)):
            draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill="#000")
    else:
        for shift in (-step, 0, step):  # the neighbours' lines, so the tile repeats seamlessly
            draw.line((shift, step, shift + step, 0), fill="#000", width=scale)
            if hatch == "cross":
                draw.line((shift, 0, shift + step, step), fill="#000", width=scale)
    width, height = size
    row = Image.new("RGB", (width, step))
    for x in range(0, width, step):
        row.paste(tile, (x, 0))
    image = Image.new("RGB", size)
    for y in range(0, height, step):
        image.paste(row, (0, y))
    return image


def _text(image: Any, label: Label, scale: int) -> None:
    from PIL import Image, ImageDraw

    font = _font(label.size * scale)
    anchor = {"start": "ls", "middle": "ms", "end": "rs"}[label.anchor]
    x, y = label.x * scale, label.y * scale
    weight = scale if label.bold else 0
    if not label.angle:
        ImageDraw.Draw(image).text(
            (x, y), label.text, fill="#000", font=font, anchor=anchor, stroke_width=weight // 2
        )
        return
    # Turned text: drawn on a transparent picture just big enough, turned (growing to fit),
    # then laid on so its anchor lands on (x, y).
    left, top, right, bottom = ImageDraw.Draw(image).textbbox(
        (0, 0), label.text, font=font, anchor=anchor
    )
    mask = Image.new("L", (int(right - left) + 2, int(bottom - top) + 2), 0)
    ImageDraw.Draw(mask).text((-left + 1, -top + 1), label.text, fill=255, font=font, anchor=anchor)
    # SVG turns clockwise for a positive angle, Pillow anticlockwise.
    theta = math.radians(-label.angle)
    turned = mask.rotate(-label.angle, resample=Image.Resampling.BICUBIC, expand=True)
    dx, dy = -left + 1 - mask.width / 2, -top + 1 - mask.height / 2
    ax = dx * math.cos(theta) + dy * math.sin(theta) + turned.width / 2
    ay = -dx * math.sin(theta) + dy * math.cos(theta) + turned.height / 2
    image.paste((0, 0, 0), (round(x - ax), round(y - ay)), turned)


def layout_png(layout: ChartLayout, scale: int = PNG_SCALE) -> bytes:
    """``layout`` drawn as PNG bytes at ``scale`` pixels per unit."""
    from PIL import Image, ImageDraw

    size = (layout.width * scale, layout.height * scale)
    image = Image.new("RGB", size, "#ffffff")
    patterns = {
        name: _pattern(size, *SERIES_STYLE[name], scale)
        for name in sorted({bar.series for bar in layout.bars})
    }
    draw = ImageDraw.Draw(image)
    for bar in layout.bars:
        box = (
            round(bar.x * scale),
            round(bar.y * scale),
            round((bar.x + bar.width) * scale),
            round((bar.y + bar.height) * scale),
        )
        if box[2] > box[0] and box[3] > box[1]:
            image.paste(patterns[bar.series].crop(box), box[:2])
        draw.rectangle(box, outline="#000", width=scale)
    for rule in layout.rules:
        draw.line(
            (rule.x1 * scale, rule.y1 * scale, rule.x2 * scale, rule.y2 * scale),
            fill="#000",
            width=scale,
        )
    for label in layout.labels:
        _text(image, label, scale)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


def chart_png(spec: ChartSpec, scale: int = PNG_SCALE) -> bytes:
    """``spec``'s chart as PNG bytes (blocking: tens of milliseconds)."""
    return layout_png(layout_chart(spec), scale)


def draw_chart(spec: ChartSpec) -> bytes:
    """Draw a report document's chart for the Word report (see :func:`chart_png`)."""
    return chart_png(spec)
