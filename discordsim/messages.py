"""Messages: creation (channel sends, DMs, interaction responses), edits, deletes, history,
pins, attachments and the mentions Discord actually delivers under ``allowed_mentions``.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from . import errors as E
from . import payloads as pl
from .errors import ApiError, field_error, invalid_form_body
from .models import (
    FLAG_EPHEMERAL,
    FLAG_IS_COMPONENTS_V2,
    FLAG_LOADING,
    FLAG_SUPPRESS_EMBEDS,
    FLAG_SUPPRESS_NOTIFICATIONS,
    MESSAGEABLE_TYPES,
    Attachment,
    Channel,
    Message,
)
from .permissions import (
    ALL_PERMISSIONS,
    P,
    channel_permissions,
    has,
)
from .snowflake import iso
from .statebase import (
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILDS,
    INTENT_MESSAGE_CONTENT,
    PayloadFactory,
    StateBase,
    UploadedFile,
)
from .validation import bad_len, check_message

_log = logging.getLogger("discordsim.state")

#: How long Discord remembers a nonce for enforce_nonce (a few minutes, per its docs).
NONCE_WINDOW_SECONDS = 300.0

_USER_MENTION = re.compile(r"<@!?(\d{15,21})>")
_ROLE_MENTION = re.compile(r"<@&(\d{15,21})>")


class MessageOps(StateBase):
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
        duplicate = self._same_nonce(channel_id, author_id, body)
        if duplicate is not None:
            # Discord: with enforce_nonce, a second message with the same nonce from the same
            # author within a few minutes returns the first message instead of creating one.
            return duplicate
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
        for listener in list(self.message_listeners):
            listener(msg)
        self._dispatch_message("MESSAGE_CREATE", msg)
        return msg

    def _same_nonce(
        self, channel_id: int, author_id: int, body: Mapping[str, Any]
    ) -> Message | None:
        nonce = body.get("nonce")
        if not nonce or not body.get("enforce_nonce"):
            return None
        horizon = self.now_monotonic() - NONCE_WINDOW_SECONDS
        for message_id in reversed(self.channel_messages.get(channel_id, [])):
            earlier = self.messages[message_id]
            if earlier.created_monotonic < horizon:
                break
            if (
                earlier.author_id == author_id
                and str(earlier.nonce) == str(nonce)
                and not earlier.deleted
            ):
                return earlier
        return None

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
