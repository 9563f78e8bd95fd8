"""Gateway behaviour seen through discord.py: READY/GUILD_CREATE, events, RESUME, restarts."""

from __future__ import annotations

import asyncio
import json
import zlib

import aiohttp
import discord

from discordsim import GUILD_VOICE, DiscordSimulator

from .botkit import BrewTestBot, start_bot
from .conftest import World, build_world


async def test_ready_and_guild_create_populate_cache(sim: DiscordSimulator, world: World) -> None:
    async with asyncio.timeout(10):
        await sim.set_voice(world.guild.id, world.bob.id, world.lounge.id)
        running = await start_bot(sim, sync=False)
        try:
            bot = running.bot
            assert bot.user is not None and bot.user.id == sim.bot_id
            assert bot.application_id == sim.application_id
            guild = bot.get_guild(world.guild.id)
            assert guild is not None and guild.name == "Norfolk Network"
            assert {c.name for c in guild.channels} == {"general", "Brews", "Lounge", "Room 1"}
            lounge = guild.get_channel(world.lounge.id)
            assert isinstance(lounge, discord.VoiceChannel)
            assert lounge.category_id == world.category.id
            assert guild.get_role(world.facilitator.id) is not None
            assert guild.me is not None and guild.me.id == sim.bot_id
            # Without the members intent only the bot and voice members are sent.
            assert guild.get_member(world.bob.id) is not None
            assert guild.get_member(world.alice.id) is None
            assert [m.id for m in lounge.members] == [world.bob.id]
            assert guild.member_count == len(sim.members(world.guild.id))
            ready = sim.events_named("READY")[0].data
            assert ready["resume_gateway_url"].endswith("/ws/resume")
            assert ready["guilds"] == [{"id": str(world.guild.id), "unavailable": True}]
        finally:
            await running.stop()


async def test_live_events_update_cache(sim: DiscordSimulator, world: World) -> None:
    async with asyncio.timeout(10):
        running = await start_bot(sim, sync=False)
        bot = running.bot
        try:
            channel = sim.create_channel(world.guild.id, "late-arrival")
            await sim.wait_for(lambda: bot.get_channel(channel.id))
            sim.edit_channel(channel.id, topic="new topic")
            await sim.wait_for(
                lambda: getattr(bot.get_channel(channel.id), "topic", None) == "new topic"
            )
            role = sim.create_role(world.guild.id, "Host")
            guild = bot.get_guild(world.guild.id)
            assert guild is not None
            await sim.wait_for(lambda: guild.get_role(role.id))
            sim.delete_channel(channel.id)
            await sim.wait_for(lambda: bot.get_channel(channel.id) is None)
            second = sim.create_guild("Second server")
            await sim.wait_for(lambda: bot.get_guild(second.id))
        finally:
            await running.stop()


async def test_members_intent_gets_members_and_removals(
    sim: DiscordSimulator, world: World
) -> None:
    async with asyncio.timeout(10):
        intents = discord.Intents.default()
        intents.members = True
        removed: list[int] = []
        bot = BrewTestBot(intents=intents)

        @bot.event
        async def on_raw_member_remove(payload: discord.RawMemberRemoveEvent) -> None:
            removed.append(payload.user.id)

        running = await start_bot(sim, bot, sync=False)
        try:
            guild = bot.get_guild(world.guild.id)
            assert guild is not None and guild.get_member(world.alice.id) is not None
            await sim.remove_member(world.guild.id, world.alice.id)
            await sim.wait_for(lambda: removed == [world.alice.id])
            assert guild.get_member(world.alice.id) is None
        finally:
            await running.stop()
        # A default-intents session never sees GUILD_MEMBER_REMOVE.
        plain = await start_bot(sim, sync=False)
        try:
            session = sim.gateway.connected_sessions()[0].id
            await sim.remove_member(world.guild.id, world.bob.id)
            await asyncio.sleep(0.05)
            names = {e.name for e in sim.events if e.session_id == session}
            assert "GUILD_MEMBER_REMOVE" not in names
        finally:
            await plain.stop()


async def test_message_content_needs_intent(sim: DiscordSimulator, world: World) -> None:
    async with asyncio.timeout(10):
        running = await start_bot(sim, sync=False)
        bot = running.bot
        try:
            await sim.send_message(world.general.id, world.alice.id, "hello there")
            await sim.send_message(world.general.id, world.alice.id, f"<@{sim.bot_id}> hi bot")
            await sim.wait_for(lambda: len(bot.seen.messages) == 2)
            plain, mention = bot.seen.messages
            assert plain.content == ""  # no MESSAGE_CONTENT intent
            assert mention.content.endswith("hi bot")  # mentions of the bot are visible
            assert plain.author.id == world.alice.id
        finally:
            await running.stop()


async def test_resume_replays_missed_events(sim: DiscordSimulator, world: World) -> None:
    async with asyncio.timeout(10):
        running = await start_bot(sim, sync=False)
        bot = running.bot
        try:
            session_id = sim.events_named("READY")[0].session_id
            await sim.drop_connections()
            # Dispatched while the socket is down: must be replayed on RESUME.
            await sim.set_voice(world.guild.id, world.carol.id, world.room.id)
            await sim.wait_for(lambda: bot.seen.resumed == 1)
            assert sim.gateway.resume_count == 1
            assert len(sim.events_named("READY")) == 1  # no new IDENTIFY
            guild = bot.get_guild(world.guild.id)
            assert guild is not None
            await sim.wait_for(lambda: guild.get_member(world.carol.id) is not None)
            carol = guild.get_member(world.carol.id)
            assert carol is not None and carol.voice is not None
            assert carol.voice.channel is not None and carol.voice.channel.id == world.room.id
            assert sim.events_named("RESUMED")[0].session_id == session_id
            # OP 7 RECONNECT also leads to a RESUME.
            sim.request_reconnect()
            await sim.wait_for(lambda: bot.seen.resumed == 2)
        finally:
            await running.stop()


