"""``brewhost export --all-servers``: one regional report across every server in the database.

For a region that runs one community server per area (each server's ``/brew settings area``
names it). Reads each server's brews with the same loader as ``/brew export``, keeps servers apart
(brew numbers are per server), then builds :func:`bot.core.export_regional.build_regional_report`
and writes it as a web page (``--format html``, also what the command's default ``markdown``
becomes here) or a Word document (``--format docx``). The regional report has two charts and
tables by area and by week, so it is offered only in the formats that carry charts inside them.

``/brew export scope: all`` (:mod:`bot.shell.regional`) makes the same report, from the same
:func:`load_servers` and :func:`render_regional`, for the servers listed in
``[reports] regional_servers`` only.

Filters: ``--since`` / ``--until`` (inclusive, brew dates in the community's time zone) and
``--area`` (repeatable, any case). Exit codes as ``brewhost export``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Literal

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.core.content import load_content
from bot.core.export import DOCUMENT_FORMATS
from bot.core.export_regional import (
    RegionalFilter,
    ServerExport,
    area_name,
    build_regional_report,
    filter_servers,
)
from bot.core.reflections import Prompt
from bot.db.exports import ExportFilter, export_guild_ids, load_export
from bot.db.session import create_engine, session_factory
from bot.export_files import parse_since

__all__ = [
    "REGIONAL_NAMES",
    "REGIONAL_TITLE",
    "RegionalFile",
    "load_servers",
    "nothing_in_region",
    "render_regional",
    "run_regional_export",
]

DocumentFormat = Literal["html", "docx"]

#: Default file names of the regional report.
REGIONAL_NAMES = {"html": "brew-regional-report.html", "docx": "brew-regional-report.docx"}
REGIONAL_TITLE = "Over A Brew across the region: what we heard"


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _date(option: str, value: str | None) -> date | None:
    if not value:
        return None
    try:
        return parse_since(value)
    except ValueError:
        raise ValueError(
            f"{option}: expected a date like 2024-07-01 (year-month-day), got {value!r}"
        ) from None


async def load_servers(
    session: AsyncSession,
    guild_ids: Iterable[int] | None,
    since: date | None,
    prompts: Sequence[Prompt],
    tz: tzinfo,
) -> list[ServerExport]:
    """Each server's brews (from ``since``) as one :class:`ServerExport`: the servers named in
    ``guild_ids`` (``/brew export scope: all``), or every server with brews (``None``, the CLI).

    The database is asked from the day before ``since`` (it compares UTC times); the exact
    dates, in the community's time zone, are kept by :class:`RegionalFilter`.
    """
    wide = since - timedelta(days=1) if since else None
    if guild_ids is None:
        guild_ids = await export_guild_ids(session, ExportFilter(since=wide))
    servers = []
    for guild_id in guild_ids:
        data = await load_export(session, ExportFilter(guild_id, None, wide), prompts, tz)
        if data.brews:
            servers.append(ServerExport(guild_id, data.brews, data.reflections))
    return servers


async def load_region(config: Config, since: date | None) -> list[ServerExport]:
    """Every server's brews in the database named in ``config`` (the CLI's reader)."""
    content = load_content(config.content.path)
    engine = create_engine(config.database.url)
    try:
        async with session_factory(engine)() as session:
            return await load_servers(session, None, since, content.prompts, config.timing.zone())
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class RegionalFile:
    """The rendered regional report and what it covers (for the "here it is" line)."""

    name: str
    data: bytes
    brews: int
    areas: int
    reflections: int


def render_regional(
    servers: Sequence[ServerExport],
    prompts: Sequence[Prompt],
    fmt: DocumentFormat,
    flt: RegionalFilter,
    generated_on: date,
) -> RegionalFile | None:
    """The regional report as a file, or ``None`` when the filter keeps no brew.

    Blocking (building, drawing two charts, writing): the bot calls it through
    ``asyncio.to_thread``.
    """
    from bot.reporting.render import render_document

    kept = filter_servers(servers, flt)
    if not kept:
        return None
    doc = build_regional_report(
        kept, prompts, title=REGIONAL_TITLE, generated_on=generated_on, flt=flt
    )
    return RegionalFile(
        REGIONAL_NAMES[fmt],
        render_document(doc, fmt),
        brews=sum(len(s.brews) for s in kept),
        areas=len({area_name(b).casefold() for s in kept for b in s.brews}),
        reflections=sum(len(s.reflections) for s in kept),
    )


def nothing_in_region(flt: RegionalFilter, where: str) -> str:
    """Why a regional report came back empty: "no brews have run in {where} ..."."""
    asked = flt.describe().replace("This report covers brews ", "").rstrip(".")
    return f"no brews have run in {where} {asked}".strip()


def run_regional_export(config: Config, args: argparse.Namespace) -> int:
    """Write the regional report; returns the ``brewhost export`` exit code."""
    fmt = getattr(args, "format", None) or "html"
    if fmt == "markdown":  # the CLI default: the regional report is a web page unless asked
        fmt = "html"
    if fmt not in DOCUMENT_FORMATS:
        _err("--all-servers makes a report: use --format html (the default) or --format docx")
        return 2
    try:
        since = _date("--since", getattr(args, "since", None))
        until = _date("--until", getattr(args, "until", None))
    except ValueError as exc:
        _err(str(exc))
        return 2
    areas = tuple(a for a in (getattr(args, "area", None) or []) if a.strip())
    flt = RegionalFilter(since=since, until=until, areas=areas)
    try:
        servers = asyncio.run(load_region(config, since))
    except (OperationalError, ProgrammingError) as exc:
        _err(
            "Could not read the database "
            f"({type(exc.orig).__name__ if exc.orig else 'error'}). "
            "Is it set up? Run: brewhost migrate"
        )
        return 2
    today = datetime.now(UTC).astimezone(config.timing.zone()).date()
    prompts = load_content(config.content.path).prompts
    report = render_regional(servers, prompts, fmt, flt, today)  # type: ignore[arg-type]
    if report is None:
        print(f"There is nothing to export: {nothing_in_region(flt, 'this database')}.")
        return 1
    out = Path(getattr(args, "out", None) or REGIONAL_NAMES[fmt])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(report.data)
    print(f"Wrote {out.resolve()} (regional report: {report.brews} brews, {report.areas} areas, "
          f"{len(servers)} servers in the database).")  # fmt: skip
    return 0
