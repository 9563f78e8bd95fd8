"""The outbox: written with the state, carried out in order with fixed nonces, retried, and a
lost room handed on (bot/shell/outbox.py). A fake client records what would reach Discord."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.core.messages import Post
from bot.db import repo
from bot.db.models import Outbox as OutboxRow
from bot.db.models import Room
from bot.db.session import reading
from bot.shell.outbox import Outbox
from bot.shell.timers import Timers
from bot.shell.ui import ids
from tests.builders import (
    USERS,
    FakeClient,
    FakeTextChannel,
    FakeVoiceChannel,
    ShellDb,
    add_running_brew,
    http_error,
    open_shell_db,
)


@dataclass
class Setup:
    db: ShellDb
    client: FakeClient
    timers: Timers
    outbox: Outbox
    room_id: int
    brew_id: int
    text: FakeTextChannel
    lost: list[tuple[int, str]]


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    db = await open_shell_db(tmp_path)
    client = FakeClient()
    timers = Timers()  # never started: a retry is only noted, never fired
    lost: list[tuple[int, str]] = []

    async def on_room_gone(room_id: int, why: str) -> None:
        lost.append((room_id, why))

    brew_id, [room_id] = await add_running_brew(db.sessions)
    async with db.sessions() as session:
        room = await session.get(Room, room_id)
        assert room is not None and room.text_channel_id and room.voice_channel_id
        text = client.add(FakeTextChannel(room.text_channel_id))
        client.add(FakeVoiceChannel(room.voice_channel_id))
    outbox = Outbox(client, db.services, timers, on_room_gone)  # type: ignore[arg-type]
    try:
        yield Setup(db, client, timers, outbox, room_id, brew_id, text, lost)
    finally:
        await timers.stop(grace=0)
        await db.engine.dispose()


async def queue_posts(s: Setup, *posts: Post) -> None:
    async with s.db.sessions() as session:
        room = await repo.load_room(session, s.room_id)
        assert room is not None
        for post in posts:
            s.outbox.queue_post(session, room, post)
        await session.commit()


async def rows(s: Setup) -> list[OutboxRow]:
    async with s.db.sessions() as session:
        return list(await session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


async def test_queued_posts_are_rows_with_fixed_nonces_until_flushed(setup: Setup) -> None:
    s = setup
    await queue_posts(s, Post("one"), Post("two"))
    queued = await rows(s)
    assert [(r.kind, r.text, r.nonce) for r in queued] == [
        ("post", "one", f"bh{s.room_id}n1"),
        ("post", "two", f"bh{s.room_id}n2"),
    ]
    assert s.text.sent == []  # nothing reaches Discord until the flush

    await s.outbox.flush(s.room_id)
    assert [(m.text, m.nonce) for m in s.text.sent] == [
        ("one", f"bh{s.room_id}n1"),
        ("two", f"bh{s.room_id}n2"),
    ]
    assert await rows(s) == []
    await s.outbox.flush(s.room_id)  # a second flush repeats nothing
    assert len(s.text.sent) == 2


async def test_a_turn_prompt_pings_only_the_speaker_and_carries_the_room_buttons(
    setup: Setup,
) -> None:
    s = setup
    speaker = USERS[1]
    await queue_posts(s, Post("Your turn", speaker=speaker, buttons=("turn",)), Post("Notice"))
    await s.outbox.flush(s.room_id)
    prompt, notice = s.text.sent
    assert prompt.allowed_mentions is not None
    assert [u.id for u in prompt.allowed_mentions.users] == [speaker]  # type: ignore[union-attr]
    assert prompt.allowed_mentions.everyone is False
    assert prompt.custom_ids == [
        ids.turn_id("done", s.room_id, 0),
        ids.turn_id("pass", s.room_id, 0),
        ids.more_time_id(s.room_id, 0),
        ids.help_id(s.room_id),
    ]
    assert notice.view is None
    assert notice.allowed_mentions is not None and notice.allowed_mentions.users is False


async def test_the_close_message_carries_the_reflection_button(setup: Setup) -> None:
    s = setup
    await queue_posts(s, Post("Close", buttons=("reflect",)))
    await s.outbox.flush(s.room_id)
    assert s.text.sent[0].custom_ids == [f"bh:reflect:{s.brew_id}"]


async def test_a_refused_post_stops_the_flush_keeps_the_rest_and_retries_later(
    setup: Setup,
) -> None:
    s = setup
    await queue_posts(s, Post("one"), Post("two"), Post("three"))
    s.text.failures = [http_error(503)]
    await s.outbox.flush(s.room_id)
    assert s.text.sent == []
    assert [r.text for r in await rows(s)] == ["one", "two", "three"]
    assert s.timers.is_set(f"flush-{s.room_id}")
    assert s.lost == []

    await s.outbox.flush(s.room_id)  # what the retry timer does
    assert [m.text for m in s.text.sent] == ["one", "two", "three"]
    assert await rows(s) == []


async def test_a_missing_channel_hands_the_room_to_the_fault_handler(setup: Setup) -> None:
    s = setup
    await queue_posts(s, Post("one"))
    del s.client.guild.channels_by_id[s.text.id]
    await s.outbox.flush(s.room_id)
    assert s.lost == [(s.room_id, "a channel of this room was deleted")]


async def test_a_channel_deleted_under_the_bot_counts_as_missing(setup: Setup) -> None:
    s = setup
    await queue_posts(s, Post("one"))
    s.text.failures = [http_error(404)]
    await s.outbox.flush(s.room_id)
    assert s.lost == [(s.room_id, "a channel of this room was deleted")]
    assert not s.timers.is_set(f"flush-{s.room_id}")


async def test_cleanup_marks_the_room_ended_first_then_deletes_its_channels(
    setup: Setup,
) -> None:
    s = setup
    async with s.db.sessions() as session:
        room = await repo.load_room(session, s.room_id)
        assert room is not None
        s.outbox.queue_effect(session, room, "cleanup")
        await session.commit()
    await s.outbox.flush(s.room_id)
    async with s.db.sessions() as session:
        room = await session.get(Room, s.room_id)
        assert room is not None and room.status == "ended"
        voice = s.client.get_channel(room.voice_channel_id or 0)
    assert s.text.deleted and voice.deleted
    assert await rows(s) == []


async def test_a_rooms_flush_lock_exists_only_while_a_flush_holds_or_waits_for_it(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One flush at a time per room, and nothing kept once no flush needs the lock: a room
    whose last flush was still running when its brew ended keeps nothing either."""
    s = setup
    await s.outbox.flush(s.room_id)
    assert s.outbox._flush_locks == {} and s.outbox._flush_users == {}
    gate = asyncio.Event()
    flush = s.outbox._flush
    seen: list[str] = []

    async def slow(room_id: int, held: object) -> None:
        seen.append("start")
        await gate.wait()
        await flush(room_id, held)
        seen.append("end")

    monkeypatch.setattr(s.outbox, "_flush", slow)
    first = asyncio.create_task(s.outbox.flush_now(s.room_id))
    second = asyncio.create_task(s.outbox.flush_now(s.room_id))
    await asyncio.sleep(0.05)
    assert seen == ["start"]  # the second waits for the first
    s.outbox.forget([s.room_id])  # the brew ends while the flush runs
    assert set(s.outbox._flush_locks) == {s.room_id}
    gate.set()
    await asyncio.gather(first, second)
    assert seen == ["start", "end", "start", "end"]
    assert s.outbox._flush_locks == {} and s.outbox._flush_users == {}


