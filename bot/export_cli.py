"""``brewhost export``: the organisers' exports from the command line, without Discord.

For whoever runs the server: reads the database named in the config and writes CSV, JSON or the
Markdown report (with its chart beside it) using the same builders as ``/brew export``.

Exit codes: 0 written; 1 nothing to export; 2 a problem with what was asked (a bad ``--since``
date, no database, or several servers' brews whose numbers would clash in one file).

Brew numbers are counted per server, so one file never mixes servers: with several servers in
the database and no ``--guild``, one file per server is written, named with the server id.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import cast

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.core.content import Content, load_content
from bot.core.export_model import plural
from bot.db.exports import (
    ExportFilter,
    ExportPlan,
    export_guild_ids,
    load_export,
    plan_export,
)
from bot.db.session import create_engine, session_factory
from bot.export_files import (
    FORMATS,
    STREAMED_FORMATS,
    Format,
    build_files,
    nothing_reason,
    output_names,
    parse_since,
    stream_export,
)

__all__ = ["EXIT_BAD_INPUT", "EXIT_NOTHING", "EXIT_OK", "run_export"]

EXIT_OK = 0
EXIT_NOTHING = 1
EXIT_BAD_INPUT = 2


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _with_suffix(path: Path, guild_id: int) -> Path:
    return path.with_name(f"{path.stem}-{guild_id}{path.suffix}")


def _sqlite_file_missing(url: str) -> str | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or Path(database).exists():
        return None
    return database


def run_export(config: Config, args: argparse.Namespace) -> int:
    """Write the export asked for by ``args`` (format, brew, guild, since, out); see module."""
    fmt = cast(Format, getattr(args, "format", None) or "markdown")
    if fmt not in FORMATS:
        _err(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
        return EXIT_BAD_INPUT
    since = None
    if getattr(args, "since", None):
        try:
            since = parse_since(args.since)
        except ValueError:
            _err(f"--since: expected a date like 2024-07-01 (year-month-day), got {args.since!r}")
            return EXIT_BAD_INPUT
    missing = _sqlite_file_missing(config.database.url)
    if missing is not None:
        _err(f"There is no database at {missing}. Check [database] url in {config.source}.")
        return EXIT_BAD_INPUT
    if getattr(args, "all_servers", False):
        from bot.regional_export import run_regional_export

        return run_regional_export(config, args)
    content = load_content(config.content.path)
    flt = ExportFilter(
        guild_id=getattr(args, "guild", None), brew_number=getattr(args, "brew", None), since=since
    )
    try:
        return asyncio.run(_export(config, content, fmt, flt, getattr(args, "out", None)))
    except (OperationalError, ProgrammingError) as exc:
        _err(
            "Could not read the database "
            f"({type(exc.orig).__name__ if exc.orig else 'error'}). "
            "Is it set up? Run: brewhost migrate"
        )
        return EXIT_BAD_INPUT


async def _export(
    config: Config, content: Content, fmt: Format, flt: ExportFilter, out: str | None
) -> int:
    """Write each server's file; CSV, JSON and Markdown are streamed from the database brew by
    brew (memory holds a few brews), the web page and Word reports are built whole."""
    engine = create_engine(config.database.url)
    sessions = session_factory(engine)
    zone = config.timing.zone()
    today = datetime.now(UTC).astimezone(zone).date()
    try:
        async with sessions() as session:
            guild_ids = await export_guild_ids(session, flt)
            if not guild_ids:
                where = "in this database" if flt.guild_id is None else "in that server"
                print(content.format("export.nothing", why=nothing_reason(flt, here=where)))
                return EXIT_NOTHING
            several = len(guild_ids) > 1
            if several:
                print(
                    f"Brews from {len(guild_ids)} servers: writing one file per server "
                    "(use --guild ID for just one)."
                )
            for guild_id in guild_ids:
                one = ExportFilter(guild_id, flt.brew_number, flt.since)
                main, chart = output_names(fmt, out)
                if several:
                    main = _with_suffix(main, guild_id)
                    chart = _with_suffix(chart, guild_id) if chart else None
                main.parent.mkdir(parents=True, exist_ok=True)
                if fmt in STREAMED_FORMATS:
                    plan = await plan_export(
                        session, one, content.prompts, zone, counts=fmt == "markdown"
                    )
                    brews = len(plan.brews)
                    reflections, written = await _stream_to(
                        session, plan, fmt, content, today, main, chart, config.database.url
                    )
                else:
                    data = await load_export(session, one, content.prompts, zone)
                    brews, reflections = len(data.brews), len(data.reflections)
                    written = []
                    for name, blob in await build_files(
                        data, fmt, content, generated_on=today, main_name=main.name
                    ):
                        path = main.parent / name
                        path.write_bytes(blob)
                        written.append(path)
                summary = f"{plural(brews, 'brew')}, {plural(reflections, 'reflection')}"
                names = " and ".join(str(p.resolve()) for p in written)
                print(f"Wrote {names} ({summary}).")
    finally:
        await engine.dispose()
    return EXIT_OK


async def _stream_to(
    session: AsyncSession,
    plan: ExportPlan,
    fmt: Format,
    content: Content,
    today: date,
    main: Path,
    chart: Path | None,
    database_url: str,
) -> tuple[int, list[Path]]:
    """Stream one server's export into ``main`` (and its chart beside it); the file appears
    under its name only once complete, so a failed export never leaves half a file behind."""
    partial = main.with_name(main.name + ".part")
    try:
        with partial.open("wb") as fh:
            done = await stream_export(
                session, plan, fmt, fh, content, generated_on=today,
                chart_name=chart.name if chart else None, offload=False,
                database_url=database_url,
            )  # fmt: skip
        partial.replace(main)
    finally:
        partial.unlink(missing_ok=True)
    written = [main]
    if done.chart is not None and chart is not None:
        await asyncio.to_thread(chart.write_bytes, done.chart)
        written.append(chart)
    return done.reflections, written
