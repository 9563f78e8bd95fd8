"""A whole brew driven only by its timers, through real discord.py and the simulator."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select

from bot.db.models import Brew, Room
from discordsim import GUILD_CATEGORY, GUILD_VOICE

from .conftest import Harness

VIEW_CHANNEL = 1 << 10


@pytest.fixture
def speed() -> float:
    """At 120, "still got some time?" and close last half a second each: long enough that a
    deadline the busy bot applies a moment late does not leave a phase no time at all (at 300
    they lasted 0.2 s, and a late tick jumped over them)."""
    return 120.0


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """The whole brew runs on both databases (PostgreSQL when it answers on 127.0.0.1)."""
    from bot.db.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'brewhost.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade(url)
    return url


async def test_eleven_people_through_a_whole_brew(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    voice_people, text_people = world.people[:9], world.people[9:]
    await harness.put_in_voice([*voice_people, world.facilitator])

    rec = await harness.command(
        world.facilitator,
        "brew open",
        question="What's missing? @everyone",
        title="Co-production week",
    )
    card = rec.original_message
    assert (
        card is not None and "What's missing?" in card.content and "@everyone" not in card.content
    )
    assert not card.mention_everyone
    for person in text_people:
        click = await sim.click_button(
            person.id, world.hall.id, card.id, card.button("Join (text only)")["custom_id"]
        )
        # Acknowledged at once (a deferred update); the card itself is edited after the save.
        assert (await click.wait_response()).type == 6
        note = await sim.wait_for(lambda c=click: c.followups and c.followups[0])
        assert "taking part by text" in note.content and note.ephemeral
    await sim.wait_for(lambda: "joined so far: 2" in sim.message(card.id).content)

    rec = await harness.command(world.facilitator, "brew start")
    summary = await harness.final_text(rec)
    assert "Brew 1 has started: 3 rooms are open for 11 people" in summary, summary
    assert "9 people were moved" in summary

    # One category, named with the brew's number and title, private to the group.
    categories = [c for c in sim.channels(world.guild.id, type=GUILD_CATEGORY)]
    assert [c.name for c in categories] == ["Brew 1: Co-production week"]
    rooms = harness.room_channels()
    assert [c.name for c in rooms] == ["room-1", "room-2", "room-3"]
    voice_rooms = [
        c for c in sim.channels(world.guild.id, type=GUILD_VOICE) if c.name.startswith("Room ")
    ]
    assert len(voice_rooms) == 3
    async with harness.sessions() as session:
        db_rooms = list(await session.scalars(select(Room).order_by(Room.index)))
        brew = await session.scalar(select(Brew))
    assert brew is not None and brew.participants == 11
    members_by_room = {r.text_channel_id: set(r.turn_order) for r in db_rooms}
    everyone = set().union(*members_by_room.values())
    assert everyone == {p.id for p in world.people}
    assert sorted(len(m) for m in members_by_room.values()) == [3, 4, 4]
    # The two text-only people share a room.
    assert any({p.id for p in text_people} <= m for m in members_by_room.values())

    for channel in rooms + voice_rooms:
        everyone_deny = sim.permissions_for(world.guild.id, world.people[0].id, channel.id)
        room = next(r for r in db_rooms if channel.id in (r.text_channel_id, r.voice_channel_id))
        for person in world.people:
            can_see = bool(
                sim.permissions_for(world.guild.id, person.id, channel.id) & VIEW_CHANNEL
            )
            assert can_see == (person.id in room.turn_order), (channel.name, person.name)
        assert sim.permissions_for(world.guild.id, world.facilitator.id, channel.id) & VIEW_CHANNEL
        del everyone_deny

    # Voice people were moved into their own room's voice channel.
    for room in db_rooms:
        for user_id in room.turn_order:
            if user_id in {p.id for p in voice_people}:
                assert sim.voice_channel_of(world.guild.id, user_id) in (
                    room.voice_channel_id,
                    world.lounge.id,
                )

    # Let the timers run the whole brew.
    await harness.wait_for(lambda: not harness.room_channels(), timeout=30)

    async def status() -> str:
        async with harness.sessions() as session:
            found = await session.scalar(select(Brew))
            return found.status if found else ""

    for _ in range(100):
        if await status() == "ended":
            break
        await asyncio.sleep(0.05)
    assert await status() == "ended"
    # Everyone in voice is back in the main room.
    for person in voice_people:
        assert sim.voice_channel_of(world.guild.id, person.id) == world.lounge.id

    for room in db_rooms:
        posts = [
            m
            for m in sim.messages(room.text_channel_id, include_deleted=True)
            if m.author_id == sim.bot_id
        ]
        texts = [m.content for m in posts]
        # The guide comes first: the question, then the guide, then the principles.
        assert "What's missing?" in texts[0] and "Camerados principles" in texts[0]
        phases = [t.split("\n")[0] for t in texts if t.startswith("**")][1:]
        assert phases == [
            "**Arrive and grab a brew**",
            "**Think**",
            "**Have your say**",
            "**Reflect together**",
            "**Still got some time?**",
            "**Close**",
        ], phases
        prompts = [t for t in texts if "it is your turn" in t]
        speakers = [int(re.search(r"<@(\d+)>", t).group(1)) for t in prompts]
        assert speakers == room.turn_order  # each member exactly once, in the shuffled order
        # Only the speaker was pinged by a turn prompt; nobody else by anything after the guide.
        for message in posts[1:]:
            if "it is your turn" in message.content:
                assert message.mentions == [speakers[prompts.index(message.content)]]
            else:
                assert message.mentions == []
        assert any("Leave a reflection" in str(m.components) for m in posts)
    assert not sim.late_interactions
