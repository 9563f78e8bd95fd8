"""The files of an export: which formats, their names, and building them from the records.

Shared by ``/brew export`` (:mod:`bot.shell.organiser`) and ``brewhost export``
(:mod:`bot.export_cli`); nothing here talks to Discord or builds SQL.
"""

from __future__ import annotations

import asyncio
import io
import re
import sqlite3
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, NamedTuple, TypeVar, cast

from bot.core.chart_svg import chart_svg
from bot.core.content import Content
from bot.core.export import (
    DOCUMENT_FORMATS,
    EXPORT_FORMATS,
    reflections_per_brew,
    to_csv,
    to_json,
    to_markdown,
)
from bot.core.export_csv import CsvStream
from bot.core.export_document import ChartSpec, build_report
from bot.core.export_json import JsonStream
from bot.core.export_markdown import MarkdownStream
from bot.core.export_model import (
    BrewSummary,
    ChartBy,
    chart_alt_text,
    chart_bars,
    chart_grouping,
    count_weeks,
    weekly_alt_text,
)
from bot.db import exports_sqlite
from bot.db.export_records import ExportData, ExportFilter, ExportPlan

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = [
    "CHART_NAME",
    "CSV_NAME",
    "FORMATS",
    "JSON_NAME",
    "REPORT_NAME",
    "STREAMED_FORMATS",
    "Format",
    "Streamed",
    "build_files",
    "nothing_reason",
    "output_names",
    "parse_since",
    "render_files",
    "report_title",
    "stream_export",
    "write_sqlite",
]

Format = Literal["csv", "json", "markdown", "html", "docx"]
FORMATS: tuple[Format, ...] = cast(tuple[Format, ...], tuple(EXPORT_FORMATS))
CSV_NAME = "brew-reflections.csv"
JSON_NAME = "brew-reflections.json"
REPORT_NAME = "brew-report.md"
CHART_NAME = "brew-report-chart.svg"
#: Formats written brew by brew straight from the database (:func:`stream_export`); the web
#: page and Word reports are built whole (:func:`build_files`).
STREAMED_FORMATS: tuple[Format, ...] = ("csv", "json", "markdown")
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
    chart = main.with_name(f"{main.stem}-chart.svg") if out else Path(CHART_NAME)
    return main, chart


def report_title(content: Content, data: ExportData | ExportPlan) -> str:
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

    Built in a worker thread: a report of thousands of reflections takes a few seconds, which
    must not hold up the bot's event loop.
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

    chart = chart_name or (default_chart.name if default_chart else CHART_NAME)
    svg = draw_chart(brews, reflections_per_brew(reflections), by)
    report = to_markdown(
        brews, reflections, prompts, title=title, generated_on=generated_on,
        chart_filename=chart, chart_by=by,
    )  # fmt: skip
    return [(name, report.encode("utf-8")), (chart, svg)]


def draw_chart(brews: tuple[BrewSummary, ...], per_brew: dict[int, int], by: ChartBy) -> bytes:
    """The Markdown report's chart as SVG, described by the same words as its alt text (a few
    milliseconds: :mod:`bot.core.chart_svg`)."""
    if by == "week":
        weeks = count_weeks((b, per_brew.get(b.number, 0)) for b in brews)
        spec = ChartSpec(
            "participation", "weekly", "Brews per week", "Week starting", weeks=tuple(weeks)
        )
        return chart_svg(spec, weekly_alt_text(weeks))
    spec = ChartSpec(
        "participation", "grouped", f"Participants and reflections per {by}", by.capitalize(),
        bars=tuple(chart_bars(brews, per_brew, by=by)),
    )  # fmt: skip
    return chart_svg(spec, chart_alt_text(brews, per_brew, by=by))


_T = TypeVar("_T")


class Streamed(NamedTuple):
    """What :func:`stream_export` wrote: how many reflections, and the report's chart."""

    reflections: int
    chart: bytes | None


_Writer = CsvStream | JsonStream | MarkdownStream


def _open_writer(
    plan: ExportPlan,
    fmt: Format,
    out: BinaryIO,
    title: str,
    generated_on: date,
    chart_name: str | None,
) -> tuple[_Writer, bytes | None]:
    """The format's stream writer on ``out`` (its head already written), and the Markdown
    report's chart. Blocking."""
    if fmt == "csv":
        return CsvStream(out, plan.prompts), None
    if fmt == "json":
        return JsonStream(out, plan.brews, plan.prompts, generated_on=generated_on), None
    by = chart_grouping(plan.brews)
    svg = draw_chart(plan.brews, dict(plan.received), by)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    writer = MarkdownStream(
        cast(Any, text), plan.brews, plan.received, plan.consented, plan.prompts,
        title=title, generated_on=generated_on, chart_filename=chart_name or CHART_NAME,
        chart_by=by,
    )  # fmt: skip
    return writer, svg


