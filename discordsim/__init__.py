"""A local Discord simulator for discord.py bots (REST API v10 + gateway over 127.0.0.1).

The unmodified discord.py client talks to it after two assignments (or ``sim.patch_discord()``)::

    discord.http.Route.BASE = sim.api_base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sim.gateway_url)

It exists so that the bot's integration tests and ``brewhost demo`` exercise the real client
library against Discord's real rules (payload limits, permissions, rate limits, interaction
deadlines, gateway resume) without a network.

Driver API (all on :class:`DiscordSimulator`, used from the bot's event loop)
-----------------------------------------------------------------------------
Lifecycle and wiring::

    sim = DiscordSimulator(rate_limits=RateLimitPolicy.off(), bot_name="Brew Host",
                           interaction_deadline=3.0, token_lifetime=900.0,
                           heartbeat_interval=41.25, resume_window=120.0,
                           allowed_intents=ALL_INTENTS, log_limit=20_000,
                           shards=1, max_guilds_per_shard=2500)  # GET /gateway/bot, 4011
    await sim.start()  /  await sim.close()  /  async with DiscordSimulator() as sim: ...
    sim.api_base_url, sim.gateway_url, sim.http_base_url, sim.bot_token, sim.bot_user,
    sim.bot_id, sim.application_id
    with sim.patch_discord(): ...        # sets and restores Route.BASE / DEFAULT_GATEWAY
    sim.now(); sim.advance_time(seconds) # simulator monotonic clock (tokens, rate limits)

World building (synchronous; gateway events are dispatched to connected bots)::

    guild = sim.create_guild(name, *, bot_permissions=DEFAULT_BOT_PERMISSIONS,
                             everyone_permissions=DEFAULT_EVERYONE_PERMISSIONS,
                             owner_name="Server Owner", with_bot=True,
                             shard=None) -> Guild   # shard=(id, count): a guild that shard owns
    role = sim.create_role(guild_id, name, *, permissions=0, color=0, hoist=False,
                           mentionable=False) -> Role
    member = sim.create_member(guild_id, name, *, roles=(), bot=False, owner=False,
                               nick=None) -> Member            # member.id is the user id
    sim.create_user(name, *, bot=False) -> User ; sim.add_member(guild_id, user_id, roles=())
    sim.set_owner(guild_id, user_id); sim.add_role(...); sim.remove_role(...)
    sim.add_bot_to_guild(guild_id, *, permissions=...)   # GUILD_CREATE
    await sim.remove_bot_from_guild(guild_id)             # GUILD_DELETE
    sim.set_bot_permissions(guild_id, perms); sim.set_role_permissions(guild_id, role, perms)
    sim.set_dms_closed(user_id, True); sim.timeout_member(guild_id, user_id, until)
    channel = sim.create_channel(guild_id, name, *, type=0|2|4, parent_id=None,
                                 overwrites={target_id: (allow, deny)}, topic=None,
                                 user_limit=0, position=None) -> Channel
    sim.edit_channel(channel_id, **fields); sim.set_overwrite(channel_id, target_id,
                     allow=0, deny=0); sim.delete_channel(channel_id)

User actions (async)::

    await sim.set_voice(guild_id, user_id, channel_id | None, *, self_mute=None,
                        self_deaf=None, force=False)
    channel_id = await sim.click_channel_link(guild_id, user_id, message_id)
                                         # joins the first voice channel the message links to
    await sim.remove_member(guild_id, user_id)
    msg = await sim.send_message(channel_id, user_id, content, *, embeds=None,
                                 reply_to=None, force=False)
    msg = await sim.send_dm(user_id, content)
    rec = await sim.invoke_command(guild_id, channel_id, user_id, "brew open",
                                   options=None, *, force=False, **options)
    rec = await sim.invoke_user_command(guild_id, channel_id, user_id, name, target)
    rec = await sim.invoke_message_command(guild_id, channel_id, user_id, name, target)
    choices = await sim.autocomplete(guild_id, channel_id, user_id, "brew open", "question",
                                     options=None, *, timeout=5.0, **typed)
    rec = await sim.start_autocomplete(...same arguments...)   # without waiting
    rec = await sim.click_button(user_id, channel_id, message_id, custom_id)
    rec = await sim.select(user_id, channel_id, message_id, custom_id, values)
    rec = await sim.submit_modal(user_id, rec_that_got_the_modal, {custom_id: value})

Interaction records (:class:`InteractionRecord`)::

    resp = await rec.wait_response(timeout=5.0, allow_late=False)  # InteractionResponse
    resp.type, resp.data, resp.ephemeral, resp.content, resp.latency, resp.since_sent
    rec.original_message, rec.followups, rec.modal, rec.choices, rec.response_future(),
    rec.latency, rec.late, rec.failed, rec.payload (the INTERACTION_CREATE data),
    rec.created_at (Discord's clock, the 3-second deadline), rec.sent_at (frame written)

Guild scheduled events (:mod:`.events`, :mod:`.events_rest`, :mod:`.events_driver`)::

    sim.scheduled_events(guild_id); sim.scheduled_event(guild_id, event_id)
    await sim.press_interested(guild_id, event_id, user_id)   # USER_ADD gateway event
    await sim.remove_interested(guild_id, event_id, user_id)
    await sim.set_scheduled_event_status(guild_id, event_id, status)   # 1 -> 2 -> 3, 1 -> 4
    sim.set_wall_clock(lambda: datetime)   # "start in the future" against the bot's clock

Queries::

    sim.messages(channel_id, *, include_ephemeral=True, include_deleted=False) -> [Message]
    sim.message(message_id); sim.dms(user_id); sim.dm_channel_id(user_id); sim.open_dm(user_id)
    sim.channels(guild_id, *, type=None); sim.channel(id); sim.find_channel(guild_id, name)
    sim.guild(id); sim.member(guild_id, user_id); sim.members(guild_id)
    sim.voice_channel_of(guild_id, user_id); sim.voice_members(channel_id)
    sim.permissions_for(guild_id, user_id, channel_id=None); sim.commands(guild_id=None)
    sim.rest_log -> [RestCall(method, route, path, status, at, bucket, code, reason, body, ...)]
    sim.rest_calls(method=None, route=None, status=None); sim.unknown_routes
    sim.interactions; sim.late_interactions; sim.failed_interactions
    sim.events; sim.events_named("VOICE_STATE_UPDATE"); sim.connected
    sim.invalid_request_count(window=600)

Waiting and gateway control::

    await sim.wait_for(lambda: ..., timeout=10.0)   # returns the truthy value
    sim.on_message(callback)   # callback(Message) for each new message, as it is stored
    await sim.wait_until_connected(timeout=10.0)
    await sim.drop_connections(code=4000); sim.request_reconnect(); sim.invalidate_sessions()

Fault injection (:mod:`.faults`, seeded and recorded in ``sim.faults.injected``)::

    sim.faults.fail_fraction(0.05, (500, 502), seed=1, include_callbacks=False)
    sim.faults.burst_429("POST", "/channels/{channel_id}/messages", 3, retry_after=0.5)
    sim.faults.deny("POST", "/channels/{channel_id}/messages", seconds=25,
                    params={"channel_id": room.id})            # 403 / 50013 for a while
    sim.faults.clear(); sim.faults.count("500"); sim.faults.kinds()

:class:`Message` has ``content``, ``embeds``, ``components``, ``attachments`` (with ``data``
bytes), ``author_id``, ``allowed_mentions`` (as sent), ``mentions``/``mention_roles``/
``mention_everyone`` (pings actually delivered), ``flags``, ``ephemeral``, ``visible_to``,
``created_at``, ``edited_at``, ``interaction_id`` and helpers ``custom_ids()``, ``button(label)``,
``component(custom_id)``, ``text``.

Module layout: :mod:`.driver` (this API), :mod:`.rest` and :mod:`.gateway` (the servers),
:mod:`.interactions` and :mod:`.commands` (interaction payloads and responses), :mod:`.state`
(``SimState`` = :mod:`.statebase` + :mod:`.guilds`, :mod:`.channels`, :mod:`.messages`,
:mod:`.appcommands`), :mod:`.permissions`, :mod:`.ratelimit`, :mod:`.validation`,
:mod:`.models`, :mod:`.payloads`, :mod:`.snowflake`, :mod:`.errors`.

Routes, events and limits are listed in the docstrings of :mod:`.rest`, :mod:`.gateway`,
:mod:`.ratelimit` (the ``discord_like()`` table) and :mod:`.validation`.

Documented simplifications
--------------------------
* GUILD_CREATE carries the bot and the members in voice unless the session identified with the
  GUILD_MEMBERS intent, in which case it carries every member (Discord would chunk large guilds).
* One bot application per simulator; its user id equals the application id (as for modern apps).
* No voice servers: OP 4 updates the bot's voice state but no VOICE_SERVER_UPDATE follows.
* Threads, forums posts, reactions, emojis, stickers, polls' votes, audit logs, invites, bans
  and webhooks other than interaction webhooks are not implemented (unknown routes answer 404 /
  code 0 and are listed in ``sim.unknown_routes``). Scheduled events have no cover images,
  recurrence rules or automatic status changes (see :mod:`.events`).
"""

