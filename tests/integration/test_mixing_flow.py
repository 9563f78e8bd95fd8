"""Mixing through Discord (issue 6): keep-apart, pair history and perspectives, end to end.

Everything goes through the real bot and the simulator: slash commands, the sign-up card's
buttons and the private perspective select. The clock runs at 600x, so a whole FAST_BREW
(ten minutes) is over in about a second.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
from collections.abc import Iterable, Sequence

import pytest
from sqlalchemy import select, text

from bot.core.grouping import Person, plan_groups
from bot.db.models import Brew, Room, Signup
from discordsim import Member

from .conftest import Harness

QUESTION = "What's missing?"
CHANNELS = "/guilds/{guild_id}/channels"

Pair = frozenset[int]


@pytest.fixture
def speed() -> float:
    return 600.0


# --------------------------------------------------------------------------- helpers
async def rooms_of(harness: Harness, number: int) -> list[set[int]]:
    async with harness.sessions() as session:
        brew = await session.scalar(select(Brew).where(Brew.number == number))
        assert brew is not None
        rooms = await session.scalars(
            select(Room).where(Room.brew_id == brew.id).order_by(Room.index)
        )
        return [set(r.turn_order) for r in rooms]


async def brew_status(harness: Harness, number: int) -> str | None:
    async with harness.sessions() as session:
        brew = await session.scalar(select(Brew).where(Brew.number == number))
        return brew.status if brew else None


async def wait_ended(harness: Harness, number: int, people: Sequence[Member]) -> None:
    """The brew has run out on its timers, everyone is back in the Lounge, rooms are gone."""
    sim, world = harness.sim, harness.world
    for _ in range(400):
        if await brew_status(harness, number) == "ended":
            break
        await asyncio.sleep(0.05)
    assert await brew_status(harness, number) == "ended"
    await harness.wait_for(
        lambda: (
            all(sim.voice_channel_of(world.guild.id, p.id) == world.lounge.id for p in people)
            and not harness.room_channels()
        ),
        timeout=20,
    )


async def start(harness: Harness, **options: object) -> str:
    rec = await harness.command(harness.world.facilitator, "brew start", **options)
    return await harness.final_text(rec)


def pairs(rooms: Iterable[set[int]]) -> set[Pair]:
    return {frozenset(p) for room in rooms for p in itertools.combinations(sorted(room), 2)}


def min_repeats(people: Sequence[int], size: int, met: set[Pair]) -> int:
    """Brute force: the fewest already-met pairs any split into rooms of ``size`` can have."""
    best = len(met)
    first, rest = people[0], list(people[1:])
    for mates in itertools.combinations(rest, size - 1):
        room = {first, *mates}
        others = [p for p in rest if p not in room]
        here = len(pairs([room]) & met)
        if others:
            here += min_repeats(others, size, met)
        best = min(best, here)
    return best


# --------------------------------------------------------------------------- keep apart
async def test_apart_is_private_and_for_facilitators_only(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    a, b = world.people[0], world.people[1]

    refused = await harness.command(world.people[2], "brew apart", member_a=a.id, member_b=b.id)
    resp = await refused.wait_response()
    assert resp.ephemeral and "Only facilitators" in resp.content

    rec = await harness.command(world.facilitator, "brew apart", member_a=a.id, member_b=b.id)
    resp = await rec.wait_response()
    assert resp.ephemeral
    assert "will never be put in the same room" in resp.content
    assert f"<@{a.id}>" not in resp.content and str(a.id) not in resp.content
    again = await harness.command(world.facilitator, "brew apart", member_a=b.id, member_b=a.id)
    assert "already kept apart" in (await again.wait_response()).content
    # Nothing about it was posted where anyone else could read it.
    assert not [
        m for m in sim.messages(world.hall.id, include_ephemeral=False) if "apart" in m.text
    ]

    refused = await harness.command(world.people[2], "brew apart_clear")
    assert "Only facilitators" in (await refused.wait_response()).content

    # Stored as a keyed hash, never as either id.
    async with harness.sessions() as session:
        rows = (await session.execute(text("SELECT * FROM keep_apart"))).all()
    assert len(rows) == 1
    for row in rows:
        for value in row:
            assert str(a.id) not in str(value) and str(b.id) not in str(value)
        assert any(re.fullmatch(r"[0-9a-f]{64}", str(v)) for v in row)


async def test_apart_pair_never_shares_a_room(harness: Harness) -> None:
    world = harness.world
    people = world.people[:8]
    # A pair that the first brew's seed would otherwise put in the same room.
    plain = plan_groups(
        [Person(str(p.id)) for p in sorted(people, key=lambda p: p.id)], 4, rng=random.Random(7)
    )
    together = sorted(int(k) for k in plain[0].members)[:2]
    a, b = (next(p for p in people if p.id == uid) for uid in together)
    rec = await harness.command(world.facilitator, "brew apart", member_a=a.id, member_b=b.id)
    assert (await rec.wait_response()).ephemeral
    await harness.put_in_voice([*people, world.facilitator])

    assert harness.bot is not None
    for number, seed in enumerate((7, 11, 2024, 99), start=1):
        harness.bot.services.seed = lambda seed=seed: seed  # the brew's seed is drawn at start
        summary = await start(harness, question=QUESTION, group_size=4)
        assert f"Brew {number} has started: 2 rooms are open for 8 people" in summary, summary
        rooms = await rooms_of(harness, number)
        assert sorted(len(r) for r in rooms) == [4, 4]
        assert set().union(*rooms) == {p.id for p in people}
        for room in rooms:
            assert not {a.id, b.id} <= room, (seed, rooms)
        await wait_ended(harness, number, people)


async def test_apart_that_cannot_be_met_is_refused_before_anything_is_created(
    harness: Harness,
) -> None:
    sim, world = harness.sim, harness.world
    people = world.people[:4]  # 4 people in rooms of 4: one room, so the pair cannot be apart
    a, b = people[0], people[3]
    await harness.command(world.facilitator, "brew apart", member_a=a.id, member_b=b.id)
    await harness.put_in_voice([*people, world.facilitator])

    before = len(sim.rest_log)
    rec = await harness.command(world.facilitator, "brew start", question=QUESTION, group_size=4)
    answer = await harness.final_text(rec)
    told = rec.original_message
    assert told is not None and told.ephemeral
    assert "kept apart" in answer and "Nothing has been created" in answer
    assert "Try a different group size" in answer  # says what to try
    # The two are named as Discord shows them (mentions render as names), never as bare ids,
    # and nobody is pinged by it.
    assert f"<@{a.id}>" in answer and f"<@{b.id}>" in answer
    bare = re.sub(r"<@!?\d+>", "", answer)
    assert str(a.id) not in bare and str(b.id) not in bare
    assert told.mentions == [] and not told.mention_everyone
    calls = list(sim.rest_log)[before:]
    assert not [c for c in calls if c.route == CHANNELS and c.method == "POST"]
    assert not [c for c in calls if c.route == "/guilds/{guild_id}/members/{user_id}"]
    assert not harness.room_channels()
    for person in people:
        assert sim.voice_channel_of(world.guild.id, person.id) == world.lounge.id
    # Only the facilitator was told; nobody else saw anything.
    assert not [
        m
        for m in sim.messages(world.hall.id, include_ephemeral=False)
        if m.author_id == sim.bot_id and "keep-apart" in m.content
    ]

    # Clearing the note makes the same brew possible.
    rec = await harness.command(world.facilitator, "brew apart_clear", member_a=b.id, member_b=a.id)
    resp = await rec.wait_response()
    assert resp.ephemeral and "Removed 1 keep-apart" in resp.content
    summary = await start(harness, question=QUESTION, group_size=4)
    assert "has started: 1 room is open for 4 people" in summary, summary
    assert await rooms_of(harness, 1) == [{p.id for p in people}]


async def test_a_refused_start_leaves_nothing_behind(harness: Harness) -> None:
    world = harness.world
    people = world.people[:4]
    await harness.command(
        world.facilitator, "brew apart", member_a=people[0].id, member_b=people[3].id
    )
    await harness.put_in_voice([*people, world.facilitator])
    rec = await harness.command(world.facilitator, "brew start", question=QUESTION, group_size=4)
    assert "Nothing has been created" in await harness.final_text(rec)

    rec = await harness.command(world.facilitator, "brew open", question="Another question")
    resp = await rec.wait_response()
    assert "already taking sign-ups" not in (resp.content or ""), resp.content
    assert rec.original_message is not None and not rec.original_message.ephemeral


# --------------------------------------------------------------------------- pair history
async def test_second_brew_avoids_the_pairs_of_the_first(harness: Harness) -> None:
    world = harness.world
    people = world.people[:8]
    ids = [p.id for p in people]
    await harness.put_in_voice([*people, world.facilitator])

    summary = await start(harness, question=QUESTION, group_size=4)
    assert "Brew 1 has started: 2 rooms" in summary, summary
    first = await rooms_of(harness, 1)
    await wait_ended(harness, 1, people)

    summary = await start(harness, question=QUESTION, group_size=4)
    assert "Brew 2 has started: 2 rooms" in summary, summary
    second = await rooms_of(harness, 2)
    met = pairs(first)
    repeats = pairs(second) & met
    assert len(met) == 12
    # Two rooms of four from two rooms of four: each old room must split 2 + 2, so at least
    # one old pair per new room per old room meets again. The bot reaches that minimum.
    assert len(repeats) == min_repeats(ids, 4, met) == 4, (first, second)
    assert len(repeats) < len(met)
    await wait_ended(harness, 2, people)

    # The history holds keyed hashes only: no participant id anywhere in any row.
    async with harness.sessions() as session:
        rows = (await session.execute(text("SELECT * FROM pair_history"))).mappings().all()
    assert len(rows) == 24  # 12 pairs per brew, two brews
    for row in rows:
        assert re.fullmatch(r"[0-9a-f]{64}", row["pair_key"])
        for value in row.values():
            for user_id in [*ids, world.facilitator.id]:
                assert str(user_id) not in str(value), (row, user_id)


# --------------------------------------------------------------------------- perspectives
async def test_perspectives_are_spread_and_then_discarded(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    people = world.people[:8]
    carers, practitioners = people[:4], people[4:]
    await harness.put_in_voice([*people, world.facilitator])

    rec = await harness.command(
        world.facilitator, "brew open", question=QUESTION, perspectives="carer, practitioner"
    )
    card = rec.original_message
    assert card is not None
    assert "carer, practitioner" in card.content
    choose = card.button("Say where you're coming from (optional)")
    assert choose is not None, card.components
    join = card.button("Join (voice)")["custom_id"]

    for person, label in [
        *((p, "carer") for p in carers),
        *((p, "practitioner") for p in practitioners),
    ]:
        click = await sim.click_button(person.id, world.hall.id, card.id, join)
        await click.wait_response()
        await sim.wait_for(lambda c=click: c.followups)
        click = await sim.click_button(person.id, world.hall.id, card.id, choose["custom_id"])
        resp = await click.wait_response()  # answered at once ("thinking"), privately
        prompt = await sim.wait_for(
            lambda c=click: c.original_message if c.original_message.components else None
        )
        assert resp.ephemeral and prompt is not None and prompt.ephemeral
        assert prompt.visible_to == person.id  # only they can see it
        menu = next(c for c in _components(prompt.components) if c.get("type") == 3)
        value = next(o["value"] for o in menu["options"] if o["label"] == label)
        chosen = await sim.select(person.id, world.hall.id, prompt.id, menu["custom_id"], [value])
        saved = await chosen.wait_response()
        assert saved.type == 6  # acknowledged at once; the private prompt is then replaced
        thanked = await sim.wait_for(
            lambda p=prompt: "not shown to anyone" in sim.message(p.id).content
        )
        assert thanked and not sim.message(prompt.id).components
    # Nobody's choice was posted publicly.
    for message in sim.messages(world.hall.id, include_ephemeral=False):
        assert "practitioner" not in message.content.replace("carer, practitioner", "")
    async with harness.sessions() as session:
        chosen_rows = {s.user_id: s.perspective for s in await session.scalars(select(Signup))}
    assert chosen_rows == {
        **{p.id: "carer" for p in carers},
        **{p.id: "practitioner" for p in practitioners},
    }

    summary = await start(harness, group_size=4)
    assert "Brew 1 has started: 2 rooms are open for 8 people" in summary, summary
    rooms = await rooms_of(harness, 1)
    for room in rooms:
        assert room & {p.id for p in carers} and room & {p.id for p in practitioners}, rooms
        # Spread as evenly as the numbers allow: two of each.
        assert len(room & {p.id for p in carers}) == 2, rooms
    # The labels never reach the rooms.
    for channel in harness.room_channels():
        for message in sim.messages(channel.id, include_deleted=True):
            assert "carer" not in message.content and "practitioner" not in message.content

    await wait_ended(harness, 1, people)
    async with harness.sessions() as session:
        left = [s.perspective for s in await session.scalars(select(Signup))]
        raw = (await session.execute(text("SELECT perspective FROM signups"))).scalars().all()
    assert left and all(p is None for p in left)
    assert raw and all(p is None for p in raw)


def _components(components: Iterable[dict]) -> Iterable[dict]:
    for component in components:
        yield component
        yield from _components(component.get("components") or [])
