"""Storage, lookups, permission checks, event dispatch and voice state for :class:`SimState`.

:class:`~discordsim.state.SimState` is assembled from this base and the operation mixins in
:mod:`.guilds`, :mod:`.channels`, :mod:`.messages` and :mod:`.appcommands`, so each part of the
Discord rules lives in a small module while all of them share one world. Methods raise
:class:`~discordsim.errors.ApiError` with Discord's status, code and error tree when a request
would fail on Discord.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from . import errors as E
from . import payloads as pl
from .errors import ApiError, field_error, invalid_form_body
from .models import (
    VOICE_TYPES,
    ApplicationCommand,
    Attachment,
    Channel,
    Guild,
    Member,
    Message,
    User,
    VoiceState,
)
from .permissions import (
    P,
    channel_permissions,
    has,
)
from .snowflake import SnowflakeGenerator

_log = logging.getLogger("discordsim.state")

# Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents)
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_VOICE_STATES = 1 << 7
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
INTENT_GUILD_PRESENCES = 1 << 8
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

MAX_GUILD_CHANNELS = 500
MAX_CATEGORY_CHANNELS = 50
MAX_FILE_SIZE = 10 * 1024 * 1024
MAX_REQUEST_SIZE = 25 * 1024 * 1024
ATTACHMENT_SIZE_LIMIT = MAX_FILE_SIZE


#: A payload, or a factory that builds it for one session given that session's intents
#: (``None`` from the factory means "do not send to this session").
PayloadFactory = Callable[[int], dict[str, Any] | None]


class EventSink(Protocol):
    """Where gateway events go (the gateway server implements it)."""

    def dispatch(
        self,
        event: str,
        payload: dict[str, Any] | PayloadFactory,
        *,
        intent: int | None = None,
        guild_id: int | None = None,
        on_sent: Callable[[], None] | None = None,
    ) -> None:
        """Send ``event`` to every session that should get it; ``on_sent`` is called once,
        when the first frame carrying it has been written to a bot's socket."""
        ...


class NullSink:
    """Event sink used before the gateway exists (and in pure state unit tests)."""

    def dispatch(
        self,
        event: str,
        payload: dict[str, Any] | PayloadFactory,
        *,
        intent: int | None = None,
        guild_id: int | None = None,
        on_sent: Callable[[], None] | None = None,
    ) -> None:
        return None


@dataclass
class UploadedFile:
    """A file part of a multipart request (``files[n]``)."""

    index: int
    filename: str
    data: bytes
    content_type: str | None = None


