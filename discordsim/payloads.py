"""Builders that turn simulator models into Discord API v10 JSON payloads.

Shapes follow the Discord docs and were checked against what discord.py 2.7 reads (required
keys such as ``flags`` on members, ``bitrate``/``user_limit`` on voice channels,
``attachment_size_limit`` on interactions). All ids are strings and permission sets are
decimal strings, as on Discord.
"""

from __future__ import annotations

from typing import Any

from .models import (
    GUILD_CATEGORY,
    VOICE_TYPES,
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
from .snowflake import iso


def user_payload(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "username": user.username,
        "discriminator": "0",
        "global_name": user.global_name,
        "avatar": user.avatar,
        "bot": user.bot,
        "system": user.system,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
        "primary_guild": None,
        "collectibles": None,
    }


def role_payload(role: Role) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(role.id),
        "name": role.name,
        "color": role.color,
        "colors": {"primary_color": role.color, "secondary_color": None, "tertiary_color": None},
        "hoist": role.hoist,
        "icon": None,
        "unicode_emoji": None,
        "position": role.position,
        "permissions": str(role.permissions),
        "managed": role.managed,
        "mentionable": role.mentionable,
        "flags": 0,
    }
    if role.tags is not None:
        out["tags"] = role.tags
    return out


def member_payload(
    member: Member, *, with_user: bool = True, permissions: int | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "roles": [str(r) for r in member.roles],
        "nick": member.nick,
        "avatar": None,
        "banner": None,
        "joined_at": iso(member.joined_at),
        "premium_since": None,
        "deaf": member.deaf,
        "mute": member.mute,
        "flags": 0,
        "pending": member.pending,
        "communication_disabled_until": iso(member.communication_disabled_until),
        "avatar_decoration_data": None,
    }
    if with_user:
        out["user"] = user_payload(member.user)
    if permissions is not None:
        out["permissions"] = str(permissions)
    return out


def overwrite_payload(ow: Overwrite) -> dict[str, Any]:
    return {"id": str(ow.id), "type": ow.type, "allow": str(ow.allow), "deny": str(ow.deny)}


def channel_payload(
    channel: Channel, *, recipient: User | None = None, permissions: int | None = None
) -> dict[str, Any]:
    """Full channel object (guild channels and DMs)."""
    if channel.guild_id is None:
        out: dict[str, Any] = {
            "id": str(channel.id),
            "type": channel.type,
            "last_message_id": str(channel.last_message_id) if channel.last_message_id else None,
            "flags": channel.flags,
            "recipients": [user_payload(recipient)] if recipient else [],
        }
        return out
    out = {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(channel.guild_id),
        "name": channel.name,
        "position": channel.position,
        "permission_overwrites": [overwrite_payload(o) for o in channel.overwrites.values()],
        "nsfw": channel.nsfw,
        "parent_id": str(channel.parent_id) if channel.parent_id else None,
        "flags": channel.flags,
    }
    if channel.type != GUILD_CATEGORY:
        out["rate_limit_per_user"] = channel.rate_limit_per_user
        out["last_message_id"] = str(channel.last_message_id) if channel.last_message_id else None
    if channel.type in VOICE_TYPES:
        out["bitrate"] = channel.bitrate
        out["user_limit"] = channel.user_limit
        out["rtc_region"] = channel.rtc_region
        out["video_quality_mode"] = 1
    elif channel.type != GUILD_CATEGORY:
        out["topic"] = channel.topic
    if permissions is not None:
        out["permissions"] = str(permissions)
    return out


def voice_state_payload(
    state: VoiceState, *, member: Member | None = None, with_guild: bool = True
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "channel_id": str(state.channel_id) if state.channel_id else None,
        "user_id": str(state.user_id),
        "session_id": state.session_id,
        "deaf": state.deaf,
        "mute": state.mute,
        "self_deaf": state.self_deaf,
        "self_mute": state.self_mute,
        "self_stream": state.self_stream,
        "self_video": state.self_video,
        "suppress": state.suppress,
        "request_to_speak_timestamp": None,
    }
    if with_guild:
        out["guild_id"] = str(state.guild_id)
    if member is not None:
        out["member"] = member_payload(member)
    return out


def attachment_payload(att: Attachment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(att.id),
        "filename": att.filename,
        "size": att.size,
        "url": att.url,
        "proxy_url": att.url,
        "content_type": att.content_type,
    }
    if att.description is not None:
        out["description"] = att.description
    if att.ephemeral:
        out["ephemeral"] = True
    return out


def message_payload(
    msg: Message,
    *,
    author: User,
    member: Member | None = None,
    mentions: list[User] | None = None,
    referenced: dict[str, Any] | None = None,
    hide_content: bool = False,
) -> dict[str, Any]:
    """A message object; ``hide_content`` blanks what the MESSAGE_CONTENT intent gates."""
    out: dict[str, Any] = {
        "id": str(msg.id),
        "channel_id": str(msg.channel_id),
        "type": msg.type,
        "author": user_payload(author),
        "content": "" if hide_content else msg.content,
        "timestamp": iso(msg.created_at),
        "edited_timestamp": iso(msg.edited_at),
        "tts": msg.tts,
        "mention_everyone": msg.mention_everyone,
        "mentions": [user_payload(u) for u in (mentions or [])],
        "mention_roles": [str(r) for r in msg.mention_roles],
        "attachments": [] if hide_content else [attachment_payload(a) for a in msg.attachments],
        "embeds": [] if hide_content else list(msg.embeds),
        "components": [] if hide_content else list(msg.components),
        "pinned": msg.pinned,
        "flags": msg.flags,
    }
    if msg.guild_id is not None:
        out["guild_id"] = str(msg.guild_id)
    if member is not None:
        out["member"] = member_payload(member, with_user=False)
    if msg.nonce is not None:
        out["nonce"] = msg.nonce
    if msg.webhook_id is not None:
        out["webhook_id"] = str(msg.webhook_id)
    if msg.application_id is not None:
        out["application_id"] = str(msg.application_id)
    if msg.interaction_metadata is not None:
        out["interaction_metadata"] = msg.interaction_metadata
    if msg.message_reference is not None:
        out["message_reference"] = msg.message_reference
        out["referenced_message"] = referenced
    if msg.poll is not None and not hide_content:
        out["poll"] = msg.poll
    return out


def guild_payload(guild: Guild) -> dict[str, Any]:
    """The guild object returned by GET /guilds/{id} (no channels/members)."""
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "owner_id": str(guild.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 1,
        "explicit_content_filter": 0,
        "roles": [role_payload(r) for r in guild.roles.values()],
        "emojis": [],
        "stickers": [],
        "features": list(guild.features),
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "vanity_url_code": None,
        "description": guild.description,
        "premium_tier": guild.premium_tier,
        "premium_subscription_count": 0,
        "preferred_locale": guild.preferred_locale,
        "nsfw_level": 0,
        "max_members": 500000,
        "max_video_channel_users": 25,
        "premium_progress_bar_enabled": False,
        "region": "deprecated",
    }
