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
