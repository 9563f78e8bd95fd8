"""Stop the bot mid-turn; a new process on the same database finishes the brew, each prompt once."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Brew, Room

from .conftest import Harness


@pytest.fixture
def speed() -> float:
    return 60.0  # a one-minute turn lasts one second


async def test_a_brew_survives_a_restart_mid_turn(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    await harness.put_in_voice([*world.people[:8], world.facilitator])
    rec = await harness.command(world.facilitator, "brew start", question="What's missing?")
    assert "2 rooms are open" in await harness.final_text(rec)
    rooms = harness.room_channels()

    # Wait until the first room is in its second person's turn, then stop the bot.
    def in_second_turn() -> bool:
        return any("(2 of 4)" in t for t in harness.texts(rooms[0]))

    await harness.wait_for(in_second_turn, timeout=20)
    await harness.stop()
    await asyncio.sleep(1.5)  # deadlines fall due while nobody is running

    await harness.start(seed=99)  # a new process: nothing in memory, only the database
    await harness.wait_for(lambda: not harness.room_channels(), timeout=40)

    from bot.db.session import create_engine, session_factory

    engine = create_engine(harness.db_url)
    async with session_factory(engine)() as session:
        brew = await session.scalar(select(Brew))
        db_rooms = list(await session.scalars(select(Room).order_by(Room.index)))
    await engine.dispose()
    assert brew is not None
    for room in db_rooms:
        texts = [
            m.content
            for m in sim.messages(room.text_channel_id, include_deleted=True)
            if m.author_id == sim.bot_id
        ]
        speakers = [
            int(re.search(r"<@(\d+)>", t).group(1)) for t in texts if "it is your turn" in t
        ]
        assert speakers == room.turn_order, (speakers, room.turn_order)
        counts = Counter(texts)
        duplicates = {t: n for t, n in counts.items() if n > 1}
        assert not duplicates
        heads = [t.split("\n")[0] for t in texts if t.startswith("**")][1:]
        assert heads[-1] == "**Close**" and heads.count("**Reflect together**") == 1


async def test_a_crash_between_posting_and_noting_it_posts_nothing_twice(harness: Harness) -> None:
    """The hardest window: the prompt went out, then the process died before it deleted the
    outbox row. On restart the row is carried out again with the same nonce, and Discord (here,
    the simulator) returns the first message instead of posting a second."""
    from bot.db.models import Outbox

    sim, world = harness.sim, harness.world
    await harness.put_in_voice([*world.people[:4], world.facilitator])
    rec = await harness.command(world.facilitator, "brew start", question="What's missing?")
    assert "1 room is open" in await harness.final_text(rec)
    room_channel = harness.room_channels()[0]
    await harness.wait_for(lambda: any("(1 of 4)" in t for t in harness.texts(room_channel)))
    await harness.command(world.facilitator, "brew pause")
    await harness.wait_for(lambda: any("paused the brew" in t for t in harness.texts(room_channel)))
    await harness.stop()

    prompt = next(m for m in sim.messages(room_channel.id) if "(1 of 4)" in m.content and m.nonce)
    async with harness_sessions(harness) as session:
        room = await session.scalar(select(Room))
        assert room is not None
        session.add(
            Outbox(
                room_id=room.id,
                kind="post",
                nonce=str(prompt.nonce),
                text=prompt.content,
                step=room.step,
            )
        )
        await session.commit()

    await harness.start()
    await harness.wait_for(lambda: not outbox_left(harness), timeout=10)
    texts = [m.content for m in sim.messages(room_channel.id) if m.author_id == sim.bot_id]
    assert sum("(1 of 4)" in t for t in texts) == 1


@contextlib.asynccontextmanager
async def harness_sessions(harness: Harness) -> AsyncIterator[AsyncSession]:
    """A session on the brew's database while the bot is stopped (engine disposed after)."""
    from bot.db.session import create_engine, session_factory

    engine = create_engine(harness.db_url)
    try:
        async with session_factory(engine)() as session:
            yield session
    finally:
        await engine.dispose()


def outbox_left(harness: Harness) -> bool:
    import sqlite3

    path = harness.db_url.split("///", 1)[1]
    with sqlite3.connect(path) as conn:
        return bool(conn.execute("select count(*) from outbox").fetchone()[0])
