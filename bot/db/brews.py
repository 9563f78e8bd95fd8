"""Brews and their rooms, as the facilitator's commands see them.

Every function takes a session and returns plain data (:class:`BrewInfo`, :class:`RoomInfo`,
numbers), never a row that outlives its session. Status changes a command makes (cancelling a
sign-up card, starting a brew) happen here, so the commands only say what happened.
The running timetable's own reads and writes are in :mod:`bot.db.repo`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.core.phases import RoomState, Timing
from bot.db.models import Brew, Membership, PairHistory, Room, Signup
from bot.db.repo import settings_for, state_of, timing_of

__all__ = [
    "BrewBusy",
    "BrewChanges",
    "BrewInfo",
    "BrewOverview",
    "NewBrew",
    "PlannedRoom",
    "RoomInfo",
    "SignupInfo",
    "brew_status",
    "busy_people",
    "cancel_open_brew",
    "claim_open_brew",
    "create_brew",
    "discard_unstarted",
    "get_brew",
    "latest_in_channel",
    "mark_started",
    "open_brew_in_channel",
    "overview",
    "release_start",
    "room_by_channel",
    "running_brews",
    "set_card_message",
    "undo_refused_start",
]

ATTEMPTS = 5

#: A brew is "starting" from the moment ``/brew start`` takes it (reading who signed up, in the
#: same transaction) until its plan is saved and it is "running". Nothing else moves it.
OPEN, STARTING, RUNNING = "open", "starting", "running"

#: A brew still "starting" this long after it was taken, by a start this process is not
#: running, was cut short (a crash): planning takes seconds, not minutes.
STALE_START = timedelta(minutes=2)


class BrewBusy(Exception):
    """Someone else got there first: the brew is already starting (or beyond)."""

    def __init__(self, brew_id: int, number: int, status: str) -> None:
        super().__init__(f"brew {number} is {status}")
        self.brew_id, self.number, self.status = brew_id, number, status


@dataclass(frozen=True)
class BrewInfo:
    """What the commands need to know of a brew, read in one session."""

    id: int
    guild_id: int
    number: int
    title: str
    question: str
    status: str
    facilitator_id: int | None
    channel_id: int | None
    card_message_id: int | None
    group_size: int
    seed: int
    perspectives: tuple[str, ...]
    participants: int
    paused_at: datetime | None
    timing: Timing


def brew_info(brew: Brew) -> BrewInfo:
    return BrewInfo(
        id=brew.id,
        guild_id=brew.guild_id,
        number=brew.number,
        title=brew.title,
        question=brew.question,
        status=brew.status,
        facilitator_id=brew.facilitator_id,
        channel_id=brew.channel_id,
        card_message_id=brew.card_message_id,
        group_size=brew.group_size,
        seed=brew.seed,
        perspectives=tuple(brew.perspectives or ()),
        participants=brew.participants,
        paused_at=brew.paused_at,
        timing=timing_of(brew),
    )


@dataclass(frozen=True)
class NewBrew:
    """A brew about to be saved: every column a facilitator's options and the defaults fill."""

    guild_id: int
    channel_id: int
    facilitator_id: int
    question: str
    title: str
    group_size: int
    length_s: int
    arrive_s: int
    think_s: int
    turn_s: int
    nudge_s: int
    still_s: int
    close_s: int
    min_reflect_s: int
    cleanup_s: int
    speed: float
    seed: int
    perspectives: tuple[str, ...] = ()


@dataclass(frozen=True)
class BrewChanges:
    """Last-moment changes ``/brew start`` makes to an open brew; None keeps the value."""

    question: str | None = None
    title: str | None = None
    group_size: int | None = None
    length_s: int | None = None
    turn_s: int | None = None
    think_s: int | None = None


@dataclass(frozen=True)
class SignupInfo:
    user_id: int
    text_only: bool
    perspective: str | None


