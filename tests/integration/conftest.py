"""The brew harness: the local Discord simulator, the real BrewBot and a migrated database.

Everything goes through unmodified discord.py: slash commands, buttons, modals, channel
creation, moves and rate limits take the same code paths as in production. The clock runs fast
(``speed``), so a whole brew takes seconds; no test sleeps for minutes. The world and the bot's
boot are the rehearsal stage's (:mod:`bot.rehearsal.stage`), shared with the demo and the bench.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.config import BrewDefaults
from bot.db.migrate import upgrade
from bot.rehearsal.stage import Stage, World, build_world, stage_config
from discordsim import (
    GUILD_TEXT,
    Channel,
    DiscordSimulator,
    Member,
    Message,
    RateLimitPolicy,
)

#: A short brew: 1 min arrive, 30 s think, 1 min turns, 20 s nudge, 10 min in all.
FAST_BREW = BrewDefaults(
    group_size=4,
    arrive_seconds=60,
    think_seconds=30,
    turn_seconds=60,
    nudge_seconds=20,
    length_minutes=10,
    still_seconds=60,
    min_reflect_seconds=60,
    close_seconds=60,
    cleanup_minutes=1,
)


class Harness(Stage):
    """The rehearsal stage with a short brew, and helpers for what tests do most."""

    def __init__(self, sim: DiscordSimulator, world: World, db_url: str, speed: float) -> None:
        config = stage_config(
            sim, world, db_url, brew=FAST_BREW, speed=speed, max_ratelimit_timeout=10.0
        )
        super().__init__(sim, world, config)

    async def configure(self) -> None:
        """What a server admin does once: roles, the main voice channel and the area."""
        world = self.world
        rec = await self.command(world.admin, "brew settings", **self.settings_options("Norfolk"))
        assert "Facilitator role: <@&" in (await rec.wait_response()).content

    # ---------------------------------------------------------------- actions
    async def final_text(self, rec: Any, timeout: float = 20) -> str:
        """The last thing the bot said in answer to ``rec`` (edits and followups included)."""
        return await super().final_text(rec, within=timeout)

    def room_channels(self) -> list[Channel]:
        return sorted(
            (
                c
                for c in self.sim.channels(self.world.guild.id, type=GUILD_TEXT)
                if c.name.startswith("room-")
            ),
            key=lambda c: c.name,
        )

    def texts(self, channel: Channel) -> list[str]:
        return [m.content for m in self.sim.messages(channel.id, include_ephemeral=False)]

    def bot_messages(self, channel: Channel) -> list[Message]:
        return [
            m
            for m in self.sim.messages(channel.id, include_ephemeral=False)
            if m.author_id == self.sim.bot_id
        ]

    async def put_in_voice(self, members: list[Member], channel: Channel | None = None) -> None:
        for member in members:
            await self.sim.set_voice(
                self.world.guild.id, member.id, (channel or self.world.lounge).id
            )

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 20) -> Any:
        return await self.sim.wait_for(predicate, timeout=timeout)


@pytest.fixture
def rate_limits() -> RateLimitPolicy:
    return RateLimitPolicy.off()


@pytest.fixture
def speed() -> float:
    return 120.0


@pytest.fixture
async def sim(rate_limits: RateLimitPolicy) -> AsyncIterator[DiscordSimulator]:
    simulator = DiscordSimulator(rate_limits=rate_limits)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.close()


@pytest.fixture
def world(sim: DiscordSimulator) -> World:
    return build_world(sim)


@pytest.fixture
async def db_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'brewhost.db'}"
    await asyncio.to_thread(upgrade, url)
    return url


@pytest.fixture
async def harness(
    sim: DiscordSimulator, world: World, db_url: str, speed: float
) -> AsyncIterator[Harness]:
    h = Harness(sim, world, db_url, speed)
    try:
        await h.start()
        await h.configure()
        yield h
    finally:
        await h.stop()


__all__ = ["FAST_BREW", "Harness", "World", "build_world"]
