"""Small, named queries, so the shell reads as what it does rather than as SQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.core.phases import Phase, RoomState, Timing
from bot.db.models import Brew, GuildSettings, Membership, Outbox, Room, Signup

ACTIVE = ("starting", "running")
ATTEMPTS = 5


async def settings_for(session: AsyncSession, guild_id: int) -> GuildSettings:
    """The server's settings row, created on first use (safe when two commands race)."""
    settings = await session.get(GuildSettings, guild_id)
    if settings is None:
        try:
            async with session.begin_nested():
                session.add(GuildSettings(guild_id=guild_id, next_brew_number=1))
        except IntegrityError:
            pass  # another command created it first
        settings = await session.get(GuildSettings, guild_id)
        assert settings is not None
    return settings


async def take_brew_number(session: AsyncSession, guild_id: int) -> int:
    settings = await settings_for(session, guild_id)
    highest = await session.scalar(select(func.max(Brew.number)).where(Brew.guild_id == guild_id))
    number = max(settings.next_brew_number, (highest or 0) + 1)
    settings.next_brew_number = number + 1
    return number


async def save_numbered(
    sessions: async_sessionmaker[AsyncSession], make: Callable[[], Brew]
) -> Brew:
    """Give a new brew the server's next number and save it.

    Two facilitators may start brews at the same moment; the unique (server, number) index makes
    one of them fail, and that one simply tries again with the next number.
    """
    for _ in range(ATTEMPTS):
        brew = make()
        async with sessions() as session:
            brew.number = await take_brew_number(session, brew.guild_id)
            session.add(brew)
            try:
                await session.commit()
                return brew
            except IntegrityError:
                await session.rollback()
    raise RuntimeError("could not number a new brew after several attempts")


async def load_brew(session: AsyncSession, brew_id: int) -> Brew | None:
    return await session.scalar(
        select(Brew)
        .where(Brew.id == brew_id)
        .options(selectinload(Brew.rooms).selectinload(Room.members), selectinload(Brew.signups))
    )


async def open_brew_in_channel(
    session: AsyncSession, guild_id: int, channel_id: int
) -> Brew | None:
    return await session.scalar(
        select(Brew)
        .where(Brew.guild_id == guild_id, Brew.channel_id == channel_id, Brew.status == "open")
        .order_by(Brew.id.desc())
        .options(selectinload(Brew.signups))
    )


async def active_brews(
    session: AsyncSession, guild_id: int | None = None, statuses: Sequence[str] = ACTIVE
) -> list[Brew]:
    query = select(Brew).where(Brew.status.in_(statuses)).order_by(Brew.number)
    if guild_id is not None:
        query = query.where(Brew.guild_id == guild_id)
    return list(await session.scalars(query))


async def rooms_of(session: AsyncSession, brew_id: int) -> list[Room]:
    return list(
        await session.scalars(
            select(Room)
            .where(Room.brew_id == brew_id)
            .order_by(Room.index)
            .options(selectinload(Room.members))
        )
    )


async def load_room(session: AsyncSession, room_id: int) -> Room | None:
    return await session.scalar(
        select(Room)
        .where(Room.id == room_id)
        .options(selectinload(Room.members), selectinload(Room.brew))
    )


async def room_by_channel(session: AsyncSession, channel_id: int) -> Room | None:
    return await session.scalar(
        select(Room)
        .where((Room.text_channel_id == channel_id) | (Room.voice_channel_id == channel_id))
        .options(selectinload(Room.members), selectinload(Room.brew))
    )


async def live_room_ids(session: AsyncSession) -> list[tuple[int, int]]:
    """(room id, server id) of rooms with a timetable still to run."""
    rows = await session.execute(
        select(Room.id, Brew.guild_id)
        .join(Brew)
        .where(Brew.status == "running", Room.status == "running", Room.phase != Phase.DONE.value)
    )
    return [(r, g) for r, g in rows]


async def rooms_still_opening(
    session: AsyncSession, started_before: datetime
) -> list[tuple[int, int]]:
    """(room id, server id) of rooms a previous process began to open and never finished."""
    rows = await session.execute(
        select(Room.id, Brew.guild_id)
        .join(Brew)
        .where(
            Brew.status == "running",
            Room.status == "opening",
            Brew.started_at < started_before,
        )
    )
    return [(r, g) for r, g in rows]


async def outbox_for(session: AsyncSession, room_id: int) -> list[Outbox]:
    return list(
        await session.scalars(select(Outbox).where(Outbox.room_id == room_id).order_by(Outbox.id))
    )


async def rooms_with_outbox(session: AsyncSession) -> list[tuple[int, int]]:
    rows = await session.execute(
        select(Outbox.room_id, Brew.guild_id)
        .join(Room, Outbox.room_id == Room.id)
        .join(Brew)
        .distinct()
    )
    return [(r, g) for r, g in rows]


async def latest_membership(
    session: AsyncSession, guild_id: int, user_id: int
) -> Membership | None:
    return await session.scalar(
        select(Membership)
        .join(Brew, Membership.brew_id == Brew.id)
        .where(Brew.guild_id == guild_id, Membership.user_id == user_id)
        .order_by(Membership.id.desc())
        .limit(1)
    )


async def signup_of(session: AsyncSession, brew_id: int, user_id: int) -> Signup | None:
    return await session.scalar(
        select(Signup).where(Signup.brew_id == brew_id, Signup.user_id == user_id)
    )


async def discard_unstarted(sessions: async_sessionmaker[AsyncSession], brew_id: int) -> None:
    """Delete a brew that never started (no rooms, no sign-ups, nothing anyone submitted)."""
    async with sessions() as session:
        brew = await session.get(Brew, brew_id)
        if brew is not None and brew.status == "open" and brew.started_at is None:
            settings = await settings_for(session, brew.guild_id)
            if settings.next_brew_number == brew.number + 1:
                settings.next_brew_number = brew.number  # the number was never seen in use
            await session.delete(brew)
            await session.commit()


def timing_of(brew: Brew) -> Timing:
    return Timing(
        arrive=brew.arrive_s,
        think=brew.think_s,
        turn=brew.turn_s,
        nudge=brew.nudge_s,
        length=brew.length_s,
        still=brew.still_s,
        close=brew.close_s,
        min_reflect=brew.min_reflect_s,
        cleanup=brew.cleanup_s,
        speed=brew.speed,
    )


def _ts(value: datetime | None) -> float:
    return value.timestamp() if value is not None else 0.0


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def state_of(room: Room) -> RoomState:
    return RoomState(
        phase=Phase(room.phase),
        phase_ends_at=_ts(room.phase_ends_at),
        finish_at=_ts(room.finish_at),
        still=room.still_wall_s,
        order=tuple(str(u) for u in room.turn_order),
        turn_index=room.turn_index,
        nudged=room.nudged,
        extended=room.extended,
        step=room.step,
    )


def store_state(room: Room, state: RoomState) -> None:
    room.phase = state.phase.value
    room.phase_ends_at = _dt(state.phase_ends_at)
    room.finish_at = _dt(state.finish_at)
    room.still_wall_s = state.still
    room.turn_order = [int(u) for u in state.order]
    room.turn_index = state.turn_index
    room.nudged = state.nudged
    room.extended = state.extended
    room.step = state.step
