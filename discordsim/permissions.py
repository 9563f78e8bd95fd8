"""Permission bits and the documented effective-permission algorithm.

Discord computes a member's permissions in a channel as: the guild owner has everything; else
start from the @everyone role, OR in every role the member has; ADMINISTRATOR grants
everything; then apply the channel's overwrites in order @everyone, roles (all allows and denies
combined), member; finally channel-level implications (no VIEW_CHANNEL means nothing in the
channel, no SEND_MESSAGES removes the perms that depend on it, a timed-out member keeps only
VIEW_CHANNEL and READ_MESSAGE_HISTORY). See
https://discord.com/developers/docs/topics/permissions#permission-overwrites.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from enum import IntFlag
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Channel, Guild, Member


class Permission(IntFlag):
    """Discord permission bits (API v10)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    PRIORITY_SPEAKER = 1 << 8
    STREAM = 1 << 9
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    VIEW_GUILD_INSIGHTS = 1 << 19
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    MUTE_MEMBERS = 1 << 22
    DEAFEN_MEMBERS = 1 << 23
    MOVE_MEMBERS = 1 << 24
    USE_VAD = 1 << 25
    CHANGE_NICKNAME = 1 << 26
    MANAGE_NICKNAMES = 1 << 27
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    MANAGE_GUILD_EXPRESSIONS = 1 << 30
    USE_APPLICATION_COMMANDS = 1 << 31
    REQUEST_TO_SPEAK = 1 << 32
    MANAGE_EVENTS = 1 << 33
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    USE_EXTERNAL_STICKERS = 1 << 37
    SEND_MESSAGES_IN_THREADS = 1 << 38
    USE_EMBEDDED_ACTIVITIES = 1 << 39
    MODERATE_MEMBERS = 1 << 40
    VIEW_CREATOR_MONETIZATION_ANALYTICS = 1 << 41
    USE_SOUNDBOARD = 1 << 42
    CREATE_GUILD_EXPRESSIONS = 1 << 43
    CREATE_EVENTS = 1 << 44
    USE_EXTERNAL_SOUNDS = 1 << 45
    SEND_VOICE_MESSAGES = 1 << 46
    SEND_POLLS = 1 << 49
    USE_EXTERNAL_APPS = 1 << 50
    PIN_MESSAGES = 1 << 51


ALL_PERMISSIONS = 0
for _p in Permission:
    ALL_PERMISSIONS |= int(_p)

P = Permission

#: What @everyone gets in a freshly created Discord server (approximately the client's defaults).
DEFAULT_EVERYONE_PERMISSIONS = int(
    P.CREATE_INSTANT_INVITE
    | P.ADD_REACTIONS
    | P.STREAM
    | P.VIEW_CHANNEL
    | P.SEND_MESSAGES
    | P.SEND_TTS_MESSAGES
    | P.EMBED_LINKS
    | P.ATTACH_FILES
    | P.READ_MESSAGE_HISTORY
    | P.MENTION_EVERYONE
    | P.USE_EXTERNAL_EMOJIS
    | P.CONNECT
    | P.SPEAK
    | P.USE_VAD
    | P.CHANGE_NICKNAME
    | P.USE_APPLICATION_COMMANDS
    | P.REQUEST_TO_SPEAK
    | P.CREATE_PUBLIC_THREADS
    | P.CREATE_PRIVATE_THREADS
    | P.USE_EXTERNAL_STICKERS
    | P.SEND_MESSAGES_IN_THREADS
    | P.USE_EMBEDDED_ACTIVITIES
    | P.USE_SOUNDBOARD
    | P.USE_EXTERNAL_SOUNDS
    | P.SEND_VOICE_MESSAGES
    | P.SEND_POLLS
    | P.USE_EXTERNAL_APPS
)

#: What the simulated bot's managed role holds unless a test says otherwise: what Brew Host asks
#: for in its invite link (channels, moving people, posting).
DEFAULT_BOT_PERMISSIONS = int(
    P.MANAGE_CHANNELS
    | P.MOVE_MEMBERS
    | P.VIEW_CHANNEL
    | P.SEND_MESSAGES
    | P.EMBED_LINKS
    | P.ATTACH_FILES
    | P.READ_MESSAGE_HISTORY
    | P.CONNECT
    | P.SPEAK
    | P.MANAGE_MESSAGES
    | P.USE_APPLICATION_COMMANDS
)

# Permissions that only make sense with SEND_MESSAGES (Discord drops them without it).
_SEND_DEPENDENT = int(
    P.SEND_TTS_MESSAGES | P.MENTION_EVERYONE | P.EMBED_LINKS | P.ATTACH_FILES | P.SEND_POLLS
)
_TIMEOUT_KEEP = int(P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY)


def names(value: int) -> list[str]:
    """Readable names of the set bits, for log and error messages."""
    return [p.name or str(int(p)) for p in Permission if value & int(p)]


def combine(values: Iterable[int]) -> int:
    out = 0
    for value in values:
        out |= value
    return out


def base_permissions(guild: Guild, member: Member) -> int:
    """Guild-level permissions of ``member`` (before channel overwrites)."""
    if member.user_id == guild.owner_id:
        return ALL_PERMISSIONS
    everyone = guild.roles.get(guild.id)
    perms = everyone.permissions if everyone else 0
    for role_id in member.roles:
        role = guild.roles.get(role_id)
        if role is not None:
            perms |= role.permissions
    if perms & P.ADMINISTRATOR:
        return ALL_PERMISSIONS
    return perms


def apply_overwrites(guild: Guild, member: Member, channel: Channel, base: int) -> int:
    """Apply ``channel``'s overwrites to ``base`` in Discord's documented order."""
    perms = base
    everyone = channel.overwrites.get(guild.id)
    if everyone is not None:
        perms &= ~everyone.deny
        perms |= everyone.allow
    allow = deny = 0
    for role_id in member.roles:
        ow = channel.overwrites.get(role_id)
        if ow is not None and ow.type == 0:
            allow |= ow.allow
            deny |= ow.deny
    perms &= ~deny
    perms |= allow
    mine = channel.overwrites.get(member.user_id)
    if mine is not None and mine.type == 1:
        perms &= ~mine.deny
        perms |= mine.allow
    return perms


def is_timed_out(member: Member, now: datetime.datetime | None = None) -> bool:
    until = member.communication_disabled_until
    if until is None:
        return False
    now = now or datetime.datetime.now(datetime.UTC)
    return until > now


def channel_permissions(guild: Guild, member: Member, channel: Channel | None) -> int:
    """Effective permissions of ``member`` in ``channel`` (or guild-level when ``None``)."""
    base = base_permissions(guild, member)
    if base == ALL_PERMISSIONS and (member.user_id == guild.owner_id or base & P.ADMINISTRATOR):
        return ALL_PERMISSIONS
    if channel is None:
        perms = base
    else:
        perms = apply_overwrites(guild, member, channel, base)
        if not perms & P.VIEW_CHANNEL:
            return 0
        if not perms & P.SEND_MESSAGES:
            perms &= ~_SEND_DEPENDENT
    if is_timed_out(member):
        perms &= _TIMEOUT_KEEP
    return perms


def has(perms: int, *needed: int) -> bool:
    """True when every permission in ``needed`` is set (ADMINISTRATOR implies all)."""
    if perms & P.ADMINISTRATOR:
        return True
    want = combine(needed)
    return perms & want == want
