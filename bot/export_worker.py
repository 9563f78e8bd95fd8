"""``/brew export``'s CSV, JSON and Markdown files, written in a child process.

Why a process and not a thread: writing 100,000 reflections is a few seconds of pure Python.
In a worker thread it shares the bot's interpreter lock, and on a busy machine the operating
system can pause that thread while it holds the lock, so the event loop (every button and timer
in every room) waited 100-200 ms at a time (measured with ``bench/bench_exports.py``). A child
process has its own interpreter: it opens its own database connection (a plain SQLite
connection, or its own asyncpg pool for PostgreSQL), writes the file to disk, and the bot's loop
only waits for it to finish. The child is started with ``spawn`` (never ``fork`` from a process
with threads and an event loop) and lives only for one export.

An in-memory SQLite database cannot be seen from another process; for it (tests, rehearsals)
the export runs in a worker thread as before (:func:`can_use_child`).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.db.exports import ExportPlan
from bot.export_files import Format, Streamed, stream_export

__all__ = ["CHILD_NICENESS", "can_use_child", "child_pool", "export_in_child"]

log = logging.getLogger(__name__)

#: How much lower the child's CPU priority is than the bot's (``nice``). The export is batch
#: work; the bot's loop answers people. On a machine whose cores are all busy (2 cores: the
#: child, PostgreSQL serving it, and anything else), the kernel shared the CPU evenly and the
#: bot's process waited 100-230 ms for a turn while the child ran (measured with
#: ``bench/bench_exports.py``; the loop thread was found idle in ``epoll``, not working). At
#: +10 the child gets about a tenth of a contended core against the bot, all of an idle one.
CHILD_NICENESS = 10


def can_use_child(url: str) -> bool:
    """Whether a child process can open the database at ``url`` on its own."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return bool(parsed.database) and parsed.database != ":memory:"
    return True


async def _write(
    url: str, plan: ExportPlan, fmt: Format, path: str, title: str, generated_on: date,
    chart_name: str | None,
) -> Streamed:  # fmt: skip
    from bot.db.session import create_engine, session_factory

    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            # The child's own loop serves nothing else: a blocking file is fine here.
            with Path(path).open("wb") as out:  # noqa: ASYNC230
                return await stream_export(
                    session, plan, fmt, out, None, generated_on=generated_on,
                    chart_name=chart_name, offload=False, database_url=url, title=title,
                )  # fmt: skip
    finally:
        await engine.dispose()


def _child(
    url: str, plan: ExportPlan, fmt: Format, path: str, title: str, generated_on: date,
    chart_name: str | None,
) -> Streamed:  # fmt: skip
    """The child process's whole job: its own event loop, connection and file."""
    return asyncio.run(_write(url, plan, fmt, path, title, generated_on, chart_name))


def _lower_priority() -> None:
    """Run in the child before its work (the pool's initializer): step back for the bot."""
    try:
        os.nice(CHILD_NICENESS)
    except OSError:  # not permitted here: the export still runs, at the bot's priority
        log.debug("could not lower the export child's priority", exc_info=True)


def child_pool() -> ProcessPoolExecutor:
    """One short-lived child, started with ``spawn``, at :data:`CHILD_NICENESS` below us."""
    return ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_lower_priority,
    )


async def export_in_child(
    url: str,
    plan: ExportPlan,
    fmt: Format,
    path: Path,
    *,
    title: str,
    generated_on: date,
    chart_name: str | None,
) -> Streamed:
    """Write ``plan``'s export into the file ``path`` from a child process; the event loop only
    waits. Errors in the child are raised here."""
    pool = child_pool()
    try:
        # submit() starts the child and pickles the plan on the calling thread: not the loop's.
        future = await asyncio.to_thread(
            pool.submit, _child, url, plan, fmt, str(path), title, generated_on, chart_name
        )
        return await asyncio.wrap_future(future)
    finally:
        # Joining the finished child takes a moment: not on the loop either.
        await asyncio.to_thread(pool.shutdown)
