"""Guild channels, permission overwrites and DM channels.

Creation enforces the documented limits (500 channels per guild, 50 per category, name and
topic lengths) and the rule that a bot may only grant, in overwrites, permissions it holds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from . import errors as E
from . import payloads as pl
from .errors import ApiError, field_error, invalid_form_body
from .models import (
    CREATABLE_TYPES,
    DM,
    GUILD_CATEGORY,
    GUILD_TEXT,
    VOICE_TYPES,
    Channel,
    Guild,
    Overwrite,
)
from .permissions import (
    P,
    has,
)
from .statebase import (
    INTENT_GUILDS,
    MAX_CATEGORY_CHANNELS,
    MAX_GUILD_CHANNELS,
    StateBase,
)
from .validation import Errors, bad_len, max_len

_log = logging.getLogger("discordsim.state")


class ChannelOps(StateBase):
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
