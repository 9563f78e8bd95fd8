"""Helpers shared by the scheduling integration tests (no test module imports another): plan a
brew seconds ahead through :meth:`Scheduling.schedule`, answer on its card, read its row."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from bot.core.schedule import Repeat
from bot.db.models import ScheduledOccurrence
from bot.db.scheduling import NewSeries

from .conftest import Harness


def series(harness: Harness, start: datetime, **changes: object) -> NewSeries:
    world = harness.world
    new = NewSeries(
        guild_id=world.guild_id,
        title="Soon brew",
        question="What's missing?",
        channel_id=world.hall.id,
        voice_channel_id=world.lounge.id,
        facilitator_id=world.facilitator.id,
        repeat=Repeat.ONCE,
        occurrences=1,
        first_start=start,
        timezone="Europe/London",
        signup_minutes=harness.config.schedule.signup_minutes,
        reminder_minutes=harness.config.schedule.reminder_minutes,
        auto_start=True,
        group_size=None,
        length_s=600,
        turn_s=None,
        think_s=None,
        speed=harness.config.timing.speed,
    )
    return dataclasses.replace(new, **changes)  # type: ignore[arg-type]


async def plan(harness: Harness, seconds_ahead: float, **changes: object) -> int:
    """Schedule a brew ``seconds_ahead`` from now; returns its occurrence id."""
    bot = harness.bot
    assert bot is not None and bot.scheduling is not None
    guild = bot.get_guild(harness.world.guild_id)
    channel = bot.get_channel(harness.world.hall.id)
    assert guild is not None and channel is not None
    start = datetime.now(UTC) + timedelta(seconds=seconds_ahead)
    made = await bot.scheduling.schedule(guild, channel, series(harness, start, **changes))  # type: ignore[arg-type]
    return made.occurrence.id


async def answer(harness: Harness, member_index: int, choice: str, occurrence_id: int) -> None:
    card = next(
        m for m in reversed(harness.bot_messages(harness.world.hall)) if "(planned)" in m.content
    )
    who = harness.world.people[member_index]
    rec = await harness.sim.click_button(
        who.id, harness.world.hall.id, card.id, f"bh:rsvp:{occurrence_id}:{choice}"
    )
    await harness.sim.wait_for(lambda: rec.followups, timeout=10)


async def occurrence_row(harness: Harness, occurrence_id: int) -> ScheduledOccurrence:
    async with harness.sessions() as session:
        row = await session.get(ScheduledOccurrence, occurrence_id)
        assert row is not None
        return row


def reminders_to(harness: Harness, index: int) -> list[str]:
    member = harness.world.people[index]
    return [m.content for m in harness.sim.dms(member.id) if m.content.startswith("Reminder")]
