"""``brewhost run`` keeps idle memory small: Alembic and Pillow load only when needed (and
matplotlib not at all)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from bot.db.migrate import current_head, upgrade
from bot.db.schema_version import schema_is_current, shipped_heads


def test_the_running_bot_loads_neither_alembic_nor_pillow_nor_icalendar() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, bot.cli, bot.shell.app, bot.services, bot.db.schema_version, cogs.brew,"
            " cogs.reflections; print(sorted(m for m in ('alembic', 'matplotlib', 'PIL', 'icalendar',"
            " 'mako') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "[]"


def test_the_running_bot_on_sqlite_loads_no_exporter_and_no_postgresql_dialect() -> None:
    """What a bot needs only when someone exports (the exporters, the report builders and
    charts), when a content file has a mistake (difflib), or on PostgreSQL (its dialect) loads
    then, not at start (idle memory, issue 12). The SQLite engine is made, as at start."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, bot.cli, bot.shell.app, bot.services, cogs.brew, cogs.reflections;"
            " from bot.db.session import create_engine; create_engine('sqlite+aiosqlite:///x.db');"
            " print(sorted(m for m in sys.modules if m.startswith(('bot.core.export_csv',"
            " 'bot.core.export_markdown', 'bot.core.export_model', 'bot.core.chart', 'bot.export',"
            " 'bot.regional_export', 'bot.shell.organiser', 'bot.shell.regional', 'bot.db.exports',"
            " 'sqlalchemy.dialects.postgresql', 'difflib'))))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "[]"


def test_importing_the_cli_loads_neither_alembic_nor_pillow_nor_discord() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, bot.cli; print(sorted(m for m in ('alembic', 'matplotlib', 'PIL', 'discord',"
            " 'mako') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "[]"


def test_the_shipped_heads_read_without_alembic_match_alembics_own() -> None:
    assert shipped_heads() == {current_head()}


def test_schema_check_says_current_only_for_a_database_at_head(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'brewhost.db'}"
    assert asyncio.run(schema_is_current(url)) is False  # no database yet
    upgrade(url)
    assert asyncio.run(schema_is_current(url)) is True
    import sqlite3

    with sqlite3.connect(tmp_path / "brewhost.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'older'")
    assert asyncio.run(schema_is_current(url)) is False


def test_the_running_bot_loads_no_process_pool_and_no_tzlocal() -> None:
    """APScheduler's base scheduler imports its process-pool executor (``multiprocessing``,
    ``concurrent.futures.process``) and ``tzlocal``, which Brew Host never uses (jobs run on the
    event loop, every time zone is UTC): 0.6 MiB at idle (issue 12). The timers still run, and
    the real modules still load when something asks for them."""
    script = """
import asyncio, sys, time
import bot.cli, bot.shell.app, bot.services, cogs.brew, cogs.reflections
from bot.shell.timers import Timers

async def main():
    timers = Timers()
    timers.start()
    fired = asyncio.Event()
    ticks = []

    async def once():
        fired.set()

    async def tick():
        ticks.append(1)

    timers.at("once", time.time() + 0.05, once)
    timers.every("tick", 0.05, tick)
    await asyncio.wait_for(fired.wait(), 5)
    while not ticks:
        await asyncio.sleep(0.01)
    await timers.stop()

asyncio.run(main())
heavy = ("multiprocessing", "concurrent.futures.process", "tzlocal", "apscheduler.executors.pool")
print(sorted(m for m in heavy if m in sys.modules))
from apscheduler.executors.pool import ThreadPoolExecutor
import tzlocal
print(ThreadPoolExecutor.__module__, callable(tzlocal.get_localzone))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "apscheduler.executors.pool True"
