"""Rooms moved on in the same instant (bot/shell/batch.py): one transaction for all of them,
each room's messages posted once, and every room's next deadline the same instant again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from bot.db.models import Outbox as OutboxRow
from bot.db.models import Room
from bot.shell.batch import Gather
from bot.shell.recovery import advance_change
from bot.shell.runner import BrewRunner
from bot.shell.timers import Timers
from tests.builders import (
    USERS,
    FakeClient,
    FakeTextChannel,
    FakeVoiceChannel,
    ShellDb,
    add_running_brew,
    open_shell_db,
)


@dataclass
class Setup:
    db: ShellDb
    runner: BrewRunner
    room_ids: list[int]
    texts: dict[int, FakeTextChannel]
    commits: list[int]


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    db = await open_shell_db(tmp_path)
    client = FakeClient()
    timers = Timers()
    groups = [USERS[i : i + 2] for i in range(0, 6, 2)]
    _, room_ids = await add_running_brew(db.sessions, groups)
    texts: dict[int, FakeTextChannel] = {}
    async with db.sessions() as session:
        for room_id in room_ids:
            room = await session.get(Room, room_id)
            assert room is not None and room.text_channel_id and room.voice_channel_id
            texts[room_id] = client.add(FakeTextChannel(room.text_channel_id))
            client.add(FakeVoiceChannel(room.voice_channel_id))
    commits: list[int] = []

    def count(_: Any) -> None:
        commits.append(1)

    event.listen(db.engine.sync_engine, "commit", count)
    runner = BrewRunner(client, db.services, timers)  # type: ignore[arg-type]
    try:
        yield Setup(db, runner, room_ids, texts, commits)
    finally:
        runner.deadlines.stop()
        await timers.stop(grace=0)
        await db.engine.dispose()


async def test_rooms_due_together_change_in_one_commit_and_post_once_each(setup: Setup) -> None:
    failed = await setup.runner.batch.apply(setup.room_ids, advance_change)
    assert failed == {}
    # One transaction for the three rooms' states and messages, one for the three records.
    assert len(setup.commits) == 2
    for room_id in setup.room_ids:
        sent = setup.texts[room_id].sent
        assert len(sent) == 1 and "think" in sent[0].text.lower(), sent
    async with setup.db.sessions() as session:
        assert not list(await session.scalars(select(OutboxRow)))
        rooms = list(await session.scalars(select(Room).where(Room.id.in_(setup.room_ids))))
    assert {r.phase for r in rooms} == {"think"}
    # Moved on at one moment, so their next deadlines are one instant: they fire together.
    when = {setup.runner.deadlines.when(r) for r in setup.room_ids}
    assert len(when) == 1 and None not in when


async def test_a_room_whose_lock_is_held_waits_for_it_and_still_moves_on_once(
    setup: Setup,
) -> None:
    busy = setup.room_ids[0]
    async with setup.runner.lock(busy):
        applying = asyncio.create_task(setup.runner.batch.apply(setup.room_ids, advance_change))
        await asyncio.sleep(0.05)
        assert not setup.texts[busy].sent  # waits for the press being applied
    assert await applying == {}
    for room_id in setup.room_ids:
        assert len(setup.texts[room_id].sent) == 1


async def test_a_failed_transaction_fails_every_room_in_it_and_posts_nothing(
    setup: Setup,
) -> None:
    def broken(*_: Any) -> Any:
        raise RuntimeError("the database is not answering")

    failed = await setup.runner.batch.apply(setup.room_ids, broken)
    assert set(failed) == set(setup.room_ids)
    assert not any(t.sent for t in setup.texts.values())
    # Nothing is left locked: the same rooms move on at the next try.
    assert await setup.runner.batch.apply(setup.room_ids, advance_change) == {}
    assert all(len(t.sent) == 1 for t in setup.texts.values())


async def test_ticks_arriving_in_the_same_instant_are_applied_in_one_call() -> None:
    calls: list[list[int]] = []
    tasks: set[asyncio.Task[None]] = set()

    async def apply(room_ids: list[int]) -> dict[int, BaseException]:
        calls.append(sorted(room_ids))
        return {3: RuntimeError("room 3 is stuck")}

    def spawn(work: Any) -> None:
        tasks.add(asyncio.ensure_future(work))

    gather = Gather(apply, spawn)
    results = await asyncio.gather(*(gather.submit(r) for r in (1, 2, 3)), return_exceptions=True)
    assert calls == [[1, 2, 3]]
    assert results[:2] == [None, None] and isinstance(results[2], RuntimeError)
