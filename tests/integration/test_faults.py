"""Bad input and faults: a kind, clear message, and nothing lost."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db.models import Brew, Room
from discordsim import DEFAULT_BOT_PERMISSIONS, Permission

from .conftest import Harness


@pytest.fixture
def speed() -> float:
    return 30.0


def channel_creates(harness: Harness) -> int:
    return len(
        [c for c in harness.sim.rest_log if c.method == "POST" and c.route.endswith("/channels")]
    )


async def test_missing_move_members_is_named_and_nothing_is_created(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    sim.set_bot_permissions(world.guild.id, DEFAULT_BOT_PERMISSIONS & ~Permission.MOVE_MEMBERS)
    await harness.wait_for(
        lambda: (
            harness.bot is not None
            and not harness.bot.get_guild(world.guild.id).me.guild_permissions.move_members
        )  # type: ignore[union-attr]
    )
    await harness.put_in_voice([*world.people[:4], world.facilitator])
    before = channel_creates(harness)
    rec = await harness.command(world.facilitator, "brew start", question="What's missing?")
    text = await harness.final_text(rec)
    assert "Move Members" in text and "Nothing has been created" in text
    assert channel_creates(harness) == before
    assert not harness.room_channels()


async def test_fewer_than_two_people_is_refused_clearly(harness: Harness) -> None:
    world = harness.world
    await harness.put_in_voice([world.people[0], world.facilitator])
    rec = await harness.command(world.facilitator, "brew start", question="What's missing?")
    assert "at least two people" in await harness.final_text(rec)


async def test_too_short_a_brew_says_the_shortest_length_that_works(harness: Harness) -> None:
    world = harness.world
    await harness.put_in_voice([*world.people[:8], world.facilitator])
    rec = await harness.command(
        world.facilitator, "brew start", question="q", group_size=8, length=10, turn=120
    )
    text = await harness.final_text(rec)
    # 1 min arrive + 30 s think + 8 turns of 2 min + 1 min close + 1 min reflect = 19.5 -> 20.
    assert "need at least 20 minutes" in text and "length:20" in text
    assert not harness.room_channels()


async def test_a_deleted_room_ends_cleanly_and_the_others_go_on(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    await harness.put_in_voice([*world.people[:8], world.facilitator])
    rec = await harness.command(world.facilitator, "brew start", question="What's missing?")
    assert "2 rooms are open" in await harness.final_text(rec)
    first, second = harness.room_channels()
    sim.delete_channel(first.id)
    note = await harness.wait_for(
        lambda: [m for m in sim.messages(world.hall.id) if "has ended early" in m.content]
    )
    assert "Room 1 of brew 1 has ended early" in note[0].content
    assert "other rooms carry on" in note[0].content
    # The first room's voice channel went too; the second room carries on to its close.
    await harness.wait_for(lambda: any("**Think**" in t for t in harness.texts(second)))
    async with harness.sessions() as session:
        rooms = list(await session.scalars(select(Room).order_by(Room.index)))
    assert rooms[0].status == "failed" and rooms[1].status == "running"
    alive = {c.id for c in sim.channels(world.guild.id)}
    assert rooms[0].voice_channel_id not in alive
    await harness.command(world.facilitator, "brew end")
    await harness.wait_for(lambda: not harness.room_channels(), timeout=30)
    async with harness.sessions() as session:
        brew = await session.scalar(select(Brew))
    assert brew is not None


async def test_a_participant_who_leaves_the_server_is_skipped(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    people = world.people[:3]
    await harness.put_in_voice([*people, world.facilitator])
    rec = await harness.command(world.facilitator, "brew start", question="q", group_size=3)
    assert "1 room is open" in await harness.final_text(rec)
    async with harness.sessions() as session:
        room = await session.scalar(select(Room))
    assert room is not None
    leaver = room.turn_order[1]
    await sim.remove_member(world.guild.id, leaver)
    await harness.command(world.facilitator, "brew next")  # arrive -> think
    await harness.command(world.facilitator, "brew next")  # think -> turns
    channel = harness.room_channels()[0]
    first = await harness.wait_for(
        lambda: [m for m in sim.messages(channel.id) if "(1 of 3)" in m.content]
    )
    button = first[0].button("I'm done")
    click = await sim.click_button(room.turn_order[0], channel.id, first[0].id, button["custom_id"])
    await click.wait_response()
    await harness.wait_for(
        lambda: any(f"<@{leaver}> is not in the room any more" in t for t in harness.texts(channel))
    )
    assert not any(f"<@{leaver}>, it is your turn" in t for t in harness.texts(channel))


async def test_broadcast_and_question_cannot_ping_everyone(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    await harness.put_in_voice([*world.people[:2], world.facilitator])
    rec = await harness.command(
        world.facilitator, "brew start", question="@everyone @here <@&1> hi"
    )
    assert "1 room is open" in await harness.final_text(rec)
    await harness.command(world.facilitator, "brew broadcast", message="@everyone look")
    channel = harness.room_channels()[0]
    await harness.wait_for(
        lambda: any("Message from the facilitator" in t for t in harness.texts(channel))
    )
    for message in sim.messages(channel.id):
        assert not message.mention_everyone and not message.mention_roles


async def test_status_of_forty_rooms_is_split_not_cut(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    crowd = [sim.create_member(world.guild.id, f"Guest {i}") for i in range(80)]
    await harness.put_in_voice([*crowd, world.facilitator])
    rec = await harness.command(world.facilitator, "brew start", question="q", group_size=2)
    assert "40 rooms are open" in await harness.final_text(rec, timeout=40)
    status = await harness.command(world.facilitator, "brew status")
    first = (await status.wait_response()).content
    rooms = harness.room_channels()

    def listed() -> str:
        return "\n".join([first] + [m.content for m in status.followups])

    await harness.wait_for(lambda: all(f"<#{c.id}>" in listed() for c in rooms))
    assert len(status.followups) >= 1
    assert all(len(t) <= 2000 for t in [first] + [m.content for m in status.followups])
    await harness.command(world.facilitator, "brew end")
