"""The documented permission algorithm, checked on the simulator's state directly."""

from __future__ import annotations

import datetime

from hypothesis import given
from hypothesis import strategies as st

from discordsim import ALL_PERMISSIONS, GUILD_VOICE, Permission
from discordsim.state import SimState

P = Permission


def make() -> tuple[SimState, int, int, int, int]:
    state = SimState()
    guild = state.create_guild("G", everyone_permissions=int(P.VIEW_CHANNEL | P.CONNECT))
    role = state.create_role(guild.id, "Facilitator", permissions=int(P.MOVE_MEMBERS))
    user = state.create_user("alice")
    state.add_member(guild.id, user, roles=[role.id])
    channel = state.create_channel(guild.id, {"name": "Room", "type": GUILD_VOICE}, as_bot=False)
    return state, guild.id, role.id, user.id, channel.id


def test_base_is_everyone_plus_roles() -> None:
    state, gid, _, uid, _ = make()
    assert state.permissions(gid, uid) == int(P.VIEW_CHANNEL | P.CONNECT | P.MOVE_MEMBERS)


def test_overwrite_order_everyone_roles_member() -> None:
    state, gid, rid, uid, cid = make()
    channel = state.channel(cid)
    state.put_overwrite(
        cid, gid, {"type": 0, "allow": 0, "deny": int(P.VIEW_CHANNEL)}, as_bot=False
    )
    assert state.permissions(gid, uid, cid) == 0  # no view -> nothing
    state.put_overwrite(
        cid, rid, {"type": 0, "allow": int(P.VIEW_CHANNEL), "deny": int(P.CONNECT)}, as_bot=False
    )
    assert state.permissions(gid, uid, cid) == int(P.VIEW_CHANNEL | P.MOVE_MEMBERS)
    state.put_overwrite(cid, uid, {"type": 1, "allow": int(P.CONNECT), "deny": 0}, as_bot=False)
    assert state.permissions(gid, uid, cid) == int(P.VIEW_CHANNEL | P.MOVE_MEMBERS | P.CONNECT)
    assert len(channel.overwrites) == 3


def test_administrator_and_owner_bypass() -> None:
    state, gid, rid, uid, cid = make()
    state.put_overwrite(cid, gid, {"type": 0, "deny": int(P.VIEW_CHANNEL)}, as_bot=False)
    state.set_role_permissions(gid, rid, int(P.ADMINISTRATOR))
    assert state.permissions(gid, uid, cid) == ALL_PERMISSIONS
    owner = state.guild(gid).owner_id
    assert state.permissions(gid, owner, cid) == ALL_PERMISSIONS


def test_send_dependent_permissions_and_timeout() -> None:
    state, gid, _, uid, _ = make()
    text = state.create_channel(gid, {"name": "chat"}, as_bot=False)
    state.set_role_permissions(
        gid, gid, int(P.VIEW_CHANNEL | P.ATTACH_FILES | P.READ_MESSAGE_HISTORY)
    )
    perms = state.permissions(gid, uid, text.id)
    assert not perms & P.ATTACH_FILES  # implied off without Send Messages
    state.set_role_permissions(
        gid, gid, int(P.VIEW_CHANNEL | P.SEND_MESSAGES | P.READ_MESSAGE_HISTORY)
    )
    member = state.member(gid, uid)
    member.communication_disabled_until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
        hours=1
    )
    assert state.permissions(gid, uid, text.id) == int(P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY)


@given(
    everyone=st.integers(0, ALL_PERMISSIONS),
    role_allow=st.integers(0, ALL_PERMISSIONS),
    role_deny=st.integers(0, ALL_PERMISSIONS),
    member_allow=st.integers(0, ALL_PERMISSIONS),
)
def test_overwrites_match_reference_formula(
    everyone: int, role_allow: int, role_deny: int, member_allow: int
) -> None:
    state, gid, rid, uid, cid = make()
    everyone &= ~int(P.ADMINISTRATOR)
    state.set_role_permissions(gid, gid, everyone)
    state.set_role_permissions(gid, rid, 0)
    state.put_overwrite(cid, rid, {"type": 0, "allow": role_allow, "deny": role_deny}, as_bot=False)
    state.put_overwrite(cid, uid, {"type": 1, "allow": member_allow}, as_bot=False)
    perms = state.permissions(gid, uid, cid)
    expected = ((everyone & ~role_deny) | role_allow) | member_allow
    if not expected & P.VIEW_CHANNEL:
        assert perms == 0
        return
    implied_off = int(
        P.SEND_TTS_MESSAGES | P.MENTION_EVERYONE | P.EMBED_LINKS | P.ATTACH_FILES | P.SEND_POLLS
    )
    if not expected & P.SEND_MESSAGES:
        expected &= ~implied_off
    assert perms == expected