@dataclass(frozen=True)
class RoomInfo:
    id: int
    index: int
    status: str
    phase: str
    text_channel_id: int | None
    state: RoomState


@dataclass(frozen=True)
class BrewOverview:
    brew: BrewInfo
    rooms: tuple[RoomInfo, ...]


@dataclass(frozen=True)
class PlannedRoom:
    """One room of a new brew: its speaking order and who joins by text only."""

    turns_in_text: bool
    order: tuple[int, ...]
    members: tuple[int, ...]
    text_only: frozenset[int]


def _room_info(room: Room) -> RoomInfo:
    return RoomInfo(
        room.id, room.index, room.status, room.phase, room.text_channel_id, state_of(room)
    )


async def _numbered(session: AsyncSession, guild_id: int) -> int:
    settings = await settings_for(session, guild_id)
    highest = await session.scalar(select(func.max(Brew.number)).where(Brew.guild_id == guild_id))
    number = max(settings.next_brew_number, (highest or 0) + 1)
    settings.next_brew_number = number + 1
    return number


async def create_brew(
    session: AsyncSession,
    new: NewBrew,
    *,
    status: str = OPEN,
    in_flight: set[int] | None = None,
    now: datetime | None = None,
) -> BrewInfo:
    """Save a new brew (open: a sign-up card; starting: ``/brew start`` with no card) with the
    server's next number; commits. A starting brew's id joins ``in_flight`` before the commit
    (see :func:`claim_open_brew`).

    Two facilitators may start brews at the same moment; the unique (server, number) index makes
    one of them fail, and that one simply tries again with the next number.
    """
    for _ in range(ATTEMPTS):
        brew = Brew(
            guild_id=new.guild_id,
            channel_id=new.channel_id,
            facilitator_id=new.facilitator_id,
            question=new.question,
            title=new.title,
            status=status,
            claimed_at=now if status == STARTING else None,
            group_size=new.group_size,
            length_s=new.length_s,
            arrive_s=new.arrive_s,
            think_s=new.think_s,
            turn_s=new.turn_s,
            nudge_s=new.nudge_s,
            still_s=new.still_s,
            close_s=new.close_s,
            min_reflect_s=new.min_reflect_s,
            cleanup_s=new.cleanup_s,
            speed=new.speed,
            seed=new.seed,
            perspectives=list(new.perspectives),
            category_ids=[],
        )
        brew.number = await _numbered(session, new.guild_id)
        session.add(brew)
        try:
            await session.flush()
            if in_flight is not None:
                in_flight.add(brew.id)
            await session.commit()
        except BaseException as exc:
            if in_flight is not None and brew.id is not None:
                in_flight.discard(brew.id)
            if not isinstance(exc, IntegrityError):
                raise
            await session.rollback()
            continue
        return brew_info(brew)
    raise RuntimeError("could not number a new brew after several attempts")


async def get_brew(session: AsyncSession, brew_id: int) -> BrewInfo | None:
    brew = await session.get(Brew, brew_id)
    return brew_info(brew) if brew is not None else None


async def brew_status(session: AsyncSession, guild_id: int, number: int | None) -> str | None:
    """The status of the server's brew with this number (None: there is none)."""
    if number is None:
        return None
    return await session.scalar(
        select(Brew.status).where(Brew.guild_id == guild_id, Brew.number == number)
    )


async def _open_in_channel(session: AsyncSession, guild_id: int, channel_id: int) -> Brew | None:
    return await session.scalar(
        select(Brew)
        .where(Brew.guild_id == guild_id, Brew.channel_id == channel_id, Brew.status == "open")
        .order_by(Brew.id.desc())
        .options(selectinload(Brew.signups))
    )


async def open_brew_in_channel(
    session: AsyncSession, guild_id: int, channel_id: int
) -> BrewInfo | None:
    """The newest brew taking sign-ups in this channel."""
    brew = await _open_in_channel(session, guild_id, channel_id)
    return brew_info(brew) if brew is not None else None


