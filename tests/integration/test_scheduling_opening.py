"""A scheduled brew's opening and cancel, the harder cases, through the simulator with real
discord.py: a crash inside the opening (one transaction: nothing half done, people joined
once after the restart), a card already open in the channel (no second card, the people kept),
cancel notices to people whose DMs are closed, and a weekly series across the autumn change of
clocks with "now" fixed by a manual clock.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

import bot.db.scheduling as db_scheduling
from bot.clock import ManualClock
from bot.config import ScheduleConfig
from bot.db.models import Brew, ScheduledDone, ScheduledOccurrence, Signup
from discordsim import DEFAULT_BOT_PERMISSIONS, DiscordSimulator, Permission

from .conftest import Harness, World
from .scheduling_helpers import answer, occurrence_row, plan

CREATE_EVENTS = int(Permission.CREATE_EVENTS)


@pytest.fixture
def speed() -> float:
    return 60.0


async def _harness(h: Harness, sim: DiscordSimulator, world: World) -> None:
    h.config = dataclasses.replace(
        h.config, schedule=ScheduleConfig(reminder_minutes=(4,), signup_minutes=2)
    )
    sim.set_bot_permissions(world.guild_id, DEFAULT_BOT_PERMISSIONS | CREATE_EVENTS)
    await h.start()
    await h.configure()


@pytest.fixture
async def harness(
    sim: DiscordSimulator, world: World, db_url: str, speed: float
) -> AsyncIterator[Harness]:
    h = Harness(sim, world, db_url, speed)
    try:
        await _harness(h, sim, world)
        yield h
    finally:
        await h.stop()


async def counts(harness: Harness, occurrence_id: int) -> tuple[int, list[int], set[str]]:
    """(brews, the user ids signed up to any brew, the occurrence's moments done)."""
    async with harness.sessions() as session:
        brews = await session.scalar(select(func.count()).select_from(Brew))
        signups = list(await session.scalars(select(Signup.user_id).order_by(Signup.user_id)))
        done = set(
            await session.scalars(
                select(ScheduledDone.key).where(ScheduledDone.occurrence_id == occurrence_id)
            )
        )
    return int(brews or 0), signups, done


def hall_has(harness: Harness, text: str) -> list[Any]:
    return [m for m in harness.bot_messages(harness.world.hall) if text in m.content]


async def test_a_crash_inside_the_opening_leaves_nothing_and_it_opens_once_after_a_restart(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = harness.world
    # Sign-up opens 6 seconds from now; the start (auto_start off) comes 6 seconds later.
    occurrence_id = await plan(harness, 12, signup_minutes=6, auto_start=False)
    await answer(harness, 0, "voice", occurrence_id)
    await answer(harness, 1, "text", occurrence_id)

    real_join = db_scheduling.join_people
    attempts: list[int] = []

    async def join_then_crash(session: Any, brew_id: int, people: dict[int, bool]) -> None:
        await real_join(session, brew_id, people)  # the brew and the people are written...
        attempts.append(brew_id)
        raise RuntimeError("the process died here")  # ...and the commit never comes

    monkeypatch.setattr(db_scheduling, "join_people", join_then_crash)
    await harness.wait_for(lambda: attempts, timeout=15)
    await harness.stop()
    # Nothing of the opening was kept: no brew, nobody joined, the moment not marked done.
    brews, signups, done = await _read_stopped(harness, occurrence_id)
    assert (brews, signups) == (0, []) and "open" not in done

    monkeypatch.setattr(db_scheduling, "join_people", real_join)
    await harness.start()  # recovery opens it now, once
    await harness.wait_for(lambda: hall_has(harness, "People joined so far: 2"), timeout=15)
    row = await occurrence_row(harness, occurrence_id)
    assert row.status == "open" and row.brew_id is not None
    brews, signups, done = await counts(harness, occurrence_id)
    assert brews == 1 and "open" in done
    assert signups == sorted([world.people[0].id, world.people[1].id])
    async with harness.sessions() as session:
        text_only = await session.scalar(
            select(Signup.text_only).where(Signup.user_id == world.people[1].id)
        )
    assert text_only is True  # joined the way they chose

    # Another restart changes nothing: still one brew, each person joined once.
    await harness.stop()
    await harness.start()
    await asyncio.sleep(1)
    assert (await counts(harness, occurrence_id))[:2] == (brews, signups)


async def _read_stopped(harness: Harness, occurrence_id: int) -> tuple[int, list[int], set[str]]:
    """:func:`counts` while the bot is stopped (its own engine is closed)."""
    from bot.db.session import create_engine, session_factory

    engine = create_engine(harness.db_url)
    try:
        sessions = session_factory(engine)
        async with sessions() as session:
            brews = await session.scalar(select(func.count()).select_from(Brew))
            signups = list(await session.scalars(select(Signup.user_id)))
            done = set(
                await session.scalars(
                    select(ScheduledDone.key).where(ScheduledDone.occurrence_id == occurrence_id)
                )
            )
    finally:
        await engine.dispose()
    return int(brews or 0), signups, done


async def test_a_card_already_open_keeps_the_people_and_no_second_card_is_posted(
    harness: Harness,
) -> None:
    world = harness.world
    rec = await harness.command(
        world.facilitator, "brew open", question="Opened by hand", title="Hand brew"
    )
    await harness.final_text(rec)
    occurrence_id = await plan(harness, 8)
    await answer(harness, 0, "voice", occurrence_id)
    await answer(harness, 1, "text", occurrence_id)

    told = await harness.wait_for(
        lambda: hall_has(harness, "did not post a second card"), timeout=15
    )
    assert world.facilitators.id in told[0].mention_roles
    assert world.facilitator.id in told[0].mentions
    assert "The 2 people who said they would come are joined to brew 1's card" in told[0].content
    # The hand-opened card shows its new count and keeps its buttons; the planned card points
    # to it, without buttons.
    hand = next(m for m in harness.bot_messages(world.hall) if "Opened by hand" in m.content)
    assert "People joined so far: 2" in hand.content and hand.components
    planned = next(
        m for m in harness.bot_messages(world.hall) if "sign-up is on brew 1" in m.content
    )
    assert not planned.components
    assert len(hall_has(harness, "People joined so far")) == 1  # no second open card

    row = await occurrence_row(harness, occurrence_id)
    async with harness.sessions() as session:
        brew = await session.scalar(select(Brew).where(Brew.number == 1))
        assert brew is not None and row.status == "joined" and row.brew_id == brew.id
        rows = (await session.execute(select(Signup.user_id, Signup.text_only))).all()
        joined = {user_id: text_only for user_id, text_only in rows}
    assert joined == {world.people[0].id: False, world.people[1].id: True}

    # At the start time the hand-opened card is not started by itself: the facilitators are
    # pinged to start it.
    ping = await harness.wait_for(lambda: hall_has(harness, "is due to start now"), timeout=15)
    assert world.facilitators.id in ping[0].mention_roles
    assert harness.room_channels() == []
    async with harness.sessions() as session:
        status = await session.scalar(select(Brew.status).where(Brew.number == 1))
    assert status == "open"


async def test_cancel_notices_fall_back_to_one_channel_message(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    occurrence_id = await plan(harness, 600)
    for index in (0, 1, 2):
        await answer(harness, index, "voice", occurrence_id)
    await answer(harness, 3, "cant", occurrence_id)
    sim.set_dms_closed(world.people[1].id)
    sim.set_dms_closed(world.people[2].id)
    row = await occurrence_row(harness, occurrence_id)

    rec = await harness.command(world.facilitator, "brew cancel_scheduled", brew=row.number)
    assert "Cancelled 1" in await harness.final_text(rec)
    notices = [m for m in sim.dms(world.people[0].id) if "has been cancelled" in m.content]
    assert len(notices) == 1
    fallback = await harness.wait_for(
        lambda: hall_has(harness, "I couldn't send you a direct message"), timeout=10
    )
    assert len(fallback) == 1
    assert sorted(fallback[0].mentions) == sorted([world.people[1].id, world.people[2].id])
    assert "has been cancelled" in fallback[0].content
    assert [m for m in sim.dms(world.people[3].id) if "cancelled" in m.content] == []


# ---------------------------------------------------------------------- summer time ends
#: "Now" for the clock test: within a year of both brews, whatever the real date.
NOW = datetime(2027, 10, 1, 9, 0, tzinfo=UTC)
FIRST_UTC = datetime(2027, 10, 25, 13, 0, tzinfo=UTC)  # 14:00 British Summer Time
SECOND_UTC = datetime(2027, 11, 1, 14, 0, tzinfo=UTC)  # 14:00 Greenwich Mean Time


@pytest.fixture
async def clocked(
    sim: DiscordSimulator, world: World, db_url: str, speed: float
) -> AsyncIterator[tuple[Harness, ManualClock]]:
    h = Harness(sim, world, db_url, speed)
    clock = ManualClock(NOW, speed=speed)
    h.clock = clock
    try:
        await _harness(h, sim, world)
        yield h, clock
    finally:
        await h.stop()


async def test_a_weekly_series_across_the_autumn_change_keeps_two_pm_local(
    clocked: tuple[Harness, ManualClock],
) -> None:
    harness, clock = clocked
    sim, world = harness.sim, harness.world
    # Summer time ends on Sunday 31 October 2027, between the two brews.
    rec = await harness.command(
        world.facilitator,
        "brew schedule",
        question="What's missing?",
        when="2027-10-25 14:00",
        repeat="weekly",
        occurrences=2,
    )
    reply = await harness.final_text(rec)
    assert "Monday 25 October 2027 at 2:00pm" in reply
    assert "the last on Monday 1 November 2027" in reply
    first_card = hall_has(harness, "(planned)")[-1]
    assert f"<t:{int(FIRST_UTC.timestamp())}:F>" in first_card.content

    async with harness.sessions() as session:
        first = await session.scalar(select(ScheduledOccurrence))
    assert first is not None
    assert first.starts_at.replace(tzinfo=first.starts_at.tzinfo or UTC) == FIRST_UTC

    # The first brew's start: the clock moves on and its steps run as the timer would run them.
    clock.current = FIRST_UTC + timedelta(seconds=1)
    bot = harness.bot
    assert bot is not None and bot.scheduling is not None
    await bot.scheduling.run_due(first.id)

    async with harness.sessions() as session:
        second = await session.scalar(
            select(ScheduledOccurrence).where(ScheduledOccurrence.index == 1)
        )
    assert second is not None
    assert second.starts_at.replace(tzinfo=second.starts_at.tzinfo or UTC) == SECOND_UTC
    assert second.starts_at - first.starts_at == timedelta(days=7, hours=1)  # 14:00 both times
    second_card = hall_has(harness, "(planned)")[-1]
    assert second_card.id != first_card.id
    assert f"<t:{int(SECOND_UTC.timestamp())}:F>" in second_card.content
    event = sim.scheduled_event(world.guild_id, second.discord_event_id)
    assert event.scheduled_start_time == SECOND_UTC
