"""A scheduled brew's Discord scheduled event: created with the card, read for who pressed
"Interested", and kept in step (active when the brew starts, completed when it ends,
cancelled with the occurrence)."""

from __future__ import annotations

import logging

import discord

from bot.core.schedule import Plan
from bot.db import scheduling as db
from bot.db.scheduling import OccurrenceInfo, SeriesInfo
from bot.permissions import can_create_events
from bot.services import Services

log = logging.getLogger(__name__)

#: Discord's limits for a scheduled event's name and description.
EVENT_NAME_LIMIT = 100
EVENT_DESCRIPTION_LIMIT = 1000


async def _event(guild: discord.Guild, event_id: int) -> discord.ScheduledEvent | None:
    try:
        return guild.get_scheduled_event(event_id) or await guild.fetch_scheduled_event(event_id)
    except discord.HTTPException as exc:
        log.info("could not read scheduled event %s (%s)", event_id, exc.status)
        return None


async def create_event(
    services: Services,
    guild: discord.Guild,
    series: SeriesInfo,
    occurrence: OccurrenceInfo,
    plan: Plan,
) -> str | None:
    """Add the occurrence to the server's Events list; returns why it could not (or None)."""
    content = services.content
    voice = guild.get_channel(series.voice_channel_id or 0)
    if not isinstance(voice, discord.VoiceChannel):
        async with services.sessions() as session:
            await db.set_event(session, occurrence.id, None, "no main voice channel")
        return content.text("schedule.no_voice_channel")
    needs = content.format("schedule.event_permission", channel=f"<#{voice.id}>")
    me = guild.me
    perms = voice.permissions_for(me) if me is not None else discord.Permissions.none()
    allowed = can_create_events(perms.value) and perms.view_channel and perms.connect
    event_id: int | None = None
    error: str | None = None
    if allowed:
        description = content.format(
            "schedule.event_description",
            title=series.title,
            question=series.question,
            channel=f"#{getattr(guild.get_channel(series.channel_id or 0), 'name', 'brews')}",
        )
        try:
            event = await guild.create_scheduled_event(
                name=series.title[:EVENT_NAME_LIMIT],
                start_time=plan.start,
                end_time=plan.end,
                channel=voice,
                entity_type=discord.EntityType.voice,
                privacy_level=discord.PrivacyLevel.guild_only,
                description=description[:EVENT_DESCRIPTION_LIMIT],
                reason="Brew Host: a scheduled brew",
            )
            event_id = event.id
        except discord.Forbidden:
            error = "missing permission"
        except discord.HTTPException as exc:
            log.warning("could not create a scheduled event: %s", exc)
            error = f"Discord refused: {exc.text}"[:200]
    else:
        error = "missing permission"
    async with services.sessions() as session:
        await db.set_event(session, occurrence.id, event_id, error)
    return None if event_id is not None else needs


async def interested(guild: discord.Guild | None, occurrence: OccurrenceInfo) -> list[int]:
    """Who pressed "Interested" on the occurrence's event, read through REST (discord.py drops
    those gateway events without the members intent)."""
    if guild is None or occurrence.discord_event_id is None:
        return []
    event = await _event(guild, occurrence.discord_event_id)
    if event is None:
        return []
    try:
        return [user.id async for user in event.users(limit=None) if not user.bot]
    except discord.HTTPException as exc:
        log.info("could not read who is interested (%s)", exc.status)
        return []


async def event_status(guild: discord.Guild, occurrence: OccurrenceInfo, action: str) -> None:
    """Keep the event in step: ``start`` (active), ``end`` (completed), ``cancel``."""
    if occurrence.discord_event_id is None:
        return
    event = await _event(guild, occurrence.discord_event_id)
    if event is None:
        return
    scheduled = discord.EventStatus.scheduled
    try:
        if action == "cancel" and event.status is scheduled:
            await event.cancel(reason="Brew Host: the brew was cancelled")
        elif action in ("start", "end") and event.status is scheduled:
            event = await event.start(reason="Brew Host: the brew has started")
        if action == "end" and event.status is discord.EventStatus.active:
            await event.end(reason="Brew Host: the brew has ended")
    except discord.HTTPException as exc:
        log.info("could not change scheduled event %s (%s)", event.id, exc.status)


__all__ = ["create_event", "event_status", "interested"]
