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
import sqlite3
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

from bot.config import Config
from bot.core.content import Content, load_content
from bot.core.export_model import plural
from bot.db import exports_sqlite
from bot.db.export_records import ExportFilter, ExportPlan
from bot.export_files import (
    FORMATS,
    STREAMED_FORMATS,
    Format,
    Streamed,
    build_files,
    nothing_reason,
    output_names,
    parse_since,
    report_title,
    stream_export,
    write_sqlite,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["EXIT_BAD_INPUT", "EXIT_NOTHING", "EXIT_OK", "run_export"]

EXIT_OK = 0
EXIT_NOTHING = 1
EXIT_BAD_INPUT = 2


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _with_suffix(path: Path, guild_id: int) -> Path:
    return path.with_name(f"{path.stem}-{guild_id}{path.suffix}")


def _sqlite_file_missing(url: str) -> str | None:
    plain = exports_sqlite.sqlite_file(url)
    if plain is not None:
        return None if Path(plain).exists() else plain
    from sqlalchemy.engine import make_url

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
    out = getattr(args, "out", None)
    plain = exports_sqlite.sqlite_file(config.database.url)
    if plain is not None and fmt in STREAMED_FORMATS:
        try:
            return _export_sqlite(plain, config, content, fmt, flt, out)
        except sqlite3.DatabaseError as exc:
            return _unreadable(type(exc).__name__)
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        return asyncio.run(_export(config, content, fmt, flt, out))
    except (OperationalError, ProgrammingError) as exc:
        return _unreadable(type(exc.orig).__name__ if exc.orig else "error")


def _unreadable(why: str) -> int:
    _err(f"Could not read the database ({why}). Is it set up? Run: brewhost migrate")
    return EXIT_BAD_INPUT


def _announce(guild_ids: list[int], flt: ExportFilter, content: Content) -> bool:
    """Say what will be written; ``False`` (with the reason printed) when nothing will."""
    if not guild_ids:
        where = "in this database" if flt.guild_id is None else "in that server"
        print(content.format("export.nothing", why=nothing_reason(flt, here=where)))
        return False
    if len(guild_ids) > 1:
        print(
            f"Brews from {len(guild_ids)} servers: writing one file per server "
            "(use --guild ID for just one)."
        )
    return True


def _names(fmt: Format, out: str | None, guild_id: int, several: bool) -> tuple[Path, Path | None]:
    main, chart = output_names(fmt, out)
    if several:
        main = _with_suffix(main, guild_id)
        chart = _with_suffix(chart, guild_id) if chart else None
    main.parent.mkdir(parents=True, exist_ok=True)
    return main, chart


def _wrote(written: list[Path], brews: int, reflections: int) -> None:
    summary = f"{plural(brews, 'brew')}, {plural(reflections, 'reflection')}"
    names = " and ".join(str(p.resolve()) for p in written)
    print(f"Wrote {names} ({summary}).")


def _export_sqlite(
    path: str, config: Config, content: Content, fmt: Format, flt: ExportFilter, out: str | None
) -> int:
    """CSV, JSON or Markdown from a SQLite file on one plain ``sqlite3`` connection: no
    SQLAlchemy, no event loop (:mod:`bot.db.exports_sqlite`). Same files as :func:`_export`."""
    zone = config.timing.zone()
    today = datetime.now(UTC).astimezone(zone).date()
    with exports_sqlite.reader(path) as conn:
        guild_ids = exports_sqlite.export_guild_ids(conn, flt)
        if not _announce(guild_ids, flt, content):
            return EXIT_NOTHING
        for guild_id in guild_ids:
            one = ExportFilter(guild_id, flt.brew_number, flt.since)
            main, chart = _names(fmt, out, guild_id, len(guild_ids) > 1)
            plan = exports_sqlite.plan_export(
                conn, one, content.prompts, zone, counts=fmt == "markdown"
            )
            write = partial(
                write_sqlite, conn, plan, fmt, title=report_title(content, plan),
                generated_on=today, chart_name=chart.name if chart else None,
            )  # fmt: skip
            done = _complete(main, write)
            written = [main]
            if done.chart is not None and chart is not None:
                chart.write_bytes(done.chart)
                written.append(chart)
            _wrote(written, len(plan.brews), done.reflections)
    return EXIT_OK


def _complete(main: Path, write: Callable[[BinaryIO], Streamed]) -> Streamed:
    """``write`` into ``main``, which appears under its name only once complete, so a failed
    export never leaves half a file behind."""
    partial = main.with_name(main.name + ".part")
    try:
        with partial.open("wb") as fh:
            done = write(fh)
        partial.replace(main)
    finally:
        partial.unlink(missing_ok=True)
    return done


async def _export(
    config: Config, content: Content, fmt: Format, flt: ExportFilter, out: str | None
) -> int:
    """Write each server's file through SQLAlchemy (PostgreSQL, or the web page and Word
    reports); CSV, JSON and Markdown are streamed from the database brew by brew (memory holds
    a few brews), the web page and Word reports are built whole."""
    from bot.db.exports import export_guild_ids, load_export, plan_export
    from bot.db.session import create_engine, session_factory

    engine = create_engine(config.database.url)
    sessions = session_factory(engine)
    zone = config.timing.zone()
    today = datetime.now(UTC).astimezone(zone).date()
    try:
        async with sessions() as session:
            guild_ids = await export_guild_ids(session, flt)
            if not _announce(guild_ids, flt, content):
                return EXIT_NOTHING
            for guild_id in guild_ids:
                one = ExportFilter(guild_id, flt.brew_number, flt.since)
                main, chart = _names(fmt, out, guild_id, len(guild_ids) > 1)
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
                _wrote(written, brews, reflections)
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
