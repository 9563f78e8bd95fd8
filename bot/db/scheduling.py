"""Scheduled brews in the database: series, their occurrences, answers, and moments done.

Every function takes a session and returns plain data (:class:`SeriesInfo`,
:class:`OccurrenceInfo`, :class:`bot.core.schedule.Answer`), never a row that outlives its
session. Whether a moment (a reminder, the opening, the start) has been dealt with is a row in
``scheduled_done`` whose primary key is (occurrence, moment): :func:`claim_moment` inserts it,
and a second process, or a second timer, trying the same moment fails there, so nothing happens
twice. Answers are user-linked like sign-ups: :func:`forget_answers` is called by the retention
job, and nothing here ever reads reflections.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.schedule import Answer, Repeat, Rsvp
from bot.db.brews import SignupInfo
from bot.db.models import (
    Brew,
    ScheduledAnswer,
    ScheduledDone,
    ScheduledOccurrence,
    ScheduledSeries,
    Signup,
)

__all__ = [
    "NewSeries",
    "OccurrenceInfo",
    "SeriesInfo",
    "active_occurrences",
    "add_occurrence",
    "answers_of",
    "cancel_occurrences",
    "claim_moment",
    "create_series",
    "done_keys",
    "forget_answers",
    "get_occurrence",
    "join_people",
    "mark_moment",
    "occurrence_by_brew",
    "occurrence_by_number",
    "open_signups",
    "save_answer",
    "set_brew_card",
    "set_card_message",
    "set_event",
    "set_status",
    "upcoming",
]

ATTEMPTS = 5
#: An occurrence in one of these may still do something by itself ("joined": its people were
#: joined to a card already open in its channel, see bot/shell/scheduled_opening.py).
ACTIVE = ("planned", "open", "joined")


@dataclass(frozen=True)
class NewSeries:
    """A series about to be saved (``first_start`` aware; settings already checked)."""

    guild_id: int
    title: str
    question: str
    channel_id: int
    voice_channel_id: int | None
    facilitator_id: int
    repeat: Repeat
    occurrences: int
    first_start: datetime
    timezone: str
    signup_minutes: int
    reminder_minutes: tuple[int, ...]
    auto_start: bool
    group_size: int | None
    length_s: int
    turn_s: int | None
    think_s: int | None
    speed: float


@dataclass(frozen=True)
class SeriesInfo:
    id: int
    guild_id: int
    title: str
    question: str
    channel_id: int | None
    voice_channel_id: int | None
    facilitator_id: int | None
    repeat: Repeat
    occurrences: int
    first_start: datetime
    timezone: str
    signup_minutes: int
    reminder_minutes: tuple[int, ...]
    auto_start: bool
    group_size: int | None
    length_s: int
    turn_s: int | None
    think_s: int | None
    speed: float
    created_at: datetime
    cancelled_at: datetime | None


@dataclass(frozen=True)
class OccurrenceInfo:
    id: int
    series_id: int
    guild_id: int
    number: int
    index: int
    starts_at: datetime
    status: str
    card_message_id: int | None
    discord_event_id: int | None
    event_error: str | None
    brew_id: int | None
    created_at: datetime


def _series(row: ScheduledSeries) -> SeriesInfo:
    return SeriesInfo(
        id=row.id,
        guild_id=row.guild_id,
        title=row.title,
        question=row.question,
        channel_id=row.channel_id,
        voice_channel_id=row.voice_channel_id,
        facilitator_id=row.facilitator_id,
        repeat=Repeat(row.repeat),
        occurrences=row.occurrences,
        first_start=row.first_start,
        timezone=row.timezone,
        signup_minutes=row.signup_minutes,
        reminder_minutes=tuple(int(m) for m in row.reminder_minutes or ()),
        auto_start=row.auto_start,
        group_size=row.group_size,
        length_s=row.length_s,
        turn_s=row.turn_s,
        think_s=row.think_s,
        speed=row.speed,
        created_at=row.created_at,
        cancelled_at=row.cancelled_at,
    )


def _occurrence(row: ScheduledOccurrence) -> OccurrenceInfo:
    return OccurrenceInfo(
        id=row.id,
        series_id=row.series_id,
        guild_id=row.guild_id,
        number=row.number,
        index=row.index,
        starts_at=row.starts_at,
        status=row.status,
        card_message_id=row.card_message_id,
        discord_event_id=row.discord_event_id,
        event_error=row.event_error,
        brew_id=row.brew_id,
        created_at=row.created_at,
    )


async def _next_number(session: AsyncSession, guild_id: int) -> int:
    highest = await session.scalar(
        select(func.max(ScheduledOccurrence.number)).where(ScheduledOccurrence.guild_id == guild_id)
    )
    return int(highest or 0) + 1


async def create_series(
    session: AsyncSession, new: NewSeries, now: datetime
) -> tuple[SeriesInfo, OccurrenceInfo]:
    """Save a series and its first occurrence (numbered in this server). Commits."""
    series = ScheduledSeries(
        guild_id=new.guild_id,
        title=new.title,
        question=new.question,
        channel_id=new.channel_id,
        voice_channel_id=new.voice_channel_id,
        facilitator_id=new.facilitator_id,
        repeat=new.repeat.value,
        occurrences=new.occurrences,
        first_start=new.first_start,
        timezone=new.timezone,
        signup_minutes=new.signup_minutes,
        reminder_minutes=list(new.reminder_minutes),
        auto_start=new.auto_start,
        group_size=new.group_size,
        length_s=new.length_s,
        turn_s=new.turn_s,
        think_s=new.think_s,
        speed=new.speed,
        created_at=now,
    )
    session.add(series)
    await session.commit()
    occurrence = await add_occurrence(session, series.id, 0, new.first_start, now)
    assert occurrence is not None
    return _series(series), occurrence


async def add_occurrence(
    session: AsyncSession, series_id: int, index: int, starts_at: datetime, now: datetime
) -> OccurrenceInfo | None:
    """Occurrence ``index`` of a series, made once: a second call (another process, a timer
    run twice) returns the one already there. None if the series is gone. Commits.

    Two series in one server may number an occurrence at the same moment; the unique
    (server, number) index makes one fail, and that one tries again with the next number.
    """
    for _ in range(ATTEMPTS):
        series = await session.get(ScheduledSeries, series_id)
        if series is None:
            return None
        existing = await session.scalar(
            select(ScheduledOccurrence).where(
                ScheduledOccurrence.series_id == series_id, ScheduledOccurrence.index == index
            )
        )
        if existing is not None:
            return _occurrence(existing)
        row = ScheduledOccurrence(
            series_id=series_id,
            guild_id=series.guild_id,
            number=await _next_number(session, series.guild_id),
            index=index,
            starts_at=starts_at,
            status="planned",
            created_at=now,
        )
        session.add(row)
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            continue
        return _occurrence(row)
    raise RuntimeError("could not number a scheduled brew after several attempts")


async def get_occurrence(
    session: AsyncSession, occurrence_id: int
) -> tuple[SeriesInfo, OccurrenceInfo] | None:
    row = await session.get(ScheduledOccurrence, occurrence_id)
    if row is None:
        return None
    series = await session.get(ScheduledSeries, row.series_id)
    assert series is not None
    return _series(series), _occurrence(row)


async def occurrence_by_number(
    session: AsyncSession, guild_id: int, number: int
) -> OccurrenceInfo | None:
    row = await session.scalar(
        select(ScheduledOccurrence).where(
            ScheduledOccurrence.guild_id == guild_id, ScheduledOccurrence.number == number
        )
    )
    return _occurrence(row) if row is not None else None


async def occurrence_by_brew(session: AsyncSession, brew_id: int) -> OccurrenceInfo | None:
    """The occurrence whose opened sign-up card became this brew, if any."""
    row = await session.scalar(
        select(ScheduledOccurrence).where(ScheduledOccurrence.brew_id == brew_id)
    )
    return _occurrence(row) if row is not None else None


async def set_card_message(session: AsyncSession, occurrence_id: int, message_id: int) -> None:
    """Remember the sign-up-ahead card. Commits."""
    await session.execute(
        update(ScheduledOccurrence)
        .where(ScheduledOccurrence.id == occurrence_id)
        .values(card_message_id=message_id)
    )
    await session.commit()


async def set_event(
    session: AsyncSession, occurrence_id: int, event_id: int | None, error: str | None
) -> None:
    """Remember the Discord scheduled event, or why there is none. Commits."""
    await session.execute(
        update(ScheduledOccurrence)
        .where(ScheduledOccurrence.id == occurrence_id)
        .values(discord_event_id=event_id, event_error=error[:200] if error else None)
    )
    await session.commit()


async def set_status(
    session: AsyncSession, occurrence_id: int, status: str, *, brew_id: int | None = None
) -> None:
    """Change an occurrence's status (and the brew its card became). Not committed: the
    caller commits it with the moment it belongs to."""
    values: dict[str, object] = {"status": status}
    if brew_id is not None:
        values["brew_id"] = brew_id
    await session.execute(
        update(ScheduledOccurrence).where(ScheduledOccurrence.id == occurrence_id).values(**values)
    )


# ------------------------------------------------------------------ moments done
async def done_keys(session: AsyncSession, occurrence_id: int) -> set[str]:
    keys = await session.scalars(
        select(ScheduledDone.key).where(ScheduledDone.occurrence_id == occurrence_id)
    )
    return set(keys)


async def claim_moment(session: AsyncSession, occurrence_id: int, key: str, now: datetime) -> bool:
    """Mark a moment done, within the caller's transaction (flushed, not committed).

    False if it was already done (by another process or an earlier run): the caller then does
    nothing for it. The caller commits the mark together with what the moment changed.
    """
    try:
        async with session.begin_nested():
            session.add(ScheduledDone(occurrence_id=occurrence_id, key=key, done_at=now))
    except IntegrityError:
        return False
    return True


async def mark_moment(session: AsyncSession, occurrence_id: int, key: str, now: datetime) -> None:
    """Mark a moment done as the first write of the caller's transaction, with no savepoint
    (SQLite's driver commits a first savepoint when it is released, which would split the
    caller's transaction in two). Raises IntegrityError when it was already done: the caller
    rolls back, which loses nothing else."""
    session.add(ScheduledDone(occurrence_id=occurrence_id, key=key, done_at=now))
    await session.flush()


# ------------------------------------------------------------------ answers
async def answers_of(session: AsyncSession, occurrence_id: int) -> dict[int, Answer]:
    rows = await session.scalars(
        select(ScheduledAnswer).where(ScheduledAnswer.occurrence_id == occurrence_id)
    )
    return {r.user_id: Answer(Rsvp(r.choice), r.answered_at, r.coming_since) for r in rows}


async def save_answer(
    session: AsyncSession, occurrence_id: int, user_id: int, answer: Answer
) -> None:
    """Save a person's answer (replacing their earlier one). Commits."""
    row = await session.scalar(
        select(ScheduledAnswer).where(
            ScheduledAnswer.occurrence_id == occurrence_id, ScheduledAnswer.user_id == user_id
        )
    )
    if row is None:
        row = ScheduledAnswer(occurrence_id=occurrence_id, user_id=user_id)
        session.add(row)
    row.choice = answer.choice.value
    row.answered_at = answer.answered_at
    row.coming_since = answer.coming_since
    await session.commit()


# ------------------------------------------------------------------ lists
async def active_occurrences(session: AsyncSession) -> list[tuple[int, int]]:
    """(occurrence id, server id) of every occurrence that may still do something."""
    rows = await session.execute(
        select(ScheduledOccurrence.id, ScheduledOccurrence.guild_id).where(
            ScheduledOccurrence.status.in_(ACTIVE)
        )
    )
    return [(int(a), int(b)) for a, b in rows]


async def upcoming(
    session: AsyncSession, guild_id: int
) -> list[tuple[SeriesInfo, OccurrenceInfo, dict[int, Answer]]]:
    """The server's occurrences still to come (planned or open), soonest first."""
    rows = await session.scalars(
        select(ScheduledOccurrence)
        .where(
            ScheduledOccurrence.guild_id == guild_id,
            ScheduledOccurrence.status.in_(ACTIVE),
        )
        .order_by(ScheduledOccurrence.starts_at, ScheduledOccurrence.number)
    )
    out = []
    for row in list(rows):
        series = await session.get(ScheduledSeries, row.series_id)
        assert series is not None
        out.append((_series(series), _occurrence(row), await answers_of(session, row.id)))
    return out


async def cancel_occurrences(
    session: AsyncSession, occurrence: OccurrenceInfo, *, all_future: bool, now: datetime
) -> list[OccurrenceInfo]:
    """Cancel one planned occurrence, or it and every later one of its series (and the series
    itself, so no more are made). Returns those cancelled, as they were. Commits."""
    query = select(ScheduledOccurrence).where(ScheduledOccurrence.status == "planned")
    if all_future:
        query = query.where(
            ScheduledOccurrence.series_id == occurrence.series_id,
            ScheduledOccurrence.index >= occurrence.index,
        )
    else:
        query = query.where(ScheduledOccurrence.id == occurrence.id)
    rows = list(await session.scalars(query.order_by(ScheduledOccurrence.index)))
    cancelled = [_occurrence(r) for r in rows]
    for row in rows:
        row.status = "cancelled"
    if all_future:
        await session.execute(
            update(ScheduledSeries)
            .where(ScheduledSeries.id == occurrence.series_id)
            .values(cancelled_at=now)
        )
    await session.commit()
    return cancelled


# ------------------------------------------------------------------ retention
async def forget_answers(session: AsyncSession, cutoff: datetime) -> int:
    """Delete answers to occurrences that started (or were due) before ``cutoff``, and clear
    the facilitator of series with nothing left after it. Not committed (the retention job
    commits). Returns how many answers were deleted."""
    old = select(ScheduledOccurrence.id).where(ScheduledOccurrence.starts_at < cutoff)
    result = await session.execute(
        delete(ScheduledAnswer).where(ScheduledAnswer.occurrence_id.in_(old))
    )
    later = exists().where(
        ScheduledOccurrence.series_id == ScheduledSeries.id,
        ScheduledOccurrence.starts_at >= cutoff,
    )
    await session.execute(
        update(ScheduledSeries)
        .where(ScheduledSeries.created_at < cutoff, ~later)
        .values(facilitator_id=None)
    )
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


# ------------------------------------------------------------------ the opened card
async def join_people(session: AsyncSession, brew_id: int, people: dict[int, bool]) -> None:
    """Join people to an opened card's brew (``user id -> text only``), as if they had pressed
    Join; someone already joined keeps their own choice. Not committed."""
    have = set(await session.scalars(select(Signup.user_id).where(Signup.brew_id == brew_id)))
    for user_id, text_only in sorted(people.items()):
        if user_id not in have:
            session.add(Signup(brew_id=brew_id, user_id=user_id, text_only=text_only))


async def set_brew_card(session: AsyncSession, brew_id: int, message_id: int) -> None:
    """The opened brew's sign-up card is the occurrence's card. Not committed: the opening
    commits it with the brew itself."""
    await session.execute(update(Brew).where(Brew.id == brew_id).values(card_message_id=message_id))


async def open_signups(session: AsyncSession, brew_id: int) -> list[SignupInfo] | None:
    """Who has joined this brew, or None if it is no longer taking sign-ups (started by hand,
    cancelled)."""
    status = await session.scalar(select(Brew.status).where(Brew.id == brew_id))
    if status != "open":
        return None
    rows = await session.scalars(select(Signup).where(Signup.brew_id == brew_id))
    return [SignupInfo(r.user_id, r.text_only, r.perspective) for r in rows]
