"""After a restart: people still waiting where the brew gathers are moved into their room.

The previous process may have stopped after a room was opened and started but before everyone
was moved into it (moves are paced and can take a minute for a big brew). Recovery then finds
the room running, so the opener never runs again; without this, those people would sit in the
main voice channel and have their turns skipped as "not in the room".
"""

from __future__ import annotations

import asyncio
import logging

import discord

from bot.core.grouping import Group
from bot.db import repo
from bot.services import Services
from bot.shell.protocols import RoomControls
from bot.shell.rooms import RoomOpener

log = logging.getLogger(__name__)


async def move_stragglers(
    runner: RoomControls, client: discord.Client, services: Services, room_id: int
) -> int:
    """After a restart, move into a running room the people still waiting where the brew
    gathers (the main voice channel or the facilitator's): the previous process may have
    stopped between opening the room and moving everyone. Only in the first steps (Arrive,
    Think), so nobody who later chose to leave the room is pulled back. Returns how many moved."""
    async with services.sessions() as session:
        room = await repo.load_room(session, room_id)
        brew = await repo.load_brew(session, room.brew_id) if room else None
        if room is None or brew is None or room.status != "running":
            return 0
        if room.phase not in ("arrive", "think") or not room.voice_channel_id:
            return 0
        settings = await repo.settings_for(session, brew.guild_id)
        role_id, main_voice_id = settings.facilitator_role_id, settings.main_voice_channel_id
        await session.commit()
    guild = client.get_guild(brew.guild_id)
    voice = guild.get_channel(room.voice_channel_id) if guild else None
    if guild is None or not isinstance(voice, discord.VoiceChannel):
        return 0
    group = Group(
        members=tuple(str(m.user_id) for m in room.members), turns_in_text=room.turns_in_text
    )
    opener = RoomOpener(
        runner, guild, brew, [room], [group], services=services,
        facilitator_role_id=role_id, main_voice_channel_id=main_voice_id, client=client,
    )  # fmt: skip
    waiting = [
        m.user_id
        for m in room.members
        if not m.text_only and opener._voice_channel_id(m.user_id) in opener._gathering
    ]
    await asyncio.gather(*(opener._move(user_id, voice) for user_id in waiting))
    if waiting:
        log.info(
            "brew %s room %s: moved %d people still waiting after a restart",
            brew.id, room.index + 1, opener.report.moved,
        )  # fmt: skip
    return opener.report.moved
