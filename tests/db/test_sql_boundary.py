"""``bot/db/`` is the only place that builds or runs SQL (and ``migrations/``, which is schema).

Everything else in the product (``bot/``, ``cogs/``) and in the tools beside it (``bench/``,
``discordsim/``) calls named functions of ``bot.db`` instead. The check reads each module's
syntax tree: it finds SQL-building names imported from SQLAlchemy (``select``, ``update``,
``text``, ``func``...), ``import sqlalchemy`` itself, and calls that run statements
(``.execute(``, ``.scalar(``, ``.scalars(``, ``.exec_driver_sql(``...). Importing exception
classes, session types or ``make_url`` is fine: none of those builds a statement.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("bot", "cogs", "bench", "discordsim")
ALLOWED = (ROOT / "bot" / "db",)

#: SQLAlchemy modules whose names may be imported outside bot/db: none of them builds SQL.
HARMLESS_MODULES = {"sqlalchemy.exc", "sqlalchemy.ext.asyncio", "sqlalchemy.engine"}
#: Names that build SQL statements or expressions.
SQL_NAMES = {
    "select",
    "insert",
    "update",
    "delete",
    "text",
    "func",
    "and_",
    "or_",
    "not_",
    "exists",
    "literal",
    "literal_column",
    "column",
    "table",
    "union",
    "union_all",
    "case",
    "cast",
    "bindparam",
    "tuple_",
    "values",
    "lambda_stmt",
    "true",
    "false",
    "null",
}
#: Methods that run a statement.
RUNNERS = {
    "execute",
    "scalar",
    "scalars",
    "exec_driver_sql",
    "stream",
    "stream_scalars",
    "run_sync",
}


def sql_uses(source: str) -> list[str]:
    """Where ``source`` builds or runs SQL: ``"line N: what"`` for each place."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "sqlalchemy" or (
                    alias.name.startswith("sqlalchemy.")
                    and not alias.name.startswith(tuple(HARMLESS_MODULES))
                ):
                    found.append(f"line {node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            module = node.module or ""
            for alias in node.names:
                harmless = module in HARMLESS_MODULES or module.startswith(
                    tuple(f"{m}." for m in HARMLESS_MODULES)
                )
                if alias.name in SQL_NAMES or alias.name == "*" or not harmless:
                    found.append(f"line {node.lineno}: from {module} import {alias.name}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in RUNNERS
        ):
            found.append(f"line {node.lineno}: .{node.func.attr}(...)")
    return found


def scanned_files() -> list[Path]:
    files = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if not any(path.is_relative_to(allowed) for allowed in ALLOWED):
                files.append(path)
    return files


def test_only_bot_db_builds_or_runs_sql() -> None:
    offences = {
        str(path.relative_to(ROOT)): uses
        for path in scanned_files()
        if (uses := sql_uses(path.read_text(encoding="utf-8")))
    }
    assert offences == {}, (
        "SQL outside bot/db/: give it a named function in a bot/db module and call that.\n"
        + "\n".join(f"{name}: {'; '.join(uses)}" for name, uses in offences.items())
    )


def test_the_scan_covers_the_shell_the_cogs_and_the_tools() -> None:
    names = {str(path.relative_to(ROOT)) for path in scanned_files()}
    for expected in (
        "bot/shell/organiser.py",
        "bot/shell/reflections.py",
        "bot/shell/mixing.py",
        "bot/shell/brews.py",
        "bot/shell/runner.py",
        "bot/export_cli.py",
        "cogs/brew.py",
        "cogs/brew_controls.py",
        "cogs/reflections.py",
    ):
        assert expected in names
    assert not any(name.startswith("bot/db/") for name in names)


@pytest.mark.parametrize(
    "module", ["privacy", "exports", "reflections", "brews", "pair_history", "repo"]
)
def test_the_check_finds_the_sql_that_bot_db_holds(module: str) -> None:
    # The same check, pointed at the modules allowed to hold SQL, must find it there.
    source = (ROOT / "bot" / "db" / f"{module}.py").read_text(encoding="utf-8")
    assert sql_uses(source)


@pytest.mark.parametrize(
    "snippet",
    [
        "from sqlalchemy import select",
        "from sqlalchemy import delete as remove",
        "from sqlalchemy import func",
        "from sqlalchemy import text",
        "from sqlalchemy.sql import select",
        "from sqlalchemy.dialects.postgresql import insert",
        "import sqlalchemy",
        "import sqlalchemy as sa",
        "import sqlalchemy.sql.expression",
        "from sqlalchemy import *",
        "async def f(session):\n    await session.execute(query)",
        "async def f(session):\n    return await session.scalar(query)",
        "async def f(session):\n    return list(await session.scalars(query))",
        "async def f(conn):\n    await conn.exec_driver_sql('VACUUM')",
    ],
)
def test_the_check_catches_each_way_of_building_or_running_sql(snippet: str) -> None:
    assert sql_uses(snippet)


@pytest.mark.parametrize(
    "snippet",
    [
        "from sqlalchemy.exc import IntegrityError",
        "from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker",
        "from sqlalchemy.engine import make_url",
        "async def f(session):\n    await session.commit()",
        "from bot.db.brews import running_brews",
    ],
)
def test_the_check_lets_types_errors_and_db_calls_through(snippet: str) -> None:
    assert sql_uses(snippet) == []
