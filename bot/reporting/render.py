"""Turn a :class:`~bot.core.export_document.ReportDocument` into file bytes: draw its charts,
then hand them to the HTML or Word writer.

Blocking (matplotlib, python-docx): from the bot's event loop call it through
``asyncio.to_thread``.
"""

from __future__ import annotations

import logging
import time
from typing import Literal

from bot.core.export_document import ReportDocument
from bot.core.export_html import to_html

__all__ = ["DocumentFormat", "draw_charts", "render_document"]

log = logging.getLogger(__name__)

DocumentFormat = Literal["html", "docx"]


def draw_charts(doc: ReportDocument) -> dict[str, bytes]:
    """PNG bytes for every chart the document describes, keyed as its figures name them."""
    from bot.reporting.chart import draw_chart

    return {spec.key: draw_chart(spec) for spec in doc.charts}


def render_document(doc: ReportDocument, fmt: DocumentFormat) -> bytes:
    """The document as a self-contained HTML page (UTF-8) or a .docx file."""
    started = time.perf_counter()
    images = draw_charts(doc)
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
