"""Nothing silent: failing timers are retried with backoff and reported once when stuck; the
outbox stops at errors that will not heal and tells the facilitator once, drops posts whose
moment has passed, and posts the guide first (bot/shell/timers.py, bot/shell/outbox.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import discord
import pytest
from sqlalchemy import select

from bot.core.messages import Post
from bot.db import repo
from bot.db.models import Outbox as OutboxRow
from bot.db.models import Room
from bot.shell.outbox import Outbox, classify
from bot.shell.outbox_rules import STALE_GRACE_S
from bot.shell.timers import Backoff, Retry, Timers
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

WAIT = 5.0


# ------------------------------------------------------------------ timers
async def test_a_failing_timer_is_retried_with_backoff_reported_once_and_healed() -> None:
    timers = Timers(backoff=Backoff(delays=(0.01, 0.02), alert_after=0.1))
    timers.start()
    attempts = 0
    stuck: list[tuple[str, float]] = []
    healed = asyncio.Event()

    async def tick() -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 12:
            raise RuntimeError("database is locked")

    async def on_stuck(exc: BaseException, seconds: float) -> None:
        stuck.append((str(exc), seconds))

    async def on_healed(seconds: float) -> None:
        healed.set()

    try:
        timers.at("room-1", 0, tick, retry=Retry(on_stuck=on_stuck, on_healed=on_healed))
        await asyncio.wait_for(healed.wait(), WAIT)
    finally:
        await timers.stop(grace=0.1)
    assert attempts == 12
    assert len(stuck) == 1 and stuck[0][0] == "database is locked" and stuck[0][1] >= 0.1
    assert not timers.failing("room-1")


def test_backoff_waits_longer_each_time_then_repeats_the_last_wait() -> None:
    backoff = Backoff()
    assert [backoff.delay(n) for n in range(1, 8)] == [1, 2, 5, 10, 30, 30, 30]
    assert backoff.alert_after == 120


def test_errors_that_will_not_heal_are_told_apart_from_those_that_may() -> None:
    response = type("R", (), {"status": 403, "reason": "Forbidden"})()
    assert classify(discord.Forbidden(response, {"code": 50013, "message": "x"})) == "forbidden"
    assert classify(http_error(400, "Invalid Form Body")) == "refused"
    assert classify(http_error(404)) == "gone"
    for healing in (http_error(500), http_error(502), http_error(429), TimeoutError(), OSError()):
        assert classify(healing) == "transient"


# ------------------------------------------------------------------ outbox
@dataclass
class Setup:
    db: ShellDb
    client: FakeClient
    timers: Timers
    outbox: Outbox
    room_id: int
    text: FakeTextChannel
    told: list[tuple[int, str, list[int]]]


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    db = await open_shell_db(tmp_path)
    client = FakeClient()
    timers = Timers()  # never started: a retry is only noted, never fired
    told: list[tuple[int, str, list[int]]] = []

    async def gone(room_id: int, why: str) -> None:
        raise AssertionError("no room is lost here")

    async def tell(room_id: int, text: str, ping: Sequence[int]) -> None:
        told.append((room_id, text, list(ping)))

    _, [room_id] = await add_running_brew(db.sessions)
    async with db.sessions() as session:
        room = await session.get(Room, room_id)
        assert room is not None and room.text_channel_id and room.voice_channel_id
        text = client.add(FakeTextChannel(room.text_channel_id))
        client.add(FakeVoiceChannel(room.voice_channel_id))
    outbox = Outbox(client, db.services, timers, gone, tell=tell)  # type: ignore[arg-type]
    try:
        yield Setup(db, client, timers, outbox, room_id, text, told)
    finally:
        await timers.stop(grace=0)
        await db.engine.dispose()


async def queue(
    s: Setup, text: str, *, for_phase: str | None = None, for_turn: int | None = None
) -> None:
    async with s.db.sessions() as session:
        room = await repo.load_room(session, s.room_id)
        assert room is not None
        s.outbox.queue_post(session, room, Post(text), for_phase=for_phase, for_turn=for_turn)
        await session.commit()


async def set_room(s: Setup, **fields: object) -> None:
    async with s.db.sessions() as session:
        room = await session.get(Room, s.room_id)
        assert room is not None
        for name, value in fields.items():
            setattr(room, name, value)
        await session.commit()


async def age_rows(s: Setup, seconds: float) -> None:
    async with s.db.sessions() as session:
        for row in await session.scalars(select(OutboxRow)):
            row.created_at -= timedelta(seconds=seconds)
        await session.commit()


async def texts_left(s: Setup) -> list[str]:
    async with s.db.sessions() as session:
        return [r.text for r in await session.scalars(select(OutboxRow).order_by(OutboxRow.id))]


def forbidden() -> discord.Forbidden:
    response = type("R", (), {"status": 403, "reason": "Forbidden"})()
    return discord.Forbidden(response, {"code": 50013, "message": "Missing Permissions"})


async def test_a_forbidden_post_tells_the_facilitator_once_and_is_not_retried_on_a_timer(
    setup: Setup,
) -> None:
    s = setup
    await set_room(s, phase="turns", turn_index=0)
    await queue(s, "Turn 1", for_phase="turns", for_turn=0)
    s.text.failures = [forbidden(), forbidden()]
    await s.outbox.flush(s.room_id)
    await s.outbox.flush(s.room_id)  # the room's next change tries again: still refused
    assert s.text.sent == []
    assert not s.timers.is_set(f"flush-{s.room_id}")  # no retry on a timer
    [(room_id, text, _)] = s.told  # told once, not at each try
    assert room_id == s.room_id and "can't post in room 1 of brew 1" in text
    assert "Send Messages" in text and "Missing Permissions" in text
    assert await texts_left(s) == ["Turn 1"]

    # Allowed again, but the turn is over by then: the old prompt is dropped, not sent late.
    await set_room(s, turn_index=1)
    await age_rows(s, STALE_GRACE_S + 1)
    await queue(s, "Turn 2", for_phase="turns", for_turn=1)
    await s.outbox.flush(s.room_id)
    assert [m.text for m in s.text.sent] == ["Turn 2"]
    assert await texts_left(s) == []


async def test_a_refused_message_is_dropped_and_the_rest_go_on(setup: Setup) -> None:
    s = setup
    await queue(s, "bad")
    await queue(s, "good")
    s.text.failures = [http_error(400, "Invalid Form Body")]
    await s.outbox.flush(s.room_id)
    assert [m.text for m in s.text.sent] == ["good"]
    assert await texts_left(s) == []
    [(_, text, _)] = s.told
    assert "refused a message for room 1" in text


async def test_a_failure_that_may_heal_is_retried_with_backoff(setup: Setup) -> None:
    s = setup
    await queue(s, "one")
    s.text.failures = [http_error(502)]
    await s.outbox.flush(s.room_id)
    assert s.timers.is_set(f"flush-{s.room_id}") and s.told == []
    assert await texts_left(s) == ["one"]


async def test_a_post_late_only_by_moments_still_goes_but_a_stale_one_is_dropped(
    setup: Setup,
) -> None:
    s = setup
    await set_room(s, phase="think")
    await queue(s, "Arrive prompt", for_phase="arrive")
    await s.outbox.flush(s.room_id)  # just queued: within the grace, posted in order
    await queue(s, "Old arrive prompt", for_phase="arrive")
    await queue(s, "Think prompt", for_phase="think")
    await age_rows(s, STALE_GRACE_S + 1)
    await s.outbox.flush(s.room_id)
    assert [m.text for m in s.text.sent] == ["Arrive prompt", "Think prompt"]


async def test_the_guide_goes_first_and_pings_everyone_in_the_room(setup: Setup) -> None:
    s = setup
    await queue(s, "Message from the facilitator")
    async with s.db.sessions() as session:
        room = await repo.load_room(session, s.room_id)
        assert room is not None
        s.outbox.queue_guide(session, room, "The guide")
        await session.commit()
    await s.outbox.flush(s.room_id)
    guide, broadcast = s.text.sent
    assert (guide.text, guide.nonce) == ("The guide", f"bhguide{s.room_id}")
    assert guide.allowed_mentions is not None
    assert sorted(u.id for u in guide.allowed_mentions.users) == sorted(USERS)  # type: ignore[union-attr]
    assert broadcast.text == "Message from the facilitator"


async def test_a_guide_discord_will_not_take_names_the_people_without_a_link(
    setup: Setup,
) -> None:
    s = setup
    async with s.db.sessions() as session:
        room = await repo.load_room(session, s.room_id)
        assert room is not None
        s.outbox.queue_guide(session, room, "The guide")
        await session.commit()
    s.text.failures = [forbidden()]
    await s.outbox.flush(s.room_id)
    [(_, text, ping)] = s.told
    assert "have not had a link" in text and sorted(ping) == sorted(USERS)
    for user in USERS:
        assert f"<@{user}>" in text


async def test_an_opening_room_keeps_its_posts_until_it_runs(setup: Setup) -> None:
    s = setup
    await set_room(s, status="opening")
    await queue(s, "Broadcast")
    await s.outbox.flush(s.room_id)
    assert s.text.sent == [] and await texts_left(s) == ["Broadcast"]
    await set_room(s, status="running")
    await s.outbox.flush(s.room_id)
    assert [m.text for m in s.text.sent] == ["Broadcast"]
