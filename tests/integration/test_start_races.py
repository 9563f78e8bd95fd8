"""Starting is one step, whatever else happens at that moment (issue 10, items 5 to 7).

Two facilitators starting at once, Join and Leave pressed while a start is under way,
double-clicks, and a start Discord refuses: everyone either gets a room or a plain answer, and
nobody ends up in two brews. Everything goes through the simulator and real discord.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

import bot.db.signups as db_signups
import bot.shell.brews as shell_brews
from bot.db.models import Brew, Membership, Room, Signup
from discordsim import Member, Message
from discordsim.interactions import InteractionRecord

from .conftest import Harness

QUESTION = "What's missing?"


async def open_card(harness: Harness, **options: Any) -> Message:
    rec = await harness.command(
        harness.world.facilitator, "brew open", question=QUESTION, **options
    )
    card = rec.original_message
    assert card is not None
    return card


async def click(harness: Harness, person: Member, card: Message, label: str) -> InteractionRecord:
    return await harness.sim.click_button(
        person.id, card.channel_id, card.id, card.button(label)["custom_id"]
    )


async def answer(harness: Harness, rec: InteractionRecord) -> str:
    """The private answer to a press (the first followup)."""
    note: Message = await harness.sim.wait_for(lambda: rec.followups and rec.followups[0])
    assert note.ephemeral
    return note.content


async def join(harness: Harness, person: Member, card: Message) -> str:
    rec = await click(harness, person, card, "Join (voice)")
    assert (await rec.wait_response()).type == 6  # acknowledged first
    return await answer(harness, rec)


async def second_facilitator(harness: Harness) -> Member:
    world = harness.world
    return harness.sim.create_member(world.guild.id, "Robin", roles=[world.facilitators.id])


async def running_rooms(harness: Harness) -> dict[int, set[int]]:
    """Each brew's people, by brew number, among brews that are running."""
    async with harness.sessions() as session:
        rows = await session.execute(
            select(Brew.number, Membership.user_id)
            .join(Membership, Membership.brew_id == Brew.id)
            .where(Brew.status == "running")
        )
        found: dict[int, set[int]] = {}
        for number, user in rows:
            found.setdefault(number, set()).add(user)
    return found


