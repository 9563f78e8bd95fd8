"""Fixtures for the simulator tests.

Every test gets a fresh simulator; discord.py's module-level REST base and default gateway are
restored afterwards whatever happens (``restore_discord_urls`` in ``tests/conftest.py``), so
tests never leak their server address into each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from discordsim import (
    GUILD_CATEGORY,
    GUILD_VOICE,
    Channel,
    DiscordSimulator,
    Guild,
    Member,
    Role,
)

from .botkit import BrewTestBot, RunningBot, start_bot


@pytest.fixture(autouse=True)
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves tasks running (bot loops, gateway writers, timers)."""
    before = asyncio.all_tasks()
    yield
    current = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t not in before and t is not current]
    if pending:
        await asyncio.wait(pending, timeout=1.0)
    leaked = [t for t in pending if not t.done()]
    for task in leaked:
        task.cancel()
    if leaked:
        await asyncio.wait(leaked, timeout=1.0)
    assert not leaked, f"tasks left running: {leaked}"


@pytest.fixture
async def sim() -> AsyncIterator[DiscordSimulator]:
    simulator = DiscordSimulator()
    await simulator.start()
    with simulator.patch_discord():
        yield simulator
    await simulator.close()


@dataclass
class World:
    guild: Guild
    facilitator: Role
    alice: Member
    bob: Member
    carol: Member
    general: Channel
    category: Channel
    lounge: Channel
    room: Channel


def build_world(sim: DiscordSimulator) -> World:
    guild = sim.create_guild("Norfolk Network")
    facilitator = sim.create_role(guild.id, "Facilitator")
    alice = sim.create_member(guild.id, "Alice", roles=[facilitator])
    bob = sim.create_member(guild.id, "Bob")
    carol = sim.create_member(guild.id, "Carol")
    general = sim.create_channel(guild.id, "general")
    category = sim.create_channel(guild.id, "Brews", type=GUILD_CATEGORY)
    lounge = sim.create_channel(guild.id, "Lounge", type=GUILD_VOICE, parent_id=category.id)
    room = sim.create_channel(guild.id, "Room 1", type=GUILD_VOICE, parent_id=category.id)
    return World(guild, facilitator, alice, bob, carol, general, category, lounge, room)


@pytest.fixture
def world(sim: DiscordSimulator) -> World:
    return build_world(sim)


@pytest.fixture
async def running(sim: DiscordSimulator, world: World) -> AsyncIterator[RunningBot]:
    bot = await start_bot(sim, BrewTestBot())
    yield bot
    await bot.stop()
