"""Migrations: upgrade, downgrade, upgrade again, and the models match them exactly."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from bot.db.migrate import current_head, downgrade, upgrade
from bot.db.models import Base, Brew, Reflection, Room
from bot.db.session import create_engine, session_factory
from tests.builders import brew_timing


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names


async def _diff(url: str) -> list[object]:
    engine = create_engine(url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(
                MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
            )
        )
    await engine.dispose()
    return list(diff)


def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    upgrade(database_url)
    assert set(Base.metadata.tables) <= asyncio.run(_tables(database_url))
    downgrade(database_url, "base")
    assert asyncio.run(_tables(database_url)) <= {"alembic_version"}
    upgrade(database_url)
    assert set(Base.metadata.tables) <= asyncio.run(_tables(database_url))


def test_models_match_migrations(database_url: str) -> None:
    upgrade(database_url)
    assert asyncio.run(_diff(database_url)) == []


def test_there_is_one_head() -> None:
    assert current_head() is not None


async def _round_trip(url: str) -> None:
    engine = create_engine(url)
    sessions = session_factory(engine)
    when = datetime(2026, 11, 26, 10, 30, tzinfo=UTC)
    async with sessions() as session:
        brew = Brew(
            guild_id=2**62,
            number=1,
            title="What's missing?",
            question="What's missing?",
            **brew_timing(),
            started_at=when,
        )
        session.add(brew)
        await session.flush()
        session.add(Room(brew_id=brew.id, index=0, turn_order=[2**62 + 1, 5], phase_ends_at=when))
        session.add(
            Reflection(brew_id=brew.id, submitted_on=when.date(), answers={"missing": "time"})
        )
        await session.commit()
    async with sessions() as session:
        got = await session.scalar(select(Brew))
        assert got is not None and got.started_at == when and got.started_at.tzinfo is not None
        room = await session.scalar(select(Room))
        assert room is not None and room.turn_order == [2**62 + 1, 5]
        # Deleting a brew removes its rooms and reflections (foreign keys are on in SQLite too).
        await session.delete(got)
        await session.commit()
        assert await session.scalar(select(Reflection)) is None
        assert await session.scalar(select(Room)) is None
    await engine.dispose()


def test_big_ids_aware_datetimes_and_cascades(database_url: str) -> None:
    upgrade(database_url)
    asyncio.run(_round_trip(database_url))


def test_sqlite_gets_wal_busy_timeout_and_foreign_keys(sqlite_url: str) -> None:
    async def pragmas() -> tuple[object, ...]:
        engine = create_engine(sqlite_url)
        async with engine.connect() as conn:
            values = []
            for name in ("journal_mode", "busy_timeout", "foreign_keys"):
                values.append((await conn.exec_driver_sql(f"PRAGMA {name}")).scalar())
        await engine.dispose()
        return tuple(values)

    assert asyncio.run(pragmas()) == ("wal", 30_000, 1)


def test_naive_datetimes_are_refused(sqlite_url: str) -> None:
    from sqlalchemy.exc import StatementError

    upgrade(sqlite_url)

    async def write() -> None:
        engine = create_engine(sqlite_url)
        async with session_factory(engine)() as session:
            session.add(Room(brew_id=1, index=0, phase_ends_at=datetime(2026, 1, 1)))
            with pytest.raises(StatementError):
                await session.flush()
        await engine.dispose()

    asyncio.run(write())


def test_reflections_keep_no_hidden_row_order_on_sqlite(sqlite_url: str) -> None:
    """SQLite's rowid would record the order people answered in; the table has none."""
    import sqlite3

    upgrade(sqlite_url)
    path = sqlite_url.split("///", 1)[1]
    with sqlite3.connect(path) as conn:
        with pytest.raises(sqlite3.OperationalError, match="rowid"):
            conn.execute("SELECT rowid FROM reflections")
        conn.execute("SELECT rowid FROM brews")  # an ordinary table has one
