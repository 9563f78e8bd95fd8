"""A start Discord refuses (no room could be opened) puts the brew back to open with its
sign-ups; the card takes sign-ups again, and a later start works (issue 10, item 7)."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from bot.db.models import Brew, Room, Signup
from discordsim import RateLimitPolicy, RouteLimit

from .conftest import Harness
from .test_start_races import join, open_card, running_rooms


@pytest.fixture
def rate_limits() -> RateLimitPolicy:
    # Two channel creates, then a ten-minute wait: the category and half of the only room.
    create = RouteLimit(
        "POST", "/guilds/{guild_id}/channels", 2, 600.0, major=("guild_id",), name="create"
    )
    return RateLimitPolicy(routes=(create,))


@pytest.fixture
def speed() -> float:
    return 30.0


async def test_a_start_discord_refuses_keeps_the_card_and_a_second_start_works(
    harness: Harness,
) -> None:
    sim, world = harness.sim, harness.world
    harness.config = dataclasses.replace(
        harness.config,
        discord=dataclasses.replace(harness.config.discord, max_ratelimit_timeout=1.0),
    )
    await harness.stop()
    await harness.start()
    card = await open_card(harness)
    signed = world.people[:4]
    for person in signed:
        assert "You're in" in await join(harness, person, card)

    rec = await harness.command(world.facilitator, "brew start")
    summary = await harness.final_text(rec, timeout=30)
    assert "couldn't open any of the rooms" in summary and "has not started" in summary, summary
    assert "sign-up card is taking sign-ups again" in summary
    assert "try /brew start again" in summary
    async with harness.sessions() as session:
        brew = await session.scalar(select(Brew))
        kept = sorted(await session.scalars(select(Signup.user_id)))
        rooms = await session.scalar(select(func.count()).select_from(Room))
    assert brew is not None and brew.status == "open"
    assert kept == sorted(p.id for p in signed) and rooms == 0

    # The card takes sign-ups again.
    assert "You're in" in await join(harness, world.people[4], sim.message(card.id))
    await sim.wait_for(lambda: "joined so far: 5" in sim.message(card.id).content)

    # Later Discord lets the bot create channels again. (discord.py remembers the ten-minute
    # wait in memory, in real time; a restart of the bot stands in for the time passing.)
    sim.rest.limiter.policy = RateLimitPolicy.off()
    await harness.stop()
    await harness.start()
    rec = await harness.command(world.facilitator, "brew start")
    summary = await harness.final_text(rec, timeout=30)
    assert "Brew 1 has started" in summary and "for 5 people" in summary, summary
    assert await running_rooms(harness) == {1: {p.id for p in world.people[:5]}}
