"""Sharding in the bot: which client runs, and each process syncs only its own servers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
from discord.ext import commands

from bot.clock import SystemClock
from bot.config import Config, DatabaseConfig, DiscordConfig
from bot.core.content import load_content
from bot.db.migrate import upgrade
from bot.db.session import create_engine, session_factory
from bot.shell.app import BrewBot, Services, bot_class, make_bot
from bot.shell.sharding import own_shards, owned_guild_ids, syncs_global_commands
from discordsim import DiscordSimulator, guild_shard


def test_owned_guilds_follow_discords_formula() -> None:
    ids = [(n << 22) | 5 for n in range(10)]
    plain = discord.Client(intents=discord.Intents.none())
    assert owned_guild_ids(plain, ids) == tuple(ids) and syncs_global_commands(plain)
    one = discord.Client(intents=discord.Intents.none(), shard_id=1, shard_count=3)
    assert own_shards(one) == (frozenset({1}), 3)
    assert owned_guild_ids(one, ids) == tuple(g for g in ids if (g >> 22) % 3 == 1)
    assert not syncs_global_commands(one)
    auto = discord.AutoShardedClient(
        intents=discord.Intents.none(), shard_ids=[0, 2], shard_count=3
    )
    assert owned_guild_ids(auto, ids) == tuple(g for g in ids if (g >> 22) % 3 in (0, 2))
    assert syncs_global_commands(auto)
    every = discord.AutoShardedClient(intents=discord.Intents.none())
    assert owned_guild_ids(every, ids) == tuple(ids)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[object]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'brewhost.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        yield url, session_factory(engine)
    finally:
        await asyncio.sleep(0.05)
        await engine.dispose()


def _services(sim: DiscordSimulator, url_sessions: object, **discord_options: object) -> Services:
    url, sessions = url_sessions  # type: ignore[misc]
    config = Config(
        discord=DiscordConfig(
            token=sim.bot_token,
            api_base_url=sim.api_base_url,
            gateway_url=sim.gateway_url,
            **discord_options,  # type: ignore[arg-type]
        ),
        database=DatabaseConfig(url=url),
    )
    return Services(
        config=config, sessions=sessions, clock=SystemClock(1.0), content=load_content()
    )


@contextlib.asynccontextmanager
async def _running(bot: BrewBot, sim: DiscordSimulator) -> AsyncIterator[BrewBot]:
    await bot.login(sim.bot_token)
    task = asyncio.create_task(bot.connect())
    try:
        async with asyncio.timeout(15):
            await bot.wait_until_ready()
        yield bot
    finally:
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_one_shard_process_syncs_only_its_servers(sessions: object) -> None:
    async with asyncio.timeout(30), DiscordSimulator() as sim:
        with sim.patch_discord():
            guilds = [sim.create_guild(f"Server {n}", shard=(n % 2, 2)) for n in range(4)]
            ids = tuple(g.id for g in guilds)
            services = _services(sim, sessions, guild_ids=ids, shard_id=1, shard_count=2)
            bot = make_bot(services, guild_ready_timeout=0.05)
            assert type(bot) is BrewBot
            async with _running(bot, sim):
                mine = {g for g in ids if guild_shard(g, 2) == 1}
                assert {g.id for g in bot.guilds} == mine
                synced = {g for g in ids if sim.commands(g)}
                assert synced == mine and len(mine) == 2
                assert not sim.commands()  # no global sync from shard 1


async def test_auto_sharded_process_runs_every_shard(
    sessions: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with asyncio.timeout(30), DiscordSimulator(shards=2) as sim:
        with sim.patch_discord():
            guilds = [sim.create_guild(f"Server {n}", shard=(n % 2, 2)) for n in range(4)]
            ids = tuple(g.id for g in guilds)
            services = _services(sim, sessions, guild_ids=ids, shards="auto")
            cls = bot_class(services)
            assert issubclass(cls, BrewBot) and issubclass(cls, commands.AutoShardedBot)

            async def no_wait(self: object, shard_id: int | None, *, initial: bool = False) -> None:
                return None  # the simulator has no identify limit; skip discord.py's 5 s

            monkeypatch.setattr(cls, "before_identify_hook", no_wait)
            bot = make_bot(services, guild_ready_timeout=0.05)
            assert isinstance(bot, commands.AutoShardedBot)
            async with _running(bot, sim):
                assert bot.shard_count == 2
                assert {g.id for g in bot.guilds} == set(ids)
                await sim.wait_for(lambda: all(sim.commands(g) for g in ids), timeout=10)
                shards = sorted(s.shard for s in sim.gateway.sessions.values() if s.shard)
                assert shards == [(0, 2), (1, 2)]
