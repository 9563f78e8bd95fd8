"""Starting is one step in the database, on SQLite and on PostgreSQL (issue 10, items 5-7).

Each test races real sessions (separate connections) against each other: two claims of one
card, sign-ups against a claim, double presses, two plans with the same people; and checks a
refused start can be undone with the sign-ups kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.db import brews, signups, starts
from bot.db.models import Brew, Membership, PairHistory, Room, Signup
from tests.builders import GUILD, NOW, USERS, Db, open_db
from tests.db.test_db_functions import NEW

#: Sign-up and room members (USERS[0] is the facilitator of NEW).
A, B, C, D = (USERS[0] + 1001, USERS[0] + 1002, USERS[0] + 1003, USERS[0] + 1004)


@pytest.fixture(name="any_db")
async def any_db_fixture(database_url: str) -> AsyncIterator[Db]:
    async with open_db(database_url) as db:
        yield db


def one_room(*people: int) -> list[brews.PlannedRoom]:
    return [brews.PlannedRoom(False, people, people, frozenset())]


async def claim(
    db: Db, who: int, in_flight: set[int] | None = None, now: datetime | None = None
) -> object:
    """A claim of channel 42's card, or the BrewBusy it raised."""
    async with db.sessions() as session:
        try:
            return await starts.claim_open_brew(
                session, GUILD, 42, who, brews.BrewChanges(), in_flight=in_flight, now=now
            )
        except starts.BrewBusy as exc:
            return exc


async def join(db: Db, brew_id: int, user: int) -> signups.SignupResult:
    async with db.sessions() as session:
        return await signups.join(session, brew_id, user, False)


async def leave(db: Db, brew_id: int, user: int) -> signups.SignupResult:
    async with db.sessions() as session:
        return await signups.leave(session, brew_id, user)


async def count(db: Db, model: type, **where: int) -> int:
    async with db.sessions() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(await session.scalar(query) or 0)


async def test_two_claims_of_one_card_at_once_give_it_to_one(any_db: Db) -> None:
    async with any_db.sessions() as session:
        card = await brews.create_brew(session, NEW)
    in_flight: set[int] = set()  # one process's starts (a server's starts run in one process)
    first, second = await asyncio.gather(
        claim(any_db, USERS[1], in_flight), claim(any_db, USERS[2], in_flight)
    )
    won = [r for r in (first, second) if isinstance(r, tuple)]
    lost = [r for r in (first, second) if isinstance(r, starts.BrewBusy)]
    assert len(won) == 1 and len(lost) == 1, (first, second)
    assert (lost[0].number, lost[0].status) == (card.number, "starting")
    winner = USERS[1] if first is won[0] else USERS[2]
    async with any_db.sessions() as session:
        saved = await brews.get_brew(session, card.id)
    # The second facilitator is never recorded on the first's brew.
    assert saved is not None and saved.status == "starting" and saved.facilitator_id == winner


async def test_a_crashed_start_is_taken_over_but_one_in_flight_is_not(any_db: Db) -> None:
    async with any_db.sessions() as session:
        card = await brews.create_brew(session, NEW)
        await brews.set_card_message(session, card.id, 555)
    in_flight: set[int] = set()
    assert isinstance(await claim(any_db, USERS[1], in_flight, NOW), tuple)
    assert in_flight == {card.id}
    later = NOW + starts.STALE_START + timedelta(seconds=1)
    busy = await claim(any_db, USERS[2], in_flight, later)
    assert isinstance(busy, starts.BrewBusy) and busy.status == "starting"
    # Another process (its own in-flight set) leaves a recent start alone...
    soon = await claim(any_db, USERS[2], set(), NOW + timedelta(seconds=30))
    assert isinstance(soon, starts.BrewBusy) and soon.status == "starting"
    # ...but may take over one cut short long ago; of two doing so at once, only one does.
    results = await asyncio.gather(
        claim(any_db, USERS[2], set(), later), claim(any_db, C, set(), later)
    )
    assert sum(isinstance(r, tuple) for r in results) == 1, results
    assert sum(isinstance(r, starts.BrewBusy) for r in results) == 1, results