class Gate:
    """Holds ``/brew start`` at one of its steps, so the test can press buttons meanwhile:
    ``mixing_inputs`` is between taking the card and saving its plan (the brew is "starting",
    the moment the races happened in), ``load_for_opening`` is after the plan is saved and
    before any room is made ("running")."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
        self.reached = asyncio.Event()
        self.opened = asyncio.Event()
        real = getattr(shell_brews, step)

        async def held(*args: Any, **kwargs: Any) -> Any:
            self.reached.set()
            await self.opened.wait()
            return await real(*args, **kwargs)

        monkeypatch.setattr(shell_brews, step, held)


async def test_two_starts_on_one_card_start_it_once(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    robin = await second_facilitator(harness)
    people = world.people[:6]
    card = await open_card(harness)
    for person in people:
        assert "You're in" in await join(harness, person, card)

    first, second = await asyncio.gather(
        sim.invoke_command(world.guild.id, world.hall.id, world.facilitator.id, "brew start"),
        sim.invoke_command(world.guild.id, world.hall.id, robin.id, "brew start"),
    )
    texts = {
        world.facilitator.id: await harness.final_text(first),
        robin.id: await harness.final_text(second),
    }
    winners = [who for who, text in texts.items() if "Brew 1 has started" in text]
    assert len(winners) == 1, texts
    loser = next(who for who in texts if who not in winners)
    assert "Brew 1 is already starting" in texts[loser] or (
        "Brew 1 has already started" in texts[loser]
    ), texts
    assert "Sorry" not in texts[loser]

    async with harness.sessions() as session:
        brews = list(await session.scalars(select(Brew)))
    assert len(brews) == 1 and brews[0].status == "running"
    # Help goes to whoever really started it.
    assert brews[0].facilitator_id == winners[0]
    rooms = await running_rooms(harness)
    assert rooms[1] >= {p.id for p in people}
    assert len(harness.room_channels()) == brews[0].rooms_count


async def test_two_starts_in_one_voice_channel_never_put_anyone_in_two_brews(
    harness: Harness,
) -> None:
    sim, world = harness.sim, harness.world
    robin = await second_facilitator(harness)
    other_hall = sim.create_channel(world.guild.id, "brew-hall-2")
    await harness.put_in_voice([*world.people[:6], world.facilitator, robin])

    first, second = await asyncio.gather(
        sim.invoke_command(
            world.guild.id, world.hall.id, world.facilitator.id, "brew start", question=QUESTION
        ),
        sim.invoke_command(
            world.guild.id, other_hall.id, robin.id, "brew start", question="What helps?"
        ),
    )
    texts = [await harness.final_text(first), await harness.final_text(second)]
    started = [t for t in texts if "has started" in t]
    refused = [t for t in texts if "has started" not in t]
    assert len(started) == 1 and len(refused) == 1, texts
    assert "is already starting with these people" in refused[0], texts
    assert "nobody can be in two brews at once" in refused[0]

    rooms = await running_rooms(harness)
    assert len(rooms) == 1, rooms
    (members,) = rooms.values()
    assert {p.id for p in world.people[:6]} <= members
    # Nothing of the refused start was made or kept.
    async with harness.sessions() as session:
        statuses = sorted(await session.scalars(select(Brew.status)))
    assert statuses == ["running"]
    async with harness.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Room))
    assert len(harness.room_channels()) == count


async def test_join_and_leave_during_a_start_get_a_plain_answer(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = harness.world
    signed, late, leaver = world.people[:4], world.people[4], world.people[0]
    card = await open_card(harness)
    for person in signed:
        assert "You're in" in await join(harness, person, card)

    planning = Gate(monkeypatch, "mixing_inputs")
    opening = Gate(monkeypatch, "load_for_opening")
    start = await harness.command(world.facilitator, "brew start")
    await asyncio.wait_for(planning.reached.wait(), 10)

    async def press_both() -> tuple[str, str]:
        late_join = await click(harness, late, card, "Join (voice)")
        left = await click(harness, leaver, card, "Leave")
        assert (await late_join.wait_response()).type == 6
        assert (await left.wait_response()).type == 6
        return await answer(harness, late_join), await answer(harness, left)

    # While the brew is starting, and again once its plan is saved but before any room exists:
    # a Join and a Leave each hear that it has already started, and change nothing.
    for gate in (planning, opening):
        await asyncio.wait_for(gate.reached.wait(), 10)
        late_text, left_text = await press_both()
        assert "already started" in late_text and "You're in" not in late_text, late_text
        assert "already started" in left_text and "You've left" not in left_text, left_text
        gate.opened.set()

    summary = await harness.final_text(start)
    assert "Brew 1 has started" in summary and "for 4 people" in summary, summary
    rooms = await running_rooms(harness)
    assert rooms == {1: {p.id for p in signed}}  # the leaver kept their place; late has none
    async with harness.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Signup)) == 4
    # Only the people in the plan were pinged in their rooms.
    pinged = {
        m for c in harness.room_channels() for msg in harness.bot_messages(c) for m in msg.mentions
    }
    assert late.id not in pinged and leaver.id in pinged


async def test_double_clicks_on_join_and_leave_are_both_answered_as_done(
    harness: Harness,
) -> None:
    sim = harness.sim
    person = harness.world.people[0]
    card = await open_card(harness)

    async def twice(label: str) -> list[str]:
        recs = await asyncio.gather(
            click(harness, person, card, label), click(harness, person, card, label)
        )
        for rec in recs:
            assert (await rec.wait_response()).type == 6
        return [await answer(harness, rec) for rec in recs]

    joined = await twice("Join (voice)")
    assert all("You're in" in t for t in joined), joined
    await sim.wait_for(lambda: "joined so far: 1" in sim.message(card.id).content)
    async with harness.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Signup)) == 1

    left = await twice("Leave")
    assert all("You've left" in t for t in left), left
    await sim.wait_for(lambda: "joined so far: 0" in sim.message(card.id).content)
    async with harness.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Signup)) == 0
    assert not sim.failed_interactions


async def test_a_press_is_answered_before_the_database_is_touched(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = harness.world.people[0]
    card = await open_card(harness)
    saving = asyncio.Event()
    real: Callable[..., Awaitable[Any]] = db_signups.join

    async def slow_join(*args: Any, **kwargs: Any) -> Any:
        await saving.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(db_signups, "join", slow_join)
    rec = await click(harness, person, card, "Join (voice)")
    response = await rec.wait_response()
    assert response.type == 6 and response.latency < 1.0
    assert not rec.followups  # the sign-up is still waiting, yet the press is answered
    saving.set()
    assert "You're in" in await answer(harness, rec)
