"""Leases on SQLite and PostgreSQL: one holder per period, taken atomically, handed over only
once it expires; guarded jobs run once per period whichever process asks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.db.leases import LeaseGuard, holder_of, new_holder, try_acquire
from bot.db.migrate import upgrade
from bot.db.session import create_engine, session_factory

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def make_sessions(database_url: str) -> AsyncIterator[object]:
    """A factory of session makers, each on its own engine (as separate processes have)."""
    await asyncio.to_thread(upgrade, database_url)
    engines = []

    def make() -> Sessions:
        engine = create_engine(database_url)
        engines.append(engine)
        return session_factory(engine)

    try:
        yield make
    finally:
        for engine in engines:
            await engine.dispose()


async def test_one_holder_until_the_lease_expires(make_sessions) -> None:
    a, b = make_sessions(), make_sessions()
    assert await try_acquire(a, "sweep", "A", T0, HOUR)
    assert not await try_acquire(b, "sweep", "B", T0 + timedelta(minutes=59), HOUR)
    assert await holder_of(b, "sweep", T0 + timedelta(minutes=59)) == "A"
    # The holder renews its own lease, even a little before it runs out.
    assert await try_acquire(a, "sweep", "A", T0 + timedelta(minutes=59, seconds=59), HOUR)
    assert not await try_acquire(b, "sweep", "B", T0 + timedelta(minutes=90), HOUR)
    # Once it has expired anyone may take it; then the old holder is refused.
    later = T0 + timedelta(hours=2)
    assert await try_acquire(b, "sweep", "B", later, HOUR)
    assert not await try_acquire(a, "sweep", "A", later + timedelta(minutes=1), HOUR)
    assert await holder_of(a, "sweep", later) == "B"
    assert await holder_of(a, "sweep", later + HOUR) is None
    # Leases are independent of each other.
    assert await try_acquire(a, "retention", "A", later, timedelta(days=1))


async def test_many_processes_asking_at_once_get_one_holder(make_sessions) -> None:
    makers = [make_sessions() for _ in range(6)]
    for round_no in range(3):
        now = T0 + round_no * 2 * HOUR
        results = await asyncio.gather(
            *(try_acquire(s, "sweep", f"p{n}", now, HOUR) for n, s in enumerate(makers))
        )
        assert sum(results) == 1, results


async def test_a_lease_must_last_some_time(make_sessions) -> None:
    with pytest.raises(ValueError, match="positive"):
        await try_acquire(make_sessions(), "sweep", "A", T0, timedelta(0))


async def test_guarded_job_runs_once_per_period_across_processes(make_sessions) -> None:
    clock = ManualClock(T0)
    ran: list[str] = []
    guards = [LeaseGuard(make_sessions(), clock) for _ in range(3)]
    assert len({g.holder for g in guards}) == 3

    def job_of(n: int):  # type: ignore[no-untyped-def]
        async def job() -> None:
            ran.append(f"p{n}")

        return job

    jobs = [
        g.once_per("privacy-retention", timedelta(days=1), job_of(n)) for n, g in enumerate(guards)
    ]
    for _day in range(3):
        # Every process's timer fires during the day, at different times.
        for job in jobs:
            await job()
            clock.advance(3600)
        clock.advance(86400 - 3 * 3600)
    assert len(ran) == 3
    assert ran == ["p0", "p0", "p0"]  # the holder keeps renewing while it is up

    # p0 stops (its timer does not fire again): once its lease has run out, p1 takes over,
    # and p0 coming back later in the same period does not run the job a second time.
    await jobs[1]()
    clock.advance(3600)
    await jobs[0]()
    assert ran[3:] == ["p1"]


def test_holder_names_differ() -> None:
    assert new_holder() != new_holder()
