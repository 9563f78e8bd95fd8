"""Discord faults at the whole-brew level, injected by the simulator (:mod:`discordsim.faults`):
every brew completes, every member gets one turn prompt, none arrives stale."""

from __future__ import annotations

import asyncio

import pytest

from .conftest import Harness, brews_and_rooms, room_problems, wait_all_ended

MESSAGES = "/channels/{channel_id}/messages"


@pytest.fixture
def speed() -> float:
    return 30.0  # a 10-minute brew in 20 s: a turn lasts 2 s


async def start_brew(h: Harness) -> str:
    world = h.world
    await h.put_in_voice([*world.people[:6], world.facilitator])
    rec = await h.command(world.facilitator, "brew start", question="What's missing?", group_size=3)
    return await h.final_text(rec, timeout=60)


async def test_server_errors_429_bursts_and_gateway_faults(harness: Harness) -> None:
    sim = harness.sim
    sim.faults.fail_fraction(0.05, (500, 502), seed=10)
    sim.faults.burst_429("POST", MESSAGES, 3, retry_after=0.3)
    sim.faults.burst_429("PATCH", "/guilds/{guild_id}/members/{user_id}", 2, retry_after=0.3)
    said = await start_brew(harness)
    assert "rooms are open" in said, said
    await harness.wait_for(
        lambda: any(
            "it is your turn" in t for c in harness.room_channels() for t in harness.texts(c)
        ),
        timeout=30,
    )
    sim.faults.burst_429("POST", MESSAGES, 3, retry_after=0.3)
    await sim.drop_connections()  # the client RESUMEs
    await asyncio.sleep(3)
    sim.invalidate_sessions()  # op 9, d=false: the client IDENTIFYs again
    await sim.wait_until_connected(timeout=30)
    await wait_all_ended(harness, timeout=120)
    _, rooms = await brews_and_rooms(harness)
    assert len(rooms) == 2
    assert not room_problems(harness, rooms), room_problems(harness, rooms)
    kinds = sim.faults.kinds()
    print(f"faults injected and survived: {kinds}")  # quoted in docs/RELIABILITY.md (-s)
    assert kinds.get("429", 0) >= 5 and kinds["gateway drop"] == kinds["invalid session"] == 1
    assert kinds.get("500", 0) + kinds.get("502", 0) >= 1, kinds
    assert not harness.room_channels()


async def test_send_messages_denied_in_one_room_for_a_while(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    said = await start_brew(harness)
    assert "rooms are open" in said, said
    first = harness.room_channels()[0]
    # Before the turns: a moderator takes Send Messages away for 3 s (90 s of brew time).
    sim.faults.deny("POST", MESSAGES, seconds=3.0, params={"channel_id": first.id})
    await wait_all_ended(harness, timeout=120)
    assert sim.faults.count("denied") >= 1
    _, rooms = await brews_and_rooms(harness)
    problems = [p for p in room_problems(harness, rooms) if f"room {rooms[0].id}" not in p]
    assert not problems, problems  # the other room is untouched
    # The room that was denied: nothing stale delivered once it healed.
    denied = [
        p for p in room_problems(harness, rooms[:1]) if "stale" in p or "after the turns" in p
    ]
    assert not denied, denied
    # The facilitator hears about it once.
    told = [
        m
        for channel in (world.hall.id, sim.dm_channel_id(world.facilitator.id))
        if channel
        for m in sim.messages(channel)
        if m.author_id == sim.bot_id and "Send Messages" in m.content
    ]
    assert len(told) == 1, [m.content for m in told]
