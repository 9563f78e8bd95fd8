"""Lanes (bot/shell/room_lanes.py): a slot is held until discord.py answers, while the caller
learns the result from the gateway as soon as Discord announces it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.shell.room_lanes import Lane, answered_or_seen


async def test_the_gateway_answers_first_and_the_slot_waits_for_discord_py(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lane = Lane(1)
    held = asyncio.Event()

    async def request() -> str:
        await held.wait()  # discord.py sleeping out the exhausted window
        raise RuntimeError("late failure")

    await lane.take()
    task = lane.send(request())
    seen: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    seen.set_result("the channel, from the gateway")
    result = await answered_or_seen(task, seen, lane, "creating Room 1")
    assert result == "the channel, from the gateway"
    assert not task.done()
    # The next request cannot have the slot until discord.py answers the first one.
    second = asyncio.ensure_future(lane.take())
    await asyncio.sleep(0.01)
    assert not second.done()
    with caplog.at_level(logging.INFO, logger="bot.shell.room_lanes"):
        held.set()
        await asyncio.wait_for(second, 1)
    assert "creating Room 1 failed after the gateway had announced it" in caplog.text


async def test_the_answer_first_and_the_gateway_wait_is_dropped() -> None:
    lane = Lane(2)
    await lane.take()
    task = lane.send(asyncio.sleep(0, result="answered"))
    seen: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    assert await answered_or_seen(task, seen, lane, "moving 1") == "answered"
    assert seen.cancelled()


async def test_a_failed_request_raises_unless_the_gateway_said_it_happened() -> None:
    lane = Lane(1)

    async def refused() -> None:
        raise PermissionError("Missing Permissions")

    await lane.take()
    task = lane.send(refused())
    seen: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    with pytest.raises(PermissionError):
        await answered_or_seen(task, seen, lane, "moving 1")
    assert seen.cancelled()
    await asyncio.wait_for(lane.take(), 1)  # the slot came back


async def test_without_a_client_only_the_answer_counts() -> None:
    lane = Lane(1)
    await lane.take()
    task = lane.send(asyncio.sleep(0.01, result=42))
    assert await answered_or_seen(task, None, lane, "moving 1") == 42
