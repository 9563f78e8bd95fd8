"""Nobody stranded, nothing silent (issue 10): a database write failing at a deadline, Discord
refusing one room's messages for a while, a restart while rooms open, and a restart after a
downtime longer than Discord remembers nonces."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Outbox, Room
from bot.shell import outbox_rules
from bot.shell.timers import Backoff
from discordsim import GUILD_VOICE, Permission
from discordsim.messages import NONCE_WINDOW_SECONDS

from .conftest import Harness


@pytest.fixture
def speed() -> float:
    return 30.0  # a one-minute turn lasts two seconds


@contextlib.asynccontextmanager
async def stopped_db(harness: Harness) -> AsyncIterator[AsyncSession]:
    """A session on the brew's database while the bot is stopped."""
    from bot.db.session import create_engine, session_factory

    engine = create_engine(harness.db_url)
    try:
        async with session_factory(engine)() as session:
            yield session
    finally:
        await engine.dispose()


@contextlib.contextmanager
def failing_commits(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, bool]]:
    """Every database commit fails while ``state["broken"]`` (as when SQLite stays locked past
    its busy timeout, or PostgreSQL drops the connection)."""
    state = {"broken": False}
    real = AsyncSession.commit

    async def commit(self: AsyncSession) -> None:
        if state["broken"]:
            raise OperationalError("COMMIT", {}, Exception("database is locked"))
        await real(self)

    monkeypatch.setattr(AsyncSession, "commit", commit)
    yield state


def hall(harness: Harness) -> list[str]:
    return [m.content for m in harness.bot_messages(harness.world.hall)]


