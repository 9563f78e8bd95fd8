"""``brewhost export --all-servers``: one regional report across every server in the database.

For a region that runs one community server per area (each server's ``/brew settings area``
names it). Reads each server's brews with the same loader as ``/brew export``, keeps servers apart
(brew numbers are per server), then builds :func:`bot.core.export_regional.build_regional_report`
and writes it as a web page (``--format html``, also what the command's default ``markdown``
becomes here) or a Word document (``--format docx``). The regional report has two charts and
tables by area and by week, so it is offered only in the formats that carry charts inside them.

Filters: ``--since`` / ``--until`` (inclusive, brew dates in the community's time zone) and
``--area`` (repeatable, any case). Exit codes as ``brewhost export``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.config import Config
from bot.core.content import load_content
from bot.core.export import DOCUMENT_FORMATS
from bot.core.export_regional import RegionalFilter, ServerExport, build_regional_report
from bot.db.exports import ExportFilter, export_guild_ids, load_export
from bot.db.session import create_engine, session_factory
from bot.export_files import parse_since

__all__ = ["REGIONAL_NAMES", "run_regional_export"]

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


async def load_region(config: Config, since: date | None) -> list[ServerExport]:
    """Every server's brews (from ``since``), one :class:`ServerExport` per server."""
    content = load_content(config.content.path)
    engine = create_engine(config.database.url)
    try:
        async with session_factory(engine)() as session:
            servers = []
            for guild_id in await export_guild_ids(session, ExportFilter(since=since)):
                data = await load_export(
                    session, ExportFilter(guild_id, None, since), content.prompts,
                    config.timing.zone(),
                )  # fmt: skip
                servers.append(ServerExport(guild_id, data.brews, data.reflections))
            return servers
    finally:
        await engine.dispose()


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
    doc = build_regional_report(
        servers, load_content(config.content.path).prompts,
        title=REGIONAL_TITLE, generated_on=today, flt=flt,
    )  # fmt: skip
    brews = sum(1 for s in servers for b in s.brews if flt.keeps(b))
    if not brews:
        asked = flt.describe().replace("This report covers brews ", "").rstrip(".")
        print(f"There is nothing to export: no brews have run in this database {asked}".strip())
        return 1
    from bot.reporting.render import render_document

    out = Path(getattr(args, "out", None) or REGIONAL_NAMES[fmt])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(render_document(doc, fmt))  # type: ignore[arg-type]
    areas_count = len({b.area for s in servers for b in s.brews if flt.keeps(b)})
    print(f"Wrote {out.resolve()} (regional report: {brews} brews, {areas_count} areas, "
          f"{len(servers)} servers in the database).")  # fmt: skip
    return 0