def _close(writer: _Writer) -> None:
    writer.close()
    if isinstance(writer, MarkdownStream):
        cast(io.TextIOWrapper, writer.out).detach()


def _order(fmt: Format) -> Literal["date", "number"]:
    # The JSON's "reflections" are in brew-number order; the CSV and the report in date order.
    return "number" if fmt == "json" else "date"


def write_sqlite(
    conn: sqlite3.Connection,
    plan: ExportPlan,
    fmt: Format,
    out: BinaryIO,
    *,
    title: str,
    generated_on: date,
    chart_name: str | None,
) -> Streamed:
    """A CSV, JSON or Markdown export of ``plan`` read from a plain SQLite connection
    (:func:`bot.db.exports_sqlite.reader`) and written to ``out``, one brew at a time.
    Blocking: ``brewhost export`` calls it directly, the bot from its child process."""
    writer, svg = _open_writer(plan, fmt, out, title, generated_on, chart_name)
    count = 0
    for brew, reflections in exports_sqlite.stream_brews(conn, plan, order=_order(fmt)):
        writer.add(brew, reflections)
        count += len(reflections)
    _close(writer)
    return Streamed(count, svg)


def _write_sqlite_file(
    url: str,
    plan: ExportPlan,
    fmt: Format,
    out: BinaryIO,
    title: str,
    generated_on: date,
    chart_name: str | None,
) -> Streamed | None:
    """:func:`write_sqlite` on a connection of its own; ``None`` when ``url`` has no SQLite
    file to open that way (nothing written then)."""
    path = exports_sqlite.sqlite_file(url)
    if path is None:
        return None
    with exports_sqlite.reader(path) as conn:
        return write_sqlite(
            conn, plan, fmt, out, title=title, generated_on=generated_on, chart_name=chart_name
        )


async def stream_export(
    session: AsyncSession | None,
    plan: ExportPlan,
    fmt: Format,
    out: BinaryIO,
    content: Content | None,
    *,
    generated_on: date,
    chart_name: str | None = None,
    offload: bool = True,
    database_url: str | None = None,
    title: str | None = None,
) -> Streamed:
    """Write a CSV, JSON or Markdown export of ``plan`` to ``out``, brew by brew from the
    database; returns how many reflections it holds and the Markdown report's chart (SVG).

    Only Markdown needs ``plan``'s counts (:func:`~bot.db.exports.plan_export`'s ``counts``).

    Memory holds a few brews' reflections at a time. With a SQLite file at ``database_url`` the
    whole export (reading included) runs on a plain ``sqlite3`` connection of its own
    (:mod:`bot.db.exports_sqlite`): in a worker thread with ``offload`` (the bot, whose event
    loop then only waits), inline without it (``brewhost export`` calls :func:`write_sqlite`
    itself, without SQLAlchemy). Otherwise (PostgreSQL, or no URL) ``session`` streams the rows in
    batches and, with ``offload``, each brew is written and the chart drawn in a worker thread,
    so the event loop is held only for one batch of rows at a time. The bot runs it in a child
    process instead (:mod:`bot.export_worker`), passing ``title`` (then ``content`` is unused).
    """
    if fmt not in STREAMED_FORMATS:
        raise ValueError(f"{fmt} is built whole: use build_files")
    if fmt == "markdown" and not plan.counted:
        raise ValueError("the Markdown report needs the plan's counts")
    if title is None:
        if content is None:
            raise ValueError("stream_export needs the content or the report's title")
        title = report_title(content, plan)
    args = (plan, fmt, out, title, generated_on, chart_name)
    if database_url is not None:
        if offload:
            done = await asyncio.to_thread(_write_sqlite_file, database_url, *args)
        else:
            done = _write_sqlite_file(database_url, *args)
        if done is not None:
            return done

    from bot.db.exports import stream_brews  # SQLAlchemy: not needed for a SQLite file

    if session is None:
        raise ValueError("stream_export needs a session for a database other than a SQLite file")

    async def step(func: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.to_thread(func, *args) if offload else func(*args)

    writer, svg = await step(_open_writer, *args)
    count = 0
    async for brew, reflections in stream_brews(session, plan, order=_order(fmt)):
        await step(writer.add, brew, reflections)
        count += len(reflections)
    await step(_close, writer)
    return Streamed(count, svg)
