"""The test/demo driver: :class:`DiscordSimulator`.

It owns one aiohttp server on 127.0.0.1 serving both the REST API and the gateway, the world
state, the interaction registry and the rate limiter. Tests (and ``brewhost demo``) use it from the
same event loop as the bot: build a guild, point discord.py at ``api_base_url``/``gateway_url``,
start the bot, then act as users (join voice, run slash commands, click buttons, submit modals)
and assert on what the bot did (messages, channels, moves, REST calls).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from aiohttp import web

from . import commands as cmds
from .errors import ApiError, SimulatorError
from .events_driver import ScheduledEventDriver
from .gateway import ALL_INTENTS, GatewayEvent, GatewayServer
from .interactions import (
    APPLICATION_COMMAND,
    APPLICATION_COMMAND_AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    InteractionManager,
    InteractionRecord,
)
from .links import channel_links
from .models import GUILD_TEXT, VOICE_TYPES, Channel, Guild, Member, Message, Overwrite, Role, User
from .permissions import DEFAULT_BOT_PERMISSIONS, DEFAULT_EVERYONE_PERMISSIONS, P, has
from .ratelimit import RateLimiter, RateLimitPolicy
from .rest import RestApi, RestCall
from .state import SimState

_log = logging.getLogger(__name__)

T = TypeVar("T")

OverwriteSpec = (
    Mapping[int, tuple[int, int]] | Iterable[Overwrite] | Iterable[Mapping[str, Any]] | None
)


class DiscordSimulator(ScheduledEventDriver):
    """A local, in-process Discord (REST + gateway) for discord.py bots.

    Parameters
    ----------
    rate_limits:
        :class:`RateLimitPolicy`; default :meth:`RateLimitPolicy.off`.
    bot_name:
        Display name of the bot user (its username is the lowercased name).
    heartbeat_interval:
        Seconds announced in HELLO (Discord uses 41.25).
    interaction_deadline:
        Seconds the bot has for the first interaction response (3 on Discord).
    token_lifetime:
        Seconds an interaction token stays valid for followups (15 minutes on Discord).
    resume_window:
        Seconds a disconnected gateway session can still RESUME.
    log_limit:
        How many REST calls and gateway events the logs keep (oldest dropped first).
    allowed_intents:
        Intents the application is allowed to use; by default every intent, privileged ones
        included (as if enabled in the developer portal). Identifying with a privileged intent not
        in this set closes the gateway with 4014.
    shards:
        The shard count ``GET /gateway/bot`` recommends (what ``AutoShardedBot`` uses). Any
        count is accepted at IDENTIFY; each connection gets only the guilds of its shard.
    max_guilds_per_shard:
        A connection that would receive more guilds than this is closed with 4011 (sharding
        required); 2500 on Discord.
    """

    def __init__(
        self,
        *,
        rate_limits: RateLimitPolicy | None = None,
        bot_name: str = "Brew Host",
        heartbeat_interval: float = 41.25,
        interaction_deadline: float = 3.0,
        token_lifetime: float = 15 * 60.0,
        resume_window: float = 120.0,
        allowed_intents: int = ALL_INTENTS,
        shards: int = 1,
        max_guilds_per_shard: int = 2500,
        host: str = "127.0.0.1",
        port: int = 0,
        log_limit: int = 20_000,
    ) -> None:
        self._offset = 0.0
        self.state = SimState(bot_name=bot_name)
        self.state.now_monotonic = self.now
        self.bot_token = (
            f"{_b64(self.state.bot.id)}.{secrets.token_urlsafe(6)}.{secrets.token_urlsafe(27)}"
        )
        self.gateway = GatewayServer(
            self.state,
            token=self.bot_token,
            clock=self.now,
            heartbeat_interval=heartbeat_interval,
            resume_window=resume_window,
            allowed_intents=allowed_intents,
            log_limit=log_limit,
            shards=shards,
            max_guilds_per_shard=max_guilds_per_shard,
        )
        self.state.sink = self.gateway
        self.interaction_manager = InteractionManager(
            self.state, clock=self.now, deadline=interaction_deadline, token_lifetime=token_lifetime
        )
        self.rate_limiter = RateLimiter(rate_limits or RateLimitPolicy.off(), clock=self.now)
        self.rest = RestApi(
            self.state,
            self.interaction_manager,
            self.gateway,
            self.rate_limiter,
            token=self.bot_token,
            clock=self.now,
            log_limit=log_limit,
        )
        #: Fault injection (:mod:`.faults`): random 5xx, 429 bursts, denials; gateway faults
        #: injected through this driver are recorded there too.
        self.faults = self.rest.faults
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event() if _has_loop() else None
        self.state.listeners.append(self._on_change)
        self.http_base_url = ""
        self.api_base_url = ""
        self.gateway_url = ""

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Bind 127.0.0.1 on a free port and start serving REST and the gateway."""
        if self._runner is not None:
            raise SimulatorError("simulator already started")
        self._changed = asyncio.Event()
        app = self.rest.build_app()
        app.router.add_get("/ws", self.gateway.handle)
        app.router.add_get("/ws/resume", self.gateway.handle)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.http_base_url = f"http://{host}:{port}"
        self.api_base_url = f"{self.http_base_url}/api/v10"
        self.gateway_url = f"ws://{host}:{port}/ws"
        self.gateway.resume_url = f"ws://{host}:{port}/ws/resume"
        self.rest.gateway_url = self.gateway_url
        self.state.http_base = self.http_base_url
        _log.info("Discord simulator listening on %s", self.http_base_url)

    async def close(self) -> None:
        """Close websockets cleanly, then stop the HTTP server."""
        if self._runner is None:
            return
        await self.gateway.close()
        await self._runner.cleanup()
        self._runner = None
        _log.info("Discord simulator closed")

    async def __aenter__(self) -> DiscordSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @contextlib.contextmanager
    def patch_discord(self) -> Iterator[None]:
        """Point discord.py's REST base and default gateway at this simulator (restored after)."""
        import discord.gateway
        import discord.http
        import yarl

        if not self.api_base_url:
            raise SimulatorError("start() the simulator before patching discord.py")
        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base_url
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    # ------------------------------------------------------------------ time
    def now(self) -> float:
        """The simulator's monotonic clock (``time.monotonic()`` plus :meth:`advance_time`)."""
        return time.monotonic() + self._offset

    def advance_time(self, seconds: float) -> None:
        """Move the simulator's clock forward (expires interaction tokens, resets rate limits)."""
        self._offset += seconds
        self._on_change()

    # ------------------------------------------------------------------ identities
    @property
    def bot_user(self) -> User:
        return self.state.bot

    @property
    def bot_id(self) -> int:
        return self.state.bot.id

    @property
    def application_id(self) -> int:
        return self.state.application_id

    # ------------------------------------------------------------------ world building
    def create_user(self, name: str, *, bot: bool = False, username: str | None = None) -> User:
        """A user that is in no guild yet (see :meth:`add_member`)."""
        return self.state.create_user(username or _username(name), global_name=name, bot=bot)

    def create_guild(
        self,
        name: str,
        *,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        owner_name: str = "Server Owner",
        with_bot: bool = True,
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        """A guild with an owner member, an @everyone role and (by default) the bot as a member
        holding a managed role with ``bot_permissions``. Dispatches GUILD_CREATE if connected.

        ``shard=(shard_id, shard_count)`` picks a guild id that gateway shard owns
        (``(guild_id >> 22) % shard_count == shard_id``), so sharding tests can place guilds."""
        owner = self.create_user(owner_name)
        guild = self.state.create_guild(
            name,
            owner=owner,
            bot_permissions=bot_permissions,
            everyone_permissions=everyone_permissions,
            with_bot=with_bot,
            shard=shard,
        )
        if with_bot:
            self.state.announce_guild(guild)
        return guild

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
        return self.state.create_role(
            guild_id,
            name,
            permissions=permissions,
            color=color,
            hoist=hoist,
            mentionable=mentionable,
        )

    def create_member(
        self,
        guild_id: int,
        name: str,
        *,
        roles: Iterable[int | Role] = (),
        bot: bool = False,
        owner: bool = False,
        nick: str | None = None,
    ) -> Member:
        """A new user joining ``guild_id`` (GUILD_MEMBER_ADD for sessions with GUILD_MEMBERS)."""
        user = self.create_user(name, bot=bot)
        member = self.state.add_member(guild_id, user, roles=[_rid(r) for r in roles], nick=nick)
        if owner:
            self.set_owner(guild_id, user.id)
        return member

    def add_member(
        self,
        guild_id: int,
        user_id: int,
        *,
        roles: Iterable[int | Role] = (),
        nick: str | None = None,
    ) -> Member:
        """An existing user joins another guild."""
        return self.state.add_member(
            guild_id, self.state.user(user_id), roles=[_rid(r) for r in roles], nick=nick
        )

    def add_bot_to_guild(
        self, guild_id: int, *, permissions: int = DEFAULT_BOT_PERMISSIONS
    ) -> None:
        """Invite the bot to a guild made with ``with_bot=False`` (GUILD_CREATE)."""
        self.state.add_bot(guild_id, permissions)

    async def remove_bot_from_guild(self, guild_id: int) -> None:
        """Kick the bot (GUILD_DELETE; its managed role disappears)."""
        self.state.remove_bot(guild_id)
        await asyncio.sleep(0)

    def set_owner(self, guild_id: int, user_id: int) -> None:
        guild = self.state.guild(guild_id)
        self.state.member(guild_id, user_id)
        guild.owner_id = user_id
        self.state.update_guild(guild)

    async def remove_member(self, guild_id: int, user_id: int) -> None:
        """The member leaves (voice disconnect first, then GUILD_MEMBER_REMOVE if intended)."""
        self.state.remove_member(guild_id, user_id)
        await asyncio.sleep(0)

    def add_role(self, guild_id: int, user_id: int, role_id: int | Role) -> None:
        self.state.add_member_role(guild_id, user_id, _rid(role_id), as_bot=False)

    def remove_role(self, guild_id: int, user_id: int, role_id: int | Role) -> None:
        self.state.remove_member_role(guild_id, user_id, _rid(role_id), as_bot=False)

    def set_bot_permissions(self, guild_id: int, permissions: int) -> None:
        """Change the bot's managed role permissions (GUILD_ROLE_UPDATE)."""
        self.state.set_bot_permissions(guild_id, permissions)

    def set_role_permissions(self, guild_id: int, role_id: int | Role, permissions: int) -> None:
        self.state.set_role_permissions(guild_id, _rid(role_id), permissions)

    def set_dms_closed(self, user_id: int, closed: bool = True) -> None:
        """Make DMs from the bot to this user fail with 403 / 50007."""
        self.state.user(user_id).dms_closed = closed

    def timeout_member(self, guild_id: int, user_id: int, until: datetime.datetime | None) -> None:
        member = self.state.member(guild_id, user_id)
        member.communication_disabled_until = until
        self.state.member_updated(member)

    def create_channel(
        self,
        guild_id: int,
        name: str,
        *,
        type: int = GUILD_TEXT,
        parent_id: int | None = None,
        overwrites: OverwriteSpec = None,
        topic: str | None = None,
        user_limit: int = 0,
        position: int | None = None,
    ) -> Channel:
        """Create a channel as a server admin would (no permission checks; limits still apply).

        ``overwrites`` maps target id -> (allow, deny), or is a list of :class:`Overwrite` /
        Discord overwrite dicts; the target type is inferred (role if the id is a role).
        """
        body: dict[str, Any] = {"name": name, "type": type}
        if parent_id is not None:
            body["parent_id"] = parent_id
        if topic is not None:
            body["topic"] = topic
        if user_limit:
            body["user_limit"] = user_limit
        if position is not None:
            body["position"] = position
        if overwrites is not None:
            body["permission_overwrites"] = self._overwrite_list(guild_id, overwrites)
        return self._api(lambda: self.state.create_channel(guild_id, body, as_bot=False))

    def _overwrite_list(self, guild_id: int, spec: OverwriteSpec) -> list[dict[str, Any]]:
        guild = self.state.guild(guild_id)
        out: list[dict[str, Any]] = []
        if isinstance(spec, Mapping):
            for target, pair in spec.items():
                allow, deny = pair
                otype = 0 if target in guild.roles else 1
                out.append({"id": target, "type": otype, "allow": allow, "deny": deny})
            return out
        for item in spec or []:
            if isinstance(item, Overwrite):
                out.append(
                    {"id": item.id, "type": item.type, "allow": item.allow, "deny": item.deny}
                )
            else:
                out.append(dict(item))
        return out

    def set_overwrite(
        self, channel_id: int, target_id: int, *, allow: int = 0, deny: int = 0
    ) -> None:
        """Set one overwrite as an admin (CHANNEL_UPDATE)."""
        channel = self.state.channel(channel_id)
        guild = self.state.guild(channel.guild_id or 0)
        otype = 0 if target_id in guild.roles else 1
        self._api(
            lambda: self.state.put_overwrite(
                channel_id, target_id, {"type": otype, "allow": allow, "deny": deny}, as_bot=False
            )
        )

    def edit_channel(self, channel_id: int, **fields: Any) -> Channel:
        """Edit a channel as an admin (CHANNEL_UPDATE)."""
        return self._api(lambda: self.state.edit_channel(channel_id, fields, as_bot=False))

    def delete_channel(self, channel_id: int) -> None:
        self._api(lambda: self.state.delete_channel(channel_id, as_bot=False))

    @staticmethod
    def _api(fn: Callable[[], T]) -> T:
        try:
            return fn()
        except ApiError as exc:
            raise SimulatorError(f"Discord would reject this: {exc} {exc.errors or ''}") from exc

    # ------------------------------------------------------------------ user actions
    async def set_voice(
        self,
        guild_id: int,
        user_id: int,
        channel_id: int | None,
        *,
        self_mute: bool | None = None,
        self_deaf: bool | None = None,
        force: bool = False,
    ) -> None:
        """The user joins/moves to ``channel_id`` (``None`` leaves); VOICE_STATE_UPDATE.

        Unless ``force``, the user needs View Channel + Connect and room under the user limit
        (members with Move Members may exceed it), as in the Discord client.
        """
        if channel_id is not None and not force:
            perms = self.state.permissions(guild_id, user_id, channel_id)
            if not has(perms, P.VIEW_CHANNEL, P.CONNECT):
                raise SimulatorError(f"user {user_id} cannot connect to channel {channel_id}")
            channel = self.state.channel(channel_id)
            inside = [u for u in self.state.voice_members(channel_id) if u != user_id]
            if (
                channel.user_limit
                and len(inside) >= channel.user_limit
                and not has(perms, P.MOVE_MEMBERS)
            ):
                raise SimulatorError(f"voice channel {channel_id} is full ({channel.user_limit})")
        self._api(
            lambda: self.state.set_voice(
                guild_id, user_id, channel_id, self_mute=self_mute, self_deaf=self_deaf
            )
        )
        await asyncio.sleep(0)

    async def send_message(
        self,
        channel_id: int,
        user_id: int,
        content: str = "",
        *,
        embeds: Sequence[Mapping[str, Any]] | None = None,
        reply_to: int | None = None,
        force: bool = False,
    ) -> Message:
        """The user posts a message (MESSAGE_CREATE; content hidden from sessions without the
        MESSAGE_CONTENT intent unless it mentions the bot)."""
        body: dict[str, Any] = {"content": content}
        if embeds:
            body["embeds"] = [dict(e) for e in embeds]
        if reply_to is not None:
            body["message_reference"] = {"message_id": str(reply_to)}
        msg = self._api(
            lambda: self.state.create_message(
                channel_id, body, author_id=user_id, check_permissions=not force
            )
        )
        await asyncio.sleep(0)
        return msg

    async def send_dm(self, user_id: int, content: str) -> Message:
        """The user writes to the bot in DMs."""
        channel = self.state.open_dm(user_id)
        msg = self._api(
            lambda: self.state.create_message(
                channel.id, {"content": content}, author_id=user_id, check_permissions=False
            )
        )
        await asyncio.sleep(0)
        return msg

    def _require_session(self) -> None:
        if not self.gateway.live_sessions():
            raise SimulatorError("no bot is connected to the simulated gateway")

    def _check_user_in_channel(self, guild_id: int | None, channel_id: int, user_id: int) -> None:
        channel = self.state.channel(channel_id)
        if guild_id is None:
            if channel.guild_id is not None or channel.recipient_id != user_id:
                raise SimulatorError(f"channel {channel_id} is not the DM of user {user_id}")
            return
        if channel.guild_id != guild_id:
            raise SimulatorError(f"channel {channel_id} is not in guild {guild_id}")
        if user_id not in self.state.guild(guild_id).members:
            raise SimulatorError(f"user {user_id} is not a member of guild {guild_id}")

    async def _interact(self, itype: int, **fields: Any) -> InteractionRecord:
        """Register an interaction, send its INTERACTION_CREATE, and let the bot see it."""
        rec = self.interaction_manager.new(itype, **fields)
        self.state.dispatch(
            "INTERACTION_CREATE", rec.payload, guild_id=rec.guild_id, on_sent=rec.mark_sent
        )
        _log.debug("dispatched interaction %s (%s)", rec.id, rec.describe())
        await asyncio.sleep(0)
        return rec

    async def invoke_command(
        self,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        name: str,
        /,
        options: Mapping[str, Any] | None = None,
        *,
        force: bool = False,
        **kwargs: Any,
    ) -> InteractionRecord:
        """The user runs ``/name`` ("group sub" for subcommands) with options (kwargs or a dict
        for names that are not identifiers). Returns at once; await ``rec.wait_response()``.

        Unless ``force``, the user must be able to see the channel and the command
        (``default_member_permissions``), as in the Discord client.
        """
        self._require_session()
        self._check_user_in_channel(guild_id, channel_id, user_id)
        merged = {**(options or {}), **kwargs}
        data = cmds.build_command_data(
            self.state,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            name=name,
            options=merged,
        )
        if guild_id is None and not force:
            dm_cmd = self.state.find_command(None, data["name"])
            assert dm_cmd is not None
            contexts = dm_cmd.payload.get("contexts")
            if dm_cmd.payload.get("dm_permission") is False or (
                contexts is not None and 1 not in contexts
            ):
                raise SimulatorError(f"/{dm_cmd.name} is not available in DMs")
        if guild_id is not None and not force:
            cmd = self.state.find_command(guild_id, data["name"])
            assert cmd is not None
            perms = self.state.permissions(guild_id, user_id, channel_id)
            if not has(perms, P.VIEW_CHANNEL):
                raise SimulatorError(f"user {user_id} cannot see channel {channel_id}")
            if not self.state.member_can_use(guild_id, user_id, channel_id, cmd):
                raise SimulatorError(
                    f"user {user_id} cannot see /{cmd.name} (default_member_permissions); "
                    "use force=True"
                )
        return await self._interact(
            APPLICATION_COMMAND,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            data=data,
        )

    async def invoke_user_command(
        self, guild_id: int, channel_id: int, user_id: int, name: str, target: User | Member | int
    ) -> InteractionRecord:
        """Right-click a user -> Apps -> ``name``."""
        return await self._context_menu(guild_id, channel_id, user_id, name, target, 2)

    async def invoke_message_command(
        self, guild_id: int, channel_id: int, user_id: int, name: str, target: Message | int
    ) -> InteractionRecord:
        """Right-click a message -> Apps -> ``name``."""
        return await self._context_menu(guild_id, channel_id, user_id, name, target, 3)

    async def _context_menu(
        self, guild_id: int, channel_id: int, user_id: int, name: str, target: Any, ctype: int
    ) -> InteractionRecord:
        self._require_session()
        self._check_user_in_channel(guild_id, channel_id, user_id)
        data = cmds.build_context_menu_data(
            self.state,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            name=name,
            target=target,
            ctype=ctype,
        )
        return await self._interact(
            APPLICATION_COMMAND,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            data=data,
        )

    async def autocomplete(
        self,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        name: str,
        focused: str,
        /,
        options: Mapping[str, Any] | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - public API mirrors discord.py's wait_for
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """The user types into option ``focused``; returns the bot's choices."""
        rec = await self.start_autocomplete(
            guild_id, channel_id, user_id, name, focused, options, **kwargs
        )
        await rec.wait_response(timeout)
        return rec.choices or []

    async def start_autocomplete(
        self,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        name: str,
        focused: str,
        /,
        options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> InteractionRecord:
        """Like :meth:`autocomplete` but returns the record without waiting."""
        self._require_session()
        self._check_user_in_channel(guild_id, channel_id, user_id)
        data = cmds.build_autocomplete_data(
            self.state,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            name=name,
            focused=focused,
            options={**(options or {}), **kwargs},
        )
        return await self._interact(
            APPLICATION_COMMAND_AUTOCOMPLETE,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            data=data,
        )

    def _clickable(
        self, user_id: int, channel_id: int, message_id: int, custom_id: str
    ) -> tuple[Message, dict[str, Any]]:
        msg = self.state.messages.get(message_id)
        if msg is None or msg.deleted or msg.channel_id != channel_id:
            raise SimulatorError(f"message {message_id} is not in channel {channel_id}")
        if msg.visible_to is not None and msg.visible_to != user_id:
            raise SimulatorError(
                f"message {message_id} is ephemeral and not visible to user {user_id}"
            )
        comp = msg.component(custom_id)
        if comp is None:
            raise SimulatorError(
                f"message {message_id} has no component {custom_id!r}; has {msg.custom_ids()}"
            )
        if comp.get("disabled"):
            raise SimulatorError(f"component {custom_id!r} on message {message_id} is disabled")
        channel = self.state.channel(channel_id)
        if channel.guild_id is not None and msg.visible_to is None:
            perms = self.state.permissions(channel.guild_id, user_id, channel_id)
            if not has(perms, P.VIEW_CHANNEL):
                raise SimulatorError(f"user {user_id} cannot see channel {channel_id}")
        return msg, comp

    async def click_channel_link(self, guild_id: int, user_id: int, message_id: int) -> int | None:
        """The user clicks the first link in a message that points at a voice channel of
        ``guild_id`` they may connect to, and joins it as the Discord client would (no gateway
        request from the bot: a VOICE_STATE_UPDATE follows). Returns the channel joined, or
        ``None`` when nothing happened: no such link, or the user is in that channel already."""
        msg = self.message(message_id)
        for channel_id in channel_links(msg.content, guild_id):
            channel = self.state.channels.get(channel_id)
            if channel is None or channel.guild_id != guild_id or channel.type not in VOICE_TYPES:
                continue
            if not has(self.state.permissions(guild_id, user_id, channel_id), P.VIEW_CHANNEL):
                continue
            if self.voice_channel_of(guild_id, user_id) == channel_id:
                return None
            await self.set_voice(guild_id, user_id, channel_id)
            return channel_id
        return None

    async def click_button(
        self, user_id: int, channel_id: int, message_id: int, custom_id: str
    ) -> InteractionRecord:
        """The user clicks a button; the interaction carries the full message."""
        self._require_session()
        msg, comp = self._clickable(user_id, channel_id, message_id, custom_id)
        if comp.get("type") != 2:
            raise SimulatorError(f"component {custom_id!r} is not a button")
        return await self._interact(
            MESSAGE_COMPONENT,
            user_id=user_id,
            guild_id=msg.guild_id,
            channel_id=channel_id,
            data={"custom_id": custom_id, "component_type": 2},
            message=msg,
        )

    async def select(
        self, user_id: int, channel_id: int, message_id: int, custom_id: str, values: Sequence[Any]
    ) -> InteractionRecord:
        """The user picks ``values`` in a select menu (string values or user/role/channel ids)."""
        self._require_session()
        msg, comp = self._clickable(user_id, channel_id, message_id, custom_id)
        if comp.get("type") not in (3, 5, 6, 7, 8):
            raise SimulatorError(f"component {custom_id!r} is not a select menu")
        data = cmds.build_select_data(
            self.state,
            guild_id=msg.guild_id,
            channel_id=channel_id,
            user_id=user_id,
            component=comp,
            values=list(values),
        )
        return await self._interact(
            MESSAGE_COMPONENT,
            user_id=user_id,
            guild_id=msg.guild_id,
            channel_id=channel_id,
            data=data,
            message=msg,
        )

    async def submit_modal(
        self, user_id: int, rec: InteractionRecord, values: Mapping[str, Any]
    ) -> InteractionRecord:
        """The user fills in and submits the modal the bot showed in answer to ``rec``."""
        self._require_session()
        modal = rec.modal
        if modal is None:
            raise SimulatorError(f"the bot did not answer interaction {rec.id} with a modal")
        if user_id != rec.user_id:
            raise SimulatorError("only the user who opened a modal can submit it")
        data = cmds.build_modal_submit_data(modal, values)
        source = self.state.messages.get(rec.source_message_id) if rec.source_message_id else None
        return await self._interact(
            MODAL_SUBMIT,
            user_id=user_id,
            guild_id=rec.guild_id,
            channel_id=rec.channel_id,
            data=data,
            message=source if source is not None and not source.deleted else None,
        )

    # ------------------------------------------------------------------ queries
    def guild(self, guild_id: int) -> Guild:
        return self.state.guild(guild_id)

    def member(self, guild_id: int, user_id: int) -> Member:
        return self.state.member(guild_id, user_id)

    def members(self, guild_id: int) -> list[Member]:
        return list(self.state.guild(guild_id).members.values())

    def channel(self, channel_id: int) -> Channel:
        return self.state.channel(channel_id)

    def channels(self, guild_id: int, *, type: int | None = None) -> list[Channel]:
        """The guild's channels in creation order (optionally of one type)."""
        return [c for c in self.state.guild_channels(guild_id) if type is None or c.type == type]

    def find_channel(self, guild_id: int, name: str) -> Channel | None:
        for channel in self.state.guild_channels(guild_id):
            if channel.name == name:
                return channel
        return None

    def messages(
        self, channel_id: int, *, include_ephemeral: bool = True, include_deleted: bool = False
    ) -> list[Message]:
        """Messages in ``channel_id``, oldest first (ephemeral ones included by default)."""
        out = []
        for mid in self.state.channel_messages.get(channel_id, []):
            msg = self.state.messages[mid]
            if msg.deleted and not include_deleted:
                continue
            if msg.ephemeral and not include_ephemeral:
                continue
            out.append(msg)
        return out

    def message(self, message_id: int) -> Message:
        msg = self.state.messages.get(message_id)
        if msg is None:
            raise SimulatorError(f"unknown message {message_id}")
        return msg

    def open_dm(self, user_id: int) -> Channel:
        """The DM channel between the bot and ``user_id`` (created on first use)."""
        return self.state.open_dm(user_id)

    def dm_channel_id(self, user_id: int) -> int | None:
        return self.state.dm_channels.get(user_id)

    def dms(self, user_id: int) -> list[Message]:
        """Messages in the DM channel between the bot and ``user_id`` (both directions)."""
        cid = self.state.dm_channels.get(user_id)
        return [] if cid is None else self.messages(cid)

    def voice_channel_of(self, guild_id: int, user_id: int) -> int | None:
        return self.state.voice_channel_of(guild_id, user_id)

    def voice_members(self, channel_id: int) -> list[int]:
        return self.state.voice_members(channel_id)

    def permissions_for(self, guild_id: int, user_id: int, channel_id: int | None = None) -> int:
        return self.state.permissions(guild_id, user_id, channel_id)

    def commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """Registered commands (global, or the guild's own when ``guild_id`` is given)."""
        store = (
            self.state.global_commands
            if guild_id is None
            else self.state.guild_commands.get(guild_id, {})
        )
        return [self.state.command_payload(c) for c in store.values()]

    @property
    def rest_log(self) -> deque[RestCall]:
        return self.rest.log

    def rest_calls(
        self, method: str | None = None, route: str | None = None, status: int | None = None
    ) -> list[RestCall]:
        return [
            c
            for c in self.rest.log
            if (method is None or c.method == method)
            and (route is None or c.route == route)
            and (status is None or c.status == status)
        ]

    @property
    def unknown_routes(self) -> list[str]:
        return self.rest.unknown_routes

    def invalid_request_count(self, window: float = 600.0) -> int:
        """401/403/429 responses within ``window`` seconds (Discord bans at 10,000 / 10 min)."""
        return self.rate_limiter.invalid_count(window)

    @property
    def interactions(self) -> list[InteractionRecord]:
        return self.interaction_manager.records

    @property
    def late_interactions(self) -> list[InteractionRecord]:
        """Interactions the bot answered after the deadline (Discord answered 404 / 10062)."""
        return list(self.interaction_manager.late)

    @property
    def failed_interactions(self) -> list[InteractionRecord]:
        """Interactions the user saw fail: late, or still unanswered after the deadline."""
        return [r for r in self.interaction_manager.records if r.failed]

    @property
    def events(self) -> deque[GatewayEvent]:
        return self.gateway.events

    def events_named(self, name: str) -> list[GatewayEvent]:
        return [e for e in self.gateway.events if e.name == name]

    @property
    def connected(self) -> bool:
        return bool(self.gateway.connected_sessions())

    def on_message(self, callback: Callable[[Message], None]) -> None:
        """Call ``callback(message)`` for every message created from now on (bot's, users',
        ephemeral ones included), synchronously, as it is stored. For drivers of many channels
        at once (benchmarks), where a ``wait_for`` predicate per channel would rescan them all on
        every change."""
        self.state.message_listeners.append(callback)

    # ------------------------------------------------------------------ waiting & gateway control
    def _on_change(self) -> None:
        if self._changed is not None:
            self._changed.set()

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 10.0,  # noqa: ASYNC109 - public API mirrors discord.py's wait_for
        *,
        interval: float = 0.02,
        message: str | None = None,
    ) -> T:
        """Wait until ``predicate()`` is truthy and return its value.

        Wakes on every simulator state change and polls every ``interval`` seconds too, so the
        predicate may also look at the bot's own state (its cache, its database).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if self._changed is None:
            self._changed = asyncio.Event()
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(message or f"condition not met within {timeout}s")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(interval, remaining))

    async def wait_until_connected(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until a bot session is connected (READY sent)."""
        await self.wait_for(
            lambda: bool(self.gateway.connected_sessions()),
            timeout,
            message="no bot connected to the simulated gateway",
        )

    async def drop_connections(self, code: int = 4000) -> None:
        """Close every gateway socket as a network failure would; the bot should RESUME."""
        self.faults.record("gateway drop", status=code)
        await self.gateway.drop_connections(code)

    def request_reconnect(self) -> None:
        """Send OP 7 RECONNECT (the bot should reconnect and RESUME)."""
        self.gateway.request_reconnect()

    def invalidate_sessions(self) -> None:
        """Send OP 9 INVALID_SESSION (the bot must IDENTIFY again)."""
        self.faults.record("invalid session", status=9)
        self.gateway.invalidate_sessions()


def _has_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _rid(role: int | Role) -> int:
    return role.id if isinstance(role, Role) else int(role)


def _username(name: str) -> str:
    cleaned = "".join(ch for ch in name.lower() if ch.isalnum() or ch in "._")
    return cleaned or "user"


def _b64(value: int) -> str:
    import base64

    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")
