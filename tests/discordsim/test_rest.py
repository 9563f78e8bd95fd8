"""REST routes through discord.py: channels, limits, permissions, voice moves, messages, DMs."""

from __future__ import annotations

import asyncio
import io

import aiohttp
import discord
import pytest

from discordsim import (
    DEFAULT_BOT_PERMISSIONS,
    GUILD_VOICE,
    DiscordSimulator,
    Permission,
)
from discordsim.messages import NONCE_WINDOW_SECONDS

from .botkit import RunningBot
from .conftest import World


def _guild(running: RunningBot, world: World) -> discord.Guild:
    guild = running.bot.get_guild(world.guild.id)
    assert guild is not None
    return guild


async def test_create_channel_with_overwrites_under_category(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    async with asyncio.timeout(10):
        guild = _guild(running, world)
        category = await guild.create_category("Brew 12 March", reason="brew opened")
        alice = await guild.fetch_member(world.alice.id)
        overwrites: dict[
            discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite
        ] = {
            guild.default_role: discord.PermissionOverwrite(view_channel=False, connect=False),
            alice: discord.PermissionOverwrite(view_channel=True, connect=True, speak=True),
            guild.me: discord.PermissionOverwrite(
                view_channel=True, connect=True, move_members=True
            ),
        }
        room = await guild.create_voice_channel(
            "Group 1", category=category, overwrites=overwrites, user_limit=4
        )
        text = await category.create_text_channel("Group Chat", topic="Be kind")
        stored = sim.channel(room.id)
        assert stored.type == GUILD_VOICE and stored.parent_id == category.id
        assert stored.user_limit == 4
        assert stored.overwrites[world.guild.id].deny == int(
            Permission.VIEW_CHANNEL | Permission.CONNECT
        )
        assert stored.overwrites[world.alice.id].type == 1
        # Text channel names are normalised like Discord does; no overwrites -> synced.
        assert sim.channel(text.id).name == "group-chat" and sim.channel(text.id).topic == "Be kind"
        assert sim.permissions_for(world.guild.id, world.alice.id, room.id) & Permission.CONNECT
        assert sim.permissions_for(world.guild.id, world.bob.id, room.id) == 0
        assert next(c.reason for c in sim.rest_calls("POST", "/guilds/{guild_id}/channels")) == (
            "brew opened"
        )
        # The bot's cache received CHANNEL_CREATE / the REST answer.
        cached = guild.get_channel(room.id)
        assert isinstance(cached, discord.VoiceChannel) and cached.category_id == category.id
        assert cached.overwrites_for(alice).connect is True


async def test_fifty_channels_per_category(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    async with asyncio.timeout(15):
        guild = _guild(running, world)
        category = guild.get_channel(world.category.id)
        assert isinstance(category, discord.CategoryChannel)
        for i in range(47):  # the world already has 2 voice channels in it
            sim.create_channel(
                world.guild.id, f"filler {i}", type=GUILD_VOICE, parent_id=category.id
            )
        await guild.create_voice_channel("Number 50", category=category)
        with pytest.raises(discord.HTTPException) as info:
            await guild.create_voice_channel("Number 51", category=category)
        assert info.value.status == 400 and info.value.code == 50035
        assert (
            "In parent_id: Maximum number of channels in category reached (50)" in info.value.text
        )
        errors = sim.rest_log[-1].errors
        assert errors is not None
        assert errors["parent_id"]["_errors"][0]["code"] == "CHANNEL_PARENT_MAX_CHANNELS"


async def test_five_hundred_channels_per_guild(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    async with asyncio.timeout(15):
        guild = _guild(running, world)
        existing = len(sim.channels(world.guild.id))
        for i in range(499 - existing):
            sim.create_channel(world.guild.id, f"c{i}")
        await guild.create_text_channel("number-500")
        with pytest.raises(discord.HTTPException) as info:
            await guild.create_text_channel("number-501")
        assert info.value.status == 400 and info.value.code == 30013
        assert len(sim.channels(world.guild.id)) == 500


async def test_move_member_and_voice_state_update(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    async with asyncio.timeout(10):
        guild = _guild(running, world)
        await sim.set_voice(world.guild.id, world.alice.id, world.lounge.id)
        await sim.wait_for(lambda: guild.get_member(world.alice.id) is not None)
        alice = guild.get_member(world.alice.id)
        assert alice is not None and alice.voice is not None
        room = guild.get_channel(world.room.id)
        assert isinstance(room, discord.VoiceChannel)
        await alice.move_to(room)
        assert sim.voice_channel_of(world.guild.id, world.alice.id) == world.room.id
        await sim.wait_for(lambda: alice.voice is not None and alice.voice.channel == room)
        assert [m.id for m in room.members] == [world.alice.id]
        # Disconnect with channel_id = null.
        await alice.move_to(None)
        assert sim.voice_channel_of(world.guild.id, world.alice.id) is None
        # Moving someone who is not in voice fails like on Discord.
        bob = await guild.fetch_member(world.bob.id)
        with pytest.raises(discord.HTTPException) as info:
            await bob.move_to(room)
        assert info.value.status == 400 and info.value.code == 40032


async def test_moving_someone_needs_move_members_in_the_channel_they_are_in(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    """Discord checks Move Members against the member's current voice channel too: a private
    main room the bot cannot see (or where Move Members is denied) makes every move fail."""
    async with asyncio.timeout(10):
        guild = _guild(running, world)
        await sim.set_voice(world.guild.id, world.alice.id, world.lounge.id)
        await sim.wait_for(lambda: guild.get_member(world.alice.id) is not None)
        alice = guild.get_member(world.alice.id)
        room = guild.get_channel(world.room.id)
        assert alice is not None and isinstance(room, discord.VoiceChannel)
        sim.set_overwrite(world.lounge.id, sim.bot_id, deny=int(Permission.MOVE_MEMBERS))
        with pytest.raises(discord.Forbidden) as info:
            await alice.move_to(room)
        assert info.value.code == 50013
        # A main room hidden from the bot: the source cannot even be seen.
        sim.set_overwrite(world.lounge.id, sim.bot_id, deny=int(Permission.VIEW_CHANNEL))
        with pytest.raises(discord.Forbidden) as info:
            await alice.move_to(room)
        assert info.value.code == 50001
        assert sim.voice_channel_of(world.guild.id, world.alice.id) == world.lounge.id
        # With the overwrite gone the same move works: the target was never the problem.
        sim.set_overwrite(world.lounge.id, sim.bot_id, deny=0)
        await alice.move_to(room)
        assert sim.voice_channel_of(world.guild.id, world.alice.id) == world.room.id


async def test_missing_permissions(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    async with asyncio.timeout(10):
        guild = _guild(running, world)
        # Overwrites may only grant what the bot holds (it lacks Manage Roles and Kick).
        with pytest.raises(discord.Forbidden) as info:
            await guild.create_text_channel(
                "sneaky",
                overwrites={guild.default_role: discord.PermissionOverwrite(kick_members=True)},
            )
        assert info.value.code == 50013 and info.value.text == "Missing Permissions"
        await sim.set_voice(world.guild.id, world.alice.id, world.lounge.id)
        sim.set_bot_permissions(
            world.guild.id, DEFAULT_BOT_PERMISSIONS & ~Permission.MANAGE_CHANNELS
        )
        await sim.wait_for(lambda: not guild.me.guild_permissions.manage_channels)
        with pytest.raises(discord.Forbidden) as info:
            await guild.create_voice_channel("nope")
        assert info.value.code == 50013
        sim.set_bot_permissions(world.guild.id, DEFAULT_BOT_PERMISSIONS & ~Permission.MOVE_MEMBERS)
        with pytest.raises(discord.Forbidden):
            await guild.get_member(world.alice.id).move_to(guild.get_channel(world.room.id))  # type: ignore[union-attr]
        # Connect is needed on the target too.
        sim.set_bot_permissions(world.guild.id, DEFAULT_BOT_PERMISSIONS)
        sim.set_overwrite(world.room.id, sim.bot_id, deny=int(Permission.CONNECT))
        with pytest.raises(discord.Forbidden):
            await guild.get_member(world.alice.id).move_to(guild.get_channel(world.room.id))  # type: ignore[union-attr]
        # Posting where the bot cannot see gives 50001 Missing Access.
        secret = sim.create_channel(
            world.guild.id, "secret", overwrites={world.guild.id: (0, int(Permission.VIEW_CHANNEL))}
        )
        with pytest.raises(discord.Forbidden) as info:
            await running.bot.get_partial_messageable(secret.id).send("hi")
        assert info.value.code == 50001
        assert sim.invalid_request_count() >= 5


async def test_message_limits(sim: DiscordSimulator, world: World, running: RunningBot) -> None:
    async with asyncio.timeout(10):
        channel = running.bot.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.HTTPException) as info:
            await channel.send("x" * 2001)
        assert info.value.code == 50035 and "content" in info.value.text
        assert "2000 or fewer" in info.value.text
        with pytest.raises(discord.HTTPException) as info:
            await channel.send(embed=discord.Embed(description="d" * 4097))
        assert "embeds.0.description" in info.value.text
        with pytest.raises(discord.HTTPException) as info:
            await channel.send(embeds=[discord.Embed(description="d" * 4000) for _ in range(2)])
        assert "Embed size exceeds maximum size of 6000" in info.value.text
        assert sim.rest_log[-1].errors == {
            "embeds": {
                "_errors": [
                    {
                        "code": "MAX_EMBED_SIZE_EXCEEDED",
                        "message": "Embed size exceeds maximum size of 6000",
                    }
                ]
            }
        }
        with pytest.raises(discord.HTTPException) as info:
            await running.bot.http.request(
                discord.http.Route(
                    "POST", "/channels/{channel_id}/messages", channel_id=channel.id
                ),
                json={
                    "content": "rows",
                    "components": [
                        {
                            "type": 1,
                            "components": [
                                {"type": 2, "style": 1, "label": "b", "custom_id": f"c{i}"}
                            ],
                        }
                        for i in range(6)
                    ],
                },
            )
        assert info.value.code == 50035 and "components" in info.value.text
        with pytest.raises(discord.HTTPException) as info:
            await running.bot.http.request(
                discord.http.Route(
                    "POST", "/channels/{channel_id}/messages", channel_id=channel.id
                ),
                json={
                    "components": [
                        {
                            "type": 1,
                            "components": [
                                {"type": 2, "style": 1, "label": "b", "custom_id": "c" * 101}
                            ],
                        }
                    ]
                },
            )
        assert "components.0.components.0.custom_id" in info.value.text
        with pytest.raises(discord.HTTPException) as info:
            await channel.send("")
        assert info.value.code == 50006
        ok = await channel.send("x" * 2000)
        assert len(sim.message(ok.id).content) == 2000


async def test_messages_crud_history_mentions(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    async with asyncio.timeout(10):
        channel = running.bot.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        first = await channel.send(f"Hello <@{world.alice.id}>")
        stored = sim.message(first.id)
        assert stored.mentions == []  # AllowedMentions.none(): nobody is pinged
        pinged = await channel.send(
            f"Hi <@{world.alice.id}>", allowed_mentions=discord.AllowedMentions(users=True)
        )
        assert sim.message(pinged.id).mentions == [world.alice.id]
        reply = await first.reply("a reply", file=discord.File(io.BytesIO(b"abc"), "a.txt"))
        assert sim.message(reply.id).message_reference is not None
        assert sim.message(reply.id).attachments[0].data == b"abc"
        await first.edit(content="edited")
        assert sim.message(first.id).content == "edited"
        history = [m.id async for m in channel.history(limit=10)]
        assert history == [reply.id, pinged.id, first.id]
        older = [m.id async for m in channel.history(limit=10, before=discord.Object(reply.id))]
        assert older == [pinged.id, first.id]
        await first.pin()
        assert sim.message(first.id).pinned
        await pinged.delete()
        assert [m.id for m in sim.messages(world.general.id)] == [first.id, reply.id]
        # Someone else's message cannot be edited.
        theirs = await sim.send_message(world.general.id, world.bob.id, "mine")
        with pytest.raises(discord.Forbidden) as info:
            await channel.get_partial_message(theirs.id).edit(content="hijack")
        assert info.value.code == 50005


async def test_dms(sim: DiscordSimulator, world: World, running: RunningBot) -> None:
    async with asyncio.timeout(10):
        user = await running.bot.fetch_user(world.alice.id)
        await user.send("Your reflection was received")
        [dm] = sim.dms(world.alice.id)
        assert dm.content == "Your reflection was received" and dm.guild_id is None
        sim.set_dms_closed(world.bob.id)
        bob = await running.bot.fetch_user(world.bob.id)
        with pytest.raises(discord.Forbidden) as info:
            await bob.send("hello?")
        assert info.value.code == 50007
        await sim.send_dm(world.alice.id, "thanks!")
        await sim.wait_for(lambda: any(m.content == "thanks!" for m in running.bot.seen.messages))


async def test_upload_limits(sim: DiscordSimulator, world: World, running: RunningBot) -> None:
    async with asyncio.timeout(20):
        channel = running.bot.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        big = b"\0" * (10 * 1024 * 1024 + 1)
        with pytest.raises(discord.HTTPException) as info:
            await channel.send(file=discord.File(io.BytesIO(big), "big.bin"))
        assert info.value.status == 413 and info.value.code == 40005
        ok = await channel.send(file=discord.File(io.BytesIO(b"\0" * (10 * 1024 * 1024)), "ok.bin"))
        assert sim.message(ok.id).attachments[0].size == 10 * 1024 * 1024


async def test_raw_error_shapes(sim: DiscordSimulator, world: World) -> None:
    async with asyncio.timeout(10):
        headers = {"Authorization": f"Bot {sim.bot_token}"}
        async with aiohttp.ClientSession() as http:
            async with http.get(sim.api_base_url + "/definitely/not/a/route", headers=headers) as r:
                assert r.status == 404
                assert r.headers["Content-Type"] == "application/json"
                assert await r.json() == {"message": "404: Not Found", "code": 0}
            assert sim.unknown_routes == ["GET /api/v10/definitely/not/a/route"]
            async with http.get(sim.api_base_url + "/users/@me") as r:
                assert r.status == 401 and (await r.json())["code"] == 0
            async with http.get(sim.api_base_url + "/channels/1", headers=headers) as r:
                assert r.status == 404 and (await r.json())["code"] == 10003
            async with http.post(
                f"{sim.api_base_url}/channels/{world.general.id}/messages",
                headers=headers,
                json={"content": "x" * 2001},
            ) as r:
                assert r.status == 400
                assert r.headers["Content-Type"] == "application/json"
                assert await r.json() == {
                    "message": "Invalid Form Body",
                    "code": 50035,
                    "errors": {
                        "content": {
                            "_errors": [
                                {
                                    "code": "BASE_TYPE_MAX_LENGTH",
                                    "message": "Must be 2000 or fewer in length.",
                                }
                            ]
                        }
                    },
                }
        assert [c.status for c in sim.rest_log] == [404, 401, 404, 400]


async def test_enforced_nonce_returns_the_first_message_instead_of_a_duplicate(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    """Brew Host relies on this to post each prompt exactly once across a restart."""
    async with asyncio.timeout(10):
        channel = running.bot.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        first = await channel.send("Turn 2 of 4", nonce="bh7n12")
        again = await channel.send("Turn 2 of 4", nonce="bh7n12")
        other = await channel.send("Turn 3 of 4", nonce="bh7n13")
        assert again.id == first.id
        assert other.id != first.id
        posted = [m.content for m in sim.messages(world.general.id)]
        assert posted.count("Turn 2 of 4") == 1


async def test_a_nonce_is_honoured_for_minutes_only_and_never_stored_in_history(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    """As on Discord: after the nonce window the same nonce posts again, and history (or a
    fetch) never shows a nonce, so only author and content tell what was already posted."""
    async with asyncio.timeout(10):
        channel = running.bot.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        first = await channel.send("Turn 2 of 4", nonce="bh7n12")
        assert first.nonce == "bh7n12"  # the create response echoes it
        history = [m async for m in channel.history(limit=5)]
        assert [m.id for m in history] == [first.id] and history[0].nonce is None
        assert (await channel.fetch_message(first.id)).nonce is None
        sim.advance_time(NONCE_WINDOW_SECONDS + 1)
        later = await channel.send("Turn 2 of 4", nonce="bh7n12")
        assert later.id != first.id
        assert [m.content for m in sim.messages(world.general.id)].count("Turn 2 of 4") == 2


async def test_on_message_sees_each_new_message_once(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    """Benchmarks watch hundreds of channels through ``sim.on_message`` instead of rescanning."""
    seen: list[tuple[int, str]] = []
    sim.on_message(lambda m: seen.append((m.channel_id, m.content)))
    async with asyncio.timeout(10):
        channel = running.bot.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        await channel.send("From the bot", nonce="bh1n1")
        await channel.send("From the bot", nonce="bh1n1")  # a duplicate: no new message
        await sim.send_message(world.general.id, world.alice.id, "From Alice")
    assert seen == [(world.general.id, "From the bot"), (world.general.id, "From Alice")]
