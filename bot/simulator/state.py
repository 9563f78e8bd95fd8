"""The simulator's world state and the rules Discord applies when it changes.

:class:`SimState` owns users, guilds, roles, members, channels, voice states, messages, DM
channels and registered application commands. Its methods are the single place where both REST
handlers (acting as the bot, with permission checks) and the test driver (acting as "the world",
usually without checks) change things, so the same Discord rules and the same gateway events
apply whichever side made the change. Methods raise :class:`~bot.simulator.errors.ApiError` with
Discord's status, code and error tree when a request would fail on Discord.
"""

from __future__ import annotations

import datetime
import logging
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from . import errors as E
from . import payloads as pl
from .errors import ApiError, field_error, invalid_form_body
from .models import (
    CREATABLE_TYPES,
    DM,
    FLAG_EPHEMERAL,
    FLAG_IS_COMPONENTS_V2,
    FLAG_LOADING,
    FLAG_SUPPRESS_EMBEDS,
    FLAG_SUPPRESS_NOTIFICATIONS,
    GUILD_CATEGORY,
    GUILD_TEXT,
    GUILD_VOICE,
    MESSAGEABLE_TYPES,
    VOICE_TYPES,
    ApplicationCommand,
    Attachment,
    Channel,
    Guild,
    Member,
    Message,
    Overwrite,
    Role,
    User,
    VoiceState,
)
from .permissions import (
    ALL_PERMISSIONS,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    P,
    base_permissions,
    channel_permissions,
    has,
)
from .snowflake import SnowflakeGenerator, iso
from .validation import Errors, bad_len, check_command, check_message, max_len

_log = logging.getLogger(__name__)

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

_USER_MENTION = re.compile(r"<@!?(\d{15,21})>")
_ROLE_MENTION = re.compile(r"<@&(\d{15,21})>")

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
    ) -> None: ...


class NullSink:
    """Event sink used before the gateway exists (and in pure state unit tests)."""

    def dispatch(
        self,
        event: str,
        payload: dict[str, Any] | PayloadFactory,
        *,
        intent: int | None = None,
        guild_id: int | None = None,
    ) -> None:
        return None


@dataclass
class UploadedFile:
    """A file part of a multipart request (``files[n]``)."""

    index: int
    filename: str
    data: bytes
    content_type: str | None = None


