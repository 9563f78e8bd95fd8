"""Brews and their rooms, as the facilitator's commands see them.

Every function takes a session and returns plain data (:class:`BrewInfo`, :class:`RoomInfo`,
numbers), never a row that outlives its session. Status changes a command makes (cancelling a
sign-up card, starting a brew) happen here, so the commands only say what happened.
The running timetable's own reads and writes are in :mod:`bot.db.repo`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.core.phases import RoomState, Timing
from bot.db.models import Brew, Room
from bot.db.repo import settings_for, state_of, timing_of

__all__ = [
    "BrewChanges",
    "BrewInfo",
    "BrewOverview",
    "NewBrew",
    "PlannedRoom",
    "RoomInfo",
    "SignupInfo",
    "brew_status",
    "cancel_open_brew",
    "create_brew",
    "discard_unstarted",
    "get_brew",
    "latest_in_channel",
    "open_brew_in_channel",
    "overview",
    "room_by_channel",
    "running_brews",
    "set_card_message",
]

ATTEMPTS = 5

#: A brew is "starting" from the moment ``/brew start`` takes it (reading who signed up, in the
#: same transaction) until its plan is saved and it is "running". Nothing else moves it.
OPEN, STARTING, RUNNING = "open", "starting", "running"


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
    commit: bool = True,
) -> BrewInfo:
    """Save a new brew (open: a sign-up card; starting: ``/brew start`` with no card) with the
    server's next number; commits. A starting brew's id joins ``in_flight`` before the commit
    (see :func:`claim_open_brew`).

    Two facilitators may start brews at the same moment; the unique (server, number) index makes
    one of them fail, and that one simply tries again with the next number.

    ``commit=False`` (a scheduled brew's opening, :mod:`bot.shell.scheduled_opening`) inserts
    within the caller's transaction instead (see :func:`_insert_brew`); the caller commits the
    brew with the rest of its step.
    """
    if not commit:
        return await _insert_brew(session, new, status)
    for _ in range(ATTEMPTS):
        brew = _brew_row(new, status, claimed_at=now if status == STARTING else None)
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


def _brew_row(new: NewBrew, status: str, *, claimed_at: datetime | None) -> Brew:
    return Brew(
        guild_id=new.guild_id,
        channel_id=new.channel_id,
        facilitator_id=new.facilitator_id,
        question=new.question,
        title=new.title,
        status=status,
        claimed_at=claimed_at,
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


async def _insert_brew(session: AsyncSession, new: NewBrew, status: str) -> BrewInfo:
    """Insert and flush, no savepoint (SQLite's driver commits a first savepoint on its own
    release, so one would break the caller's single transaction). A number taken meanwhile
    raises IntegrityError: the caller rolls back and tries its whole transaction again."""
    brew = _brew_row(new, status, claimed_at=None)
    brew.number = await _numbered(session, new.guild_id)
    session.add(brew)
    await session.flush()
    return brew_info(brew)


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
