"""The simulator's world state and the rules Discord applies when it changes.

:class:`SimState` owns users, guilds, roles, members, channels, voice states, messages, DM
channels and registered application commands. Its methods are the single place where both REST
handlers (acting as the bot, with permission checks) and the test driver (acting as "the world",
usually without checks) change things, so the same Discord rules and the same gateway events
apply whichever side made the change. Methods raise :class:`~discordsim.errors.ApiError` with
Discord's status, code and error tree when a request would fail on Discord.
"""

from __future__ import annotations

from .appcommands import CommandOps
from .channels import ChannelOps
from .events import ScheduledEventOps
from .guilds import GuildOps
from .messages import MessageOps
from .statebase import (
    ATTACHMENT_SIZE_LIMIT,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILD_VOICE_STATES,
    INTENT_GUILDS,
    INTENT_MESSAGE_CONTENT,
    MAX_CATEGORY_CHANNELS,
    MAX_FILE_SIZE,
    MAX_GUILD_CHANNELS,
    MAX_REQUEST_SIZE,
    PRIVILEGED_INTENTS,
    EventSink,
    NullSink,
    PayloadFactory,
    UploadedFile,
)


class SimState(ScheduledEventOps, GuildOps, ChannelOps, MessageOps, CommandOps):
    """All simulated Discord data plus the operations on it (see the mixins' modules;
    :mod:`.events` holds guild scheduled events)."""


__all__ = [
    "ATTACHMENT_SIZE_LIMIT",
    "INTENT_DIRECT_MESSAGES",
    "INTENT_GUILDS",
    "INTENT_GUILD_MEMBERS",
    "INTENT_GUILD_MESSAGES",
    "INTENT_GUILD_VOICE_STATES",
    "INTENT_MESSAGE_CONTENT",
    "MAX_CATEGORY_CHANNELS",
    "MAX_FILE_SIZE",
    "MAX_GUILD_CHANNELS",
    "MAX_REQUEST_SIZE",
    "PRIVILEGED_INTENTS",
    "EventSink",
    "NullSink",
    "PayloadFactory",
    "SimState",
    "UploadedFile",
]