async def _until(condition: Callable[[], bool], tries: int = 1000) -> None:
    for _ in range(tries):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("not within 5 s")


def _slow_records(s: Setup, monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Records of carried-out rows wait for the returned event before they are written."""
    gate = asyncio.Event()
    write = s.outbox._records._write

    async def slow(done: list[Any]) -> None:
        await gate.wait()
        await write(done)

    monkeypatch.setattr(s.outbox._records, "_write", slow)
    return gate


async def test_the_next_flush_goes_ahead_of_the_last_ones_record_and_repeats_none_of_it(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A room's nudge and its next prompt a moment later: the prompt's flush does not wait for
    the nudge's record to be written (the lock is given back once the posts are done), and
    takes the nudge's row, still in the database, as done rather than posting it again."""
    s = setup
    gate = _slow_records(s, monkeypatch)
    await queue_posts(s, Post("nudge"))
    first = asyncio.create_task(s.outbox.flush_now(s.room_id))
    await _until(lambda: len(s.text.sent) == 1)
    await queue_posts(s, Post("prompt"))
    second = asyncio.create_task(s.outbox.flush_now(s.room_id))
    await _until(lambda: len(s.text.sent) == 2)  # the nudge's record is still waiting
    assert [m.text for m in s.text.sent] == ["nudge", "prompt"]
    assert not first.done() and len(await rows(s)) == 2
    gate.set()
    await asyncio.gather(first, second)
    assert await rows(s) == [] and s.outbox._carried == {}
    await s.outbox.flush(s.room_id)
    assert [m.text for m in s.text.sent] == ["nudge", "prompt"]


async def test_rows_read_before_the_lock_are_not_posted_again_once_recorded(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch reads a busy room's rows in its transaction, then waits for the room's outbox
    (``enlist`` / ``flush_enlisted``); meanwhile the flush that held it records its rows and
    they are deleted. The rows read earlier still hold them: they are not posted again."""
    s = setup
    gate = _slow_records(s, monkeypatch)
    await queue_posts(s, Post("nudge"))
    first = asyncio.create_task(s.outbox.flush_now(s.room_id))
    await _until(lambda: len(s.text.sent) == 1)
    s.outbox.enlist(s.room_id)
    async with reading(s.db.sessions) as session:
        room, items = await repo.room_with_outbox(session, s.room_id)
    assert [i.text for i in items] == ["nudge"]
    gate.set()
    await first
    assert await rows(s) == []
    await s.outbox.flush_enlisted(s.room_id, room, items)
    assert [m.text for m in s.text.sent] == ["nudge"]
    assert s.outbox._carried == {} and s.outbox._flush_users == {}


async def test_writes_queue_in_asyncio_on_sqlite_only(setup: Setup) -> None:
    """SQLite takes one writer at a time, so batches and records queue behind one lock; on
    PostgreSQL that lock would hold every waiting batch's pooled connection idle (the pool ran
    dry at 50 servers), so there is none."""
    assert isinstance(setup.outbox.writing, asyncio.Lock)
    services = dataclasses.replace(
        setup.db.services,
        config=dataclasses.replace(
            setup.db.services.config,
            database=dataclasses.replace(
                setup.db.services.config.database, url="postgresql+asyncpg://127.0.0.1/test"
            ),
        ),
    )
    on_postgres = Outbox(setup.client, services, setup.timers, setup.outbox.on_room_gone)  # type: ignore[arg-type]
    assert not isinstance(on_postgres.writing, asyncio.Lock)
    async with on_postgres.writing, on_postgres.writing:  # never waits, even nested
        pass
