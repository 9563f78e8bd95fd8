"""Turning a test's "user types /brew open question:..." into Discord interaction data.

Discord clients only let users invoke commands the bot registered, with options of the declared
types, within declared choices and bounds. The simulator builds the ``data`` of
APPLICATION_COMMAND, autocomplete, component and modal-submit interactions from what the bot
actually registered/sent, and raises :class:`~discordsim.errors.SimulatorError` with a helpful
message when a test asks for something a real user could not do (unknown command or option,
missing required option, value outside choices). Snowflake options get the ``resolved`` block
Discord sends (users + members, roles, channels, attachments).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import payloads as pl
from .errors import SimulatorError
from .models import ApplicationCommand, Attachment, Channel, Member, Message, Role, User
from .permissions import channel_permissions
from .state import SimState

STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = (
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
)
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2

_TYPE_NAMES = {
    SUB_COMMAND: "subcommand",
    SUB_COMMAND_GROUP: "subcommand group",
    STRING: "string",
    INTEGER: "integer",
    BOOLEAN: "boolean",
    USER: "user",
    CHANNEL: "channel",
    ROLE: "role",
    MENTIONABLE: "mentionable",
    NUMBER: "number",
    ATTACHMENT: "attachment",
}


def _id_of(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("a bool is not an id")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    inner = getattr(value, "id", None)
    if isinstance(inner, int):
        return inner
    raise TypeError(f"expected an id or an object with .id, got {value!r}")


class _Resolver:
    """Collects the ``resolved`` block while options are converted."""

    def __init__(
        self, state: SimState, guild_id: int | None, channel_id: int, user_id: int
    ) -> None:
        self.state = state
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.user_id = user_id
        self.data: dict[str, dict[str, Any]] = {}

    def _put(self, kind: str, key: int, value: dict[str, Any]) -> None:
        self.data.setdefault(kind, {})[str(key)] = value

    def user(self, uid: int) -> None:
        user = self.state.users.get(uid)
        if user is None:
            raise SimulatorError(f"unknown user id {uid}")
        self._put("users", uid, pl.user_payload(user))
        if self.guild_id is not None:
            guild = self.state.guilds[self.guild_id]
            member = guild.members.get(uid)
            if member is not None:
                perms = channel_permissions(guild, member, self.state.channels.get(self.channel_id))
                self._put(
                    "members", uid, pl.member_payload(member, with_user=False, permissions=perms)
                )

    def role(self, rid: int) -> None:
        if self.guild_id is None or rid not in self.state.guilds[self.guild_id].roles:
            raise SimulatorError(f"unknown role id {rid} in this guild")
        self._put("roles", rid, pl.role_payload(self.state.guilds[self.guild_id].roles[rid]))

    def channel(self, cid: int) -> Channel:
        channel = self.state.channels.get(cid)
        if channel is None or channel.guild_id != self.guild_id:
            raise SimulatorError(f"unknown channel id {cid} in this guild")
        perms = 0
        if self.guild_id is not None:
            guild = self.state.guilds[self.guild_id]
            member = guild.members.get(self.user_id)
            perms = channel_permissions(guild, member, channel) if member else 0
        payload = pl.channel_payload(channel, permissions=perms)
        self._put("channels", cid, payload)
        return channel

    def attachment(self, att: Attachment) -> None:
        self._put("attachments", att.id, pl.attachment_payload(att))


def _option_map(options: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["name"]: o for o in options}


def walk_path(cmd: ApplicationCommand, path: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """Follow subcommand group/subcommand names; return the chain and the leaf's options."""
    options = list(cmd.payload.get("options") or [])
    chain: list[str] = []
    for name in path:
        subs = {o["name"]: o for o in options if o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)}
        if name not in subs:
            raise SimulatorError(
                f"/{' '.join([cmd.name, *chain])} has no subcommand {name!r}; "
                f"available: {sorted(subs) or 'none'}"
            )
        chain.append(name)
        options = list(subs[name].get("options") or [])
    leftover = [o["name"] for o in options if o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)]
    if leftover:
        raise SimulatorError(
            f"/{' '.join([cmd.name, *chain])} is a group; choose a subcommand: {sorted(leftover)}"
        )
    return chain, options


