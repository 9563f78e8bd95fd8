"""Concurrency at the whole-brew level: two facilitators at once, double-clicks."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.db.models import Membership

from .conftest import Harness, brews_and_rooms, room_problems, wait_all_ended


@pytest.fixture
def speed() -> float:
    return 30.0


async def test_two_starts_in_one_voice_channel_make_one_brew(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    second = sim.create_member(world.guild_id, "Sam Second", roles=[world.facilitators.id])
    await harness.put_in_voice([*world.people[:6], world.facilitator, second])
    recs = await asyncio.gather(
        *(
            sim.invoke_command(world.guild_id, world.hall.id, who.id, "brew start", question="q")
            for who in (world.facilitator, second)
        )
    )
    answers = [await harness.final_text(r, timeout=60) for r in recs]
    await wait_all_ended(harness, timeout=120)
    brews, rooms = await brews_and_rooms(harness)
    async with harness.sessions() as session:
        memberships = list(await session.scalars(select(Membership)))
    running = [b for b in brews if any(r.brew_id == b.id for r in rooms)]
    assert len(running) == 1, answers
    people = [m.user_id for m in memberships]
    assert len(people) == len(set(people)), "someone is in two brews"
    assert not room_problems(harness, rooms)


async def test_double_clicks_on_im_done_end_one_turn(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    await harness.put_in_voice([*world.people[:3], world.facilitator])
    rec = await harness.command(world.facilitator, "brew start", question="q", group_size=3)
    assert "1 room is open" in await harness.final_text(rec)
    channel = harness.room_channels()[0]
    prompt = await harness.wait_for(
        lambda: [m for m in sim.messages(channel.id) if "(1 of 3)" in m.content], timeout=30
    )
    message = prompt[0]
    speaker = int(message.content.split(">")[0].removeprefix("<@"))
    button = message.button("I'm done")
    clicks = await asyncio.gather(
        *(sim.click_button(speaker, channel.id, message.id, button["custom_id"]) for _ in range(2))
    )
    for click in clicks:
        resp = await click.wait_response(timeout=10)
        assert "wrong" not in (resp.content or "").lower()
    await wait_all_ended(harness, timeout=90)
    _, rooms = await brews_and_rooms(harness)
    # Exactly one prompt each: the double-click did not skip the next person's turn.
    assert not room_problems(harness, rooms), room_problems(harness, rooms)
