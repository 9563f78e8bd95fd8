"""Users, guilds, the bot's membership, roles and members (Discord's rules for each)."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from . import errors as E
from . import payloads as pl
from .errors import invalid_form_body
from .models import (
    Guild,
    Member,
    Role,
    User,
)
from .permissions import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    P,
    has,
)
from .snowflake import iso
from .statebase import (
    INTENT_GUILD_MEMBERS,
    INTENT_GUILDS,
    StateBase,
)
from .validation import max_len

_log = logging.getLogger("discordsim.state")


class GuildOps(StateBase):
    def create_guild(
        self,
        name: str,
        *,
        owner: User | None = None,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        with_bot: bool = True,
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        # ``shard`` = (shard_id, shard_count): an id that this gateway shard owns.
        guild_id = self.ids.next() if shard is None else self.ids.next_on_shard(*shard)
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
