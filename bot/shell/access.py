"""Who may do what, checked in the bot (Discord's default_permissions is only a hint that server
admins can change)."""

from __future__ import annotations

import discord

from bot.db import repo
from bot.services import Services


async def _roles(services: Services, guild_id: int) -> tuple[int | None, int | None]:
    async with services.sessions() as session:
        settings = await repo.settings_for(session, guild_id)
        await session.commit()
        return settings.facilitator_role_id, settings.organiser_role_id


def _manages_server(member: discord.abc.User | discord.Member) -> bool:
    return isinstance(member, discord.Member) and member.guild_permissions.manage_guild


def _has_role(member: discord.abc.User | discord.Member, role_id: int | None) -> bool:
    return (
        role_id is not None
        and isinstance(member, discord.Member)
        and any(r.id == role_id for r in member.roles)
    )


async def is_facilitator(
    services: Services, member: discord.abc.User | discord.Member, guild_id: int
) -> bool:
    if _manages_server(member):
        return True
    facilitator_role, _ = await _roles(services, guild_id)
    return _has_role(member, facilitator_role)


async def is_organiser(
    services: Services, member: discord.abc.User | discord.Member, guild_id: int
) -> bool:
    if _manages_server(member):
        return True
    _, organiser_role = await _roles(services, guild_id)
    return _has_role(member, organiser_role)


FACILITATOR_ONLY = (
    "Only facilitators can run brews: people with the server's facilitator role, or with "
    "Manage Server. Ask a server admin to give you the role (they can set it with /brew settings)."
)
ORGANISER_ONLY = (
    "Only organisers can export reflections or delete a brew's data: people with the server's "
    "organiser role, or with Manage Server. A server admin can set the role with /brew settings."
)
MANAGER_ONLY = "Only people with Manage Server can change Brew Host's settings for this server."
