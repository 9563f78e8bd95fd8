"""Starting a brew as one step, and nobody in two running brews of one server.

``/brew start`` takes a sign-up card from open to starting in the same transaction that reads
its sign-ups (:func:`claim_open_brew`); saving the plan moves it to running and claims each
person for the server (:func:`mark_started`, with the unique index on memberships'
``active_guild_id``). A start refused before anything exists gives the card back
(:func:`release_start`); one Discord refuses outright is undone (:func:`undo_refused_start`).
Join and Leave take the same brew row (:mod:`bot.db.signups`), so each press lands wholly
before a start or is refused after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.brews import (
    OPEN,
    RUNNING,
    STARTING,
    BrewChanges,
    BrewInfo,
    PlannedRoom,
    SignupInfo,
    brew_info,
    discard_unstarted,
)
from bot.db.models import Brew, Membership, PairHistory, Room, Signup

__all__ = [
    "STALE_START",
    "BrewBusy",
    "busy_people",
    "claim_open_brew",
    "mark_started",
    "release_start",
    "undo_refused_start",
]

#: A brew still "starting" this long after it was taken, by a start this process is not
#: running, was cut short (a crash): planning takes seconds, not minutes.
STALE_START = timedelta(minutes=2)


class BrewBusy(Exception):
    """Someone else got there first: the brew is already starting (or beyond)."""

    def __init__(self, brew_id: int, number: int, status: str) -> None:
        super().__init__(f"brew {number} is {status}")
        self.brew_id, self.number, self.status = brew_id, number, status


async def _take(session: AsyncSession, brew: Brew, values: dict[str, Any]) -> bool:
    """Move the brew to starting, only if it is still as read (its status, and when a start
    took it); True if it moved.

    The conditional UPDATE is the whole guard: on PostgreSQL a second start waits for the row
    lock and then finds the row changed; on SQLite writers take turns. Join and Leave take
    the same row (:mod:`bot.db.signups`), so a sign-up lands either before this (and is read
    below) or after it (and is refused).
    """
    same_claim = (
        Brew.claimed_at.is_(None) if brew.claimed_at is None else Brew.claimed_at == brew.claimed_at
    )
    result = await session.execute(
        update(Brew)
        .where(Brew.id == brew.id, Brew.status == brew.status, same_claim)
        .values(status=STARTING, **values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def _abandoned(
    brew: Brew, in_flight: set[int], now: datetime | None, stale_after: timedelta
) -> bool:
    """A "starting" brew nobody is starting any more (see :data:`STALE_START`)."""
    if brew.id in in_flight:
        return False
    if now is None or brew.claimed_at is None:
        return True
    return now - brew.claimed_at >= stale_after


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def _busy(session: AsyncSession, brew_id: int) -> BrewBusy:
    await session.rollback()
    brew = await session.get(Brew, brew_id, populate_existing=True)
    assert brew is not None
    return BrewBusy(brew.id, brew.number, brew.status)


async def claim_open_brew(
    session: AsyncSession,
    guild_id: int,
    channel_id: int,
    facilitator_id: int,
    changes: BrewChanges,
    *,
    in_flight: set[int] | None = None,
    now: datetime | None = None,
    stale_after: timedelta = STALE_START,
) -> tuple[BrewInfo, list[SignupInfo]] | None:
    """``/brew start`` on a sign-up card, as one step: the card moves from open to starting,
    the starter becomes its facilitator, the last-moment changes are saved and who signed up
    is read, all in one transaction. Returns None when there is no card here. Commits.

    Raises :class:`BrewBusy` when another start has the card. ``in_flight`` holds the brews
    this process is starting (a guild's brews are started by the one process connected to it);
    a "starting" brew not in it and taken longer than ``stale_after`` before ``now`` was left
    so by a crash, and is taken over. The claimed id joins ``in_flight`` before the commit, so
    a second start in this process never takes it over too.
    """
    in_flight = in_flight if in_flight is not None else set()
    found = list(
        await session.scalars(
            select(Brew)
            .where(
                Brew.guild_id == guild_id,
                Brew.channel_id == channel_id,
                Brew.status.in_((OPEN, STARTING)),
            )
            .order_by(Brew.id.desc())
        )
    )
    brew = next(iter(found), None)
    while brew is not None and brew.status == STARTING and brew.card_message_id is None:
        # "/brew start" without a card: if cut short, nobody can press anything on it.
        if not _abandoned(brew, in_flight, now, stale_after):
            raise BrewBusy(brew.id, brew.number, STARTING)
        await session.delete(brew)
        found.remove(brew)
        brew = next(iter(found), None)
    if brew is None:
        await session.commit()
        return None
    if brew.status == STARTING and not _abandoned(brew, in_flight, now, stale_after):
        raise BrewBusy(brew.id, brew.number, STARTING)
    values: dict[str, Any] = {"facilitator_id": facilitator_id, "claimed_at": now}
    for name in ("question", "title", "group_size", "length_s", "turn_s", "think_s"):
        value = getattr(changes, name)
        if value is not None:
            values[name] = value
    brew_id, was = brew.id, brew.status
    # Taking over a crashed start: two takers in this process could both have read it; the
    # second gets the row only after the first committed, and then finds it in flight.
    if not await _take(session, brew, values) or (was == STARTING and brew_id in in_flight):
        raise await _busy(session, brew_id)
    in_flight.add(brew_id)
    try:
        fresh = await session.get(Brew, brew_id, populate_existing=True)
        assert fresh is not None
        rows = await session.scalars(
            select(Signup).where(Signup.brew_id == brew_id).order_by(Signup.user_id)
        )
        signups = [SignupInfo(s.user_id, s.text_only, s.perspective) for s in rows]
        info = brew_info(fresh)
        await session.commit()
    except BaseException:
        in_flight.discard(brew_id)
        raise
    return info, signups


async def release_start(session: AsyncSession, brew_id: int) -> bool:
    """A start refused before anything was made: the card takes sign-ups again, with everyone
    still signed up. True if it was starting. Commits."""
    result = await session.execute(
        update(Brew)
        .where(Brew.id == brew_id, Brew.status == STARTING)
        .values(status=OPEN, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return _rowcount(result) == 1


async def undo_refused_start(session: AsyncSession, brew_id: int, *, keep_card: bool) -> bool:
    """Discord refused every room: forget the plan (rooms, memberships and their claims, pair
    history, the reflection key) so nothing of it counts, and either give the card back its
    sign-ups (``keep_card``) or delete a brew that never had a card. Only when no room ever
    ran; True if undone. Commits."""
    brew = await session.get(Brew, brew_id, populate_existing=True)
    if brew is None or brew.status not in (STARTING, RUNNING, "failed"):
        return False
    ran = await session.scalar(
        select(func.count())
        .select_from(Room)
        .where(Room.brew_id == brew_id, Room.status.in_(("running", "ended")))
    )
    if ran:
        return False
    await session.execute(delete(Membership).where(Membership.brew_id == brew_id))
    await session.execute(delete(Room).where(Room.brew_id == brew_id))
    await session.execute(delete(PairHistory).where(PairHistory.brew_id == brew_id))
    brew.claimed_at = None
    if keep_card:
        brew.status = OPEN
        brew.started_at = None
        brew.reflection_secret = None
        brew.participants = 0
        brew.rooms_count = 0
        brew.category_ids = []
        await session.commit()
        return True
    brew.status = OPEN  # so discard_unstarted gives the number back
    brew.started_at = None
    await session.flush()
    await discard_unstarted(session, brew_id)
    return True


async def busy_people(
    session: AsyncSession, guild_id: int, user_ids: Sequence[int]
) -> dict[int, int]:
    """Of these people, who is already in a running brew of this server (their room still
    going): person -> that brew's number."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(Membership.user_id, Brew.number)
        .join(Brew, Brew.id == Membership.brew_id)
        .join(Room, Room.id == Membership.room_id)
        .where(
            Membership.active_guild_id == guild_id,
            Membership.user_id.in_(list(user_ids)),
            Brew.status == RUNNING,
            Room.status.not_in(("failed", "ended")),
        )
    )
    return {int(user): int(number) for user, number in rows}