def _convert(
    opt: Mapping[str, Any], value: Any, resolver: _Resolver, state: SimState, where: str
) -> Any:
    otype = int(opt["type"])
    name = opt["name"]

    def bad(msg: str) -> SimulatorError:
        return SimulatorError(f"{where}: option {name!r} ({_TYPE_NAMES.get(otype, otype)}): {msg}")

    if otype == STRING:
        if not isinstance(value, str):
            raise bad(f"expected str, got {value!r}")
        lo, hi = opt.get("min_length"), opt.get("max_length")
        if lo is not None and len(value) < lo:
            raise bad(f"shorter than min_length {lo}")
        if len(value) > (hi if hi is not None else 6000):
            raise bad(f"longer than max_length {hi}")
        out: Any = value
    elif otype == INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(f"expected int, got {value!r}")
        out = value
    elif otype == NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(f"expected a number, got {value!r}")
        out = value
    elif otype == BOOLEAN:
        if not isinstance(value, bool):
            raise bad(f"expected bool, got {value!r}")
        out = value
    elif otype == USER:
        uid = _id_of(value)
        resolver.user(uid)
        out = str(uid)
    elif otype == ROLE:
        rid = _id_of(value)
        resolver.role(rid)
        out = str(rid)
    elif otype == MENTIONABLE:
        mid = _id_of(value)
        if isinstance(value, Role) or (
            resolver.guild_id is not None and mid in state.guilds[resolver.guild_id].roles
        ):
            resolver.role(mid)
        else:
            resolver.user(mid)
        out = str(mid)
    elif otype == CHANNEL:
        channel = resolver.channel(_id_of(value))
        allowed = opt.get("channel_types")
        if allowed and channel.type not in allowed:
            raise bad(f"channel type {channel.type} not in channel_types {allowed}")
        out = str(channel.id)
    elif otype == ATTACHMENT:
        att = _make_attachment(state, resolver.channel_id, value)
        resolver.attachment(att)
        out = str(att.id)
    else:
        raise bad("unsupported option type")
    if otype in (INTEGER, NUMBER):
        lo, hi = opt.get("min_value"), opt.get("max_value")
        if lo is not None and value < lo:
            raise bad(f"{value} is below min_value {lo}")
        if hi is not None and value > hi:
            raise bad(f"{value} is above max_value {hi}")
    choices = opt.get("choices")
    if choices:
        values = [c["value"] for c in choices]
        if out not in values:
            raise bad(f"{out!r} is not one of the choices {values}")
    return out


def _make_attachment(state: SimState, channel_id: int, value: Any) -> Attachment:
    if isinstance(value, Attachment):
        state.attachment_index[value.id] = value
        return value
    if isinstance(value, tuple) and len(value) == 2:
        filename, data = value
    elif isinstance(value, bytes | bytearray):
        filename, data = "file.bin", value
    else:
        raise SimulatorError("attachment options take (filename, bytes) or bytes")
    att_id = state.ids.next()
    att = Attachment(
        id=att_id,
        filename=str(filename),
        data=bytes(data),
        url=f"{state.http_base}/attachments/{channel_id}/{att_id}/{filename}",
        ephemeral=True,
    )
    state.attachment_index[att_id] = att
    return att


