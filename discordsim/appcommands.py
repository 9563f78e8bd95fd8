"""Registered application commands (bulk overwrite, upsert, lookup, visibility)."""

from __future__ import annotations

import logging
from typing import Any

from .errors import invalid_form_body
from .models import (
    ApplicationCommand,
)
from .permissions import (
    ALL_PERMISSIONS,
    P,
    base_permissions,
    channel_permissions,
    has,
)
from .statebase import StateBase
from .validation import Errors, check_command, max_len

_log = logging.getLogger("discordsim.state")


class CommandOps(StateBase):
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
