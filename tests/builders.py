"""Builders shared by tests in several modules (no test module imports another).

* Export sample data (pure): :data:`PROMPTS`, :func:`brews`, :func:`reflections`.
* A migrated SQLite database with services around it (the ``db`` fixture: import
  ``db_fixture`` into a test module), and brews with rooms and members inserted directly
  (:func:`add_brew`), no Discord needed; :func:`open_db` gives the same for any database URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.config import Config, DatabaseConfig, PrivacyConfig
from bot.core.anonymity import new_secret
from bot.core.export import BrewSummary, ReflectionRecord
from bot.core.reflections import DEFAULT_PROMPTS, Prompt
from bot.db.models import Brew, GuildSettings, Membership, Room
from bot.db.session import create_engine, session_factory
from bot.services import Services, build_services

# ------------------------------------------------------------------ export sample data
PROMPTS: tuple[Prompt, ...] = DEFAULT_PROMPTS


def brews() -> list[BrewSummary]:
    return [
        BrewSummary(2, "Direct Payments", "Norfolk", "What is missing?", date(2024, 7, 3), 5, 1),
        BrewSummary(1, "The value of co-production", "Essex", "What's missing?",
                    date(2024, 7, 1), 12, 3),
        BrewSummary(3, "Open brew", None, "Who is not here?", date(2024, 7, 4), 4, 1),
    ]  # fmt: skip


def reflections() -> list[ReflectionRecord]:
    return [
        ReflectionRecord(1, date(2024, 7, 1), True, {"missing": "Time and budget",
                                                     "feedback": "Great chat"}),
        ReflectionRecord(1, date(2024, 7, 1), False, {"missing": "Private thought",
                                                      "next": "Private next"}),
        ReflectionRecord(1, date(2024, 7, 2), True, {"next": "A network", "lasting": "  "}),
        ReflectionRecord(2, date(2024, 7, 3), False, {"feedback": "Too short"}),
    ]  # fmt: skip


# ------------------------------------------------------------------ a database
NOW = datetime(2024, 7, 2, 15, 30, tzinfo=UTC)
GUILD = 900_000_000_000_000_001
USERS = (111_111_111_111_111_111, 222_222_222_222_222_222, 333_333_333_333_333_333)
STRANGER = 444_444_444_444_444_444


def make_config(url: str, *, window_days: int = 7, retention_days: int = 90) -> Config:
    return replace(
        Config(),
        database=DatabaseConfig(url=url),
        privacy=PrivacyConfig(reflection_window_days=window_days, retention_days=retention_days),
    )


def make_services(
    sessions: async_sessionmaker[AsyncSession], url: str, now: datetime = NOW
) -> Services:
    return build_services(make_config(url), sessions, clock=ManualClock(now), seed=7)


async def migrated(url: str) -> None:
    from bot.db.migrate import upgrade

    # Alembic's async env calls asyncio.run: keep it off the test's event loop.
    await asyncio.to_thread(upgrade, url)


@dataclass
class Db:
    url: str
    path: Path
    sessions: async_sessionmaker[AsyncSession]
    services: Services

    @property
    def clock(self) -> ManualClock:
        clock = self.services.clock
        assert isinstance(clock, ManualClock)
        return clock


@asynccontextmanager
async def open_db(url: str, path: Path | None = None) -> AsyncIterator[Db]:
    """A migrated database at ``url`` (SQLite or PostgreSQL, e.g. from the ``database_url``
    fixture) with services around it; the engine is disposed afterwards."""
    await migrated(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        yield Db(url, path or Path(), sessions, make_services(sessions, url))
    finally:
        await engine.dispose()


@pytest.fixture(name="db")
async def db_fixture(tmp_path: Path) -> AsyncIterator[Db]:
    path = tmp_path / "brewhost.db"
    async with open_db(f"sqlite+aiosqlite:///{path}", path) as db:
        yield db


async def add_brew(
    sessions: async_sessionmaker[AsyncSession],
    *,
    guild_id: int = GUILD,
    number: int = 1,
    status: str = "ended",
    started_at: datetime | None = NOW - timedelta(hours=1),
    ended_at: datetime | None = NOW - timedelta(minutes=5),
    window_days: int | None = 7,
    rooms: Sequence[Sequence[int]] = (USERS,),
    room_phase: str = "done",
    title: str = "Co-production week",
    question: str = "What's missing?",
    area: str | None = None,
    secret: bool = True,
    facilitator_id: int | None = 555_555_555_555_555_555,
) -> int:
    """Insert a brew with rooms and memberships; returns its database id."""
    async with sessions() as session:
        if area is not None:
            settings = await session.get(GuildSettings, guild_id)
            if settings is None:
                session.add(GuildSettings(guild_id=guild_id, area_label=area, next_brew_number=1))
            else:
                settings.area_label = area
        brew = Brew(
            guild_id=guild_id,
            number=number,
            title=title,
            question=question,
            status=status,
            facilitator_id=facilitator_id,
            channel_id=777_000_000_000_000_001,
            card_message_id=777_000_000_000_000_002,
            group_size=4,
            length_s=1800,
            arrive_s=120,
            think_s=60,
            turn_s=120,
            nudge_s=30,
            still_s=300,
            close_s=60,
            min_reflect_s=120,
            cleanup_s=600,
            speed=1.0,
            seed=7,
            perspectives=[],
            category_ids=[],
            participants=sum(len(r) for r in rooms),
            rooms_count=len(rooms),
            created_at=(started_at or NOW) - timedelta(minutes=10),
            started_at=started_at,
            ended_at=ended_at,
            reflection_secret=new_secret() if secret else None,
            reflections_close_at=(
                ended_at + timedelta(days=window_days)
                if ended_at is not None and window_days is not None
                else None
            ),
        )
        session.add(brew)
        await session.flush()
        for index, users in enumerate(rooms):
            room = Room(
                brew_id=brew.id,
                index=index,
                status="ended" if room_phase == "done" else "running",
                phase=room_phase,
                voice_channel_id=778_000_000_000_000_000 + index,
                text_channel_id=779_000_000_000_000_000 + index,
                turn_order=list(users),
            )
            session.add(room)
            await session.flush()
            for user in users:
                session.add(Membership(room_id=room.id, brew_id=brew.id, user_id=user))
        await session.commit()
        return brew.id


ANSWERS = {
    "missing": "Time to listen to carers.",
    "lasting": "Everyone had a voice.",
    "next": "",
    "feedback": "Lovely, thank you.",
}
