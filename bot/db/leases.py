"""Leases: work that belongs to no server runs once per period, whichever process does it.

Each Brew Host process looks after the brews of its own gateway shard, but some work belongs to
no server: the hourly sweep that closes reflection windows, the daily retention job, and later
scheduled reminders. Every process schedules them; before running one, a process takes the
job's lease in the shared database, and only the process that got it does the work.

A lease is one row (``name``, ``holder``, ``expires_at``). Taking it is a single atomic
statement, ``INSERT ... ON CONFLICT (name) DO UPDATE ... WHERE`` the lease has expired or is
already ours, ``RETURNING`` the row only when we got it; SQLite (3.35+) and PostgreSQL both run
it, and PostgreSQL re-checks the condition under the row lock, so two processes asking in the
same instant cannot both win. The lease lasts one period and is never given back early: the
holder renews it when its own timer fires again, a process that restarts gets a new holder name
and waits out the period, and if the holder dies another process takes over after at most one
period. So the job runs at most once per period, and at least once while any process is up.

Time comes from the bot's clock (UTC wall time), so hosts sharing a database need their clocks
set by NTP; a skew of seconds does not matter for hourly and daily work.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import Lease

log = logging.getLogger(__name__)

Job = Callable[[], Coroutine[Any, Any, None]]


def new_holder() -> str:
    """A name for this process (and this bot in it) that no other process or restart shares."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def _postgresql_insert() -> Any:
    """PostgreSQL's ``insert``, imported only when the database is PostgreSQL: the dialect
    package costs about 2 MiB that a bot on SQLite would carry for nothing."""
    from sqlalchemy.dialects.postgresql import insert

    return insert


async def try_acquire(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    holder: str,
    now: datetime,
    duration: timedelta,
) -> bool:
    """Take or renew lease ``name`` for ``duration`` from ``now``; True if ``holder`` has it."""
    if duration <= timedelta(0):
        raise ValueError("a lease must last a positive time")
    expires = now + duration
    async with sessions() as session:
        dialect = session.bind.dialect.name if session.bind is not None else ""
        insert = _postgresql_insert() if dialect == "postgresql" else sqlite_insert
        stmt = insert(Lease).values(name=name, holder=holder, expires_at=expires)
        upsert = stmt.on_conflict_do_update(
            index_elements=[Lease.name],
            set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
            where=(Lease.expires_at <= now) | (Lease.holder == holder),
        ).returning(Lease.holder)
        got = (await session.execute(upsert)).scalar_one_or_none()
        await session.commit()
    return got == holder


async def holder_of(
    sessions: async_sessionmaker[AsyncSession], name: str, now: datetime
) -> str | None:
    """Who holds lease ``name`` at ``now`` (None if nobody does)."""
    async with sessions() as session:
        lease = await session.scalar(select(Lease).where(Lease.name == name))
    if lease is None or lease.expires_at <= now:
        return None
    return lease.holder


class LeaseGuard:
    """Wraps periodic jobs so that, across processes, each runs once per period.

    One guard per bot: its holder name identifies this bot in this process.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        holder: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.holder = holder or new_holder()

    def once_per(self, name: str, period: timedelta, job: Job) -> Job:
        """``job``, run only when this process holds lease ``name`` (taken for ``period``)."""

        async def guarded() -> None:
            await self.run_if_leased(name, period, job)

        guarded.__name__ = f"leased_{name.replace('-', '_')}"
        return guarded

    async def run_if_leased(self, name: str, period: timedelta, job: Job) -> bool:
        """Run ``job`` if the lease is ours for this period; True if it ran."""
        if not await try_acquire(self.sessions, name, self.holder, self.clock.now(), period):
            log.debug("%s: another process has it this period", name)
            return False
        await job()
        return True
