"""SQL used only by the benchmarks in ``bench/`` (never by the bot), kept in ``bot/db/`` by the
rule that no SQL lives anywhere else (``tests/db/test_sql_boundary.py``).

* :func:`bulk_writer`: SQLAlchemy Core bulk inserts through the models' own column types, for
  the 100k-reflection data generator (``bench/datagen.py``).
* :func:`move_brews_into_guild`, :func:`due_room_channels`, :func:`room_deadlines`: small
  set-ups and checks.
* ``plain_*``: the reads of the plain sqlite3 + csv comparison writer (``bench/plain_csv.py``).
  Standard-library ``sqlite3`` only, no Brew Host code, so it stays the honest baseline.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = [
    "bulk_writer",
    "due_room_channels",
    "move_brews_into_guild",
    "plain_brew_answers",
    "plain_exported_guilds",
    "plain_guild_brews",
    "room_deadlines",
]

_EXPORTED = "status IN ('running','ended') AND started_at IS NOT NULL"


@contextmanager
def bulk_writer(path: Path) -> Iterator[Callable[[str, Sequence[dict[str, Any]]], None]]:
    """A function ``write(table, rows)`` inserting into a migrated SQLite file in one
    transaction; ``table`` is one of ``guild_settings``, ``brews``, ``reflections``."""
    from sqlalchemy import create_engine, insert

    from bot.db.models import Brew, GuildSettings, Reflection

    models = {"guild_settings": GuildSettings, "brews": Brew, "reflections": Reflection}
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:

            def write(table: str, rows: Sequence[dict[str, Any]]) -> None:
                if rows:
                    conn.execute(insert(models[table]), list(rows))

            yield write
    finally:
        engine.dispose()


def move_brews_into_guild(path: Path, guild_id: int) -> None:
    """Every brew moved into ``guild_id`` and numbered by its id; server settings removed."""
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE brews SET guild_id = ?, number = id", (guild_id,))
        conn.execute("DELETE FROM guild_settings")


def due_room_channels(path: Path, now: datetime) -> set[int]:
    """Text channels of running rooms whose deadline is at or before ``now`` (naive UTC)."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT text_channel_id, phase_ends_at FROM rooms WHERE text_channel_id IS NOT NULL "
            "AND status = 'running' AND phase_ends_at IS NOT NULL"
        ).fetchall()
    return {int(ch) for ch, ends in rows if datetime.fromisoformat(ends) <= now}


def room_deadlines(path: Path) -> dict[int, tuple[str, int, datetime]]:
    """(phase, turn index, phase end as naive UTC) of every running room, by text channel:
    what the timetable promises, for the turn-prompt benchmark's due times."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT text_channel_id, phase, turn_index, phase_ends_at FROM rooms "
            "WHERE text_channel_id IS NOT NULL AND status = 'running' "
            "AND phase_ends_at IS NOT NULL"
        ).fetchall()
    return {
        int(ch): (str(phase), int(index), datetime.fromisoformat(ends))
        for ch, phase, index, ends in rows
    }


def plain_exported_guilds(conn: sqlite3.Connection) -> list[int]:
    """Servers with brews an export includes, in id order."""
    sql = f"SELECT DISTINCT guild_id FROM brews WHERE {_EXPORTED} ORDER BY guild_id"  # noqa: S608
    return [int(g) for (g,) in conn.execute(sql)]


def plain_guild_brews(conn: sqlite3.Connection, guild_id: int) -> list[tuple[Any, ...]]:
    """(id, number, title, area, question, started_at text) of a server's exported brews."""
    return conn.execute(
        "SELECT b.id, b.number, b.title, s.area_label, b.question, b.started_at "
        "FROM brews b LEFT JOIN guild_settings s ON s.guild_id = b.guild_id "
        "WHERE b.guild_id = ? AND b.status IN ('running','ended') AND b.started_at IS NOT NULL",
        (guild_id,),
    ).fetchall()


def plain_brew_answers(conn: sqlite3.Connection, brew_id: int) -> list[tuple[Any, str]]:
    """(consent, answers JSON text) of one brew's reflections."""
    return conn.execute(
        "SELECT consent, answers FROM reflections WHERE brew_id = ?", (brew_id,)
    ).fetchall()


async def copy_brews_to(sqlite_path: Path, url: str, guild_id: int) -> int:
    """Every brew and reflection of the SQLite file copied into the (migrated, empty) database
    at ``url``, all in ``guild_id`` and numbered by id, as :func:`move_brews_into_guild` does:
    the same 100k reflections for the PostgreSQL run of ``/brew export``. Returns the rows."""
    from sqlalchemy import create_engine, insert, select

    from bot.db.models import Brew, Reflection
    from bot.db.session import create_engine as create_async_engine

    source = create_engine(f"sqlite:///{sqlite_path}")
    target = create_async_engine(url)
    copied = 0
    try:
        with source.connect() as read:
            brews = [dict(r) for r in read.execute(select(Brew.__table__)).mappings()]
            for brew in brews:
                brew.update(guild_id=guild_id, number=brew["id"])
            async with target.begin() as write:
                await write.execute(insert(Brew), brews)
                result = read.execution_options(yield_per=5000).execute(
                    select(Reflection.__table__)
                )
                for part in result.mappings().partitions():
                    await write.execute(insert(Reflection), [dict(r) for r in part])
                    copied += len(part)
    finally:
        source.dispose()
        await target.dispose()
    return copied