from __future__ import annotations

from .driver import DiscordSimulator
from .errors import ApiError, SimulatorError
from .events import ScheduledEvent
from .faults import FaultPolicy, InjectedFault
from .gateway import ALL_INTENTS, GatewayEvent, guild_shard
from .interactions import InteractionLate, InteractionRecord, InteractionResponse
from .models import (
    DM,
    GUILD_CATEGORY,
    GUILD_STAGE_VOICE,
    GUILD_TEXT,
    GUILD_VOICE,
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
    Permission,
)
from .ratelimit import RateLimitPolicy, RouteLimit
from .rest import RestCall

__all__ = [
    "ALL_INTENTS",
    "ALL_PERMISSIONS",
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "DM",
    "GUILD_CATEGORY",
    "GUILD_STAGE_VOICE",
    "GUILD_TEXT",
    "GUILD_VOICE",
    "ApiError",
    "ApplicationCommand",
    "Attachment",
    "Channel",
    "DiscordSimulator",
    "FaultPolicy",
    "GatewayEvent",
    "Guild",
    "InjectedFault",
    "InteractionLate",
    "InteractionRecord",
    "InteractionResponse",
    "Member",
    "Message",
    "Overwrite",
    "Permission",
    "RateLimitPolicy",
    "RestCall",
    "Role",
    "RouteLimit",
    "ScheduledEvent",
    "SimulatorError",
    "User",
    "VoiceState",
    "guild_shard",
]
