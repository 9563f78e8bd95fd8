"""When Discord makes the bot wait too long to create rooms, nothing is left half-made and
everyone hears what happened (discord.py raises RateLimited past max_ratelimit_timeout)."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from bot.db.models import Brew, Room
from discordsim import GUILD_CATEGORY, RateLimitPolicy, RouteLimit

from .conftest import Harness


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


async def test_rooms_that_cannot_be_created_are_tidied_and_their_people_told(
    harness: Harness,
) -> None:
    sim, world = harness.sim, harness.world
    harness.config = dataclasses.replace(
        harness.config,
        discord=dataclasses.replace(harness.config.discord, max_ratelimit_timeout=1.0),
    )
    await harness.stop()
    await harness.start()
    await harness.put_in_voice([*world.people[:4], world.facilitator])
    rec = await harness.command(world.facilitator, "brew start", question="What's missing?")
    summary = await harness.final_text(rec, timeout=30)
    assert "couldn't open any of the rooms" in summary and "has not started" in summary, summary

    assert "open again" in summary and "try /brew start again" in summary, summary

    told = [m for m in sim.messages(world.hall.id) if "could not be opened" in m.content]
    assert len(told) == 1
    async with harness.sessions() as session:
        rooms = list(await session.scalars(select(Room).order_by(Room.index)))
        brew = await session.scalar(select(Brew))
    # The plan that never ran is forgotten; the brew is open again for another try.
    assert rooms == []
    assert brew is not None and brew.status == "open" and brew.started_at is None
    people = sorted(p.id for p in world.people[:4])
    assert sorted(told[0].mentions) == people  # its people were pinged
    # Nothing was left half-made: no room channel and no category.
    assert harness.room_channels() == []
    assert sim.channels(world.guild.id, type=GUILD_CATEGORY) == []
    # Nobody was moved.
    for person in world.people[:4]:
        assert sim.voice_channel_of(world.guild.id, person.id) == world.lounge.id