class StateBase:
    """All simulated Discord data plus the operations on it."""

    def __init__(
        self,
        *,
        bot_name: str = "Brew Host",
        sink: EventSink | None = None,
    ) -> None:
        self.ids = SnowflakeGenerator()
        self.sink: EventSink = sink or NullSink()
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.channel_messages: dict[int, list[int]] = {}
        self.dm_channels: dict[int, int] = {}
        #: Every attachment by id, so the HTTP server can serve ``attachment.url``.
        self.attachment_index: dict[int, Attachment] = {}
        self.global_commands: dict[int, ApplicationCommand] = {}
        self.guild_commands: dict[int, dict[int, ApplicationCommand]] = {}
        self.http_base = "http://127.0.0.1"
        self.bot = self.create_user(
            bot_name.lower().replace(" ", ""), global_name=bot_name, bot=True
        )
        self.application_id = self.bot.id
        self.listeners: list[Callable[[], None]] = []
        #: Called with each new message as it is stored (before its gateway event), so a driver
        #: watching thousands of channels reacts to each post once instead of rescanning them.
        self.message_listeners: list[Callable[[Message], None]] = []
        self.now_monotonic: Callable[[], float] = lambda: 0.0

    # ------------------------------------------------------------------ helpers
    def changed(self) -> None:
        """Tell waiters (``sim.wait_for``) that something changed."""
        for listener in list(self.listeners):
            listener()

    def dispatch(
        self,
        event: str,
        payload: dict[str, Any] | PayloadFactory,
        *,
        intent: int | None = None,
        guild_id: int | None = None,
        on_sent: Callable[[], None] | None = None,
    ) -> None:
        if guild_id is not None and event != "GUILD_DELETE":
            guild = self.guilds.get(guild_id)
            if guild is not None and self.bot.id not in guild.members:
                # The bot only hears about guilds it is in.
                self.changed()
                return
        self.sink.dispatch(event, payload, intent=intent, guild_id=guild_id, on_sent=on_sent)
        self.changed()

    def guild(self, guild_id: int) -> Guild:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise E.not_found(E.UNKNOWN_GUILD, "Guild") from None

    def channel(self, channel_id: int) -> Channel:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise E.not_found(E.UNKNOWN_CHANNEL, "Channel") from None

    def user(self, user_id: int) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise E.not_found(E.UNKNOWN_USER, "User") from None

    def member(self, guild_id: int, user_id: int) -> Member:
        guild = self.guild(guild_id)
        try:
            return guild.members[user_id]
        except KeyError:
            raise E.not_found(E.UNKNOWN_MEMBER, "Member") from None

    def message(self, channel_id: int, message_id: int) -> Message:
        msg = self.messages.get(message_id)
        if msg is None or msg.deleted or msg.channel_id != channel_id:
            raise E.not_found(E.UNKNOWN_MESSAGE, "Message")
        return msg

    def permissions(self, guild_id: int, user_id: int, channel_id: int | None = None) -> int:
        """Effective permissions of a member (guild-level when ``channel_id`` is None)."""
        guild = self.guild(guild_id)
        member = self.member(guild_id, user_id)
        channel = self.channel(channel_id) if channel_id is not None else None
        return channel_permissions(guild, member, channel)

    def bot_permissions(self, guild: Guild, channel: Channel | None) -> int:
        member = guild.members.get(self.bot.id)
        if member is None:
            return 0
        return channel_permissions(guild, member, channel)

    def require_bot(self, guild: Guild, channel: Channel | None, *needed: int) -> int:
        """403 unless the bot holds ``needed`` (50001 when it cannot even see the channel)."""
        if self.bot.id not in guild.members:
            raise E.missing_access()
        perms = self.bot_permissions(guild, channel)
        if channel is not None and not has(perms, P.VIEW_CHANNEL):
            raise E.missing_access()
        if not has(perms, *needed):
            raise E.missing_permissions()
        return perms

    def guild_channels(self, guild_id: int) -> list[Channel]:
        guild = self.guild(guild_id)
        return [self.channels[c] for c in guild.channel_ids]

    def member_payload_event(self, member: Member) -> dict[str, Any]:
        out = pl.member_payload(member)
        out["guild_id"] = str(member.guild_id)
        return out

    # ------------------------------------------------------------------ users & guilds
    def create_user(
        self, username: str, *, global_name: str | None = None, bot: bool = False
    ) -> User:
        user = User(id=self.ids.next(), username=username, global_name=global_name, bot=bot)
        self.users[user.id] = user
        return user

    # ------------------------------------------------------------------ voice
    def _voice_dispatch(self, guild: Guild, vs: VoiceState) -> None:
        member = guild.members.get(vs.user_id)
        self.dispatch(
            "VOICE_STATE_UPDATE",
            pl.voice_state_payload(vs, member=member),
            intent=INTENT_GUILD_VOICE_STATES,
            guild_id=guild.id,
        )

    def voice_channel_of(self, guild_id: int, user_id: int) -> int | None:
        vs = self.guild(guild_id).voice_states.get(user_id)
        return vs.channel_id if vs else None

    def voice_members(self, channel_id: int) -> list[int]:
        channel = self.channel(channel_id)
        if channel.guild_id is None:
            return []
        guild = self.guild(channel.guild_id)
        return [uid for uid, vs in guild.voice_states.items() if vs.channel_id == channel_id]

    def set_voice(
        self,
        guild_id: int,
        user_id: int,
        channel_id: int | None,
        *,
        self_mute: bool | None = None,
        self_deaf: bool | None = None,
    ) -> VoiceState | None:
        """Connect/move/disconnect a member (no permission checks) and dispatch the update."""
        guild = self.guild(guild_id)
        member = self.member(guild_id, user_id)
        if channel_id is not None:
            channel = self.channel(channel_id)
            if channel.guild_id != guild_id or channel.type not in VOICE_TYPES:
                raise E.ApiError(
                    400, E.INVALID_CHANNEL_TYPE, "Cannot execute action on this channel type"
                )
        vs = guild.voice_states.get(user_id)
        if channel_id is None:
            if vs is None:
                return None
            vs.channel_id = None
            del guild.voice_states[user_id]
            self._voice_dispatch(guild, vs)
            return None
        if vs is None:
            vs = VoiceState(
                guild_id=guild_id,
                user_id=user_id,
                channel_id=channel_id,
                session_id=secrets.token_hex(16),
                mute=member.mute,
                deaf=member.deaf,
            )
            guild.voice_states[user_id] = vs
        vs.channel_id = channel_id
        if self_mute is not None:
            vs.self_mute = self_mute
        if self_deaf is not None:
            vs.self_deaf = self_deaf
        self._voice_dispatch(guild, vs)
        return vs

    def _bot_move(self, guild: Guild, member: Member, raw_channel: Any) -> None:
        vs = guild.voice_states.get(member.user_id)
        if vs is None or vs.channel_id is None:
            raise ApiError(400, E.TARGET_NOT_IN_VOICE, "Target user is not connected to voice.")
        if raw_channel is None:
            current = self.channels.get(vs.channel_id)
            self.require_bot(guild, current, P.MOVE_MEMBERS)
            self.set_voice(guild.id, member.user_id, None)
            return
        try:
            target = self.channel(int(raw_channel))
        except (TypeError, ValueError):
            raise invalid_form_body(
                {"channel_id": field_error("NUMBER_TYPE_COERCE", "Value is not snowflake.")}
            ) from None
        if target.guild_id != guild.id or target.type not in VOICE_TYPES:
            raise ApiError(
                400, E.INVALID_CHANNEL_TYPE, "Cannot execute action on this channel type"
            )
        # The bot needs Move Members and Connect on the target, and Move Members in the channel
        # the member is in now (channel overwrites applied: a private room the bot cannot see
        # gives it no Move Members there, so every move out of it is refused with 403). The
        # member's own permissions do not matter (they can be moved into a channel they cannot
        # see) and user limits do not apply to moves.
        self.require_bot(guild, self.channels.get(vs.channel_id), P.MOVE_MEMBERS)
        self.require_bot(guild, target, P.MOVE_MEMBERS, P.CONNECT)
        if vs.channel_id != target.id:
            self.set_voice(guild.id, member.user_id, target.id)
