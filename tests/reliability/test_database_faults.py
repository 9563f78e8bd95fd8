"""Database faults at the whole-brew level: the brew completes, every room reaches Close, every
member gets one turn prompt."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

import bot.db.session as db_session
from bot.db.migrate import upgrade
from bot.rehearsal.stage import build_world
from discordsim import DiscordSimulator

from .conftest import Harness, brews_and_rooms, room_problems, wait_all_ended


@pytest.fixture
def speed() -> float:
    return 30.0  # a 10-minute brew in 20 s; Arrive ends 2 s after the start


async def start_brew(h: Harness, people: int = 6) -> None:
    world = h.world
    await h.put_in_voice([*world.people[:people], world.facilitator])
    rec = await h.command(world.facilitator, "brew start", question="What's missing?", group_size=3)
    assert "rooms are open" in await h.final_text(rec)


BUSY_TIMEOUT_MS = 3000


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> int:
    """The bot's connections wait 3 s for the lock (30 s in production), so a lock held past
    the busy timeout costs this test seconds, not half a minute. Requested before the harness,
    so every connection the bot opens gets it."""
    monkeypatch.setattr(db_session, "SQLITE_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS)
    return BUSY_TIMEOUT_MS


async def test_sqlite_locked_across_a_deadline_longer_than_the_busy_timeout(
    short_busy_timeout: int, harness: Harness
) -> None:
    database = make_url(harness.db_url).database
    assert database is not None
    await start_brew(harness)
    held = threading.Event()
    release = threading.Event()

    def hold_lock() -> None:
        conn = sqlite3.connect(database, timeout=30, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")  # the write lock, held from another connection
            held.set()
            release.wait(30)
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    holder = threading.Thread(target=hold_lock, daemon=True)
    holder.start()
    assert await asyncio.to_thread(held.wait, 10)
    # Across the Arrive deadline (2 s in) and for longer than the busy timeout.
    await asyncio.sleep(short_busy_timeout / 1000 + 2.5)
    release.set()
    await asyncio.to_thread(holder.join, 10)
    await wait_all_ended(harness, timeout=60)
    _, rooms = await brews_and_rooms(harness)
    assert len(rooms) == 2 and not room_problems(harness, rooms), room_problems(harness, rooms)


async def test_postgres_connections_killed_mid_brew(postgres_url: str, tmp_path: Path) -> None:
    await asyncio.to_thread(upgrade, postgres_url)
    sim = DiscordSimulator()
    await sim.start()
    h = Harness(sim, build_world(sim), postgres_url, 30.0)
    url = make_url(postgres_url)
    try:
        await h.start()
        await h.configure()
        await start_brew(h)
        await h.wait_for(
            lambda: any("it is your turn" in t for c in h.room_channels() for t in h.texts(c)),
            timeout=30,
        )
        admin = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username, database="postgres"
        )
        try:
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                url.database,
            )
        finally:
            await admin.close()
        assert killed >= 1  # the bot's pooled connections, cut as a server restart would
        await wait_all_ended(h, timeout=120)
        _, rooms = await brews_and_rooms(h)
        assert len(rooms) == 2 and not room_problems(h, rooms), room_problems(h, rooms)
    finally:
        await h.stop()
        await sim.close()
