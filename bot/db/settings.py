"""A server's settings (roles, main voice channel, area), as plain data."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import GuildSettings
from bot.db.repo import settings_for

__all__ = ["ServerSettings", "change_settings", "read_settings"]


@dataclass(frozen=True)
class ServerSettings:
    facilitator_role_id: int | None
    organiser_role_id: int | None
    main_voice_channel_id: int | None
    area_label: str | None


def _plain(settings: GuildSettings) -> ServerSettings:
    return ServerSettings(
        settings.facilitator_role_id,
        settings.organiser_role_id,
        settings.main_voice_channel_id,
        settings.area_label,
    )


async def read_settings(session: AsyncSession, guild_id: int) -> ServerSettings:
    """The server's settings (its row is made on first use, saved with the session's commit)."""
    return _plain(await settings_for(session, guild_id))


async def change_settings(
    session: AsyncSession,
    guild_id: int,
    *,
    facilitator_role_id: int | None = None,
    organiser_role_id: int | None = None,
    main_voice_channel_id: int | None = None,
    area_label: str | None = None,
) -> ServerSettings:
    """Set what is given (None leaves a setting as it is); commits and returns them all."""
    settings = await settings_for(session, guild_id)
    if facilitator_role_id is not None:
        settings.facilitator_role_id = facilitator_role_id
    if organiser_role_id is not None:
        settings.organiser_role_id = organiser_role_id
    if main_voice_channel_id is not None:
        settings.main_voice_channel_id = main_voice_channel_id
    if area_label is not None:
        settings.area_label = area_label
    await session.commit()
    return _plain(settings)