class SimState:
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
    ) -> None:
        if guild_id is not None and event != "GUILD_DELETE":
            guild = self.guilds.get(guild_id)
            if guild is not None and self.bot.id not in guild.members:
                # The bot only hears about guilds it is in.
                self.changed()
                return
        self.sink.dispatch(event, payload, intent=intent, guild_id=guild_id)
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

    def create_guild(
        self,
        name: str,
        *,
        owner: User | None = None,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        with_bot: bool = True,
    ) -> Guild:
        guild_id = self.ids.next()
        if owner is None:
            owner = self.create_user("owner" + str(guild_id)[-4:], global_name="Server Owner")
        guild = Guild(id=guild_id, name=name, owner_id=owner.id)
        guild.roles[guild_id] = Role(
            id=guild_id, guild_id=guild_id, name="@everyone", permissions=everyone_permissions
        )
        guild.members[owner.id] = Member(guild_id=guild_id, user=owner)
        self.guilds[guild_id] = guild
        if with_bot:
            self._add_bot(guild, bot_permissions)
        return guild

    def _add_bot(self, guild: Guild, permissions: int) -> None:
        role = Role(
            id=self.ids.next(),
            guild_id=guild.id,
            name=self.bot.name,
            permissions=permissions,
            managed=True,
            position=1,
            tags={"bot_id": str(self.bot.id)},
        )
        guild.roles[role.id] = role
        guild.bot_role_id = role.id
        guild.members[self.bot.id] = Member(guild_id=guild.id, user=self.bot, roles=[role.id])
        self._restack_roles(guild)

    def add_bot(self, guild_id: int, permissions: int = DEFAULT_BOT_PERMISSIONS) -> None:
        """The bot is invited to ``guild_id``: managed role, membership, GUILD_CREATE."""
        guild = self.guild(guild_id)
        if self.bot.id in guild.members:
            return
        self._add_bot(guild, permissions)
        self.announce_guild(guild)

    def remove_bot(self, guild_id: int) -> None:
        """The bot is kicked: voice state dropped, managed role deleted, GUILD_DELETE."""
        guild = self.guild(guild_id)
        if self.bot.id not in guild.members:
            return
        guild.voice_states.pop(self.bot.id, None)
        del guild.members[self.bot.id]
        if guild.bot_role_id is not None:
            guild.roles.pop(guild.bot_role_id, None)
            for member in guild.members.values():
                if guild.bot_role_id in member.roles:
                    member.roles.remove(guild.bot_role_id)
            guild.bot_role_id = None
        self.dispatch(
            "GUILD_DELETE", {"id": str(guild_id)}, intent=INTENT_GUILDS, guild_id=guild_id
        )

    def _restack_roles(self, guild: Guild) -> None:
        """Keep the bot's managed role on top, as a freshly invited bot usually is not but as
        every sane setup has it (so hierarchy checks only bite when a test asks for it)."""
        if guild.bot_role_id is None:
            return
        others = [r.position for r in guild.roles.values() if r.id != guild.bot_role_id]
        guild.roles[guild.bot_role_id].position = max(others, default=0) + 1

    def guild_create_payload(self, guild: Guild, intents: int) -> dict[str, Any]:
        """GUILD_CREATE for one session: members limited to the bot and voice members unless
        the session has the GUILD_MEMBERS intent (as Discord does)."""
        out = pl.guild_payload(guild)
        bot_member = guild.members.get(self.bot.id)
        if intents & INTENT_GUILD_MEMBERS:
            members = list(guild.members.values())
        else:
            wanted = {self.bot.id} | {
                uid for uid, vs in guild.voice_states.items() if vs.channel_id
            }
            members = [m for uid, m in guild.members.items() if uid in wanted]
        out.update(
            {
                "joined_at": iso(bot_member.joined_at if bot_member else None),
                "large": len(guild.members) >= 250,
                "unavailable": False,
                "member_count": len(guild.members),
                "voice_states": [
                    pl.voice_state_payload(vs, with_guild=False)
                    for vs in guild.voice_states.values()
                    if vs.channel_id
                ],
                "members": [pl.member_payload(m) for m in members],
                "channels": [pl.channel_payload(c) for c in self.guild_channels(guild.id)],
                "threads": [],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
                "embedded_activities": [],
            }
        )
        return out

    def announce_guild(self, guild: Guild) -> None:
        """GUILD_CREATE to connected sessions (the bot joined or the guild was created live)."""
        self.dispatch(
            "GUILD_CREATE",
            lambda intents: self.guild_create_payload(guild, intents),
            intent=INTENT_GUILDS,
            guild_id=guild.id,
        )

    def update_guild(self, guild: Guild) -> None:
        self.dispatch(
            "GUILD_UPDATE", pl.guild_payload(guild), intent=INTENT_GUILDS, guild_id=guild.id
        )

    # ------------------------------------------------------------------ roles
    def create_role(
        self,
        guild_id: int,
        name: str,
        *,
        permissions: int = 0,
        color: int = 0,
        hoist: bool = False,
        mentionable: bool = False,
    ) -> Role:
        guild = self.guild(guild_id)
        top = max(
            (r.position for r in guild.roles.values() if r.id != guild.bot_role_id), default=0
        )
        role = Role(
            id=self.ids.next(),
            guild_id=guild_id,
            name=name,
            permissions=permissions,
            color=color,
            hoist=hoist,
            mentionable=mentionable,
            position=top + 1,
        )
        guild.roles[role.id] = role
        self._restack_roles(guild)
        self.dispatch(
            "GUILD_ROLE_CREATE",
            {"guild_id": str(guild_id), "role": pl.role_payload(role)},
            intent=INTENT_GUILDS,
            guild_id=guild_id,
        )
        if guild.bot_role_id is not None:
            self._role_updated(guild, guild.roles[guild.bot_role_id])
        return role

    def _role_updated(self, guild: Guild, role: Role) -> None:
        self.dispatch(
            "GUILD_ROLE_UPDATE",
            {"guild_id": str(guild.id), "role": pl.role_payload(role)},
            intent=INTENT_GUILDS,
            guild_id=guild.id,
        )

    def set_role_permissions(self, guild_id: int, role_id: int, permissions: int) -> Role:
        guild = self.guild(guild_id)
        role = guild.roles.get(role_id)
        if role is None:
            raise E.not_found(E.UNKNOWN_ROLE, "Role")
        role.permissions = permissions
        self._role_updated(guild, role)
        return role

    def set_bot_permissions(self, guild_id: int, permissions: int) -> Role:
        guild = self.guild(guild_id)
        if guild.bot_role_id is None:
            raise E.not_found(E.UNKNOWN_ROLE, "Role")
        return self.set_role_permissions(guild_id, guild.bot_role_id, permissions)

    def rest_create_role(self, guild_id: int, body: Mapping[str, Any]) -> Role:
        guild = self.guild(guild_id)
        perms = self.require_bot(guild, None, P.MANAGE_ROLES)
        wanted = int(body.get("permissions") or 0)
        if wanted & ~perms and not has(perms, P.ADMINISTRATOR):
            raise E.missing_permissions()
        name = body.get("name") or "new role"
        if len(name) > 100:
            raise invalid_form_body({"name": max_len(100)})
        return self.create_role(
            guild_id,
            name,
            permissions=wanted,
            color=int(body.get("color") or 0),
            hoist=bool(body.get("hoist")),
            mentionable=bool(body.get("mentionable")),
        )

    def _bot_top_position(self, guild: Guild) -> int:
        if guild.owner_id == self.bot.id:
            return 1 << 30
        member = guild.members.get(self.bot.id)
        if member is None:
            return 0
        return max((guild.roles[r].position for r in member.roles if r in guild.roles), default=0)

    # ------------------------------------------------------------------ members
    def add_member(
        self,
        guild_id: int,
        user: User,
        *,
        roles: Iterable[int] = (),
        nick: str | None = None,
    ) -> Member:
        guild = self.guild(guild_id)
        for role_id in roles:
            if role_id not in guild.roles:
                raise E.not_found(E.UNKNOWN_ROLE, "Role")
        member = Member(guild_id=guild_id, user=user, roles=list(roles), nick=nick)
        guild.members[user.id] = member
        self.dispatch(
            "GUILD_MEMBER_ADD",
            self.member_payload_event(member),
            intent=INTENT_GUILD_MEMBERS,
            guild_id=guild_id,
        )
        return member

    def member_updated(self, member: Member) -> None:
        """GUILD_MEMBER_UPDATE (GUILD_MEMBERS intent; always sent for the bot's own member)."""
        payload = self.member_payload_event(member)
        intent = None if member.user_id == self.bot.id else INTENT_GUILD_MEMBERS
        self.dispatch("GUILD_MEMBER_UPDATE", payload, intent=intent, guild_id=member.guild_id)

    def remove_member(self, guild_id: int, user_id: int) -> None:
        guild = self.guild(guild_id)
        member = self.member(guild_id, user_id)
        if guild.voice_states.get(user_id) is not None:
            self.set_voice(guild_id, user_id, None)
        del guild.members[user_id]
        self.dispatch(
            "GUILD_MEMBER_REMOVE",
            {"guild_id": str(guild_id), "user": pl.user_payload(member.user)},
            intent=INTENT_GUILD_MEMBERS,
            guild_id=guild_id,
        )

    def add_member_role(self, guild_id: int, user_id: int, role_id: int, *, as_bot: bool) -> None:
        guild = self.guild(guild_id)
        member = self.member(guild_id, user_id)
        role = guild.roles.get(role_id)
        if role is None or role_id == guild.id:
            raise E.not_found(E.UNKNOWN_ROLE, "Role")
        if as_bot:
            self.require_bot(guild, None, P.MANAGE_ROLES)
            if role.managed or role.position >= self._bot_top_position(guild):
                raise E.missing_permissions()
        if role_id not in member.roles:
            member.roles.append(role_id)
            self.member_updated(member)

    def remove_member_role(
        self, guild_id: int, user_id: int, role_id: int, *, as_bot: bool
    ) -> None:
        guild = self.guild(guild_id)
        member = self.member(guild_id, user_id)
        role = guild.roles.get(role_id)
        if role is None:
            raise E.not_found(E.UNKNOWN_ROLE, "Role")
        if as_bot:
            self.require_bot(guild, None, P.MANAGE_ROLES)
            if role.managed or role.position >= self._bot_top_position(guild):
                raise E.missing_permissions()
        if role_id in member.roles:
            member.roles.remove(role_id)
            self.member_updated(member)

    def rest_kick(self, guild_id: int, user_id: int) -> None:
        guild = self.guild(guild_id)
        self.require_bot(guild, None, P.KICK_MEMBERS)
        self.member(guild_id, user_id)
        if user_id == guild.owner_id:
            raise E.missing_permissions()
        self.remove_member(guild_id, user_id)

    def rest_edit_member(self, guild_id: int, user_id: int, body: Mapping[str, Any]) -> Member:
        """PATCH /guilds/{guild_id}/members/{user_id}: nick, roles, mute/deaf, timeout, move."""
        guild = self.guild(guild_id)
        member = self.member(guild_id, user_id)
        if self.bot.id not in guild.members:
            raise E.missing_access()
        bot_perms = self.bot_permissions(guild, None)
        changed = False
        if "channel_id" in body:
            self._bot_move(guild, member, body["channel_id"])
        if "nick" in body:
            needed = P.CHANGE_NICKNAME if user_id == self.bot.id else P.MANAGE_NICKNAMES
            if not has(bot_perms, needed) or user_id == guild.owner_id:
                raise E.missing_permissions()
            member.nick = body["nick"] or None
            changed = True
        if "roles" in body:
            if not has(bot_perms, P.MANAGE_ROLES):
                raise E.missing_permissions()
            new_roles = [int(r) for r in body["roles"] or []]
            top = self._bot_top_position(guild)
            for rid in set(new_roles) ^ set(member.roles):
                role = guild.roles.get(rid)
                if role is None:
                    raise E.not_found(E.UNKNOWN_ROLE, "Role")
                if role.position >= top or role.managed:
                    raise E.missing_permissions()
            member.roles = new_roles
            changed = True
        for key, perm in (("mute", P.MUTE_MEMBERS), ("deaf", P.DEAFEN_MEMBERS)):
            if key in body:
                if not has(bot_perms, perm):
                    raise E.missing_permissions()
                setattr(member, key, bool(body[key]))
                vs = guild.voice_states.get(user_id)
                if vs is not None:
                    setattr(vs, key, bool(body[key]))
                    self._voice_dispatch(guild, vs)
                changed = True
        if "communication_disabled_until" in body:
            if not has(bot_perms, P.MODERATE_MEMBERS):
                raise E.missing_permissions()
            raw = body["communication_disabled_until"]
            member.communication_disabled_until = (
                datetime.datetime.fromisoformat(raw) if raw else None
            )
            changed = True
        if changed:
            self.member_updated(member)
        return member

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
        # The bot needs Move Members and Connect on the target. The member's own permissions do
        # not matter (they can be moved into a channel they cannot see) and user limits do not
        # apply to moves.
        self.require_bot(guild, target, P.MOVE_MEMBERS, P.CONNECT)
        if vs.channel_id != target.id:
            self.set_voice(guild.id, member.user_id, target.id)

    # ------------------------------------------------------------------ channels
    def _parse_overwrites(
        self, guild: Guild, raw: Any, errs: Errors, path: str = "permission_overwrites"
    ) -> dict[int, Overwrite]:
        out: dict[int, Overwrite] = {}
        if raw is None:
            return out
        if not isinstance(raw, list):
            errs.add(
                [path],
                field_error("LIST_TYPE_CONVERT", "Only iterables may be used in a ListType."),
            )
            return out
        for i, item in enumerate(raw):
            try:
                oid = int(item["id"])
                otype = int(item.get("type", 0))
                allow = int(item.get("allow") or 0)
                deny = int(item.get("deny") or 0)
            except (KeyError, TypeError, ValueError):
                errs.add(
                    [path, i], field_error("DICT_TYPE_CONVERT", "Invalid permission overwrite")
                )
                continue
            if otype not in (0, 1):
                errs.add(
                    [path, i, "type"],
                    field_error("BASE_TYPE_CHOICES", "Value must be one of (0, 1)."),
                )
                continue
            out[oid] = Overwrite(id=oid, type=otype, allow=allow, deny=deny)
        return out

    def _check_grantable(self, guild: Guild, perms: int, overwrites: Iterable[Overwrite]) -> None:
        """A bot may only allow/deny permissions it holds; MANAGE_ROLES only as administrator."""
        if has(perms, P.ADMINISTRATOR):
            return
        for ow in overwrites:
            bits = ow.allow | ow.deny
            if bits & ~perms or bits & P.MANAGE_ROLES:
                _log.info(
                    "bot tried to set overwrite %s granting %s it lacks",
                    ow.id,
                    bits & ~perms,
                )
                raise E.missing_permissions()

    def create_channel(
        self,
        guild_id: int,
        body: Mapping[str, Any],
        *,
        as_bot: bool,
    ) -> Channel:
        """POST /guilds/{guild_id}/channels (``as_bot``) or the driver's create_channel."""
        guild = self.guild(guild_id)
        errs = Errors()
        ctype = int(body.get("type", GUILD_TEXT) or 0)
        if ctype not in CREATABLE_TYPES:
            errs.add(
                ["type"],
                field_error(
                    "BASE_TYPE_CHOICES", f"Value must be one of {sorted(CREATABLE_TYPES)}."
                ),
            )
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
            errs.add(["name"], bad_len(1, 100))
            name = ""
        topic = body.get("topic")
        if topic is not None and (not isinstance(topic, str) or len(topic) > 1024):
            errs.add(["topic"], max_len(1024))
        user_limit = int(body.get("user_limit") or 0)
        if not 0 <= user_limit <= 99:
            errs.add(
                ["user_limit"],
                field_error("NUMBER_TYPE_MAX", "int value should be less than or equal to 99."),
            )
        bitrate = int(body.get("bitrate") or 64000)
        if ctype in VOICE_TYPES and not 8000 <= bitrate <= 384000:
            errs.add(
                ["bitrate"],
                field_error(
                    "NUMBER_TYPE_MIN", "int value should be greater than or equal to 8000."
                ),
            )
        parent: Channel | None = None
        raw_parent = body.get("parent_id")
        if raw_parent is not None:
            parent = self.channels.get(int(raw_parent))
            if parent is None or parent.guild_id != guild_id:
                errs.add(["parent_id"], field_error("CHANNEL_PARENT_INVALID", "Unknown channel"))
            elif parent.type != GUILD_CATEGORY:
                errs.add(
                    ["parent_id"], field_error("CHANNEL_PARENT_INVALID_TYPE", "Not a category")
                )
            elif ctype == GUILD_CATEGORY:
                errs.add(
                    ["parent_id"],
                    field_error(
                        "CHANNEL_PARENT_INVALID_TYPE", "Categories cannot have subcategories"
                    ),
                )
            elif (
                sum(1 for c in self.guild_channels(guild_id) if c.parent_id == parent.id)
                >= MAX_CATEGORY_CHANNELS
            ):
                errs.add(
                    ["parent_id"],
                    field_error(
                        "CHANNEL_PARENT_MAX_CHANNELS",
                        f"Maximum number of channels in category reached ({MAX_CATEGORY_CHANNELS})",
                    ),
                )
        overwrites = self._parse_overwrites(guild, body.get("permission_overwrites"), errs)
        if as_bot:
            scope = parent if parent is not None and not errs else None
            self.require_bot(guild, scope, P.MANAGE_CHANNELS)
            # Checked against the bot's guild-level permissions only: holding a permission just
            # in the category is not enough (discord-api-docs #2524).
            self._check_grantable(guild, self.bot_permissions(guild, None), overwrites.values())
        errs.raise_if_any()
        if len(guild.channel_ids) >= MAX_GUILD_CHANNELS:
            raise ApiError(
                400,
                E.MAX_GUILD_CHANNELS,
                f"Maximum number of guild channels reached ({MAX_GUILD_CHANNELS})",
            )
        if ctype in (GUILD_TEXT, 5, 15):
            # Discord normalises text channel names: lowercase, spaces become dashes.
            name = re.sub(r"\s+", "-", name.strip().lower())
        if not overwrites and parent is not None:
            # A channel created in a category without overwrites is synced with the category.
            overwrites = {
                k: Overwrite(o.id, o.type, o.allow, o.deny) for k, o in parent.overwrites.items()
            }
        siblings = [
            c
            for c in self.guild_channels(guild_id)
            if (c.type == GUILD_CATEGORY) == (ctype == GUILD_CATEGORY)
        ]
        raw_position = body.get("position")
        position = int(raw_position) if raw_position is not None else len(siblings)
        channel = Channel(
            id=self.ids.next(),
            type=ctype,
            name=name,
            guild_id=guild_id,
            position=position,
            parent_id=parent.id if parent else None,
            topic=topic if ctype not in VOICE_TYPES and ctype != GUILD_CATEGORY else None,
            overwrites=overwrites,
            user_limit=user_limit if ctype in VOICE_TYPES else 0,
            bitrate=bitrate,
            nsfw=bool(body.get("nsfw")),
            rate_limit_per_user=int(body.get("rate_limit_per_user") or 0),
        )
        self.channels[channel.id] = channel
        guild.channel_ids.append(channel.id)
        self.channel_messages[channel.id] = []
        self.dispatch(
            "CHANNEL_CREATE", pl.channel_payload(channel), intent=INTENT_GUILDS, guild_id=guild_id
        )
        return channel

    def _channel_update(self, channel: Channel) -> None:
        self.dispatch(
            "CHANNEL_UPDATE",
            pl.channel_payload(channel),
            intent=INTENT_GUILDS,
            guild_id=channel.guild_id,
        )

    def edit_channel(self, channel_id: int, body: Mapping[str, Any], *, as_bot: bool) -> Channel:
        """PATCH /channels/{channel_id}."""
        channel = self.channel(channel_id)
        if channel.guild_id is None:
            raise ApiError(400, E.INVALID_CHANNEL_TYPE, "Cannot execute action on a DM channel")
        guild = self.guild(channel.guild_id)
        errs = Errors()
        overwrites: dict[int, Overwrite] | None = None
        if "permission_overwrites" in body:
            overwrites = self._parse_overwrites(guild, body["permission_overwrites"], errs)
        if as_bot:
            perms = self.require_bot(guild, channel, P.MANAGE_CHANNELS)
            if overwrites is not None:
                if not has(perms, P.MANAGE_ROLES):
                    raise E.missing_permissions()
                self._check_grantable(guild, perms, overwrites.values())
        if "name" in body:
            name = body["name"]
            if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
                errs.add(["name"], bad_len(1, 100))
        if "topic" in body and body["topic"] is not None and len(str(body["topic"])) > 1024:
            errs.add(["topic"], max_len(1024))
        if "user_limit" in body and not 0 <= int(body["user_limit"] or 0) <= 99:
            errs.add(
                ["user_limit"],
                field_error("NUMBER_TYPE_MAX", "int value should be less than or equal to 99."),
            )
        new_parent: Channel | None = None
        if body.get("parent_id") is not None:
            new_parent = self.channels.get(int(body["parent_id"]))
            if (
                new_parent is None
                or new_parent.type != GUILD_CATEGORY
                or new_parent.guild_id != guild.id
            ):
                errs.add(
                    ["parent_id"], field_error("CHANNEL_PARENT_INVALID_TYPE", "Not a category")
                )
            elif (
                new_parent.id != channel.parent_id
                and sum(1 for c in self.guild_channels(guild.id) if c.parent_id == new_parent.id)
                >= MAX_CATEGORY_CHANNELS
            ):
                errs.add(
                    ["parent_id"],
                    field_error(
                        "CHANNEL_PARENT_MAX_CHANNELS",
                        f"Maximum number of channels in category reached ({MAX_CATEGORY_CHANNELS})",
                    ),
                )
        errs.raise_if_any()
        if "name" in body:
            name = str(body["name"]).strip()
            if channel.type in (GUILD_TEXT, 5, 15):
                name = re.sub(r"\s+", "-", name.lower())
            channel.name = name
        if "topic" in body:
            channel.topic = body["topic"]
        if "user_limit" in body:
            channel.user_limit = int(body["user_limit"] or 0)
        if "bitrate" in body:
            channel.bitrate = int(body["bitrate"] or 64000)
        if "nsfw" in body:
            channel.nsfw = bool(body["nsfw"])
        if "rate_limit_per_user" in body:
            channel.rate_limit_per_user = int(body["rate_limit_per_user"] or 0)
        if "position" in body and body["position"] is not None:
            channel.position = int(body["position"])
        if "parent_id" in body:
            channel.parent_id = new_parent.id if new_parent else None
            if body.get("lock_permissions") and new_parent is not None:
                channel.overwrites = {
                    k: Overwrite(o.id, o.type, o.allow, o.deny)
                    for k, o in new_parent.overwrites.items()
                }
        if overwrites is not None:
            channel.overwrites = overwrites
        self._channel_update(channel)
        return channel

    def edit_positions(self, guild_id: int, body: Any) -> None:
        """PATCH /guilds/{guild_id}/channels."""
        guild = self.guild(guild_id)
        self.require_bot(guild, None, P.MANAGE_CHANNELS)
        if not isinstance(body, list):
            raise invalid_form_body(
                {"_errors": [{"code": "LIST_TYPE_CONVERT", "message": "Expected a list"}]}
            )
        touched: list[Channel] = []
        for item in body:
            channel = self.channel(int(item["id"]))
            if channel.guild_id != guild_id:
                raise E.not_found(E.UNKNOWN_CHANNEL, "Channel")
            if item.get("position") is not None:
                channel.position = int(item["position"])
            if "parent_id" in item:
                parent_id = item["parent_id"]
                channel.parent_id = int(parent_id) if parent_id else None
                if item.get("lock_permissions") and channel.parent_id:
                    parent = self.channel(channel.parent_id)
                    channel.overwrites = {
                        k: Overwrite(o.id, o.type, o.allow, o.deny)
                        for k, o in parent.overwrites.items()
                    }
            touched.append(channel)
        for channel in touched:
            self._channel_update(channel)

    def put_overwrite(
        self, channel_id: int, target_id: int, body: Mapping[str, Any], *, as_bot: bool
    ) -> None:
        """PUT /channels/{channel_id}/permissions/{overwrite_id}."""
        channel = self.channel(channel_id)
        if channel.guild_id is None:
            raise ApiError(400, E.INVALID_CHANNEL_TYPE, "Cannot execute action on a DM channel")
        guild = self.guild(channel.guild_id)
        errs = Errors()
        parsed = self._parse_overwrites(guild, [{**body, "id": target_id}], errs)
        errs.raise_if_any()
        ow = parsed[target_id]
        if as_bot:
            perms = self.require_bot(guild, channel, P.MANAGE_ROLES)
            self._check_grantable(guild, perms, [ow])
        channel.overwrites[target_id] = ow
        self._channel_update(channel)

    def delete_overwrite(self, channel_id: int, target_id: int, *, as_bot: bool) -> None:
        channel = self.channel(channel_id)
        if channel.guild_id is None:
            raise ApiError(400, E.INVALID_CHANNEL_TYPE, "Cannot execute action on a DM channel")
        guild = self.guild(channel.guild_id)
        if as_bot:
            self.require_bot(guild, channel, P.MANAGE_ROLES)
        if channel.overwrites.pop(target_id, None) is not None:
            self._channel_update(channel)

    def delete_channel(self, channel_id: int, *, as_bot: bool) -> Channel:
        """DELETE /channels/{channel_id}: voice members are disconnected, children orphaned."""
        channel = self.channel(channel_id)
        if channel.guild_id is None:
            raise ApiError(400, E.INVALID_CHANNEL_TYPE, "Cannot execute action on a DM channel")
        guild = self.guild(channel.guild_id)
        if as_bot:
            self.require_bot(guild, channel, P.MANAGE_CHANNELS)
        for uid in [u for u, vs in guild.voice_states.items() if vs.channel_id == channel_id]:
            self.set_voice(guild.id, uid, None)
        del self.channels[channel_id]
        guild.channel_ids.remove(channel_id)
        self.dispatch(
            "CHANNEL_DELETE", pl.channel_payload(channel), intent=INTENT_GUILDS, guild_id=guild.id
        )
        if channel.type == GUILD_CATEGORY:
            for child in self.guild_channels(guild.id):
                if child.parent_id == channel_id:
                    child.parent_id = None
                    self._channel_update(child)
        return channel

    # ------------------------------------------------------------------ DMs
    def open_dm(self, user_id: int) -> Channel:
        """POST /users/@me/channels: one DM channel per user, created on first use."""
        user = self.user(user_id)
        existing = self.dm_channels.get(user.id)
        if existing is not None:
            return self.channels[existing]
        channel = Channel(id=self.ids.next(), type=DM, name=None, recipient_id=user.id)
        self.channels[channel.id] = channel
        self.channel_messages[channel.id] = []
        self.dm_channels[user.id] = channel.id
        return channel

    def dm_payload(self, channel: Channel) -> dict[str, Any]:
        recipient = self.users.get(channel.recipient_id or 0)
        return pl.channel_payload(channel, recipient=recipient)

    # ------------------------------------------------------------------ messages
    def message_payload(self, msg: Message, *, hide_content: bool = False) -> dict[str, Any]:
        author = self.users.get(msg.author_id) or self.bot
        member = None
        if msg.guild_id is not None and msg.webhook_id is None:
            guild = self.guilds.get(msg.guild_id)
            member = guild.members.get(msg.author_id) if guild else None
        referenced = None
        if msg.message_reference is not None:
            ref = self.messages.get(int(msg.message_reference.get("message_id", 0)))
            if ref is not None and not ref.deleted:
                referenced = pl.message_payload(
                    ref, author=self.users.get(ref.author_id) or self.bot
                )
        mentions = [self.users[u] for u in msg.mentions if u in self.users]
        return pl.message_payload(
            msg,
            author=author,
            member=member,
            mentions=mentions,
            referenced=referenced,
            hide_content=hide_content,
        )

    def _message_factory(self, msg: Message) -> PayloadFactory:
        """Per-session MESSAGE_* payload honouring the MESSAGE_CONTENT intent."""

        def build(intents: int) -> dict[str, Any] | None:
            if msg.guild_id is not None:
                guild = self.guilds.get(msg.guild_id)
                channel = self.channels.get(msg.channel_id)
                if guild is None or not has(self.bot_permissions(guild, channel), P.VIEW_CHANNEL):
                    return None
            visible = bool(
                intents & INTENT_MESSAGE_CONTENT
                or msg.guild_id is None
                or msg.author_id == self.bot.id
                or self.bot.id in msg.mentions
            )
            return self.message_payload(msg, hide_content=not visible)

        return build

    def _message_intent(self, msg: Message) -> int:
        return INTENT_DIRECT_MESSAGES if msg.guild_id is None else INTENT_GUILD_MESSAGES

    def _dispatch_message(self, event: str, msg: Message) -> None:
        if msg.ephemeral:
            self.changed()
            return
        self.dispatch(
            event,
            self._message_factory(msg),
            intent=self._message_intent(msg),
            guild_id=msg.guild_id,
        )

    def _compute_mentions(
        self,
        msg: Message,
        allowed: Mapping[str, Any] | None,
        author_perms: int,
        referenced: Message | None,
    ) -> None:
        content = msg.content or ""
        parse = None if allowed is None else set(allowed.get("parse") or [])
        users_allowed = None if allowed is None else {int(u) for u in allowed.get("users") or []}
        roles_allowed = None if allowed is None else {int(r) for r in allowed.get("roles") or []}
        guild = self.guilds.get(msg.guild_id) if msg.guild_id else None

        mentions: list[int] = []
        for match in _USER_MENTION.finditer(content):
            uid = int(match.group(1))
            if uid not in self.users or uid in mentions:
                continue
            if parse is None or "users" in parse or (users_allowed and uid in users_allowed):
                mentions.append(uid)
        roles: list[int] = []
        for match in _ROLE_MENTION.finditer(content):
            rid = int(match.group(1))
            if guild is None or rid not in guild.roles or rid in roles:
                continue
            role = guild.roles[rid]
            if not (role.mentionable or has(author_perms, P.MENTION_EVERYONE)):
                continue
            if parse is None or "roles" in parse or (roles_allowed and rid in roles_allowed):
                roles.append(rid)
        everyone = bool(
            ("@everyone" in content or "@here" in content)
            and (parse is None or "everyone" in parse)
            and has(author_perms, P.MENTION_EVERYONE)
        )
        if referenced is not None:
            replied = True if allowed is None else bool(allowed.get("replied_user", False))
            if replied and referenced.author_id not in mentions:
                mentions.append(referenced.author_id)
        msg.mentions = mentions
        msg.mention_roles = roles
        msg.mention_everyone = everyone

    def _make_attachments(
        self,
        channel_id: int,
        body: Mapping[str, Any],
        files: Sequence[UploadedFile],
        ephemeral: bool,
    ) -> list[Attachment]:
        meta: dict[int, Mapping[str, Any]] = {}
        for item in body.get("attachments") or []:
            try:
                meta[int(item["id"])] = item
            except (KeyError, TypeError, ValueError):
                continue
        out: list[Attachment] = []
        for f in files:
            info = meta.get(f.index, {})
            att_id = self.ids.next()
            filename = str(info.get("filename") or f.filename)
            out.append(
                att := Attachment(
                    id=att_id,
                    filename=filename,
                    data=f.data,
                    url=f"{self.http_base}/attachments/{channel_id}/{att_id}/{filename}",
                    content_type=f.content_type
                    if f.content_type != "application/octet-stream"
                    else _guess_type(filename),
                    description=info.get("description"),
                    ephemeral=ephemeral,
                )
            )
            self.attachment_index[att_id] = att
        return out

    def can_send(self, channel: Channel, user_id: int, *, files: bool = False) -> None:
        """Raise 403 if ``user_id`` may not post in ``channel`` (bots and driver users alike)."""
        if channel.guild_id is None:
            return
        guild = self.guild(channel.guild_id)
        member = guild.members.get(user_id)
        if member is None:
            raise E.missing_access()
        perms = channel_permissions(guild, member, channel)
        if not has(perms, P.VIEW_CHANNEL):
            raise E.missing_access()
        if not has(perms, P.SEND_MESSAGES):
            raise E.missing_permissions()
        if files and not has(perms, P.ATTACH_FILES):
            raise E.missing_permissions()

    def create_message(
        self,
        channel_id: int,
        body: Mapping[str, Any],
        files: Sequence[UploadedFile] = (),
        *,
        author_id: int,
        check_permissions: bool = True,
        webhook_id: int | None = None,
        interaction_id: int | None = None,
        interaction_metadata: dict[str, Any] | None = None,
        visible_to: int | None = None,
        message_type: int = 0,
        extra_flags: int = 0,
        allow_ephemeral: bool = False,
        validate: bool = True,
    ) -> Message:
        """Create a message (channel send, DM, interaction response or followup)."""
        channel = self.channel(channel_id)
        if channel.type not in MESSAGEABLE_TYPES:
            raise ApiError(400, E.NON_TEXT_CHANNEL, "Cannot send messages in a non-text channel")
        if validate:
            check_message(body, has_files=bool(files) or extra_flags & FLAG_LOADING != 0)
        flags = int(body.get("flags") or 0)
        allowed_flags = (
            FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_IS_COMPONENTS_V2 | (1 << 13)
        )
        if allow_ephemeral:
            allowed_flags |= FLAG_EPHEMERAL
        flags = (flags & allowed_flags) | extra_flags
        if check_permissions and webhook_id is None:
            if channel.guild_id is None:
                recipient = self.users.get(channel.recipient_id or 0)
                if (
                    author_id == self.bot.id
                    and recipient is not None
                    and (recipient.bot or recipient.dms_closed)
                ):
                    raise ApiError(403, E.CANNOT_DM_USER, "Cannot send messages to this user")
            else:
                self.can_send(channel, author_id, files=bool(files))
        referenced: Message | None = None
        reference = body.get("message_reference")
        if reference:
            ref_id = int(reference.get("message_id") or 0)
            candidate = self.messages.get(ref_id)
            if candidate is None or candidate.deleted or candidate.channel_id != channel_id:
                if reference.get("fail_if_not_exists", True):
                    raise invalid_form_body(
                        {
                            "message_reference": field_error(
                                "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                            )
                        }
                    )
                reference = None
            else:
                referenced = candidate
                reference = {
                    "type": 0,
                    "message_id": str(ref_id),
                    "channel_id": str(channel_id),
                    **({"guild_id": str(channel.guild_id)} if channel.guild_id else {}),
                }
        ephemeral = bool(flags & FLAG_EPHEMERAL)
        msg = Message(
            id=self.ids.next(),
            channel_id=channel_id,
            guild_id=channel.guild_id,
            author_id=author_id,
            content=str(body.get("content") or ""),
            embeds=[dict(e) for e in body.get("embeds") or []],
            components=_number_components(body.get("components") or []),
            attachments=self._make_attachments(channel_id, body, files, ephemeral),
            allowed_mentions=body.get("allowed_mentions"),
            flags=flags,
            type=19 if referenced is not None and message_type == 0 else message_type,
            tts=bool(body.get("tts")),
            nonce=body.get("nonce"),
            message_reference=reference if referenced is not None else None,
            webhook_id=webhook_id,
            application_id=self.application_id if webhook_id is not None else None,
            interaction_id=interaction_id,
            interaction_metadata=interaction_metadata,
            visible_to=visible_to if ephemeral else None,
            created_monotonic=self.now_monotonic(),
            poll=body.get("poll"),
        )
        author_perms = ALL_PERMISSIONS if channel.guild_id is None else 0
        if channel.guild_id is not None:
            guild = self.guild(channel.guild_id)
            member = guild.members.get(author_id)
            author_perms = channel_permissions(guild, member, channel) if member else 0
        self._compute_mentions(msg, body.get("allowed_mentions"), author_perms, referenced)
        self.messages[msg.id] = msg
        self.channel_messages.setdefault(channel_id, []).append(msg.id)
        if not ephemeral:
            channel.last_message_id = msg.id
        _log.debug("message %s created in %s by %s", msg.id, channel_id, author_id)
        self._dispatch_message("MESSAGE_CREATE", msg)
        return msg

    def edit_message(
        self,
        msg: Message,
        body: Mapping[str, Any],
        files: Sequence[UploadedFile] = (),
        *,
        as_bot: bool,
        resolve_loading: bool = False,
    ) -> Message:
        """PATCH a message (channel route or webhook/interaction route)."""
        if as_bot and msg.author_id != self.bot.id:
            if set(body) - {"flags"}:
                raise ApiError(
                    403,
                    E.CANNOT_EDIT_OTHERS_MESSAGE,
                    "Cannot edit a message authored by another user",
                )
        merged_flags = int(body.get("flags", msg.flags) or 0)
        check_message(
            {**body, "flags": merged_flags},
            has_files=bool(files),
            require_body=False,
        )
        if "content" in body:
            msg.content = str(body["content"] or "")
        if "embeds" in body:
            msg.embeds = [dict(e) for e in body["embeds"] or []]
        if "components" in body:
            msg.components = _number_components(body["components"] or [])
        if "allowed_mentions" in body:
            msg.allowed_mentions = body["allowed_mentions"]
        if "attachments" in body or files:
            keep_ids = {
                int(a["id"])
                for a in body.get("attachments") or []
                if isinstance(a, dict) and "id" in a and int(a["id"]) > 1000
            }
            kept = (
                [a for a in msg.attachments if a.id in keep_ids]
                if "attachments" in body
                else list(msg.attachments)
            )
            msg.attachments = kept + self._make_attachments(
                msg.channel_id, body, files, msg.ephemeral
            )
        if "flags" in body:
            keep = msg.flags & (FLAG_EPHEMERAL | FLAG_IS_COMPONENTS_V2)
            msg.flags = keep | (merged_flags & (FLAG_SUPPRESS_EMBEDS | FLAG_IS_COMPONENTS_V2))
        if resolve_loading:
            msg.flags &= ~FLAG_LOADING
        if not (msg.content or msg.embeds or msg.components or msg.attachments or msg.poll):
            raise ApiError(400, E.EMPTY_MESSAGE, "Cannot send an empty message")
        msg.edited_at = datetime.datetime.now(datetime.UTC)
        referenced = None
        if msg.message_reference is not None:
            referenced = self.messages.get(int(msg.message_reference["message_id"]))
        author_perms = ALL_PERMISSIONS
        if msg.guild_id is not None:
            guild = self.guild(msg.guild_id)
            member = guild.members.get(msg.author_id)
            channel = self.channels.get(msg.channel_id)
            author_perms = channel_permissions(guild, member, channel) if member else 0
        if "content" in body or "allowed_mentions" in body:
            self._compute_mentions(msg, msg.allowed_mentions, author_perms, referenced)
        self._dispatch_message("MESSAGE_UPDATE", msg)
        return msg

    def delete_message(self, msg: Message, *, as_bot: bool) -> None:
        if as_bot and msg.author_id != self.bot.id and msg.guild_id is not None:
            guild = self.guild(msg.guild_id)
            self.require_bot(guild, self.channels.get(msg.channel_id), P.MANAGE_MESSAGES)
        elif as_bot and msg.author_id != self.bot.id:
            raise E.missing_permissions()
        msg.deleted = True
        if msg.ephemeral:
            self.changed()
            return
        payload: dict[str, Any] = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
        if msg.guild_id is not None:
            payload["guild_id"] = str(msg.guild_id)

        def build(intents: int) -> dict[str, Any] | None:
            if msg.guild_id is not None:
                guild = self.guilds.get(msg.guild_id)
                channel = self.channels.get(msg.channel_id)
                if guild is None or not has(self.bot_permissions(guild, channel), P.VIEW_CHANNEL):
                    return None
            return payload

        self.dispatch(
            "MESSAGE_DELETE", build, intent=self._message_intent(msg), guild_id=msg.guild_id
        )

    def bulk_delete(self, channel_id: int, ids: Sequence[int]) -> None:
        channel = self.channel(channel_id)
        if channel.guild_id is None:
            raise ApiError(400, E.INVALID_CHANNEL_TYPE, "Cannot execute action on a DM channel")
        guild = self.guild(channel.guild_id)
        self.require_bot(guild, channel, P.MANAGE_MESSAGES)
        if not 2 <= len(ids) <= 100:
            raise invalid_form_body({"messages": bad_len(2, 100)})
        cutoff = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=14)
        found = []
        for mid in ids:
            msg = self.messages.get(int(mid))
            if msg is None or msg.deleted or msg.channel_id != channel_id:
                continue
            if msg.created_at < cutoff:
                raise ApiError(
                    400,
                    E.BULK_DELETE_TOO_OLD,
                    "You can only bulk delete messages that are under 14 days old.",
                )
            found.append(msg)
        for msg in found:
            msg.deleted = True
        self.dispatch(
            "MESSAGE_DELETE_BULK",
            {
                "ids": [str(m.id) for m in found],
                "channel_id": str(channel_id),
                "guild_id": str(guild.id),
            },
            intent=INTENT_GUILD_MESSAGES,
            guild_id=guild.id,
        )

    def list_messages(
        self,
        channel_id: int,
        *,
        limit: int = 50,
        before: int | None = None,
        after: int | None = None,
        around: int | None = None,
    ) -> list[Message]:
        """GET /channels/{channel_id}/messages: newest first, no ephemeral messages."""
        ids = [
            m
            for m in self.channel_messages.get(channel_id, [])
            if not self.messages[m].deleted and not self.messages[m].ephemeral
        ]
        if around is not None:
            older = [m for m in ids if m <= around][-((limit + 1) // 2) :]
            newer = [m for m in ids if m > around][: limit // 2]
            chosen = older + newer
        elif after is not None:
            chosen = [m for m in ids if m > after][:limit]
        else:
            pool = [m for m in ids if before is None or m < before]
            chosen = pool[-limit:]
        return [self.messages[m] for m in sorted(chosen, reverse=True)]

    def set_pinned(self, channel_id: int, message_id: int, pinned: bool) -> None:
        channel = self.channel(channel_id)
        msg = self.message(channel_id, message_id)
        if channel.guild_id is not None:
            guild = self.guild(channel.guild_id)
            perms = self.require_bot(guild, channel)
            if not (has(perms, P.MANAGE_MESSAGES) or has(perms, P.PIN_MESSAGES)):
                raise E.missing_permissions()
        if msg.pinned == pinned:
            return
        msg.pinned = pinned
        self._dispatch_message("MESSAGE_UPDATE", msg)
        self.dispatch(
            "CHANNEL_PINS_UPDATE",
            {
                "channel_id": str(channel_id),
                **({"guild_id": str(channel.guild_id)} if channel.guild_id else {}),
                "last_pin_timestamp": iso(datetime.datetime.now(datetime.UTC)),
            },
            intent=INTENT_GUILDS if channel.guild_id else INTENT_DIRECT_MESSAGES,
            guild_id=channel.guild_id,
        )

    # ------------------------------------------------------------------ application commands
    def overwrite_commands(self, guild_id: int | None, body: Any) -> list[ApplicationCommand]:
        """PUT .../commands: replace the set, keeping ids of commands whose name+type persist."""
        if guild_id is not None:
            self.guild(guild_id)
        if not isinstance(body, list):
            raise invalid_form_body(
                {"_errors": [{"code": "LIST_TYPE_CONVERT", "message": "Expected a list"}]}
            )
        errs = Errors()
        for i, cmd in enumerate(body):
            check_command(cmd, i, errs)
        if len(body) > 100:
            errs.add([], max_len(100))
        errs.raise_if_any()
        store = (
            self.global_commands
            if guild_id is None
            else self.guild_commands.setdefault(guild_id, {})
        )
        by_key = {(c.name, c.type): c for c in store.values()}
        new: dict[int, ApplicationCommand] = {}
        for raw in body:
            key = (raw["name"], int(raw.get("type", 1)))
            old = by_key.get(key)
            cmd = ApplicationCommand(
                id=old.id if old else self.ids.next(),
                application_id=self.application_id,
                name=raw["name"],
                payload=dict(raw),
                guild_id=guild_id,
                version=self.ids.next(),
            )
            new[cmd.id] = cmd
        store.clear()
        store.update(new)
        self.changed()
        return list(store.values())

    def upsert_command(self, guild_id: int | None, raw: Any) -> ApplicationCommand:
        errs = Errors()
        check_command(raw, None, errs)
        errs.raise_if_any()
        store = (
            self.global_commands
            if guild_id is None
            else self.guild_commands.setdefault(guild_id, {})
        )
        key = (raw["name"], int(raw.get("type", 1)))
        for cmd in store.values():
            if (cmd.name, cmd.type) == key:
                cmd.payload = dict(raw)
                cmd.version = self.ids.next()
                self.changed()
                return cmd
        cmd = ApplicationCommand(
            id=self.ids.next(),
            application_id=self.application_id,
            name=raw["name"],
            payload=dict(raw),
            guild_id=guild_id,
            version=self.ids.next(),
        )
        store[cmd.id] = cmd
        self.changed()
        return cmd

    def command_payload(self, cmd: ApplicationCommand) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": 1,
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "dm_permission": True,
            "nsfw": False,
            "contexts": None,
            "integration_types": [0],
            **cmd.payload,
        }
        out["id"] = str(cmd.id)
        out["application_id"] = str(cmd.application_id)
        out["version"] = str(cmd.version)
        if cmd.guild_id is not None:
            out["guild_id"] = str(cmd.guild_id)
        return out

    def find_command(
        self, guild_id: int | None, name: str, ctype: int = 1
    ) -> ApplicationCommand | None:
        """Guild commands shadow global ones, as in the Discord client."""
        if guild_id is not None:
            for cmd in self.guild_commands.get(guild_id, {}).values():
                if cmd.name == name and cmd.type == ctype:
                    return cmd
        for cmd in self.global_commands.values():
            if cmd.name == name and cmd.type == ctype:
                return cmd
        return None

    def member_can_use(
        self, guild_id: int, user_id: int, channel_id: int, cmd: ApplicationCommand
    ) -> bool:
        """Whether the Discord client shows ``cmd`` to this member (default_member_permissions)."""
        guild = self.guild(guild_id)
        member = self.member(guild_id, user_id)
        raw = cmd.payload.get("default_member_permissions")
        perms = channel_permissions(guild, member, self.channels.get(channel_id))
        if not has(perms, P.USE_APPLICATION_COMMANDS):
            return False
        if raw is None:
            return True
        needed = int(raw)
        if needed == 0:
            return base_permissions(guild, member) == ALL_PERMISSIONS
        return has(perms, needed)


def _guess_type(filename: str) -> str | None:
    import mimetypes

    return mimetypes.guess_type(filename)[0]


def _number_components(components: list[Any]) -> list[dict[str, Any]]:
    """Copy components and assign sequential ``id``s where missing, as Discord does."""
    counter = 0

    def used(items: list[Any]) -> None:
        nonlocal counter
        for comp in items:
            if isinstance(comp, dict):
                if isinstance(comp.get("id"), int):
                    counter = max(counter, comp["id"])
                used(comp.get("components") or [])
                for key in ("accessory", "component"):
                    if isinstance(comp.get(key), dict):
                        used([comp[key]])

    def assign(items: list[Any]) -> list[dict[str, Any]]:
        nonlocal counter
        out: list[dict[str, Any]] = []
        for comp in items:
            if not isinstance(comp, dict):
                continue
            copy = dict(comp)
            if not isinstance(copy.get("id"), int):
                counter += 1
                copy["id"] = counter
            if isinstance(copy.get("components"), list):
                copy["components"] = assign(copy["components"])
            for key in ("accessory", "component"):
                if isinstance(copy.get(key), dict):
                    copy[key] = assign([copy[key]])[0]
            out.append(copy)
        return out

    used(components)
    return assign(components)


__all__ = [
    "ATTACHMENT_SIZE_LIMIT",
    "GUILD_VOICE",
    "INTENT_DIRECT_MESSAGES",
    "INTENT_GUILDS",
    "INTENT_GUILD_MEMBERS",
    "INTENT_GUILD_MESSAGES",
    "INTENT_GUILD_VOICE_STATES",
    "INTENT_MESSAGE_CONTENT",
    "MAX_FILE_SIZE",
    "MAX_REQUEST_SIZE",
    "PRIVILEGED_INTENTS",
    "EventSink",
    "SimState",
    "UploadedFile",
]