async def _release_old_claims(
    session: AsyncSession, guild_id: int, user_ids: Sequence[int]
) -> None:
    """Claims whose brew is over, or whose room failed or has ended (its channels are being
    tidied away while the brew's other rooms finish), no longer hold anyone."""
    over = select(Brew.id).where(Brew.guild_id == guild_id, Brew.status != RUNNING)
    failed = select(Room.id).where(Room.status.in_(("failed", "ended")))
    await session.execute(
        update(Membership)
        .where(
            Membership.active_guild_id == guild_id,
            Membership.user_id.in_(list(user_ids)),
            Membership.brew_id.in_(over) | Membership.room_id.in_(failed),
        )
        .values(active_guild_id=None)
        .execution_options(synchronize_session=False)
    )


async def mark_started(
    session: AsyncSession,
    brew_id: int,
    *,
    now: datetime,
    secret: bytes,
    participants: int,
    rooms: Sequence[PlannedRoom],
) -> BrewInfo:
    """Save a brew's plan: from starting to running from ``now``, its reflection key, and each
    room (opening) with its members, who are claimed for this server while it runs.

    Raises :class:`BrewBusy` if the brew is no longer starting, and IntegrityError (when the
    members are inserted) if someone in the plan was claimed by another start meanwhile. Not
    committed: the pair history joins the same transaction.
    """
    result = await session.execute(
        update(Brew)
        .where(Brew.id == brew_id, Brew.status == STARTING)
        .values(status=RUNNING, started_at=now)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        raise await _busy(session, brew_id)
    brew = await session.get(Brew, brew_id, populate_existing=True)
    assert brew is not None
    brew.reflection_secret = secret
    brew.participants = participants
    brew.rooms_count = len(rooms)
    everyone = [user for planned in rooms for user in planned.members]
    await _release_old_claims(session, brew.guild_id, everyone)
    # Rooms and members in one statement each, not one INSERT per row: the ORM reads each new
    # row's id back one by one on SQLite, and a start waits on it (200 rows for 160 people).
    made = await session.execute(
        insert(Room).returning(Room.index, Room.id),
        [
            {
                "brew_id": brew.id,
                "index": index,
                "turns_in_text": planned.turns_in_text,
                "status": "opening",
                "turn_order": list(planned.order),
                "phase": "arrive",
                "step": 0,
                "outbox_seq": 0,
            }
            for index, planned in enumerate(rooms)
        ],
    )
    room_ids = {index: room_id for index, room_id in made}
    await session.execute(
        insert(Membership),
        [
            {
                "room_id": room_ids[index],
                "brew_id": brew.id,
                "user_id": user,
                "text_only": user in planned.text_only,
                "active_guild_id": brew.guild_id,
            }
            for index, planned in enumerate(rooms)
            for user in planned.members
        ],
    )
    return brew_info(brew)