async def latest_in_channel(
    session: AsyncSession, guild_id: int, channel_id: int
) -> BrewInfo | None:
    """The newest brew of any status made in this channel."""
    brew = await session.scalar(
        select(Brew)
        .where(Brew.guild_id == guild_id, Brew.channel_id == channel_id)
        .order_by(Brew.id.desc())
        .limit(1)
    )
    return brew_info(brew) if brew is not None else None


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


async def cancel_open_brew(session: AsyncSession, guild_id: int, channel_id: int) -> int | None:
    """Close this channel's sign-up card for good; returns its brew number (None: no card).
    Commits."""
    brew = await _open_in_channel(session, guild_id, channel_id)
    if brew is None:
        return None
    brew.status = "cancelled"
    number = brew.number
    await session.commit()
    return number


async def set_card_message(session: AsyncSession, brew_id: int, message_id: int) -> None:
    """Remember the sign-up card's message, to close it when the brew starts. Commits."""
    brew = await session.get(Brew, brew_id)
    assert brew is not None
    brew.card_message_id = message_id
    await session.commit()


async def running_brews(session: AsyncSession, guild_id: int) -> list[BrewInfo]:
    """The server's running brews, by number."""
    brews = await session.scalars(
        select(Brew)
        .where(Brew.status == "running", Brew.guild_id == guild_id)
        .order_by(Brew.number)
    )
    return [brew_info(b) for b in brews]


async def overview(session: AsyncSession, brew_id: int) -> BrewOverview | None:
    """A brew and every room's place in the timetable, for ``/brew status``."""
    brew = await session.scalar(
        select(Brew).where(Brew.id == brew_id).options(selectinload(Brew.rooms))
    )
    if brew is None:
        return None
    return BrewOverview(brew_info(brew), tuple(_room_info(r) for r in brew.rooms))


async def room_by_channel(session: AsyncSession, channel_id: int) -> RoomInfo | None:
    """The room whose text or voice channel this is."""
    room = await session.scalar(
        select(Room).where(
            (Room.text_channel_id == channel_id) | (Room.voice_channel_id == channel_id)
        )
    )
    return _room_info(room) if room is not None else None


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
            Room.status != "failed",
        )
    )
    return {int(user): int(number) for user, number in rows}


async def _release_old_claims(
    session: AsyncSession, guild_id: int, user_ids: Sequence[int]
) -> None:
    """Claims whose brew is over (or whose room failed) no longer hold anyone."""
    over = select(Brew.id).where(Brew.guild_id == guild_id, Brew.status != RUNNING)
    failed = select(Room.id).where(Room.status == "failed")
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

    Raises :class:`BrewBusy` if the brew is no longer starting, and IntegrityError (at the
    flush) if someone in the plan was claimed by another start meanwhile. Not committed: the
    pair history joins the same transaction.
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
    for index, planned in enumerate(rooms):
        room = Room(
            brew_id=brew.id,
            index=index,
            turns_in_text=planned.turns_in_text,
            status="opening",
            turn_order=list(planned.order),
            phase="arrive",
            step=0,
            outbox_seq=0,
        )
        room.members = [
            Membership(
                brew_id=brew.id,
                user_id=user,
                text_only=user in planned.text_only,
                active_guild_id=brew.guild_id,
            )
            for user in planned.members
        ]
        session.add(room)
    await session.flush()
    return brew_info(brew)


async def discard_unstarted(session: AsyncSession, brew_id: int) -> None:
    """Delete a brew that never started (no rooms, no sign-ups, nothing anyone submitted).
    Commits."""
    brew = await session.get(Brew, brew_id)
    if brew is not None and brew.status in (OPEN, STARTING) and brew.started_at is None:
        settings = await settings_for(session, brew.guild_id)
        if settings.next_brew_number == brew.number + 1:
            settings.next_brew_number = brew.number  # the number was never seen in use
        await session.delete(brew)
        await session.commit()
