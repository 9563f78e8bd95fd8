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
from bot.core.export_model import chart_grouping, count_weeks
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
    "render_files",
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


def nothing_reason(
    flt: ExportFilter, *, here: str = "in this server", until: date | None = None
) -> str:
    """Why an export came back empty, in the words of what was asked."""
    dates = ""
    if flt.since is not None and until is not None:
        dates = f" from {flt.since.isoformat()} to {until.isoformat()}"
    elif flt.since is not None:
        dates = f" on or after {flt.since.isoformat()}"
    elif until is not None:
        dates = f" up to {until.isoformat()}"
    if flt.brew_number is not None and dates:
        return f"brew {flt.brew_number} has not run {here}{dates}"
    if flt.brew_number is not None:
        return f"no brew numbered {flt.brew_number} has run {here}"
    if dates:
        return f"no brews have run {here}{dates}"
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

    Built in a worker thread: drawing a chart takes a few hundred milliseconds and a report of
    thousands of reflections a few seconds, which must not hold up the bot's event loop.
    """
    title = report_title(content, data)
    return await asyncio.to_thread(
        render_files, data, fmt, title, generated_on, main_name, chart_name
    )


def render_files(
    data: ExportData,
    fmt: Format,
    title: str,
    generated_on: date,
    main_name: str | None = None,
    chart_name: str | None = None,
) -> list[tuple[str, bytes]]:
    """:func:`build_files`' blocking work (call it from a worker thread in the bot)."""
    brews, reflections, prompts = data.brews, data.reflections, data.prompts
    default_main, default_chart = output_names(fmt)
    name = main_name or default_main.name
    if fmt == "csv":
        return [(name, to_csv(brews, reflections, prompts))]
    if fmt == "json":
        return [(name, to_json(brews, reflections, prompts, generated_on=generated_on))]
    by = chart_grouping(brews)
    if fmt in DOCUMENT_FORMATS:
        from bot.reporting.render import render_document

        doc = build_report(
            brews, reflections, prompts, title=title, generated_on=generated_on, chart_by=by
        )
        return [(name, render_document(doc, fmt))]  # type: ignore[arg-type]
    from bot.reporting.chart import participation_chart, weekly_chart

    chart = chart_name or (default_chart.name if default_chart else CHART_NAME)
    per_brew = reflections_per_brew(reflections)
    if by == "week":
        png = weekly_chart(count_weeks((b, per_brew.get(b.number, 0)) for b in brews))
    else:
        png = participation_chart(brews, per_brew, by=by)
    report = to_markdown(
        brews, reflections, prompts, title=title, generated_on=generated_on,
        chart_filename=chart, chart_by=by,
    )  # fmt: skip
    return [(name, report.encode("utf-8")), (chart, png)]
