"""The anonymity audit: after a real brew and real reflections, read EVERY table and column.

What is proved (issue 4, "Anonymous by construction"):

1. Reflection rows hold the brew, the text, the consent and a date only: no column for a user,
   member, channel, message or interaction id, no time of day, and none of those ids (nor any
   participant's id) appear inside any stored value.
2. No row anywhere holds a participant's user id next to a reflection id, and no table even has
   a column for a person next to a column for a reflection.
3. While the window is open the only link is a receipt, a keyed hash that is not the user id;
   after the window sweep no receipt and no secret remain, in the tables or in the database
   files on disk, so nothing links a person to a reflection.
4. No log line, from any logger at DEBUG (ours, discord.py, SQLAlchemy, aiosqlite,
   APScheduler), pairs a person's id with a reflection's id or words.

The schema is read with SQLAlchemy's inspector, and rows with plain sqlite3, so tables or
columns added later are audited too without changing this test.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from typing import Any

import pytest
from sqlalchemy import inspect, select

from bot.core.anonymity import receipt
from bot.db.models import Brew, ReflectionReceipt
from bot.logging_setup import quiet_libraries
from tests.integration.reflection_flow import (
    SPEED,
    BrewWorld,
    brew_world_fixture,  # noqa: F401 - the brew_world fixture
    close_window_now,
    run_brew_with_reflections,
)

PERSON_COLUMN = re.compile(r"(^|_)(user|member|facilitator|author|owner|ping)(_|$)")
DISCORD_ID_COLUMN = re.compile(r"(^|_)(user|member|channel|message|interaction|guild)(_|$)")
REFLECTION_COLUMN = re.compile(r"(^|_)reflection(_id)?$")


@pytest.fixture
def speed() -> float:
    return SPEED


def dump(world: BrewWorld) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every table: its columns and all its rows, straight from the file."""
    out = {}
    with sqlite3.connect(world.db_path) as conn:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not r[0].startswith("sqlite_")
        ]
        for table in tables:
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            out[table] = ([d[0] for d in cursor.description], cursor.fetchall())
    return out


def discord_ids(world: BrewWorld) -> set[str]:
    """Every id Discord (the simulator) gave out: people, channels, messages, interactions."""
    sim = world.sim
    ids = {str(m.id) for m in sim.members(world.guild_id)}
    ids |= {str(c.id) for c in sim.channels(world.guild_id)}
    ids |= {str(r.id) for r in sim.interactions}
    for channel in sim.channels(world.guild_id):
        ids |= {str(m.id) for m in sim.messages(channel.id, include_deleted=True)}
    ids |= {str(r.original_message_id) for r in sim.interactions if r.original_message_id}
    return ids


async def test_nothing_links_a_person_to_their_reflection(
    brew_world: BrewWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world = brew_world
    # Every logger at DEBUG, as `[logging] level = "DEBUG"` sets it: discord.py then prints
    # whole gateway events, SQLAlchemy and aiosqlite would print parameters (issue 11).
    caplog.set_level(logging.DEBUG)
    quiet_libraries(logging.DEBUG)
    flow = await run_brew_with_reflections(world)
    participants = {str(m.id) for m in world.participants}

    # --- the schema: what could be stored at all
    async with world.services.sessions() as session:
        schema = await session.run_sync(
            lambda s: {
                t: inspect(s.connection()).get_columns(t)
                for t in inspect(s.connection()).get_table_names()
            }
        )
    reflection_columns = {c["name"]: c for c in schema["reflections"]}
    assert set(reflection_columns) == {"id", "brew_id", "submitted_on", "consent", "answers"}
    assert not any(DISCORD_ID_COLUMN.search(name) for name in reflection_columns)
    assert "DATE" == str(reflection_columns["submitted_on"]["type"]).upper()  # not DATETIME
    for table, columns in schema.items():
        names = [c["name"] for c in columns]
        has_person = [n for n in names if PERSON_COLUMN.search(n)]
        has_reflection = [n for n in names if REFLECTION_COLUMN.search(n)]
        assert not (has_person and (has_reflection or table == "reflections")), (
            f"{table} could hold a person ({has_person}) next to a reflection"
        )

    # --- while the window is open: receipts are keyed hashes, never the id itself
    tables = dump(world)
    async with world.services.sessions() as session:
        brew = await session.get(Brew, flow.brew.id)
        assert brew is not None and brew.reflection_secret is not None
        secret = brew.reflection_secret
        receipts = list(await session.scalars(select(ReflectionReceipt.receipt)))
    assert len(receipts) == 3
    for value in receipts:
        assert not any(p in value for p in participants)
    assert receipt(secret, flow.button_user.id) in receipts

    # --- the rows: reflections hold no Discord id and only a date
    ids = discord_ids(world) | participants
    columns, rows = tables["reflections"]
    assert len(rows) == 3
    reflection_ids = {str(r[columns.index("id")]) for r in rows}
    for row in rows:
        record = dict(zip(columns, row, strict=True))
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(record["submitted_on"]))
        for value in row:
            text = str(value)
            assert not any(i in text for i in ids), f"a Discord id inside {record}"
            assert not re.search(r"\d{2}:\d{2}", text), f"a time of day in {record}"

    # --- no row anywhere puts a person next to a reflection id
    for table, (_columns, rows) in tables.items():
        for row in rows:
            values = {str(v) for v in row if v is not None}
            text = " ".join(values)
            if any(r in text for r in reflection_ids):
                assert not any(p in text for p in participants), (table, row)

    # The key is on disk now (so the check after the sweep below is not vacuous).
    files = list(world.db_path.parent.glob(world.db_path.name + "*"))
    assert any(secret in path.read_bytes() for path in files)

    # --- the window closes: key and receipts are destroyed
    assert await close_window_now(world, flow.brew.id) == 1
    after = dump(world)
    assert after["reflection_receipts"][1] == []
    columns, rows = after["brews"]
    secrets = [r[columns.index("reflection_secret")] for r in rows]
    assert secrets == [None]
    assert len(after["reflections"][1]) == 3  # the reflections themselves stay
    # Nothing left in the database files either (secure_delete and a truncated WAL).
    for path in world.db_path.parent.glob(world.db_path.name + "*"):
        blob = path.read_bytes()
        assert secret not in blob, f"the destroyed key is still in {path.name}"
        for value in receipts:
            assert value.encode() not in blob, f"a destroyed receipt is still in {path.name}"
    # And nothing can be recomputed: without the key a receipt cannot be made at all.
    assert all(r[columns.index("reflection_secret")] is None for r in rows)

    # --- the bot's logs never pair a person with a reflection
    words = [
        "Carers' time, valued.",
        "A better lasting thought.",
        "First thought.",
        "more budget",
    ]
    for record in caplog.records:
        if record.name.startswith("discordsim"):
            continue  # the simulator stands in for Discord, which does see everything
        line = record.getMessage()
        person = any(p in line for p in participants)
        reflection = any(r in line for r in reflection_ids) or any(w in line for w in words)
        assert not (person and reflection), f"log line links a person to a reflection: {line}"
