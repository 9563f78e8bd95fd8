"""The files of an export: which formats, their names, and building them from the records.

Shared by ``/brew export`` (:mod:`bot.shell.organiser`) and ``brewhost export``
(:mod:`bot.export_cli`); nothing here talks to Discord or builds SQL.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date
from pathlib import Path
from typing import Literal, cast

from bot.core.content import Content
from bot.core.export import (
    DOCUMENT_FORMATS,
    EXPORT_FORMATS,
    reflections_per_brew,
    to_csv,
    to_json,
    to_markdown,
)
from bot.core.export_document import build_report
from bot.db.exports import ExportData, ExportFilter

__all__ = [
    "CHART_NAME",
    "CSV_NAME",
    "FORMATS",
    "JSON_NAME",
    "REPORT_NAME",
    "Format",
    "build_files",
    "nothing_reason",
    "output_names",
    "parse_since",
    "report_title",
]

Format = Literal["csv", "json", "markdown", "html", "docx"]
FORMATS: tuple[Format, ...] = cast(tuple[Format, ...], tuple(EXPORT_FORMATS))
CSV_NAME = "brew-reflections.csv"
JSON_NAME = "brew-reflections.json"
REPORT_NAME = "brew-report.md"
CHART_NAME = "brew-report-chart.png"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# ------------------------------------------------------------------ asking for an export
def parse_since(value: str) -> date:
    """``YYYY-MM-DD`` only (``2024-07-01``); raises ``ValueError`` for anything else."""
    value = value.strip()
    if not _ISO_DATE.fullmatch(value):
        raise ValueError(value)
    return date.fromisoformat(value)


def nothing_reason(flt: ExportFilter, *, here: str = "in this server") -> str:
    """Why an export came back empty, in the words of what was asked."""
    if flt.brew_number is not None and flt.since is not None:
        return f"brew {flt.brew_number} has not run {here} on or after {flt.since.isoformat()}"
    if flt.brew_number is not None:
        return f"no brew numbered {flt.brew_number} has run {here}"
    if flt.since is not None:
        return f"no brews have run {here} on or after {flt.since.isoformat()}"
    return f"no brews have run {here} yet"


# ------------------------------------------------------------------ rendering files
def output_names(fmt: Format, out: str | Path | None = None) -> tuple[Path, Path | None]:
    """Where the main file (and, for Markdown, the chart beside it) go."""
    default = EXPORT_FORMATS[fmt].filename
    main = Path(out) if out else Path(default)
    if fmt != "markdown":
        return main, None
    chart = main.with_name(f"{main.stem}-chart.png") if out else Path(CHART_NAME)
    return main, chart


def report_title(content: Content, data: ExportData) -> str:
    areas = data.areas
    if len(areas) == 1:
        return content.format("export.report_title_area", area=next(iter(areas)))
    return content.text("export.report_title")


async def build_files(
    data: ExportData,
    fmt: Format,
    content: Content,
    *,
    generated_on: date,
    main_name: str | None = None,
    chart_name: str | None = None,
) -> list[tuple[str, bytes]]:
    """The export as ``(file name, bytes)``: one file, or the report and its chart.

    The chart is drawn in a worker thread (it takes a few hundred milliseconds).
    """
    brews, reflections, prompts = data.brews, data.reflections, data.prompts
    default_main, default_chart = output_names(fmt)
    name = main_name or default_main.name
    if fmt == "csv":
        return [(name, to_csv(brews, reflections, prompts))]
    if fmt == "json":
        return [(name, to_json(brews, reflections, prompts, generated_on=generated_on))]
    if fmt in DOCUMENT_FORMATS:
        from bot.reporting.render import render_document

        doc = build_report(
            brews, reflections, prompts, title=report_title(content, data),
            generated_on=generated_on, chart_by="area" if len(data.areas) > 1 else "brew",
        )  # fmt: skip
        return [(name, await asyncio.to_thread(render_document, doc, fmt))]  # type: ignore[arg-type]
    from bot.reporting.chart import participation_chart

    chart = chart_name or (default_chart.name if default_chart else CHART_NAME)
    by: Literal["brew", "area"] = "area" if len(data.areas) > 1 else "brew"
    png = await asyncio.to_thread(
        participation_chart, brews, reflections_per_brew(reflections), by=by
    )
    report = to_markdown(
        brews,
        reflections,
        prompts,
        title=report_title(content, data),
        generated_on=generated_on,
        chart_filename=chart,
        chart_by=by,
    )
    return [(name, report.encode("utf-8")), (chart, png)]
