"""The core must stay plain Python: no Discord, database or scheduler imports."""

from __future__ import annotations

import ast
from pathlib import Path

import bot.core

FORBIDDEN = ("discord", "sqlalchemy", "apscheduler", "aiosqlite", "asyncpg", "alembic", "aiohttp")


def test_no_core_module_imports_discord_sqlalchemy_or_apscheduler():
    root = Path(bot.core.__file__).parent
    offenders = []
    files = sorted(root.rglob("*.py"))
    assert len(files) >= 5
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in FORBIDDEN:
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []
