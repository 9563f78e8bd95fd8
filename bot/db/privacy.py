"""Forgetting on purpose: the reflection-window sweep, retention, deleting a brew, compaction.

Every function here deletes or clears data that could link a person to a brew or to what they
wrote (see docs/privacy.md). The shell decides *when* (an hourly and a daily job, an organiser's
confirmation); this module is the only place that says *what* goes, in SQL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.models import (
    Brew,
    Membership,
    Outbox,
    PairHistory,
    Reflection,
    ReflectionReceipt,
    Room,
    Signup,
)

log = logging.getLogger(__name__)

#: Statuses a brew may not be deleted in: people are (or may soon be) in its channels.
BUSY_STATUSES = ("open", "starting", "running")


@dataclass(frozen=True)
class RetentionReport:
    """How many rows the retention job deleted (``brews``: how many brews it forgot people of)."""

    brews: int = 0
    signups: int = 0
    memberships: int = 0
    outbox: int = 0
    pairs: int = 0

    @property
    def deleted_anything(self) -> bool:
        return bool(self.signups or self.memberships or self.outbox or self.pairs)


@dataclass(frozen=True)
class PurgeCandidate:
    """A brew an organiser named for deletion, and what deleting it would take with it."""

    brew_id: int
    number: int
    title: str
    status: str
    reflections: int

    @property
    def busy(self) -> bool:
        return self.status in BUSY_STATUSES


def _count(result: Any) -> int:
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


async def secure_delete(session: AsyncSession) -> None:
    """Ask SQLite to overwrite deleted content with zeros on this connection, so a destroyed
    secret or receipt does not linger in free pages of the database file. No-op elsewhere."""
    bind = session.bind
    if bind is not None and bind.dialect.name == "sqlite":
        await session.execute(text("PRAGMA secure_delete = ON"))


async def compact(engine: AsyncEngine | None) -> None:
    """Leave no copy of deleted keys, receipts or people's ids in SQLite's files.

    ``VACUUM`` rebuilds the database file, so no stale copy of a destroyed value survives in
    free pages or free space inside pages (SQLite builds without ``SECURE_DELETE`` leave them
    there after ordinary updates); a ``TRUNCATE`` checkpoint then empties the ``-wal`` file.
    Best effort and quick for a database this size: if another connection holds a lock past
    the busy timeout it is skipped with a warning and the next sweep tries again.
    No-op on PostgreSQL, whose storage is managed by its own vacuum.
    """
    if engine is None or engine.dialect.name != "sqlite":
        return
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("VACUUM")
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    except OperationalError as exc:
        log.warning("could not compact the database after deleting private data: %s", exc)


async def close_reflection_windows(session: AsyncSession, now: datetime) -> int:
    """Destroy the receipt key and receipts of every brew whose reflection window has closed,
    and of brews that can never take reflections (cancelled or failed). Commits; returns how
    many brews were closed. Safe to run at any time and as often as wanted."""
    await secure_delete(session)
    ids = list(
        await session.scalars(
            select(Brew.id).where(
                or_(
                    Brew.reflections_close_at <= now,
                    Brew.status.in_(("cancelled", "failed")),
                ),
                or_(
                    Brew.reflection_secret.is_not(None),
                    Brew.id.in_(select(ReflectionReceipt.brew_id)),
                ),
            )
        )
    )
    if not ids:
        return 0
    await session.execute(delete(ReflectionReceipt).where(ReflectionReceipt.brew_id.in_(ids)))
    await session.execute(update(Brew).where(Brew.id.in_(ids)).values(reflection_secret=None))
    await session.commit()
    return len(ids)


async def apply_retention(session: AsyncSession, cutoff: datetime) -> RetentionReport:
    """Forget who took part in brews that finished before ``cutoff``. Commits.

    A sign-up card nobody started or ended is given up (cancelled) once it was created before
    the cut-off, so its sign-ups do not stay for ever. Then, for brews that ended before the
    cut-off (and cancelled or failed brews created before it): sign-ups, memberships and outbox
    rows are deleted; the facilitator, sign-up channel and card message ids and each room's
    speaking order (user ids) are cleared; any leftover receipt key or receipts go too. "Who met
    whom" hashes older than the cut-off are deleted. Reflections, titles, questions, dates and
    counts stay: they name nobody. Idempotent.
    """
    await secure_delete(session)
    await session.execute(
        update(Brew)
        .where(Brew.status == "open", Brew.created_at < cutoff)
        .values(status="cancelled")
    )
    ids = list(
        await session.scalars(
            select(Brew.id).where(
                or_(
                    and_(Brew.status == "ended", Brew.ended_at < cutoff),
                    and_(
                        Brew.status.in_(("cancelled", "failed")),
                        or_(
                            Brew.ended_at < cutoff,
                            and_(Brew.ended_at.is_(None), Brew.created_at < cutoff),
                        ),
                    ),
                )
            )
        )
    )
    report = RetentionReport()
    if ids:
        rooms = select(Room.id).where(Room.brew_id.in_(ids))
        signups = await session.execute(delete(Signup).where(Signup.brew_id.in_(ids)))
        members = await session.execute(delete(Membership).where(Membership.brew_id.in_(ids)))
        outbox = await session.execute(delete(Outbox).where(Outbox.room_id.in_(rooms)))
        await session.execute(delete(ReflectionReceipt).where(ReflectionReceipt.brew_id.in_(ids)))
        await session.execute(
            update(Brew)
            .where(Brew.id.in_(ids))
            .values(
                facilitator_id=None,
                channel_id=None,
                card_message_id=None,
                reflection_secret=None,
            )
        )
        await session.execute(update(Room).where(Room.brew_id.in_(ids)).values(turn_order=[]))
        report = RetentionReport(
            brews=len(ids),
            signups=_count(signups),
            memberships=_count(members),
            outbox=_count(outbox),
        )
    pairs = await session.execute(delete(PairHistory).where(PairHistory.met_on < cutoff.date()))
    await session.commit()
    return RetentionReport(
        report.brews, report.signups, report.memberships, report.outbox, _count(pairs)
    )


async def purge_candidate(
    session: AsyncSession, guild_id: int, number: int
) -> PurgeCandidate | None:
    """The brew numbered ``number`` in this server and how many reflections it holds."""
    row = (
        await session.execute(
            select(Brew.id, Brew.number, Brew.title, Brew.status).where(
                Brew.guild_id == guild_id, Brew.number == number
            )
        )
    ).first()
    if row is None:
        return None
    brew_id, found_number, title, status = row
    count = await session.scalar(
        select(func.count()).select_from(Reflection).where(Reflection.brew_id == brew_id)
    )
    return PurgeCandidate(brew_id, found_number, title, status, int(count or 0))


async def delete_brew(session: AsyncSession, guild_id: int, brew_id: int) -> PurgeCandidate | None:
    """Delete one brew of this server unless people are (or may soon be) in it.

    Returns what was found (``busy`` true: nothing was deleted), or ``None`` if there is no such
    brew here. The database's ``ON DELETE CASCADE`` removes its rooms, memberships, sign-ups,
    reflections, receipts, outbox and pair history with it. Commits when it deletes.
    """
    await secure_delete(session)
    row = (
        await session.execute(
            select(Brew.number, Brew.title, Brew.status).where(
                Brew.id == brew_id, Brew.guild_id == guild_id
            )
        )
    ).first()
    if row is None:
        return None
    number, title, status = row
    found = PurgeCandidate(brew_id, number, title, status, 0)
    if found.busy:
        return found
    await session.execute(delete(Brew).where(Brew.id == brew_id))
    await session.commit()
    return found