def _nest(
    chain: list[str], cmd: ApplicationCommand, leaf_options: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Wrap leaf options in the subcommand(-group) option objects Discord sends."""
    options = leaf_options
    defs = list(cmd.payload.get("options") or [])
    types: list[int] = []
    for name in chain:
        opt = next(o for o in defs if o["name"] == name)
        types.append(int(opt["type"]))
        defs = list(opt.get("options") or [])
    for name, otype in reversed(list(zip(chain, types, strict=True))):
        options = [{"name": name, "type": otype, "options": options}]
    return options


def resolve_command(
    state: SimState, guild_id: int | None, full_name: str, ctype: int = 1
) -> tuple[ApplicationCommand, list[str]]:
    parts = full_name.strip().lstrip("/").split()
    if not parts:
        raise SimulatorError("empty command name")
    cmd = state.find_command(guild_id, parts[0], ctype)
    if cmd is None:
        known = sorted(
            {c.name for c in state.global_commands.values()}
            | {c.name for c in state.guild_commands.get(guild_id or 0, {}).values()}
        )
        raise SimulatorError(
            f"command {parts[0]!r} is not registered (registered: {known or 'none'}; "
            "did the bot sync its command tree?)"
        )
    return cmd, parts[1:]


def build_command_data(
    state: SimState,
    *,
    guild_id: int | None,
    channel_id: int,
    user_id: int,
    name: str,
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """``data`` for an APPLICATION_COMMAND (chat input) interaction."""
    cmd, path = resolve_command(state, guild_id, name)
    chain, defs = walk_path(cmd, path)
    where = "/" + " ".join([cmd.name, *chain])
    by_name = _option_map(defs)
    unknown = set(options) - set(by_name)
    if unknown:
        raise SimulatorError(
            f"{where} has no option(s) {sorted(unknown)}; options: {sorted(by_name)}"
        )
    resolver = _Resolver(state, guild_id, channel_id, user_id)
    leaf: list[dict[str, Any]] = []
    for opt in defs:
        if opt["name"] not in options or options[opt["name"]] is None:
            if opt.get("required"):
                raise SimulatorError(f"{where}: required option {opt['name']!r} missing")
            continue
        value = _convert(opt, options[opt["name"]], resolver, state, where)
        leaf.append({"name": opt["name"], "type": int(opt["type"]), "value": value})
    return _slash_data(cmd, chain, leaf, resolver)


def _slash_data(
    cmd: ApplicationCommand, chain: list[str], leaf: list[dict[str, Any]], resolver: _Resolver
) -> dict[str, Any]:
    """The ``data`` of a slash-command interaction (invocation or autocomplete)."""
    data: dict[str, Any] = {
        "id": str(cmd.id),
        "name": cmd.name,
        "type": 1,
        "options": _nest(chain, cmd, leaf),
    }
    if cmd.guild_id is not None:
        data["guild_id"] = str(cmd.guild_id)
    if resolver.data:
        data["resolved"] = resolver.data
    return data


def build_autocomplete_data(
    state: SimState,
    *,
    guild_id: int | None,
    channel_id: int,
    user_id: int,
    name: str,
    focused: str,
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """``data`` for an autocomplete interaction: the focused option carries the typed text."""
    cmd, path = resolve_command(state, guild_id, name)
    chain, defs = walk_path(cmd, path)
    where = "/" + " ".join([cmd.name, *chain])
    by_name = _option_map(defs)
    if focused not in by_name:
        raise SimulatorError(f"{where} has no option {focused!r}; options: {sorted(by_name)}")
    if not by_name[focused].get("autocomplete"):
        raise SimulatorError(f"{where}: option {focused!r} does not have autocomplete enabled")
    resolver = _Resolver(state, guild_id, channel_id, user_id)
    leaf: list[dict[str, Any]] = []
    for opt in defs:
        if opt["name"] not in options:
            continue
        raw = options[opt["name"]]
        if opt["name"] == focused:
            leaf.append(
                {"name": focused, "type": int(opt["type"]), "value": str(raw), "focused": True}
            )
        else:
            value = _convert(opt, raw, resolver, state, where)
            leaf.append({"name": opt["name"], "type": int(opt["type"]), "value": value})
    if focused not in options:
        leaf.append(
            {"name": focused, "type": int(by_name[focused]["type"]), "value": "", "focused": True}
        )
    return _slash_data(cmd, chain, leaf, resolver)


def build_context_menu_data(
    state: SimState,
    *,
    guild_id: int | None,
    channel_id: int,
    user_id: int,
    name: str,
    target: User | Member | Message | int,
    ctype: int,
) -> dict[str, Any]:
    """``data`` for a user (type 2) or message (type 3) context menu command."""
    cmd = state.find_command(guild_id, name, ctype)
    if cmd is None:
        raise SimulatorError(f"context menu {name!r} (type {ctype}) is not registered")
    resolver = _Resolver(state, guild_id, channel_id, user_id)
    target_id = _id_of(target)
    data: dict[str, Any] = {
        "id": str(cmd.id),
        "name": cmd.name,
        "type": ctype,
        "target_id": str(target_id),
    }
    if ctype == 2:
        resolver.user(target_id)
    else:
        msg = state.messages.get(target_id)
        if msg is None or msg.deleted:
            raise SimulatorError(f"unknown message {target_id}")
        resolver.data.setdefault("messages", {})[str(target_id)] = state.message_payload(msg)
    if cmd.guild_id is not None:
        data["guild_id"] = str(cmd.guild_id)
    data["resolved"] = resolver.data
    return data


def build_select_data(
    state: SimState,
    *,
    guild_id: int | None,
    channel_id: int,
    user_id: int,
    component: Mapping[str, Any],
    values: list[Any],
) -> dict[str, Any]:
    """``data`` for a select menu interaction (string/user/role/mentionable/channel)."""
    ctype = int(component["type"])
    lo = int(component.get("min_values", 1))
    hi = int(component.get("max_values", 1))
    if not lo <= len(values) <= hi:
        raise SimulatorError(
            f"select {component.get('custom_id')!r} takes {lo}..{hi} values, got {len(values)}"
        )
    resolver = _Resolver(state, guild_id, channel_id, user_id)
    out: list[str] = []
    if ctype == 3:
        allowed = [o["value"] for o in component.get("options") or []]
        for v in values:
            if v not in allowed:
                raise SimulatorError(
                    f"{v!r} is not an option of select {component.get('custom_id')!r}: {allowed}"
                )
            out.append(str(v))
    else:
        for v in values:
            vid = _id_of(v)
            if ctype == 5:
                resolver.user(vid)
            elif ctype == 6:
                resolver.role(vid)
            elif ctype == 7:
                if resolver.guild_id is not None and vid in state.guilds[resolver.guild_id].roles:
                    resolver.role(vid)
                else:
                    resolver.user(vid)
            elif ctype == 8:
                resolver.channel(vid)
            out.append(str(vid))
    data: dict[str, Any] = {
        "custom_id": component["custom_id"],
        "component_type": ctype,
        "values": out,
    }
    if resolver.data:
        data["resolved"] = resolver.data
    return data


def build_modal_submit_data(modal: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Mirror the modal the bot sent, filling in the user's values.

    discord.py matches submitted components to the modal's items by custom_id and structure, so
    the submission keeps rows/labels exactly as they were sent. Text inputs left out of ``values``
    keep their pre-filled ``value``; a required one without a value is an error (the Discord
    client would not let the user submit).
    """
    remaining = dict(values)
    counter = 0

    def next_id(comp: Mapping[str, Any]) -> int:
        nonlocal counter
        counter += 1
        cid = comp.get("id")
        return cid if isinstance(cid, int) else counter

    def leaf(comp: Mapping[str, Any]) -> dict[str, Any]:
        ctype = int(comp["type"])
        custom_id = comp.get("custom_id")
        cid = next_id(comp)
        if ctype == 4:
            value = remaining.pop(custom_id, comp.get("value") or "") if custom_id else ""
            value = "" if value is None else str(value)
            required = comp.get("required", True)
            if required and not value:
                raise SimulatorError(f"modal text input {custom_id!r} is required")
            lo, hi = comp.get("min_length"), comp.get("max_length")
            if value and lo is not None and len(value) < int(lo):
                raise SimulatorError(
                    f"modal text input {custom_id!r} needs at least {lo} characters"
                )
            if hi is not None and len(value) > int(hi):
                raise SimulatorError(
                    f"modal text input {custom_id!r} allows at most {hi} characters"
                )
            return {"type": 4, "id": cid, "custom_id": custom_id, "value": value}
        if ctype in (3, 5, 6, 7, 8, 21, 22, 23, 19):
            raw = remaining.pop(custom_id, []) if custom_id else []
            vals = raw if isinstance(raw, list) else [raw]
            return {
                "type": ctype,
                "id": cid,
                "custom_id": custom_id,
                "values": [str(v) for v in vals],
            }
        return {"type": ctype, "id": cid}

    components: list[dict[str, Any]] = []
    for comp in modal.get("components") or []:
        ctype = int(comp.get("type", 0))
        if ctype == 1:
            components.append(
                {
                    "type": 1,
                    "id": next_id(comp),
                    "components": [leaf(c) for c in comp.get("components") or []],
                }
            )
        elif ctype == 18:
            components.append(
                {"type": 18, "id": next_id(comp), "component": leaf(comp["component"])}
            )
        else:
            components.append({"type": ctype, "id": next_id(comp)})
    if remaining:
        raise SimulatorError(
            f"modal {modal.get('custom_id')!r} has no input(s) {sorted(remaining)}"
        )
    return {"custom_id": modal["custom_id"], "components": components}
