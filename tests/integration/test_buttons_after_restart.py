"""Buttons posted before a restart still work after it (they are DynamicItems; nothing about
them lives only in memory)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db.models import Room

from .conftest import Harness


@pytest.fixture
def speed() -> float:
    return 6.0  # a one-minute turn lasts ten seconds


async def test_i_am_done_pressed_after_a_restart_moves_the_turn_on(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    await harness.put_in_voice([*world.people[:3], world.facilitator])
    rec = await harness.command(world.facilitator, "brew start", question="q", group_size=3)
    assert "1 room is open" in await harness.final_text(rec)
    await harness.command(world.facilitator, "brew next")
    await harness.command(world.facilitator, "brew next")
    channel = harness.room_channels()[0]
    prompt = (
        await harness.wait_for(
            lambda: [m for m in sim.messages(channel.id) if "(1 of 3)" in m.content]
        )
    )[0]
    async with harness.sessions() as session:
        room = await session.scalar(select(Room))
    assert room is not None
    speaker = room.turn_order[0]

    await harness.stop()
    await harness.start()  # a new process: the button's handler comes from its custom id

    click = await sim.click_button(
        speaker, channel.id, prompt.id, prompt.button("I'm done")["custom_id"]
    )
    response = await click.wait_response()
    assert response.type == 6  # acknowledged quietly
    await harness.wait_for(
        lambda: any(f"Thank you, <@{speaker}>" in t for t in harness.texts(channel))
    )
    await harness.wait_for(lambda: any("(2 of 3)" in t for t in harness.texts(channel)))
    await harness.command(world.facilitator, "brew end")
