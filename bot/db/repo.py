"""The running timetable's unit of work: rooms, their state and their outbox.

The runner loads a room or brew, applies the timetable's decision and commits in one session,
so these return rows that are used only inside the session that loaded them. Everything the
commands read and change is in the modules beside this one (brews, signups, settings,
reflections, exports, privacy, pair history), as plain data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from bot.core.phases import Phase, RoomState, Timing
from bot.db.models import Brew, GuildSettings, Outbox, Room, Signup


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


async def load_brew(session: AsyncSession, brew_id: int) -> Brew | None:
    return await session.scalar(
        select(Brew)
        .where(Brew.id == brew_id)
        .options(selectinload(Brew.rooms).selectinload(Room.members), selectinload(Brew.signups))
    )


async def load_room(session: AsyncSession, room_id: int) -> Room | None:
    """A room with its brew and members, in one query (one round trip): the brew and the few
    members are joined into the room's rows."""
    result = await session.scalars(
        select(Room)
        .where(Room.id == room_id)
        .options(joinedload(Room.members), joinedload(Room.brew))
    )
    return result.unique().one_or_none()


async def room_with_outbox(session: AsyncSession, room_id: int) -> tuple[Room | None, list[Outbox]]:
    """A room (with its brew and members, as :func:`load_room`) and its outbox rows in order,
    in one query: what a flush needs, read in one round trip."""
    rows = (
        (
            await session.execute(
                select(Room, Outbox)
                .outerjoin(Outbox, Outbox.room_id == Room.id)
                .where(Room.id == room_id)
                .options(joinedload(Room.members), joinedload(Room.brew))
                .order_by(Outbox.id)
            )
        )
        .unique()
        .all()
    )
    if not rows:
        return None, []
    return rows[0][0], [item for _, item in rows if item is not None]


async def load_rooms(session: AsyncSession, room_ids: Sequence[int]) -> list[Room]:
    """Several rooms with their brews and members in two round trips, however many rooms: a
    deadline shared by many rooms is applied in one pass (see :mod:`bot.shell.batch`)."""
    if not room_ids:
        return []
    return list(
        await session.scalars(
            select(Room)
            .where(Room.id.in_(list(room_ids)))
            .options(selectinload(Room.members), joinedload(Room.brew))
            .order_by(Room.id)
        )
    )


#: What a room's change writes: its timetable state and its outbox counter.
_STATE_COLUMNS = (
    "phase",
    "phase_ends_at",
    "finish_at",
    "still_wall_s",
    "turn_order",
    "turn_index",
    "nudged",
    "extended",
    "step",
    "outbox_seq",
)
_OUTBOX_COLUMNS = tuple(c.key for c in Outbox.__table__.columns if c.key != "id")


async def store_many(session: AsyncSession, rooms: Sequence[Room], rows: Sequence[Outbox]) -> None:
    """Write the changed state of ``rooms`` and insert the new outbox ``rows`` in two
    statements whatever their number (the caller commits), where the unit of work would send
    one statement per room and per row: on SQLite each is a hop to the database's thread, and
    a deadline shared by 160 rooms took hundreds of them. Every object in the session is
    detached first (so nothing is written twice), keeping what was loaded; each new row gets
    its id and creation time."""
    session.expunge_all()
    if rooms:
        changes = [{"id": r.id, **{c: getattr(r, c) for c in _STATE_COLUMNS}} for r in rooms]
        await session.execute(update(Room), changes)
    if rows:
        now = datetime.now(UTC)
        for row in rows:
            row.created_at = row.created_at or now
        values = [{c: getattr(row, c) for c in _OUTBOX_COLUMNS} for row in rows]
        # The table, not the entity: the ORM's bulk insert splits rows whose None columns
        # differ (a post with a ping, one without) into separate statements.
        table = Outbox.metadata.tables[Outbox.__tablename__]
        made = await session.execute(insert(table).returning(table.c.id, table.c.nonce), values)
        ids = {nonce: row_id for row_id, nonce in made}
        for row in rows:
            row.id = ids[row.nonce]


async def outbox_of_rooms(session: AsyncSession, room_ids: Sequence[int]) -> list[Outbox]:
    """The outbox rows of several rooms, in order, in one round trip."""
    if not room_ids:
        return []
    return list(
        await session.scalars(
            select(Outbox).where(Outbox.room_id.in_(list(room_ids))).order_by(Outbox.id)
        )
    )


async def live_rooms(session: AsyncSession) -> list[tuple[int, int, str, int]]:
    """(room id, server id, phase, brew id) of rooms with a timetable still to run."""
    rows = await session.execute(
        select(Room.id, Brew.guild_id, Room.phase, Room.brew_id)
        .join(Brew)
        .where(Brew.status == "running", Room.status == "running", Room.phase != Phase.DONE.value)
    )
    return [(r, g, p, b) for r, g, p, b in rows]


async def running_brew_ids(session: AsyncSession) -> list[tuple[int, int]]:
    """(brew id, server id) of brews still marked running, whatever their rooms say."""
    rows = await session.execute(select(Brew.id, Brew.guild_id).where(Brew.status == "running"))
    return [(b, g) for b, g in rows]


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


async def outbox_done(
    session: AsyncSession, room_id: int, done: list[int], last_posted_id: int | None
) -> None:
    """Delete the outbox rows ``done`` (carried out or dropped) and, if given, note the id of
    the room's latest post; the caller commits.

    On PostgreSQL this is always one statement (the delete rides along as a ``WITH`` clause of
    the update), so it is atomic even in autocommit (see :func:`bot.db.session.one_statement`);
    elsewhere it may be two.
    """
    gone = delete(Outbox).where(Outbox.id.in_(done))
    noted = update(Room).where(Room.id == room_id).values(last_posted_id=last_posted_id)
    if done and last_posted_id is not None and session.get_bind().dialect.name == "postgresql":
        await session.execute(noted.add_cte(gone.returning(Outbox.id).cte("gone")))
        return
    if done:
        await session.execute(gone)
    if last_posted_id is not None:
        await session.execute(noted)


async def outbox_done_many(
    session: AsyncSession, done: Sequence[tuple[int, Sequence[int], int | None]]
) -> None:
    """:func:`outbox_done` for many rooms at once, ``(room id, row ids, latest post id)``
    each: one delete and one batched update, whatever their number; the caller commits."""
    ids = [row for _, rows, _ in done for row in rows]
    if ids:
        await session.execute(delete(Outbox).where(Outbox.id.in_(ids)))
    latest = {room: posted for room, _, posted in done if posted is not None}
    if latest:
        await session.execute(
            update(Room),
            [{"id": room, "last_posted_id": posted} for room, posted in latest.items()],
        )


async def rooms_with_outbox(session: AsyncSession) -> list[tuple[int, int]]:
    rows = await session.execute(
        select(Outbox.room_id, Brew.guild_id)
        .join(Room, Outbox.room_id == Room.id)
        .join(Brew)
        .distinct()
    )
    return [(r, g) for r, g in rows]


async def signup_of(session: AsyncSession, brew_id: int, user_id: int) -> Signup | None:
    return await session.scalar(
        select(Signup).where(Signup.brew_id == brew_id, Signup.user_id == user_id)
    )


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
