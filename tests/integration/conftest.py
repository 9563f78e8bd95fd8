"""The brew harness: the local Discord simulator, the real BrewBot and a migrated database.

Everything goes through unmodified discord.py: slash commands, buttons, modals, channel
creation, moves and rate limits take the same code paths as in production. The clock runs fast
(``speed``), so a whole brew takes seconds; no test sleeps for minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import discord.gateway
import discord.http
import pytest

from bot.clock import SystemClock
from bot.config import BrewDefaults, Config, DatabaseConfig, DiscordConfig, TimingConfig
from bot.core.content import load_content
from bot.db.migrate import upgrade
from bot.db.session import create_engine, session_factory
from bot.shell.app import BrewBot, Services
from discordsim import (
    GUILD_TEXT,
    GUILD_VOICE,
    Channel,
    DiscordSimulator,
    Guild,
    Member,
    Message,
    RateLimitPolicy,
    Role,
)

#: A short brew: 1 min arrive, 30 s think, 1 min turns, 20 s nudge, 10 min in all.
MANAGE_GUILD = 1 << 5

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


@pytest.fixture(autouse=True)
def restore_discord_urls() -> Iterator[None]:
    base = discord.http.Route.BASE
    gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    yield
    discord.http.Route.BASE = base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway


@dataclass
class World:
    guild: Guild
    facilitators: Role
    organisers: Role
    admin: Member
    facilitator: Member
    organiser: Member
    hall: Channel
    lounge: Channel
    people: list[Member] = field(default_factory=list)


def build_world(sim: DiscordSimulator, people: int = 11, name: str = "Norfolk Network") -> World:
    guild = sim.create_guild(name)
    admins = sim.create_role(guild.id, "Admins", permissions=MANAGE_GUILD)
    admin = sim.create_member(guild.id, "Ada Admin", roles=[admins.id])
    facilitators = sim.create_role(guild.id, "Facilitators")
    organisers = sim.create_role(guild.id, "Organisers")
    facilitator = sim.create_member(guild.id, "Fran Facilitator", roles=[facilitators.id])
    organiser = sim.create_member(guild.id, "Olu Organiser", roles=[organisers.id])
    hall = sim.create_channel(guild.id, "brew-hall", type=GUILD_TEXT)
    lounge = sim.create_channel(guild.id, "Lounge", type=GUILD_VOICE)
    members = [sim.create_member(guild.id, f"Person {i + 1}") for i in range(people)]
    return World(
        guild, facilitators, organisers, admin, facilitator, organiser, hall, lounge, members
    )


class Harness:
    """Starts and stops BrewBot against the simulator; helpers for what tests do most."""

    def __init__(self, sim: DiscordSimulator, world: World, db_url: str, speed: float) -> None:
        self.sim = sim
        self.world = world
        self.db_url = db_url
        self.config = Config(
            discord=DiscordConfig(
                token=sim.bot_token,
                guild_ids=(world.guild.id,),
                api_base_url=sim.api_base_url,
                gateway_url=sim.gateway_url,
                max_ratelimit_timeout=10.0,
            ),
            database=DatabaseConfig(url=db_url),
            brew=FAST_BREW,
            timing=TimingConfig(speed=speed),
        )
        self.bot: BrewBot | None = None
        self._task: asyncio.Task[None] | None = None
        self._engine: Any = None

    async def start(self, seed: int = 7) -> BrewBot:
        self._engine = create_engine(self.db_url)
        services = Services(
            config=self.config,
            sessions=session_factory(self._engine),
            clock=SystemClock(self.config.timing.speed),
            content=load_content(),
            seed=lambda: seed,
        )
        bot = BrewBot(services, guild_ready_timeout=0.05)
        self.bot = bot
        await bot.login(self.sim.bot_token)
        self._task = asyncio.create_task(bot.connect())
        async with asyncio.timeout(10):
            await bot.wait_until_ready()
        await self.sim.wait_for(lambda: self.sim.commands(self.world.guild.id), timeout=5)
        return bot

    async def configure(self) -> None:
        """What a server admin does once: roles, the main voice channel and the area."""
        world = self.world
        rec = await self.command(
            world.admin,
            "brew settings",
            facilitator_role=world.facilitators.id,
            organiser_role=world.organisers.id,
            main_voice_channel=world.lounge.id,
            area="Norfolk",
        )
        assert "Facilitator role: <@&" in (await rec.wait_response()).content

    async def stop(self) -> None:
        if self.bot is not None:
            await self.bot.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._engine is not None:
            # Let discord.py's own event-handler tasks that were mid-query finish first.
            await asyncio.sleep(0.05)
            await self._engine.dispose()
        self.bot = None
        self._task = None

    @property
    def sessions(self) -> Any:
        assert self.bot is not None
        return self.bot.services.sessions

    # ---------------------------------------------------------------- actions
    async def command(
        self, user: Member, name: str, channel: Channel | None = None, **options: Any
    ) -> Any:
        channel = channel or self.world.hall
        rec = await self.sim.invoke_command(
            self.world.guild.id, channel.id, user.id, name, **options
        )
        await rec.wait_response(timeout=5)
        return rec

    async def final_text(self, rec: Any, timeout: float = 20) -> str:
        """The last thing the bot said in answer to ``rec`` (edits and followups included)."""

        def latest() -> str | None:
            texts = [m.content for m in rec.followups]
            if rec.original_message is not None and rec.original_message.content:
                texts.insert(0, rec.original_message.content)
            return texts[-1] if texts else None

        await self.sim.wait_for(
            lambda: latest() and "Opening rooms" not in latest(), timeout=timeout
        )
        return latest() or ""

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
    with simulator.patch_discord():
        yield simulator
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
    await h.start()
    await h.configure()
    try:
        yield h
    finally:
        await h.stop()


__all__ = ["FAST_BREW", "Harness", "World", "build_world", "replace"]
