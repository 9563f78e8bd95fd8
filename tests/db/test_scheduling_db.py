"""Scheduled brews in the database: a moment is done once, answers go with retention."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.core.schedule import Repeat, Rsvp, answer
from bot.db import scheduling as db
from bot.db.migrate import upgrade
from bot.db.models import ScheduledAnswer, ScheduledSeries
from bot.db.privacy import apply_retention
from bot.db.session import create_engine, session_factory

NOW = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[object]:
    await asyncio.to_thread(upgrade, database_url)
    engine = create_engine(database_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


def new_series(start: datetime) -> db.NewSeries:
    return db.NewSeries(
        guild_id=1,
        title="Planned",
        question="What's missing?",
        channel_id=2,
        voice_channel_id=3,
        facilitator_id=4,
        repeat=Repeat.WEEKLY,
        occurrences=2,
        first_start=start,
        timezone="Europe/London",
        signup_minutes=15,
        reminder_minutes=(1440, 15),
        auto_start=True,
        group_size=None,
        length_s=1800,
        turn_s=None,
        think_s=None,
        speed=1.0,
    )


async def test_a_moment_is_claimed_once_and_occurrences_are_made_once(sessions) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        series, first = await db.create_series(session, new_series(NOW + timedelta(days=2)), NOW)
    async with sessions() as session:
        assert await db.claim_moment(session, first.id, "reminder-15", NOW)
        await session.commit()
    async with sessions() as session:
        assert not await db.claim_moment(session, first.id, "reminder-15", NOW)
        assert await db.done_keys(session, first.id) == {"reminder-15"}
    async with sessions() as session:
        start = NOW + timedelta(days=9)
        one = await db.add_occurrence(session, series.id, 1, start, NOW)
        two = await db.add_occurrence(session, series.id, 1, start, NOW)
    assert one is not None and two is not None and one.id == two.id and one.number == 2


async def test_answers_are_deleted_by_retention_once_the_brew_is_old(sessions) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        _, occurrence = await db.create_series(session, new_series(NOW + timedelta(hours=3)), NOW)
        await db.save_answer(session, occurrence.id, 10, answer(None, Rsvp.VOICE, NOW))
        await db.save_answer(session, occurrence.id, 11, answer(None, Rsvp.CANT, NOW))
    async with sessions() as session:
        report = await apply_retention(session, NOW)  # the brew is still ahead: kept
        assert report.scheduled_answers == 0
        report = await apply_retention(session, NOW + timedelta(days=1))
        assert report.scheduled_answers == 2 and report.deleted_anything
    async with sessions() as session:
        left = await session.scalar(select(func.count()).select_from(ScheduledAnswer))
        series = await session.scalar(select(ScheduledSeries))
    assert left == 0 and series is not None and series.facilitator_id is None
