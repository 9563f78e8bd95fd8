"""Permissions in the brew's own channels are checked before anything is created.

Discord checks Move Members in the voice channel a person is in, not only server-wide: a main
room the bot cannot see would make every move fail with 403 after the rooms were made.
"""

from __future__ import annotations

import discord
from sqlalchemy import select

from bot.db.models import Room
from discordsim import Permission

from .conftest import Harness


def channel_creates(harness: Harness) -> int:
    return len(
        [c for c in harness.sim.rest_log if c.method == "POST" and c.route.endswith("/channels")]
    )


def bot_can(harness: Harness, channel_id: int, permission: str) -> bool:
    """What the bot's own cache says it may do in a channel (it sees overwrites by gateway)."""
    assert harness.bot is not None
    guild = harness.bot.get_guild(harness.world.guild.id)
    channel = harness.bot.get_channel(channel_id)
    assert guild is not None and isinstance(channel, discord.abc.GuildChannel)
    return bool(getattr(channel.permissions_for(guild.me), permission))


async def _start_refused(harness: Harness) -> str:
    world = harness.world
    await harness.put_in_voice([*world.people[:4], world.facilitator])
    before = channel_creates(harness)
    rec = await harness.command(world.facilitator, "brew start", question="What's missing?")
    text = await harness.final_text(rec)
    assert "Nothing has been created" in text
    assert channel_creates(harness) == before
    assert not harness.room_channels()
    async with harness.sessions() as session:
        assert (await session.execute(select(Room))).first() is None
    return text


async def test_a_main_voice_channel_hidden_from_the_bot_is_named(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    sim.set_overwrite(world.lounge.id, sim.bot_id, deny=int(Permission.VIEW_CHANNEL))
    await harness.wait_for(lambda: not bot_can(harness, world.lounge.id, "view_channel"))
    text = await _start_refused(harness)
    assert f"<#{world.lounge.id}>" in text
    assert "View Channel, Connect, Move Members" in text


async def test_move_members_denied_in_the_main_voice_channel_is_named(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    sim.set_overwrite(world.lounge.id, sim.bot_id, deny=int(Permission.MOVE_MEMBERS))
    await harness.wait_for(lambda: not bot_can(harness, world.lounge.id, "move_members"))
    text = await _start_refused(harness)
    assert "these permissions there: Move Members." in text


async def test_send_messages_denied_in_the_brew_channel_is_named(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    sim.set_overwrite(world.hall.id, sim.bot_id, deny=int(Permission.SEND_MESSAGES))
    await harness.wait_for(lambda: not bot_can(harness, world.hall.id, "send_messages"))
    text = await _start_refused(harness)
    assert f"I can't post in the channel <#{world.hall.id}>" in text
    assert "Send Messages" in text
