"""What a scheduled brew does by itself, through the simulator with real discord.py: reminders
by direct message (and the channel fallback), the card opening with everyone already joined,
the brew starting by itself, and all of it surviving a restart without happening twice.

The brews here are planned seconds ahead through :meth:`Scheduling.schedule` (what /brew
schedule calls after reading the typed time, which is always on a whole minute); at speed 60 a
3-minute reminder comes 3 seconds before the start and a 1-minute sign-up opens 1 second before.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.config import ScheduleConfig
from bot.core.schedule import Repeat
from bot.db.models import Brew, ScheduledDone, ScheduledOccurrence, ScheduledSeries
from discordsim import DEFAULT_BOT_PERMISSIONS, DiscordSimulator, Permission

from .conftest import Harness, World
from .scheduling_helpers import answer, occurrence_row, plan, reminders_to

CREATE_EVENTS = int(Permission.CREATE_EVENTS)
SCHEDULED, ACTIVE, COMPLETED = 1, 2, 3


@pytest.fixture
def speed() -> float:
    return 60.0


@pytest.fixture
async def harness(
    sim: DiscordSimulator, world: World, db_url: str, speed: float
) -> AsyncIterator[Harness]:
    h = Harness(sim, world, db_url, speed)
    h.config = dataclasses.replace(
        h.config, schedule=ScheduleConfig(reminder_minutes=(4,), signup_minutes=2)
    )
    sim.set_bot_permissions(world.guild_id, DEFAULT_BOT_PERMISSIONS | CREATE_EVENTS)
    try:
        await h.start()
        await h.configure()
        yield h
    finally:
        await h.stop()


async def test_reminder_opening_and_starting_by_itself(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    occurrence_id = await plan(harness, 9)
    await answer(harness, 0, "voice", occurrence_id)
    await answer(harness, 1, "text", occurrence_id)
    await answer(harness, 2, "cant", occurrence_id)
    sim.set_dms_closed(world.people[1].id)  # Person 2's reminder goes to the channel instead

    # The reminder, 4 seconds ahead: by DM, or one channel message mentioning only Person 2.
    await harness.wait_for(lambda: reminders_to(harness, 0), timeout=15)
    assert "Soon brew" in reminders_to(harness, 0)[0]
    await harness.wait_for(
        lambda: [m for m in harness.bot_messages(world.hall) if "couldn't send you" in m.content]
    )
    fallback = [m for m in harness.bot_messages(world.hall) if "couldn't send you" in m.content]
    assert len(fallback) == 1 and fallback[0].mentions == [world.people[1].id]
    assert reminders_to(harness, 2) == []  # "Can't come" is never reminded

    # Sign-up opens: the card is now /brew open's card, both already joined.
    await harness.wait_for(
        lambda: any(
            "People joined so far: 2" in m.content for m in harness.bot_messages(world.hall)
        )
    )
    # At the start: two joined, so the brew starts by itself.
    await harness.wait_for(lambda: harness.room_channels(), timeout=20)
    row = await occurrence_row(harness, occurrence_id)
    await harness.wait_for(
        lambda: sim.scheduled_event(world.guild_id, row.discord_event_id).status == ACTIVE
    )
    async with harness.sessions() as session:
        brew = await session.get(Brew, row.brew_id)
        assert brew is not None and brew.status == "running"
        assert brew.facilitator_id == world.facilitator.id and brew.participants == 2
    await harness.wait_for(
        lambda: any("started by itself" in m.content for m in harness.bot_messages(world.hall))
    )
    assert len(reminders_to(harness, 0)) == 1

    # Ending the brew completes its event.
    rec = await harness.command(world.facilitator, "brew end")
    await harness.final_text(rec)
    await harness.wait_for(
        lambda: sim.scheduled_event(world.guild_id, row.discord_event_id).status == COMPLETED,
        timeout=30,
    )


async def test_too_few_tells_the_facilitators_and_the_card_stays_open(harness: Harness) -> None:
    world = harness.world
    occurrence_id = await plan(harness, 4)
    await answer(harness, 0, "voice", occurrence_id)
    await harness.wait_for(
        lambda: any("fewer than two people" in m.content for m in harness.bot_messages(world.hall)),
        timeout=15,
    )
    row = await occurrence_row(harness, occurrence_id)
    async with harness.sessions() as session:
        brew = await session.get(Brew, row.brew_id)
        assert brew is not None and brew.status == "open"
    assert harness.room_channels() == []


async def test_auto_start_off_pings_the_facilitators(harness: Harness) -> None:
    world = harness.world
    occurrence_id = await plan(harness, 4, auto_start=False)
    await answer(harness, 0, "voice", occurrence_id)
    await answer(harness, 1, "voice", occurrence_id)

    def pings() -> list[object]:
        return [m for m in harness.bot_messages(world.hall) if "is due to start now" in m.content]

    await harness.wait_for(pings, timeout=15)
    assert world.facilitators.id in pings()[0].mention_roles  # type: ignore[attr-defined]
    assert harness.room_channels() == []


async def test_a_restart_before_the_reminder_and_the_start_does_each_once(
    harness: Harness,
) -> None:
    world = harness.world
    occurrence_id = await plan(harness, 10)
    await answer(harness, 0, "voice", occurrence_id)
    await answer(harness, 1, "voice", occurrence_id)
    await harness.stop()
    await asyncio.sleep(7.5)  # the reminder (6 s from now) and the opening fall due while down
    await harness.start()
    await harness.wait_for(lambda: reminders_to(harness, 0), timeout=15)
    await harness.wait_for(lambda: harness.room_channels(), timeout=20)
    assert len(reminders_to(harness, 0)) == 1 and len(reminders_to(harness, 1)) == 1

    # One more restart after everything: nothing is done again.
    await harness.stop()
    await harness.start()
    await asyncio.sleep(1.5)
    assert len(reminders_to(harness, 0)) == 1
    async with harness.sessions() as session:
        done = await session.scalar(
            select(func.count())
            .select_from(ScheduledDone)
            .where(ScheduledDone.occurrence_id == occurrence_id)
        )
        brews = await session.scalar(select(func.count()).select_from(Brew))
    assert done == 3 and brews == 1
    assert any("started by itself" in m.content for m in harness.bot_messages(world.hall))


async def test_a_start_missed_while_down_is_reported_not_run(harness: Harness) -> None:
    world = harness.world
    # A one-minute brew at speed 60 lasts one second once started.
    occurrence_id = await plan(harness, 3, length_s=60)
    await harness.stop()
    await asyncio.sleep(5)
    await harness.start()
    await harness.wait_for(
        lambda: any("did not start" in m.content for m in harness.bot_messages(world.hall)),
        timeout=15,
    )
    row = await occurrence_row(harness, occurrence_id)
    assert row.status == "missed" and harness.room_channels() == []


async def test_a_weekly_brew_makes_its_next_one_when_it_starts_and_the_rest_can_be_cancelled(
    harness: Harness,
) -> None:
    sim, world = harness.sim, harness.world
    first = await plan(harness, 4, repeat=Repeat.WEEKLY, occurrences=3)
    await answer(harness, 0, "voice", first)
    await answer(harness, 1, "voice", first)
    await harness.wait_for(lambda: harness.room_channels(), timeout=15)

    async def second() -> ScheduledOccurrence | None:
        async with harness.sessions() as session:
            return await session.scalar(
                select(ScheduledOccurrence).where(ScheduledOccurrence.index == 1)
            )

    for _ in range(100):
        made = await second()
        if made is not None and made.card_message_id is not None:
            break
        await asyncio.sleep(0.1)
    assert made is not None and made.status == "planned" and made.number == 2
    first_row = await occurrence_row(harness, first)
    assert made.starts_at - first_row.starts_at == timedelta(weeks=1)  # no change of clocks
    assert len(sim.scheduled_events(world.guild_id)) == 2

    rec = await harness.command(world.facilitator, "brew cancel_scheduled", brew=2, all_future=True)
    assert "Cancelled 1 scheduled brew" in await harness.final_text(rec)
    made = await second()
    assert made is not None and made.status == "cancelled"
    async with harness.sessions() as session:
        row = await session.scalar(select(ScheduledSeries))
        assert row is not None and row.cancelled_at is not None
    event = sim.scheduled_event(world.guild_id, made.discord_event_id)
    assert event.status == 4  # cancelled
