"""Facilitator controls and room buttons, driven step by step at a slow clock."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from bot.db.models import Room
from discordsim import Message

from .conftest import Harness


@pytest.fixture
def speed() -> float:
    return 12.0  # a one-minute turn lasts five seconds: time enough to press buttons


def last_bot_message(harness: Harness, channel_id: int, needle: str) -> Message:
    for message in reversed(harness.sim.messages(channel_id, include_ephemeral=False)):
        if message.author_id == harness.sim.bot_id and needle in message.content:
            return message
    raise AssertionError(f"no bot message containing {needle!r}")


async def wait_text(harness: Harness, channel_id: int, needle: str, count: int = 1) -> Message:
    def found() -> bool:
        msgs = harness.sim.messages(channel_id, include_ephemeral=False)
        return sum(needle in m.content for m in msgs if m.author_id == harness.sim.bot_id) >= count

    await harness.wait_for(found, timeout=20)
    return last_bot_message(harness, channel_id, needle)


@dataclass(frozen=True)
class Said:
    """What the person who pressed was told privately."""

    content: str
    ephemeral: bool


async def press(harness: Harness, user_id: int, message: Message, label: str) -> Said:
    """Press a room button. Every room button answers first with a quiet acknowledgement
    (type 6, before any work); anything it has to say follows as a private follow-up."""
    button = message.button(label)
    assert button is not None, (label, message.content)
    rec = await harness.sim.click_button(
        user_id, message.channel_id, message.id, button["custom_id"]
    )
    response = await rec.wait_response(timeout=5)
    assert response.type == 6, response  # acknowledged before any work
    return Said("", True)


async def told(harness: Harness, user_id: int, message: Message, label: str) -> Said:
    """Press a room button and wait for what the person is told privately."""
    button = message.button(label)
    assert button is not None, (label, message.content)
    rec = await harness.sim.click_button(
        user_id, message.channel_id, message.id, button["custom_id"]
    )
    response = await rec.wait_response(timeout=5)
    assert response.type == 6, response  # acknowledged before any work
    followup = await harness.wait_for(lambda: rec.followups and rec.followups[0], timeout=5)
    return Said(followup.content, followup.ephemeral)


async def test_controls_and_buttons(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    people = world.people[:4]
    await harness.put_in_voice([*people, world.facilitator])
    rec = await harness.command(
        world.facilitator, "brew start", question="What's missing?", group_size=4
    )
    assert "1 room is open for 4 people" in await harness.final_text(rec)
    async with harness.sessions() as session:
        room = await session.scalar(select(Room))
    assert room is not None
    text_id, order = room.text_channel_id, room.turn_order

    # One more minute, once per step, for anyone in the room.
    arrive = await wait_text(harness, text_id, "**Arrive and grab a brew**")
    await press(harness, people[1].id, arrive, "One more minute")
    await wait_text(harness, text_id, "asked for one more minute")
    again = await told(harness, people[2].id, arrive, "One more minute")
    assert "already had its extra minute" in again.content and again.ephemeral

    # Next moves every room on.
    rec = await harness.command(world.facilitator, "brew next")
    await wait_text(harness, text_id, "**Think**")
    rec = await harness.command(world.facilitator, "brew next")
    first = await wait_text(harness, text_id, f"<@{order[0]}>, it is your turn")
    assert first.mentions == [order[0]]

    # Somebody else cannot end the speaker's turn; the speaker can pass.
    refused = await told(harness, order[1], first, "I'm done")
    assert "Only they, or a facilitator" in refused.content and refused.ephemeral
    await press(harness, order[0], first, "Pass")
    await wait_text(harness, text_id, f"<@{order[0]}> passed")
    second = await wait_text(harness, text_id, f"<@{order[1]}>, it is your turn")
    # A stale button from the earlier turn does nothing.
    stale = await told(harness, order[0], first, "I'm done")
    assert "already finished" in stale.content

    # The third person leaves the voice channel: they are skipped when their turn comes.
    await sim.set_voice(world.guild.id, order[2], None)
    await press(harness, order[1], second, "I'm done")
    await wait_text(harness, text_id, f"Thank you, <@{order[1]}>")
    await wait_text(harness, text_id, f"<@{order[2]}> is not in the room any more")
    fourth = await wait_text(harness, text_id, f"<@{order[3]}>, it is your turn")

    # Ask for help tells the facilitators in the brew's channel, quietly for the room.
    helped = await told(harness, order[3], fourth, "Ask for help")
    assert helped.ephemeral and "facilitator has been told" in helped.content
    alert = await wait_text(harness, world.hall.id, "room 1 of brew 1 would like a facilitator")
    assert f"<#{text_id}>" in alert.content and world.facilitators.id in alert.mention_roles
    assert f"<@{order[3]}>" not in alert.content  # the channel may be public: no name there
    direct = await harness.wait_for(lambda: sim.dms(world.facilitator.id))
    assert f"<@{order[3]}> asked for help in room 1" in direct[-1].content
    # Pressing again (or someone else in the room) within a few minutes calls nobody again.
    alerts = len(
        [m for m in sim.messages(world.hall.id) if "would like a facilitator" in m.content]
    )
    for who in (order[3], order[0], order[3]):
        again = await told(harness, who, fourth, "Ask for help")
        assert again.ephemeral and "already been called" in again.content
    await asyncio.sleep(0.3)
    hall = [m for m in sim.messages(world.hall.id) if "would like a facilitator" in m.content]
    assert len(hall) == alerts and len(sim.dms(world.facilitator.id)) == len(direct)

    # Pause stops the clock; resume restarts it where it was.
    rec = await harness.command(world.facilitator, "brew pause")
    await wait_text(harness, text_id, "paused the brew")
    status = await harness.command(world.facilitator, "brew status")
    assert "(paused)" in (await status.wait_response()).content
    await asyncio.sleep(0.5)
    rec = await harness.command(world.facilitator, "brew resume")
    await wait_text(harness, text_id, "The brew has resumed")

    rec = await harness.command(world.facilitator, "brew extend", minutes=2)
    await wait_text(harness, text_id, "added 2 minutes")

    rec = await harness.command(
        world.facilitator, "brew broadcast", message="Five minutes, @everyone"
    )
    broadcast = await wait_text(harness, text_id, "Message from the facilitator")
    assert not broadcast.mention_everyone and broadcast.mentions == []

    status = await harness.command(world.facilitator, "brew status")
    text = (await status.wait_response()).content
    assert "Have your say" in text and "3 of 4 have had their turn" in text, text

    rec = await harness.command(world.facilitator, "brew end")
    close = await wait_text(harness, text_id, "**Close**")
    assert close.button("Leave a reflection") is not None
    await harness.wait_for(lambda: not harness.room_channels(), timeout=30)
    for person in people:
        if person.id != order[2]:
            assert sim.voice_channel_of(world.guild.id, person.id) == world.lounge.id
    prompts = [
        m for m in sim.messages(text_id, include_deleted=True) if "it is your turn" in m.content
    ]
    assert [int(re.search(r"<@(\d+)>", m.content).group(1)) for m in prompts] == [
        order[0],
        order[1],
        order[3],
    ]
    assert not sim.late_interactions


async def test_two_brews_at_once_in_one_server(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    second_hall = sim.create_channel(world.guild.id, "second-hall", type=0)
    other = sim.create_member(world.guild.id, "Sam Second", roles=[world.facilitators.id])
    await harness.put_in_voice([*world.people[:4], world.facilitator])
    second_voice = sim.create_channel(world.guild.id, "Second lounge", type=2)
    await harness.put_in_voice([*world.people[4:8], other], second_voice)
    a = await harness.command(world.facilitator, "brew start", question="One?")
    b = await harness.command(other, "brew start", question="Two?", channel=second_hall)
    started = {await harness.final_text(a), await harness.final_text(b)}
    # Both start at the same moment: each gets its own number, whichever is first.
    assert {t.split(" has started")[0] for t in started} == {"Brew 1", "Brew 2"}
    rooms = harness.room_channels()
    assert len(rooms) == 2
    # Each facilitator's commands act on their own brew.
    await harness.command(other, "brew broadcast", message="Hello two", channel=second_hall)
    await harness.wait_for(
        lambda: (
            sum("Hello two" in t for c in harness.room_channels() for t in harness.texts(c)) == 1
        )
    )
    choices = await sim.autocomplete(
        world.guild.id, world.hall.id, world.facilitator.id, "brew status", "brew"
    )
    assert {c["value"] for c in choices} == {1, 2}
    for fac, hall in ((world.facilitator, world.hall), (other, second_hall)):
        await harness.command(fac, "brew end", channel=hall)
    await harness.wait_for(lambda: not harness.room_channels(), timeout=30)