async def test_a_start_without_a_card_cut_short_is_cleared_away(any_db: Db) -> None:
    async with any_db.sessions() as session:
        stuck = await brews.create_brew(session, NEW, status="starting")
    assert await claim(any_db, USERS[1], set()) is None  # nothing to take: a new brew is made
    async with any_db.sessions() as session:
        assert await brews.get_brew(session, stuck.id) is None


@pytest.mark.parametrize("rounds", [5])
async def test_sign_ups_racing_a_start_are_either_read_by_it_or_refused(
    any_db: Db, rounds: int
) -> None:
    for round_ in range(rounds):
        async with any_db.sessions() as session:
            card = await brews.create_brew(session, replace(NEW, channel_id=42))
        people = [USERS[0] + 100 * round_ + i for i in range(6)]
        claimed, *joined = await asyncio.gather(
            claim(any_db, USERS[1]), *(join(any_db, card.id, p) for p in people)
        )
        assert isinstance(claimed, tuple), claimed
        _, read = claimed
        accepted = {p for p, r in zip(people, joined, strict=True) if r.changed}
        refused = [r for r in joined if not r.changed]
        # Nobody is told "you're in" without being in the start's list, and the reverse.
        assert {s.user_id for s in read} == accepted
        assert all(r.status == "starting" for r in refused)
        async with any_db.sessions() as session:
            await session.execute(
                Brew.__table__.update().where(Brew.id == card.id).values(status="cancelled")
            )
            await session.commit()


async def test_leaving_during_a_start_is_refused_and_keeps_the_place(any_db: Db) -> None:
    async with any_db.sessions() as session:
        card = await brews.create_brew(session, NEW)
    assert (await join(any_db, card.id, C)).changed
    claimed = await claim(any_db, USERS[1])
    assert isinstance(claimed, tuple) and [s.user_id for s in claimed[1]] == [C]
    result = await leave(any_db, card.id, C)
    assert not result.changed and result.status == "starting"
    assert await count(any_db, Signup, brew_id=card.id) == 1
    async with any_db.sessions() as session:
        chosen = await signups.choose_perspective(session, card.id, C, "0")
    assert not chosen.saved and chosen.status == "starting"


async def test_double_presses_are_two_successes(any_db: Db) -> None:
    async with any_db.sessions() as session:
        card = await brews.create_brew(session, NEW)
    results = await asyncio.gather(*(join(any_db, card.id, C) for _ in range(4)))
    assert all(r.changed for r in results)
    assert await count(any_db, Signup, brew_id=card.id) == 1
    results = await asyncio.gather(*(leave(any_db, card.id, C) for _ in range(4)))
    assert all(r.changed and r.count == 0 for r in results)
    assert await count(any_db, Signup, brew_id=card.id) == 0


async def start(db: Db, brew_id: int, *people: int) -> brews.BrewInfo:
    async with db.sessions() as session:
        started = await starts.mark_started(
            session, brew_id, now=NOW, secret=b"s" * 32, participants=len(people),
            rooms=one_room(*people),
        )  # fmt: skip
        await session.commit()
    return started


async def test_nobody_is_in_two_running_brews_of_one_server(any_db: Db) -> None:
    async with any_db.sessions() as session:
        first = await brews.create_brew(session, NEW, status="starting")
        second = await brews.create_brew(session, replace(NEW, channel_id=43), status="starting")
        elsewhere = await brews.create_brew(
            session, replace(NEW, guild_id=GUILD + 1), status="starting"
        )
    await start(any_db, first.id, USERS[1], USERS[2], C)
    async with any_db.sessions() as session:
        busy = await starts.busy_people(session, GUILD, [USERS[2], D])
    assert busy == {USERS[2]: first.number}
    # Even without looking first, the database refuses the second claim on USERS[2].
    with pytest.raises(IntegrityError):
        await start(any_db, second.id, USERS[2], D)
    async with any_db.sessions() as session:
        assert (await brews.get_brew(session, second.id)).status == "starting"  # type: ignore[union-attr]
    # Another server's brew may have the same person.
    await start(any_db, elsewhere.id, USERS[2], D)

    # Once the first brew is over, its people may start again.
    async with any_db.sessions() as session:
        row = await session.get(Brew, first.id)
        assert row is not None
        row.status = "ended"
        await session.commit()
    async with any_db.sessions() as session:
        assert await starts.busy_people(session, GUILD, [USERS[2]]) == {}
    assert (await start(any_db, second.id, USERS[2], D)).status == "running"


