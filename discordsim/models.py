"""The simulated Discord world: plain dataclasses the driver hands back to tests.

These objects are the simulator's live state. Tests read them (``sim.messages(...)`` returns
:class:`Message` objects, ``sim.create_channel`` returns a :class:`Channel`) but should change the
world only through the driver so that gateway events are dispatched like on Discord.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .snowflake import snowflake_time

# Channel types (https://discord.com/developers/docs/resources/channel#channel-object-channel-types)
GUILD_TEXT = 0
DM = 1
GUILD_VOICE = 2
GUILD_CATEGORY = 4
GUILD_ANNOUNCEMENT = 5
GUILD_STAGE_VOICE = 13
GUILD_FORUM = 15

VOICE_TYPES = frozenset({GUILD_VOICE, GUILD_STAGE_VOICE})
MESSAGEABLE_TYPES = frozenset({GUILD_TEXT, DM, GUILD_VOICE, GUILD_ANNOUNCEMENT, GUILD_STAGE_VOICE})
CREATABLE_TYPES = frozenset(
    {GUILD_TEXT, GUILD_VOICE, GUILD_CATEGORY, GUILD_ANNOUNCEMENT, GUILD_STAGE_VOICE, GUILD_FORUM}
)

# Message flags
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_IS_VOICE_MESSAGE = 1 << 13
FLAG_IS_COMPONENTS_V2 = 1 << 15


@dataclass
class User:
    """A Discord user (people and bots)."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None
    system: bool = False
    #: When True, DMs from the bot fail with 50007 (the user closed DMs from server members).
    dms_closed: bool = False

    @property
    def name(self) -> str:
        return self.global_name or self.username

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int = 0
    color: int = 0
    hoist: bool = False
    position: int = 0
    managed: bool = False
    mentionable: bool = False
    tags: dict[str, Any] | None = None

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"


@dataclass
class Member:
    """A user's membership in one guild."""

    guild_id: int
    user: User
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: datetime.datetime = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC)
    )
    deaf: bool = False
    mute: bool = False
    pending: bool = False
    communication_disabled_until: datetime.datetime | None = None

    @property
    def user_id(self) -> int:
        return self.user.id

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.nick or self.user.name

    @property
    def bot(self) -> bool:
        return self.user.bot

    @property
    def mention(self) -> str:
        return f"<@{self.user.id}>"


@dataclass
class Overwrite:
    """A channel permission overwrite (type 0 = role, 1 = member)."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0


@dataclass
class Channel:
    id: int
    type: int
    name: str | None
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    user_limit: int = 0
    bitrate: int = 64000
    nsfw: bool = False
    rate_limit_per_user: int = 0
    #: DM channels only: the user on the other side.
    recipient_id: int | None = None
    last_message_id: int | None = None
    rtc_region: str | None = None
    flags: int = 0

    @property
    def is_voice(self) -> bool:
        return self.type in VOICE_TYPES

    @property
    def is_category(self) -> bool:
        return self.type == GUILD_CATEGORY

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    def overwrite_for(self, target_id: int) -> Overwrite | None:
        return self.overwrites.get(target_id)


@dataclass
class VoiceState:
    guild_id: int
    user_id: int
    channel_id: int | None
    session_id: str
    self_mute: bool = False
    self_deaf: bool = False
    mute: bool = False
    deaf: bool = False
    self_video: bool = False
    self_stream: bool = False
    suppress: bool = False


@dataclass
class Attachment:
    id: int
    filename: str
    data: bytes
    url: str
    content_type: str | None = None
    description: str | None = None
    ephemeral: bool = False

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def text(self) -> str:
        """The attachment decoded as UTF-8 (handy for asserting on generated reports)."""
        return self.data.decode("utf-8", errors="replace")


@dataclass
class Message:
    """A message as the simulator stored it.

    ``allowed_mentions`` is exactly what the sender passed (``None`` when absent), while
    ``mentions`` / ``mention_roles`` / ``mention_everyone`` are the pings Discord would actually
    deliver after applying it.
    """

    id: int
    channel_id: int
    author_id: int
    guild_id: int | None = None
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    allowed_mentions: dict[str, Any] | None = None
    mentions: list[int] = field(default_factory=list)
    mention_roles: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    flags: int = 0
    type: int = 0
    tts: bool = False
    nonce: str | int | None = None
    pinned: bool = False
    edited_at: datetime.datetime | None = None
    message_reference: dict[str, Any] | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    #: Id of the interaction whose response/followup created this message.
    interaction_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    #: Ephemeral messages: the only user who can see them.
    visible_to: int | None = None
    deleted: bool = False
    created_monotonic: float = 0.0
    poll: dict[str, Any] | None = None

    @property
    def created_at(self) -> datetime.datetime:
        return snowflake_time(self.id)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        """True while this is a deferred "Bot is thinking..." placeholder."""
        return bool(self.flags & FLAG_LOADING)

    def iter_components(self) -> Iterator[dict[str, Any]]:
        """Every component in the message, depth first (rows, containers, sections...)."""
        yield from _walk(self.components)

    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for c in self.iter_components() if "custom_id" in c]

    def component(self, custom_id: str) -> dict[str, Any] | None:
        for comp in self.iter_components():
            if comp.get("custom_id") == custom_id:
                return comp
        return None

    def buttons(self) -> list[dict[str, Any]]:
        return [c for c in self.iter_components() if c.get("type") == 2]

    def button(self, label: str) -> dict[str, Any]:
        """The button with this label (raises ``LookupError`` listing the labels otherwise)."""
        for comp in self.buttons():
            if comp.get("label") == label:
                return comp
        labels = [c.get("label") for c in self.buttons()]
        raise LookupError(f"no button labelled {label!r} on message {self.id}; labels: {labels}")

    @property
    def text(self) -> str:
        """Content plus embed titles/descriptions/fields: what a reader sees, for assertions."""
        parts = [self.content] if self.content else []
        for embed in self.embeds:
            for key in ("title", "description"):
                if embed.get(key):
                    parts.append(str(embed[key]))
            for fld in embed.get("fields", []):
                parts.append(f"{fld.get('name', '')}: {fld.get('value', '')}")
            footer = embed.get("footer") or {}
            if footer.get("text"):
                parts.append(str(footer["text"]))
        for comp in self.iter_components():
            if comp.get("type") == 10 and comp.get("content"):
                parts.append(str(comp["content"]))
        return "\n".join(parts)


def _walk(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for comp in components:
        yield comp
        children = comp.get("components")
        if isinstance(children, list):
            yield from _walk(children)
        inner = comp.get("component")
        if isinstance(inner, dict):
            yield from _walk([inner])
        accessory = comp.get("accessory")
        if isinstance(accessory, dict):
            yield from _walk([accessory])


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    voice_states: dict[int, VoiceState] = field(default_factory=dict)
    bot_role_id: int | None = None
    preferred_locale: str = "en-US"
    features: list[str] = field(default_factory=list)
    premium_tier: int = 0
    description: str | None = None

    @property
    def everyone_role_id(self) -> int:
        return self.id

    @property
    def everyone_role(self) -> Role:
        return self.roles[self.id]

    def role_named(self, name: str) -> Role | None:
        for role in self.roles.values():
            if role.name == name:
                return role
        return None


@dataclass
class ApplicationCommand:
    """A registered application command as stored after a PUT/POST."""

    id: int
    application_id: int
    name: str
    payload: dict[str, Any]
    guild_id: int | None = None
    version: int = 0

    @property
    def type(self) -> int:
        return int(self.payload.get("type", 1))
