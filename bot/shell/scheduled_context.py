"""What every step of a scheduled brew shares: the scheduler it runs under, the occurrence's
plan, and how a time and the card are written in a message.

Kept apart from the steps themselves (:mod:`bot.shell.scheduled_reminders`,
:mod:`bot.shell.scheduled_opening`, :mod:`bot.shell.scheduled_starting`) so that each of them,
and :mod:`bot.shell.scheduled_steps` which calls them, imports this and not one another.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import discord

from bot.core.schedule import Plan, plan_occurrence
from bot.db.scheduling import OccurrenceInfo, SeriesInfo
from bot.services import Services
from bot.shell.brews import BrewOptions
from bot.shell.protocols import Host

#: The next occurrence to make: (series, its index, its start).
NextOccurrence = tuple[SeriesInfo, int, datetime]


class Scheduling(Protocol):
    """What the steps use of :class:`bot.shell.scheduling.Scheduling`."""

    client: discord.Client
    host: Host

    @property
    def services(self) -> Services: ...

    def now(self) -> datetime: ...


def plan_of(series: SeriesInfo, occurrence: OccurrenceInfo) -> Plan:
    """The moments of one occurrence, as :mod:`bot.core.schedule` plans them."""
    return plan_occurrence(
        occurrence.starts_at,
        length_minutes=max(series.length_s // 60, 1),
        signup_minutes=series.signup_minutes,
        reminder_minutes=series.reminder_minutes,
        speed=series.speed,
        scheduled_at=occurrence.created_at,
    )


def brew_options(series: SeriesInfo) -> BrewOptions:
    """The series' brew settings, as ``/brew open`` would take them."""
    return BrewOptions(
        question=series.question,
        title=series.title,
        group_size=series.group_size,
        length_minutes=series.length_s // 60,
        turn_seconds=series.turn_s,
        think_seconds=series.think_s,
    )


def stamp(at: datetime, style: str) -> str:
    """A Discord timestamp: each reader sees it in their own time zone."""
    return f"<t:{int(at.timestamp())}:{style}>"


def message_link(guild_id: int, channel_id: int | None, message_id: int | None) -> str:
    """A link to a message, or to the channel when there is no message."""
    base = f"https://discord.com/channels/{guild_id}/{channel_id}"
    return f"{base}/{message_id}" if message_id else base


def card_link(series: SeriesInfo, occurrence: OccurrenceInfo) -> str:
    """A link to the occurrence's card (or its channel, if the card was never posted)."""
    return message_link(series.guild_id, series.channel_id, occurrence.card_message_id)


__all__ = [
    "NextOccurrence",
    "Scheduling",
    "brew_options",
    "card_link",
    "message_link",
    "plan_of",
    "stamp",
]
