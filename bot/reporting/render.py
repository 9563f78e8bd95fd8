"""Turn a :class:`~bot.core.export_document.ReportDocument` into file bytes: draw its charts,
then hand them to the HTML or Word writer.

The web page gets each chart as SVG (text, sharp at any zoom, a few kilobytes); the Word
report as PNG, since Word needs a picture. Both come from the same layout.

Blocking (python-docx, Pillow): from the bot's event loop call it through
``asyncio.to_thread``.
"""

from __future__ import annotations

import logging
import time
from typing import Literal

from bot.core.chart_svg import chart_svg
from bot.core.export_document import Figure, ReportDocument
from bot.core.export_html import to_html

__all__ = ["DocumentFormat", "draw_charts", "render_document"]

log = logging.getLogger(__name__)

DocumentFormat = Literal["html", "docx"]


def draw_charts(doc: ReportDocument, fmt: DocumentFormat) -> dict[str, bytes]:
    """Every chart the document describes, keyed as its figures name them: SVG for the web page
    (described by its figure's alt text), PNG for Word."""
    if fmt == "docx":
        from bot.reporting.chart import chart_png

        return {spec.key: chart_png(spec) for spec in doc.charts}
    alt = {b.chart: b.alt for b in doc.blocks if isinstance(b, Figure)}
    return {spec.key: chart_svg(spec, alt.get(spec.key, spec.title)) for spec in doc.charts}


def render_document(doc: ReportDocument, fmt: DocumentFormat) -> bytes:
    """The document as a self-contained HTML page (UTF-8) or a .docx file."""
    started = time.perf_counter()
    images = draw_charts(doc, fmt)
    if fmt == "html":
        data = to_html(doc, images).encode("utf-8")
    elif fmt == "docx":
        from bot.reporting.docx_report import to_docx

        data = to_docx(doc, images)
    else:
        raise ValueError(f"Unknown document format {fmt!r}")
    log.info(
        "Rendered a %s report: %d blocks, %d charts, %d bytes in %.2f s",
        fmt, len(doc.blocks), len(images), len(data), time.perf_counter() - started,
    )  # fmt: skip
    return data
