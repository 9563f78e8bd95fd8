"""Forgetting on purpose: the reflection-window sweep, retention, deleting a brew, compaction.

Every function here deletes or clears data that could link a person to a brew or to what they
wrote (see docs/privacy.md). The shell decides *when* (an hourly and a daily job, an organiser's
confirmation); this module is the only place that says *what* goes, in SQL.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, text, update
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
from bot.db.scheduling import forget_answers

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
    #: Answers on sign-up-ahead cards of scheduled brews (see :mod:`bot.db.scheduling`).
    scheduled_answers: int = 0

    @property
    def deleted_anything(self) -> bool:
        return bool(
            self.signups or self.memberships or self.outbox or self.pairs or self.scheduled_answers
        )


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


#: Tables whose deleted rows held a secret, a receipt or a person's id, or whose physical order
#: could tell who answered first: PostgreSQL rewrites them on compaction.
_POSTGRES_REWRITE = ("reflections", "reflection_receipts", "brews", "signups", "memberships")


async def compact(engine: AsyncEngine | None) -> bool:
    """Leave no copy of deleted keys, receipts or people's ids in the database's files.

    Returns True once that is done, False if another connection was in the way (the caller
    logs it and tries again later; nothing is lost by waiting, it only takes longer).

    * SQLite: ``VACUUM`` rebuilds the file, so no stale copy of a destroyed value survives in
      free pages or free space inside pages; a ``TRUNCATE`` checkpoint then empties the ``-wal``
      file. A reader holding an old snapshot makes the checkpoint report "busy" instead of
      failing: that result is checked, because until it succeeds the WAL still holds copies.
    * PostgreSQL: ``VACUUM FULL`` on the tables that held private data writes them anew, without
      the dead row versions (the old key, receipts, and the reflections in the order they came).
    """
    if engine is None:
        return True
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "sqlite":
                await conn.exec_driver_sql("VACUUM")
                result = await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                row = result.first()
                busy = bool(row and row[0])
                if busy:
                    log.warning(
                        "compaction: another connection is reading the database, so the "
                        "write-ahead log still holds deleted private data; will try again"
                    )
                return not busy
            if engine.dialect.name == "postgresql":
                await conn.exec_driver_sql("VACUUM FULL " + ", ".join(_POSTGRES_REWRITE))
            return True
    except OperationalError as exc:
        log.warning("compaction: could not compact the database yet (%s); will try again", exc)
        return False


async def shuffle_reflections(session: AsyncSession, brew_ids: Sequence[int]) -> int:
    """Write the reflections of these brews again, in a random order, in one transaction.

    On PostgreSQL a table remembers the order rows were written in, in its system columns
    (``xmin``) and its physical order (``ctid``), whatever the ids are: "who answered first".
    Rewritten together, every row gets the same ``xmin`` and a random place; :func:`compact`
    then removes the old row versions. Done when the window closes, because until then a
    person may still replace their reflection. Harmless on SQLite (no row order there).
    """
    found = list(await session.scalars(select(Reflection).where(Reflection.brew_id.in_(brew_ids))))
    if not found:
        return 0
    rows = [
        {
            "id": r.id,
            "brew_id": r.brew_id,
            "submitted_on": r.submitted_on,
            "consent": r.consent,
            "answers": dict(r.answers or {}),
        }
        for r in found
    ]
    for reflection in found:
        session.expunge(reflection)
    secrets.SystemRandom().shuffle(rows)
    await session.execute(delete(Reflection).where(Reflection.brew_id.in_(brew_ids)))
    await session.execute(insert(Reflection), rows)
    return len(rows)


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
    await shuffle_reflections(session, ids)
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
    counts stay: they name nobody. Answers on sign-up-ahead cards of scheduled brews whose time
    is before the cut-off are deleted too. Idempotent.
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
    # Answers on sign-up-ahead cards go by the same rule: once the brew's time is older than
    # the cut-off (the SQL lives with the rest of scheduling's).
    answers = await forget_answers(session, cutoff)
    await session.commit()
    return RetentionReport(
        report.brews, report.signups, report.memberships, report.outbox, _count(pairs), answers
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
