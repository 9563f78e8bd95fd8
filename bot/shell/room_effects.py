"""The outbox's effects other than posts (:mod:`bot.shell.outbox`): moving people back to the
main voice channel, and deleting a room's channels."""

from __future__ import annotations

import asyncio
import logging

import discord

from bot.db import repo
from bot.db.models import Room
from bot.services import Services

log = logging.getLogger(__name__)


async def recall(services: Services, guild: discord.Guild, room: Room) -> None:
    """Move everyone still in the room's voice channel back to the main voice channel."""
    async with services.sessions() as session:
        settings = await repo.settings_for(session, guild.id)
        main_id = settings.main_voice_channel_id
        await session.commit()
    target = guild.get_channel(main_id) if main_id else None
    voice = guild.get_channel(room.voice_channel_id or 0)
    if not isinstance(voice, discord.VoiceChannel) or not isinstance(target, discord.VoiceChannel):
        return
    results = await asyncio.gather(
        *(m.move_to(target, reason="Brew finished") for m in voice.members),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, Exception):
            log.info("room %s: could not move someone back: %s", room.id, result)


async def delete_room_channels(services: Services, guild: discord.Guild, room: Room) -> None:
    """The room's channels deleted, the room marked ended first."""
    # Marked first, so the channel-deleted events that follow are not taken for a fault.
    async with services.sessions() as session:
        fresh = await session.get(Room, room.id)
        if fresh is not None and fresh.status == "running":
            fresh.status = "ended"
            await session.commit()
    for channel_id in (room.text_channel_id, room.voice_channel_id):
        channel = guild.get_channel(channel_id or 0)
        if channel is None:
            continue
        try:
            await channel.delete(reason="Brew finished")
        except discord.NotFound:
            pass
