"""Gateway sharding as Discord does it: ``GET /gateway/bot``, IDENTIFY with ``shard``, each
connection getting only its own guilds (at READY and afterwards) and their interactions, and
the close codes for a wrong shard (4010) or a missing one (4011)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import discord
import pytest
from discord.ext import commands

from discordsim import DiscordSimulator, guild_shard
from discordsim.snowflake import SnowflakeGenerator

from .botkit import BrewTestBot, RunningBot, start_bot


def _sessions_by_shard(sim: DiscordSimulator) -> dict[tuple[int, int] | None, str]:
    return {s.shard: s.id for s in sim.gateway.sessions.values() if not s.invalidated}


def test_snowflakes_can_be_made_for_a_given_shard() -> None:
    ids = SnowflakeGenerator()
    made = [ids.next_on_shard(n % 3, 3) for n in range(30)]
    assert [guild_shard(g, 3) for g in made] == [n % 3 for n in range(30)]
    assert made == sorted(made) and len(set(made)) == 30
    with pytest.raises(ValueError, match="shard 2"):
        ids.next_on_shard(2, 2)


async def test_gateway_bot_recommends_the_shard_count() -> None:
    async with asyncio.timeout(10), DiscordSimulator(shards=3) as sim:
        headers = {"Authorization": f"Bot {sim.bot_token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{sim.api_base_url}/gateway/bot", headers=headers) as resp,
        ):
            body = await resp.json()
        assert resp.status == 200
        assert body["url"] == sim.gateway_url
        assert body["shards"] == 3
        limit = body["session_start_limit"]
        assert limit["total"] == 1000 and limit["remaining"] == 1000
        assert limit["max_concurrency"] >= 1


async def _start_shard(sim: DiscordSimulator, shard_id: int, count: int) -> RunningBot:
    return await start_bot(sim, BrewTestBot(shard_id=shard_id, shard_count=count), sync=False)


async def test_each_shard_gets_only_its_guilds_events_and_interactions(
    sim: DiscordSimulator,
) -> None:
    async with asyncio.timeout(20):
        # Two guilds on each of the two shards, interleaved in creation order.
        guilds = [sim.create_guild(f"Server {n}", shard=(n % 2, 2)) for n in range(4)]
        members = {g.id: sim.create_member(g.id, "Alice") for g in guilds}
        channels = {g.id: sim.create_channel(g.id, "general") for g in guilds}
        on_shard = {s: {g.id for g in guilds if guild_shard(g.id, 2) == s} for s in (0, 1)}
        assert len(on_shard[0]) == 2 and len(on_shard[1]) == 2

        bots = [await _start_shard(sim, 0, 2), await _start_shard(sim, 1, 2)]
        try:
            await bots[0].bot.tree.sync()
            for shard, running in enumerate(bots):
                assert {g.id for g in running.bot.guilds} == on_shard[shard]
                assert running.bot.shard_id == shard
            readies = sim.events_named("READY")
            assert sorted(tuple(e.data["shard"]) for e in readies) == [(0, 2), (1, 2)]
            sessions = _sessions_by_shard(sim)
            for shard in (0, 1):
                sid = sessions[(shard, 2)]
                created = {
                    int(e.data["id"])
                    for e in sim.events_named("GUILD_CREATE")
                    if e.session_id == sid
                }
                assert created == on_shard[shard]

            # A guild event after READY reaches only the owning shard.
            late_guild = next(iter(on_shard[1]))
            channel = sim.create_channel(late_guild, "late-arrival")
            await sim.wait_for(lambda: bots[1].bot.get_channel(channel.id))
            assert bots[0].bot.get_channel(channel.id) is None
            channel_events = [
                e for e in sim.events_named("CHANNEL_CREATE") if int(e.data["id"]) == channel.id
            ]
            assert [e.session_id for e in channel_events] == [sessions[(1, 2)]]

            # A guild created later on a shard is announced to that shard only.
            newcomer = sim.create_guild("Newcomer", shard=(0, 2))
            await sim.wait_for(lambda: bots[0].bot.get_guild(newcomer.id))
            assert bots[1].bot.get_guild(newcomer.id) is None

            # Each guild's interactions arrive on its own shard's connection and are answered.
            for guild in guilds:
                rec = await sim.invoke_command(
                    guild.id, channels[guild.id].id, members[guild.id].id, "brew admin ping"
                )
                resp = await rec.wait_response()
                assert resp.type == 4
                shard = guild_shard(guild.id, 2)
                delivered = [
                    e.session_id
                    for e in sim.events_named("INTERACTION_CREATE")
                    if int(e.data["id"]) == rec.id
                ]
                assert delivered == [sessions[(shard, 2)]]
        finally:
            for running in bots:
                await running.stop()


async def _identify_raw(sim: DiscordSimulator, shard: object) -> tuple[int | None, str]:
    """IDENTIFY over a bare websocket; return (close code, first dispatched event or '')."""
    url = sim.gateway_url + "?v=10&encoding=json"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        hello = await ws.receive_json()
        assert hello["op"] == 10
        identify: dict[str, object] = {"token": sim.bot_token, "intents": 513, "properties": {}}
        if shard is not None:
            identify["shard"] = shard
        await ws.send_str(json.dumps({"op": 2, "d": identify}))
        msg = await ws.receive()
        if msg.type == aiohttp.WSMsgType.TEXT:
            return None, json.loads(msg.data)["t"]
        return ws.close_code, ""


@pytest.mark.parametrize("shard", [[2, 2], [-1, 2], [0, 0], [0], "0,2", [True, 2]])
async def test_invalid_shard_closes_4010(shard: object) -> None:
    async with asyncio.timeout(10), DiscordSimulator() as sim:
        assert await _identify_raw(sim, shard) == (4010, "")
        assert not sim.gateway.sessions


async def test_too_many_guilds_for_one_connection_closes_4011() -> None:
    async with asyncio.timeout(10), DiscordSimulator(shards=2, max_guilds_per_shard=1) as sim:
        sim.create_guild("A", shard=(0, 2))
        sim.create_guild("B", shard=(1, 2))
        assert await _identify_raw(sim, None) == (4011, "")
        assert await _identify_raw(sim, [0, 2]) == (None, "READY")
        assert await _identify_raw(sim, [1, 2]) == (None, "READY")


async def test_discord_py_reports_sharding_required() -> None:
    async with asyncio.timeout(10), DiscordSimulator(max_guilds_per_shard=1) as sim:
        sim.create_guild("A")
        sim.create_guild("B")
        with sim.patch_discord():
            bot = BrewTestBot()
            try:
                await bot.login(sim.bot_token)
                with pytest.raises(discord.ConnectionClosed) as closed:
                    await bot.connect(reconnect=True)
                assert closed.value.code == 4011
            finally:
                await bot.close()


class AutoShardedTestBot(commands.AutoShardedBot):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # no 5 s wait between shards: the simulator has no identify limit


async def test_auto_sharded_bot_uses_the_recommended_count() -> None:
    async with asyncio.timeout(20), DiscordSimulator(shards=2) as sim:
        guilds = [sim.create_guild(f"Server {n}", shard=(n % 2, 2)) for n in range(4)]
        with sim.patch_discord():
            bot = AutoShardedTestBot(
                command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05
            )
            task = asyncio.create_task(bot.start(sim.bot_token))
            try:
                await sim.wait_for(lambda: bot.is_ready() or task.done(), 10)
                assert bot.shard_count == 2
                assert sorted(bot.shards) == [0, 1]
                assert {g.id for g in bot.guilds} == {g.id for g in guilds}
                for guild in bot.guilds:
                    assert guild.shard_id == guild_shard(guild.id, 2)
                assert sorted(s.shard for s in sim.gateway.sessions.values()) == [(0, 2), (1, 2)]
            finally:
                await bot.close()
                await asyncio.wait_for(task, 5)