async def test_invalid_session_forces_identify(sim: DiscordSimulator, world: World) -> None:
    async with asyncio.timeout(10):
        running = await start_bot(sim, sync=False)
        try:
            sim.invalidate_sessions()
            await sim.wait_for(lambda: len(sim.events_named("READY")) == 2)
            await sim.wait_until_connected()
        finally:
            await running.stop()


async def test_restart_old_client_closes_new_one_connects(
    sim: DiscordSimulator, world: World
) -> None:
    async with asyncio.timeout(15):
        first = await start_bot(sim, sync=True)
        await first.stop()
        second = await start_bot(sim, sync=True)
        try:
            assert len(sim.gateway.connected_sessions()) == 1
            rec = await sim.invoke_command(
                world.guild.id,
                world.general.id,
                world.alice.id,
                "brew open",
                question="Still here?",
            )
            await rec.wait_response()
            assert second.bot.invocations and not first.bot.invocations
        finally:
            await second.stop()


async def test_raw_gateway_zlib_stream_and_bad_token() -> None:
    async with asyncio.timeout(10), DiscordSimulator() as sim:
        sim.create_guild("G")
        url = sim.gateway_url + "?v=10&encoding=json&compress=zlib-stream"
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(url) as ws:
                inflator = zlib.decompressobj()
                msg = await ws.receive()
                assert msg.type == aiohttp.WSMsgType.BINARY
                assert msg.data.endswith(b"\x00\x00\xff\xff")
                hello = json.loads(inflator.decompress(msg.data))
                assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 41250
                await ws.send_str(json.dumps({"op": 1, "d": None}))
                ack = json.loads(inflator.decompress((await ws.receive()).data))
                assert ack["op"] == 11
                await ws.send_str(json.dumps({"op": 2, "d": {"token": "nope", "intents": 513}}))
                closed = await ws.receive()
                assert closed.type == aiohttp.WSMsgType.CLOSE
                assert closed.data == 4004
            async with session.ws_connect(sim.gateway_url + "?v=10&encoding=json") as ws:
                assert json.loads((await ws.receive()).data)["op"] == 10
                await ws.send_str(
                    json.dumps({"op": 2, "d": {"token": sim.bot_token, "intents": 1 << 1}})
                )
                ready = json.loads((await ws.receive()).data)
                assert ready["t"] == "READY" and ready["s"] == 1
                create = json.loads((await ws.receive()).data)
                assert create["t"] == "GUILD_CREATE" and create["s"] == 2


async def test_disallowed_privileged_intent_closes_4014() -> None:
    async with asyncio.timeout(10), DiscordSimulator(allowed_intents=0) as sim:
        with sim.patch_discord():
            intents = discord.Intents.default()
            intents.message_content = True
            bot = BrewTestBot(intents=intents)
            try:
                await bot.login(sim.bot_token)
                try:
                    await bot.connect(reconnect=True)
                except discord.PrivilegedIntentsRequired:
                    pass
                else:  # pragma: no cover - the assertion documents the expectation
                    raise AssertionError("expected PrivilegedIntentsRequired")
            finally:
                await bot.close()


async def test_simulator_close_closes_sockets(world: World, sim: DiscordSimulator) -> None:
    async with asyncio.timeout(10):
        url = sim.gateway_url + "?v=10&encoding=json"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await ws.receive()
            await sim.close()
            msg = await ws.receive()
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert not sim.gateway.connections


async def test_second_world_helper_is_independent() -> None:
    async with asyncio.timeout(5), DiscordSimulator() as sim:
        world = build_world(sim)
        assert sim.voice_channel_of(world.guild.id, world.alice.id) is None
        await sim.set_voice(world.guild.id, world.alice.id, world.lounge.id)
        assert sim.voice_members(world.lounge.id) == [world.alice.id]
        vc = sim.create_channel(world.guild.id, "Tiny", type=GUILD_VOICE, user_limit=1)
        await sim.set_voice(world.guild.id, world.bob.id, vc.id)
        try:
            await sim.set_voice(world.guild.id, world.carol.id, vc.id)
        except Exception as exc:
            assert "full" in str(exc)
        else:  # pragma: no cover
            raise AssertionError("user limit not enforced")


async def test_bot_added_and_removed(sim: DiscordSimulator, world: World) -> None:
    async with asyncio.timeout(10):
        running = await start_bot(sim, sync=False)
        bot = running.bot
        removed: list[int] = []

        @bot.event
        async def on_guild_remove(guild: discord.Guild) -> None:
            removed.append(guild.id)

        try:
            other = sim.create_guild("Not yet", with_bot=False)
            sim.create_channel(other.id, "quiet")  # not dispatched: the bot is not there
            await asyncio.sleep(0.05)
            assert bot.get_guild(other.id) is None
            sim.add_bot_to_guild(other.id)
            await sim.wait_for(lambda: bot.get_guild(other.id))
            await sim.remove_bot_from_guild(other.id)
            await sim.wait_for(lambda: removed == [other.id])
            assert bot.get_guild(other.id) is None
        finally:
            await running.stop()


async def test_missing_heartbeats_close_the_connection() -> None:
    async with asyncio.timeout(10), DiscordSimulator(heartbeat_interval=0.2) as sim:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(sim.gateway_url + "?v=10&encoding=json") as ws:
                hello = json.loads((await ws.receive()).data)
                assert hello["d"]["heartbeat_interval"] == 200
                msg = await ws.receive()  # never heartbeats
                assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4009