async def test_a_database_failing_at_a_deadline_does_not_freeze_the_room(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = harness.world
    assert harness.bot is not None
    harness.bot.timers.backoff = Backoff(delays=(0.05, 0.1, 0.2), alert_after=1.0)
    await harness.put_in_voice([*world.people[:4], world.facilitator])
    rec = await harness.command(world.facilitator, "brew start", question="What's missing?")
    assert "1 room is open" in await harness.final_text(rec)
    [room] = harness.room_channels()
    await harness.wait_for(lambda: any("**Arrive" in t for t in harness.texts(room)))
    with failing_commits(monkeypatch) as state:
        state["broken"] = True  # across the Arrive deadline (two seconds at this speed)
        stuck = await harness.wait_for(
            lambda: [t for t in hall(harness) if "is stuck" in t], timeout=15
        )
        assert not any("**Think**" in t for t in harness.texts(room))
        state["broken"] = False
    [text] = stuck
    assert "Room 1 of brew 1 is stuck" in text and "database is not answering" in text
    await harness.wait_for(lambda: any("**Think**" in t for t in harness.texts(room)))
    await harness.wait_for(lambda: any("is moving on again" in t for t in hall(harness)))
    assert len([t for t in hall(harness) if "is stuck" in t]) == 1  # told once
    await harness.command(world.facilitator, "brew end")


async def test_a_room_refusing_messages_for_a_while_is_told_once_and_gets_no_stale_prompt(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, world = harness.sim, harness.world
    monkeypatch.setattr(outbox_rules, "STALE_GRACE_S", 0.3)
    await harness.put_in_voice([*world.people[:8], world.facilitator])
    rec = await harness.command(world.facilitator, "brew start", question="What's missing?")
    assert "2 rooms are open" in await harness.final_text(rec)
    first, second = harness.room_channels()
    await harness.wait_for(lambda: any("(1 of 4)" in t for t in harness.texts(first)), 30)
    # The bot's own overwrite in the room (what the opener gave it), minus Send Messages.
    mine = (
        Permission.VIEW_CHANNEL
        | Permission.READ_MESSAGE_HISTORY
        | Permission.MANAGE_CHANNELS
        | Permission.CONNECT
        | Permission.MOVE_MEMBERS
    )
    sim.set_overwrite(first.id, sim.bot_id, allow=mine, deny=Permission.SEND_MESSAGES)
    await asyncio.sleep(5)  # two and a half turns pass with the room refusing the bot
    async with harness.sessions() as session:
        room = await session.scalar(select(Room).where(Room.text_channel_id == first.id))
        assert room is not None
        turn_when_allowed = room.turn_index
    sim.set_overwrite(first.id, sim.bot_id, allow=mine | Permission.SEND_MESSAGES)
    await harness.wait_for(lambda: not harness.room_channels(), timeout=60)

    told = [t for t in hall(harness) if "can't post in room 1" in t]
    assert len(told) == 1 and "Send Messages" in told[0]
    assert not any("room 2" in t.lower() and "can't post" in t for t in hall(harness))
    texts = [m.content for m in sim.messages(first.id, include_deleted=True)]
    positions = [int(t.split("(")[1].split(" of")[0]) for t in texts if "it is your turn" in t]
    # No burst of old prompts: after the denial, the first prompt is for the turn then current
    # (or later), and every prompt appears once, in order.
    assert positions == sorted(set(positions)) and positions[0] == 1
    later = [p for p in positions if p > 1]
    assert all(p >= turn_when_allowed + 1 for p in later), (positions, turn_when_allowed)
    assert len(positions) < 4
    assert any(t.startswith("**Close**") for t in texts)
    # The other room heard every prompt.
    others = [m.content for m in sim.messages(second.id, include_deleted=True)]
    assert sum("it is your turn" in t for t in others) == 4


async def test_a_restart_while_rooms_open_adopts_or_remakes_their_channels(
    harness: Harness,
) -> None:
    sim, world = harness.sim, harness.world
    await harness.put_in_voice([*world.people[:8], world.facilitator])
    rec = await harness.command(world.facilitator, "brew start", question="What's missing?")
    assert "2 rooms are open" in await harness.final_text(rec)
    first_text, second_text = harness.room_channels()
    pause = await harness.command(world.facilitator, "brew pause")
    assert "paused" in (await harness.final_text(pause)).lower()
    await harness.wait_for(lambda: any("paused the brew" in t for t in harness.texts(first_text)))
    await harness.stop()
    # As if the process died while room 2 was being made: its voice channel exists, its text
    # channel was never made, and nothing about it was saved.
    sim.delete_channel(second_text.id)
    async with stopped_db(harness) as session:
        room = await session.scalar(select(Room).where(Room.index == 1))
        assert room is not None
        voice_id = room.voice_channel_id
        room.status, room.phase, room.step, room.turn_index = "opening", "arrive", 0, -1
        room.voice_channel_id = room.text_channel_id = room.last_posted_id = None
        room_id = room.id
        await session.execute(delete(Outbox).where(Outbox.room_id == room_id))
        await session.commit()

    await harness.start()
    await harness.wait_for(lambda: len(harness.room_channels()) == 2, timeout=20)
    _, remade = harness.room_channels()
    guide = await harness.wait_for(
        lambda: [m for m in harness.bot_messages(remade) if "What's missing?" in m.content]
    )
    assert all(f"<@{p.id}>" in guide[0].content for p in world.people[:8] if f"<@{p.id}>"
               in guide[0].content)  # fmt: skip
    async with harness.sessions() as session:
        room = await session.get(Room, room_id)
        assert room is not None
        assert room.status == "running" and room.voice_channel_id == voice_id  # adopted
        assert room.text_channel_id == remade.id
    # The brew was paused: the new room waits too, then everything runs out on resume.
    await harness.command(world.facilitator, "brew resume")
    await harness.wait_for(lambda: not harness.room_channels(), timeout=60)

    def voice_rooms() -> list[object]:
        return [
            c for c in sim.channels(world.guild.id, type=GUILD_VOICE) if c.name.startswith("Room ")
        ]

    await harness.wait_for(lambda: not voice_rooms(), timeout=10)  # no channel leaked


async def test_no_prompt_is_posted_twice_after_a_downtime_longer_than_nonces_last(
    harness: Harness,
) -> None:
    sim, world = harness.sim, harness.world
    await harness.put_in_voice([*world.people[:4], world.facilitator])
    rec = await harness.command(world.facilitator, "brew start", question="What's missing?")
    assert "1 room is open" in await harness.final_text(rec)
    [channel] = harness.room_channels()
    await harness.wait_for(lambda: any("(1 of 4)" in t for t in harness.texts(channel)), 30)
    await harness.command(world.facilitator, "brew pause")
    await harness.wait_for(lambda: any("paused the brew" in t for t in harness.texts(channel)))
    await harness.stop()

    posted = harness.bot_messages(channel)
    index = next(i for i, m in enumerate(posted) if "(1 of 4)" in m.content)
    prompt, before = posted[index], posted[index - 1]
    # The process died after posting the prompt and before noting it: its row is still there
    # and the last post it knew of is the one before.
    async with stopped_db(harness) as session:
        room = await session.scalar(select(Room))
        assert room is not None
        room.last_posted_id = before.id
        session.add(
            Outbox(room_id=room.id, kind="post", nonce=str(prompt.nonce), text=prompt.content,
                   step=room.step, for_phase="turns", for_turn=0)
        )  # fmt: skip
        await session.commit()
    sim.advance_time(NONCE_WINDOW_SECONDS + 60)  # Discord has forgotten the nonce by now

    await harness.start()

    def outbox_empty() -> Any:
        import sqlite3

        path = harness.db_url.split("///", 1)[1]
        with sqlite3.connect(path) as conn:
            return not conn.execute("select count(*) from outbox").fetchone()[0]

    await harness.wait_for(outbox_empty, timeout=15)
    await asyncio.sleep(0.3)
    texts = [m.content for m in harness.bot_messages(channel)]
    assert sum("(1 of 4)" in t for t in texts) == 1
    await harness.command(world.facilitator, "brew end")