async def test_two_plans_with_the_same_people_at_once_save_one(any_db: Db) -> None:
    async with any_db.sessions() as session:
        a = await brews.create_brew(session, NEW, status="starting")
        b = await brews.create_brew(session, replace(NEW, channel_id=43), status="starting")

    async def attempt(brew_id: int) -> str:
        try:
            await start(any_db, brew_id, USERS[1], USERS[2])
        except IntegrityError:
            return "refused"
        return "started"

    outcomes = sorted(await asyncio.gather(attempt(a.id), attempt(b.id)))
    assert outcomes == ["refused", "started"]
    assert await count(any_db, Membership) == 2


async def test_a_refused_start_is_undone_with_its_sign_ups_kept(any_db: Db) -> None:
    async with any_db.sessions() as session:
        card = await brews.create_brew(session, NEW)
    for user in (A, B, C):
        assert (await join(any_db, card.id, user)).changed
    assert isinstance(await claim(any_db, USERS[0]), tuple)
    await start(any_db, card.id, *(A, B, C))
    async with any_db.sessions() as session:
        session.add(PairHistory(guild_id=GUILD, brew_id=card.id, pair_key="k", met_on=NOW.date()))
        for room in await session.scalars(select(Room).where(Room.brew_id == card.id)):
            room.status = "failed"
        row = await session.get(Brew, card.id)
        assert row is not None
        row.status = "failed"  # what the room opener does when no room opens
        await session.commit()
    async with any_db.sessions() as session:
        assert await starts.undo_refused_start(session, card.id, keep_card=True)
    async with any_db.sessions() as session:
        info = await brews.get_brew(session, card.id)
    assert info is not None and info.status == "open"
    assert await count(any_db, Signup, brew_id=card.id) == 3
    assert await count(any_db, Room) == 0 and await count(any_db, Membership) == 0
    assert await count(any_db, PairHistory) == 0
    # The card takes sign-ups again, and can be started again.
    assert (await join(any_db, card.id, D)).changed
    claimed = await claim(any_db, USERS[0])
    assert isinstance(claimed, tuple) and len(claimed[1]) == 4


async def test_a_start_whose_rooms_ran_is_not_undone(any_db: Db) -> None:
    async with any_db.sessions() as session:
        made = await brews.create_brew(session, NEW, status="starting")
    await start(any_db, made.id, USERS[1], USERS[2])
    async with any_db.sessions() as session:
        room = await session.scalar(select(Room))
        assert room is not None
        room.status = "running"
        await session.commit()
    async with any_db.sessions() as session:
        assert not await starts.undo_refused_start(session, made.id, keep_card=True)
        assert (await brews.get_brew(session, made.id)).status == "running"  # type: ignore[union-attr]


async def test_people_whose_room_has_ended_may_start_again_before_the_brew_ends(
    any_db: Db,
) -> None:
    """A room that has ended is tidied away while the brew's other rooms (or its own last
    bookkeeping) finish: its people are free at once, not when the whole brew is marked over."""
    async with any_db.sessions() as session:
        first = await brews.create_brew(session, NEW, status="starting")
        second = await brews.create_brew(session, replace(NEW, channel_id=43), status="starting")
    await start(any_db, first.id, USERS[1], USERS[2], C)
    async with any_db.sessions() as session:
        assert await starts.busy_people(session, GUILD, [USERS[2]]) == {USERS[2]: first.number}
        room = await session.scalar(select(Room).where(Room.brew_id == first.id))
        assert room is not None
        room.status = "ended"  # what the outbox marks before deleting the room's channels
        await session.commit()
    async with any_db.sessions() as session:
        assert (await brews.get_brew(session, first.id)).status == "running"  # type: ignore[union-attr]
        assert await starts.busy_people(session, GUILD, [USERS[2]]) == {}
    assert (await start(any_db, second.id, USERS[2], D)).status == "running"
