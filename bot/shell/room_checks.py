"""What opening rooms needs before anything is made: the bot's permissions and room for the
channels (:func:`check_bot_can_open`), the brew's own voice and text channels
(:func:`brew_channels`), and the permission overwrites each room's channels are created with, so
nothing has to be edited afterwards (:func:`room_overwrites`); and the names the rooms' channels
get, by which a restart finds them again (:func:`find_channel`). Used by :mod:`bot.shell.rooms`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import discord

from bot.db.models import Brew, Room
from bot.permissions import (
    human_name,
    missing_in_text_channel,
    missing_in_voice_channel,
    missing_names,
)
from bot.shell.errors import UserFacingError

GUILD_CHANNEL_LIMIT = 500
CATEGORY_CHANNEL_LIMIT = 50
GROUPS_PER_CATEGORY = CATEGORY_CHANNEL_LIMIT // 2


@dataclass(frozen=True)
class BrewChannels:
    """The existing channels a brew works in, to check before anything is created."""

    text: discord.abc.GuildChannel | None = None
    voice: tuple[discord.abc.GuildChannel, ...] = ()


def check_bot_can_open(
    guild: discord.Guild, groups: int, channels: BrewChannels | None = None
) -> None:
    """Refuse kindly, before creating anything, if the bot lacks a permission or channel space.

    ``channels`` are the brew's own channels (see :func:`brew_channels`): a channel's settings
    can take away what the server gives, and Discord checks Move Members in the voice channel
    people are in, so a main room hidden from the bot would make every move fail.
    """
    me = guild.me
    missing = missing_names(me.guild_permissions.value) if me else ["view_channel"]
    if missing:
        names = ", ".join(human_name(n) for n in missing)
        raise UserFacingError(
            "I can't open the rooms because I don't have these permissions in this server: "
            f"{names}. "
            "A server admin can give them to my role (Server Settings > Roles), then try again. "
            "Nothing has been created."
        )
    channels = channels or BrewChannels()
    checks = [(channels.text, False)] if channels.text is not None else []
    checks += [(channel, True) for channel in channels.voice]
    for channel, voice in checks:
        have = channel.permissions_for(me).value
        lacking = missing_in_voice_channel(have) if voice else missing_in_text_channel(have)
        if lacking:
            why = "move people in and out of" if voice else "post in"
            raise UserFacingError(
                f"I can't {why} the channel {channel.mention} ({channel.name}) because I don't "
                f"have these permissions there: {', '.join(lacking)}. A server admin can give "
                "them to my role in that channel's settings (Edit Channel > Permissions), then "
                "try again. Nothing has been created."
            )
    needed = 2 * groups + math.ceil(groups / GROUPS_PER_CATEGORY)
    free = GUILD_CHANNEL_LIMIT - len(guild.channels)
    if needed > free:
        raise UserFacingError(
            f"This brew needs {needed} new channels, but the server only has room for {free} more "
            f"(Discord allows {GUILD_CHANNEL_LIMIT}). Try bigger groups, or tidy away old "
            "channels. "
            "Nothing has been created."
        )


class _HasChannels(Protocol):
    @property
    def facilitator_id(self) -> int | None: ...
    @property
    def channel_id(self) -> int | None: ...


def brew_channels(
    guild: discord.Guild, brew: _HasChannels, main_voice_channel_id: int | None
) -> BrewChannels:
    """The brew's text channel, the voice channel the facilitator is in (where people are moved
    out of) and the server's main voice channel (where they go back to at the end)."""
    facilitator = guild.get_member(brew.facilitator_id or 0)
    voice: list[discord.abc.GuildChannel] = []
    for channel in (
        facilitator.voice.channel if facilitator and facilitator.voice else None,
        guild.get_channel(main_voice_channel_id or 0),
    ):
        if channel is not None and channel not in voice:
            voice.append(channel)
    return BrewChannels(text=guild.get_channel(brew.channel_id or 0), voice=tuple(voice))


def room_overwrites(
    guild: discord.Guild,
    members: Sequence[int],
    facilitator_role_id: int | None,
    *,
    voice: bool,
    facilitator_id: int | None = None,
) -> dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite]:
    person = (
        discord.PermissionOverwrite(view_channel=True, connect=True, speak=True)
        if voice
        else discord.PermissionOverwrite(
            view_channel=True, send_messages=True, read_message_history=True
        )
    )
    overwrites: dict[
        discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite
    ] = {
        guild.default_role: discord.PermissionOverwrite(view_channel=False),
    }
    if guild.me is not None:
        overwrites[guild.me] = discord.PermissionOverwrite(
            view_channel=True,
            send_messages=True,
            read_message_history=True,
            manage_channels=True,
            connect=True,
            move_members=True,
        )
    if facilitator_role_id:
        role = guild.get_role(facilitator_role_id)
        if role is not None:
            overwrites[role] = person
    # The facilitator running the brew may hold the space through Manage Server rather than
    # the role, so they are let in by name as well.
    for user_id in [*members, *([facilitator_id] if facilitator_id else [])]:
        overwrites[discord.Object(id=user_id, type=discord.Member)] = person
    return overwrites


def voice_name(room: Room) -> str:
    return f"Room {room.index + 1}"


def text_name(room: Room) -> str:
    return f"room-{room.index + 1}"


def category_name(brew: Brew, part: int, parts: int) -> str:
    suffix = f" (part {part} of {parts})" if parts > 1 else ""
    return f"Brew {brew.number}: {brew.title}"[: 100 - len(suffix)] + suffix


def find_channel(
    guild: discord.Guild,
    saved_id: int | None,
    category: discord.CategoryChannel | None,
    name: str,
    kind: type[discord.abc.GuildChannel],
) -> discord.abc.GuildChannel | None:
    """A room's channel after a restart: by its saved id, else by name in its category (the
    process may have stopped after Discord made it but before its id was saved)."""
    channel = guild.get_channel(saved_id or 0)
    if isinstance(channel, kind):
        return channel
    if category is None:
        return None
    return next(
        (c for c in guild.channels if isinstance(c, kind) and c.category_id == category.id
         and c.name == name),
        None,
    )  # fmt: skip


def brew_categories(guild: discord.Guild, brew: Brew) -> list[discord.CategoryChannel | None]:
    """The brew's categories, part by part: saved ids, else found by name."""
    parts = max(1, math.ceil(len(brew.rooms) / GROUPS_PER_CATEGORY))
    found: list[discord.CategoryChannel | None] = []
    for part in range(parts):
        saved = brew.category_ids[part] if part < len(brew.category_ids) else 0
        channel = guild.get_channel(saved)
        if not isinstance(channel, discord.CategoryChannel):
            name = category_name(brew, part + 1, parts)
            channel = next((c for c in guild.categories if c.name == name), None)
        found.append(channel)
    return found
