"""What a room's prompt costs in database round trips (bot/db/session.py, bot/db/repo.py,
bot/db/measure.py): the flush reads its room and outbox in one query outside a transaction,
records what was done in one statement, and the pool checks only connections that sat idle.

The reads and writes are checked on SQLite and PostgreSQL; the round trips, the idle check and
what a dead connection costs, on PostgreSQL (where round trips are what they cost)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import DatabaseConfig
from bot.db import repo
from bot.db.measure import ROUND_TRIP_KINDS, count_round_trips
from bot.db.migrate import upgrade
from bot.db.models import Outbox, Room
from bot.db.session import create_engine, one_statement, reading, session_factory
from tests.builders import add_running_brew

Sessions = async_sessionmaker[AsyncSession]
FOUR = [101, 102, 103, 104]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(upgrade, database_url)
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def counts() -> Iterator[Counter[str]]:
    counted: Counter[str] = Counter()
    stop = count_round_trips(counted)
    try:
        yield counted
    finally:
        stop()


async def queue(sessions: Sessions, room_id: int, texts: list[str]) -> list[int]:
    async with sessions() as session:
        rows = [
            Outbox(room_id=room_id, kind="post", nonce=f"bh{room_id}n{i}", text=t)
            for i, t in enumerate(texts)
        ]
        session.add_all(rows)
        await session.commit()
        return [r.id for r in rows]


def trips(counts: Counter[str]) -> dict[str, int]:
    return {k: counts[k] for k in ROUND_TRIP_KINDS if counts[k]}


async def test_a_room_and_its_outbox_come_in_one_read(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    _, [busy, quiet] = await add_running_brew(sessions, [FOUR, [201, 202, 203]])
    ids = await queue(sessions, busy, ["first", "second", "third"])
    async with reading(sessions) as session:
        room, items = await repo.room_with_outbox(session, busy)
        other, none = await repo.room_with_outbox(session, quiet)
        missing = await repo.room_with_outbox(session, 999_999)
    assert room is not None and other is not None
    # Each member once (the rows are joined), the brew loaded, the rows in the order queued.
    assert sorted(m.user_id for m in room.members) == FOUR
    assert room.brew.question == "What's missing?"
    assert [i.id for i in items] == ids and [i.text for i in items] == ["first", "second", "third"]
    assert sorted(m.user_id for m in other.members) == [201, 202, 203] and none == []
    assert missing == (None, [])
    async with sessions() as session:
        loaded = await repo.load_room(session, busy)
    assert loaded is not None and sorted(m.user_id for m in loaded.members) == FOUR


async def test_what_was_done_is_recorded_in_one_write(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    _, [room_id] = await add_running_brew(sessions)
    ids = await queue(sessions, room_id, ["a", "b", "c"])
    async with one_statement(sessions) as session:
        await repo.outbox_done(session, room_id, ids[:2], 777)
    async with one_statement(sessions) as session:
        await repo.outbox_done(session, room_id, [], 778)  # a note alone
    async with sessions() as session:
        left = list(await session.scalars(select(Outbox.id)))
        room = await session.get(Room, room_id)
    assert left == ids[2:]
    assert room is not None and room.last_posted_id == 778
    async with one_statement(sessions) as session:
        await repo.outbox_done(session, room_id, ids[2:], None)  # a delete alone
    async with sessions() as session:
        assert list(await session.scalars(select(Outbox.id))) == []


async def test_a_flush_reads_and_records_in_one_round_trip_each(
    postgres_url: str, counts: Counter[str]
) -> None:
    await asyncio.to_thread(upgrade, postgres_url)
    engine = create_engine(postgres_url, DatabaseConfig(pool_size=1, max_overflow=0))
    sessions = session_factory(engine)
    try:
        _, [room_id] = await add_running_brew(sessions)
        ids = await queue(sessions, room_id, ["a", "b", "c", "d"])
        for done in ([ids[0]], [ids[1]]):  # the second time, every statement is prepared
            counts.clear()
            async with reading(sessions) as session:
                room, items = await repo.room_with_outbox(session, room_id)
            read = trips(counts)
            counts.clear()
            async with one_statement(sessions) as session:
                await repo.outbox_done(session, room_id, done, 1000 + done[0])
            record = trips(counts)
        assert room is not None and len(items) == 3
        # No BEGIN, no COMMIT or ROLLBACK, no ping (the connection was just used): one each.
        assert read == {"execute": 1}, read
        assert record == {"execute": 1}, record
        for _ in range(2):  # an ordinary session pays BEGIN and ROLLBACK (prepared the 2nd time)
            counts.clear()
            async with sessions() as session:
                await repo.load_room(session, room_id)
        assert trips(counts) == {"begin": 1, "execute": 1, "end": 1}
    finally:
        await engine.dispose()


async def backend_pid(sessions: Sessions) -> int:
    async with reading(sessions) as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate(postgres_url: str, pid: int) -> None:
    """Cut one connection from the server side, as a restart or a firewall would."""
    url = make_url(postgres_url)
    admin = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database="postgres"
    )
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def test_an_idle_connection_cut_by_the_server_is_replaced_before_use(
    postgres_url: str, counts: Counter[str]
) -> None:
    config = DatabaseConfig(pool_size=1, max_overflow=0, pool_ping_idle=0.2)
    engine = create_engine(postgres_url, config)
    sessions = session_factory(engine)
    try:
        first = await backend_pid(sessions)
        await asyncio.sleep(0.4)  # idle for longer than pool_ping_idle, and alive
        counts.clear()
        assert await backend_pid(sessions) == first  # checked and kept
        assert counts["ping"] == 1 and counts["connect"] == 0
        await terminate(postgres_url, first)
        await asyncio.sleep(0.4)  # idle for longer than pool_ping_idle
        counts.clear()
        second = await backend_pid(sessions)  # no error: the check found it dead
        assert second != first
        assert counts["ping"] == 1 and counts["connect"] == 1
        counts.clear()
        await backend_pid(sessions)  # used a moment ago: not checked
        assert counts["ping"] == 0
    finally:
        await engine.dispose()


async def test_a_connection_cut_while_busy_fails_one_request_then_all_are_replaced(
    postgres_url: str,
) -> None:
    config = DatabaseConfig(pool_size=2, max_overflow=0, pool_ping_idle=60)
    engine = create_engine(postgres_url, config)
    sessions = session_factory(engine)
    try:
        async with reading(sessions) as a, reading(sessions) as b:  # two pooled connections
            pids = {
                int((await s.execute(text("SELECT pg_backend_pid()"))).scalar_one()) for s in (a, b)
            }
        assert len(pids) == 2
        for pid in pids:
            await terminate(postgres_url, pid)
        # Not idle long enough to be checked: the first request finds the connection dead and
        # fails (the work is retried by its caller); SQLAlchemy then replaces every connection
        # of the pool that is older than the failure, so the next requests all work.
        with pytest.raises(DBAPIError) as info:
            await backend_pid(sessions)
        assert info.value.connection_invalidated
        after = {await backend_pid(sessions) for _ in range(3)}
        assert not after & pids
    finally:
        await engine.dispose()


async def test_with_checks_off_no_connection_is_ever_pinged(
    postgres_url: str, counts: Counter[str]
) -> None:
    config = DatabaseConfig(pool_size=1, max_overflow=0, pool_pre_ping=False, pool_ping_idle=0)
    engine = create_engine(postgres_url, config)
    sessions = session_factory(engine)
    try:
        await backend_pid(sessions)
        await asyncio.sleep(0.1)
        counts.clear()
        await backend_pid(sessions)
        assert counts["ping"] == 0 and counts["execute"] == 1
    finally:
        await engine.dispose()
