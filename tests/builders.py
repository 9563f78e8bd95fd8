"""Builders shared by tests in several modules (no test module imports another).

* Export sample data (pure): :data:`PROMPTS`, :func:`brews`, :func:`reflections`.
* A migrated SQLite database with services around it (the ``db`` fixture: import
  ``db_fixture`` into a test module), and brews with rooms and members inserted directly
  (:func:`add_brew`), no Discord needed; :func:`open_db` gives the same for any database URL.
* For the shell's fast tests: :func:`open_shell_db` (database and services on a manual clock),
  :func:`add_running_brew`, and small fakes of the Discord objects the shell talks to
  (:class:`FakeClient`, :class:`FakeGuild`, channels that record what was sent). No simulator.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import discord
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.config import Config, DatabaseConfig, PrivacyConfig
from bot.core.anonymity import new_secret
from bot.core.export import BrewSummary, ReflectionRecord
from bot.core.reflections import DEFAULT_PROMPTS, Prompt
from bot.db.models import Brew, GuildSettings, Membership, Room
from bot.db.session import create_engine, session_factory
from bot.services import Services, build_services
from bot.shell.reflections import Outcome, save_reflection

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


def brew_timing(**changes: Any) -> dict[str, Any]:
    """A brew's settings columns as the tests use them (groups of 4, a 30-minute brew, seed 7),
    for ``Brew(...)`` or ``NewBrew(...)``; ``changes`` replaces any of them."""
    timing: dict[str, Any] = {
        "group_size": 4,
        "length_s": 1800,
        "arrive_s": 120,
        "think_s": 60,
        "turn_s": 120,
        "nudge_s": 30,
        "still_s": 300,
        "close_s": 60,
        "min_reflect_s": 120,
        "cleanup_s": 600,
        "speed": 1.0,
        "seed": 7,
    }
    unknown = set(changes) - set(timing)
    assert not unknown, f"not a brew setting: {sorted(unknown)}"
    return {**timing, **changes}


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
            **brew_timing(),
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


async def reflect(
    db: Db,
    user: int,
    brew_id: int | None,
    answers: Mapping[str, str] = ANSWERS,
    consent: str = "",
    now: datetime = NOW,
) -> Outcome:
    """``user`` sends a reflection on ``brew_id`` (None: their latest brew) in :data:`GUILD`."""
    return await save_reflection(
        db.services,
        guild_id=GUILD,
        brew_id=brew_id,
        user_id=user,
        raw=answers,
        consent_text=consent,
        now=now,
    )


# ------------------------------------------------------------------ shell fakes
BREW_CHANNEL_ID = 777_000_000_000_000_001

_ids = itertools.count(800_000_000_000_000_000)


def new_id() -> int:
    return next(_ids)


# --------------------------------------------------------------------------- database
@dataclass
class ShellDb:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    services: Services
    clock: ManualClock


async def open_shell_db(tmp_path: Path, now: datetime = NOW) -> ShellDb:
    """A migrated SQLite database in ``tmp_path`` and services on a manual clock.
    The caller disposes ``engine``."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'brewhost.db'}"
    await migrated(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    services = make_services(sessions, url, now)
    clock = services.clock
    assert isinstance(clock, ManualClock)
    return ShellDb(engine, sessions, services, clock)


async def add_running_brew(
    sessions: async_sessionmaker[AsyncSession],
    rooms: Sequence[Sequence[int]] = (USERS,),
    *,
    room_status: str = "running",
    with_channels: bool = True,
) -> tuple[int, list[int]]:
    """Insert a running brew with rooms and members; returns (brew id, room ids)."""
    async with sessions() as session:
        brew = Brew(
            guild_id=GUILD,
            number=1,
            title="Co-production week",
            question="What's missing?",
            status="running",
            facilitator_id=555_555_555_555_555_555,
            channel_id=BREW_CHANNEL_ID,
            **brew_timing(),
            perspectives=[],
            category_ids=[],
            participants=sum(len(r) for r in rooms),
            rooms_count=len(rooms),
            started_at=NOW,
        )
        session.add(brew)
        await session.flush()
        room_ids = []
        for index, users in enumerate(rooms):
            room = Room(
                brew_id=brew.id,
                index=index,
                status=room_status,
                phase="arrive",
                voice_channel_id=new_id() if with_channels else None,
                text_channel_id=new_id() if with_channels else None,
                turn_order=list(users),
                step=0,
                outbox_seq=0,
            )
            session.add(room)
            await session.flush()
            room_ids.append(room.id)
            for user in users:
                session.add(Membership(room_id=room.id, brew_id=brew.id, user_id=user))
        await session.commit()
        return brew.id, room_ids


# --------------------------------------------------------------------------- Discord fakes
def http_error(status: int = 500, text: str = "try later") -> discord.HTTPException:
    """An HTTP error as discord.py raises it (``status`` 404 gives :class:`discord.NotFound`)."""
    response: Any = SimpleNamespace(status=status, reason=text)
    if status == 404:
        return discord.NotFound(response, text)
    return discord.HTTPException(response, text)


@dataclass
class Sent:
    """One message a fake channel was asked to send."""

    text: str
    nonce: str | int | None
    allowed_mentions: discord.AllowedMentions | None
    view: discord.ui.View | None

    @property
    def custom_ids(self) -> list[str]:
        if self.view is None:
            return []
        return [str(getattr(item, "custom_id", "")) for item in self.view.children]


class _Recorder:
    """What the fake channels share: an id, a record of sends and deletes, injectable faults."""

    def _setup(self, channel_id: int, name: str = "") -> None:
        self.fake_id = channel_id
        self.fake_name = name
        self.sent: list[Sent] = []
        self.deleted = False
        #: Exceptions the next sends raise, in order (then sends work again).
        self.failures: list[BaseException] = []

    async def send(
        self,
        content: str | None = None,
        *,
        nonce: str | int | None = None,
        allowed_mentions: discord.AllowedMentions | None = None,
        view: discord.ui.View | None = None,
        **_: Any,
    ) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(Sent(content or "", nonce, allowed_mentions, view))

    async def delete(self, *, reason: str | None = None) -> None:
        self.deleted = True


class FakeTextChannel(_Recorder, discord.TextChannel):  # type: ignore[misc]
    """Passes ``isinstance(..., discord.TextChannel)`` and ``discord.abc.Messageable``."""

    def __init__(self, channel_id: int | None = None, name: str = "text") -> None:
        self._setup(channel_id or new_id(), name)
        self.id = self.fake_id

    def __repr__(self) -> str:
        return f"<FakeTextChannel {self.fake_id}>"


class FakeVoiceChannel(_Recorder, discord.VoiceChannel):  # type: ignore[misc]
    def __init__(self, channel_id: int | None = None, name: str = "voice") -> None:
        self._setup(channel_id or new_id(), name)
        self.id = self.fake_id

    @property
    def members(self) -> list[discord.Member]:
        return []

    def __repr__(self) -> str:
        return f"<FakeVoiceChannel {self.fake_id}>"


class FakeCategory(_Recorder, discord.CategoryChannel):
    def __init__(self, channel_id: int | None = None, name: str = "category") -> None:
        self._setup(channel_id or new_id(), name)
        self.id = self.fake_id

    def __repr__(self) -> str:
        return f"<FakeCategory {self.fake_id}>"


@dataclass
class FakeGuild:
    """The parts of :class:`discord.Guild` the room opener and the outbox use."""

    id: int = GUILD
    channels_by_id: dict[int, Any] = field(default_factory=dict)
    #: Exceptions the next channel creations raise, by kind ("voice", "text", "category").
    create_failures: dict[str, list[BaseException]] = field(default_factory=dict)
    me: Any = None
    default_role: Any = field(default_factory=lambda: discord.Object(id=GUILD))

    @property
    def channels(self) -> list[Any]:
        return list(self.channels_by_id.values())

    def get_channel(self, channel_id: int) -> Any:
        return self.channels_by_id.get(channel_id)

    def get_role(self, role_id: int) -> None:
        return None

    def get_member(self, user_id: int) -> None:
        return None  # nobody is in voice: every voice member is reported as not moved

    def _made(self, kind: str, channel: Any) -> Any:
        failures = self.create_failures.get(kind) or []
        if failures:
            raise failures.pop(0)
        self.channels_by_id[channel.id] = channel
        return channel

    async def create_category(self, name: str, **_: Any) -> FakeCategory:
        return self._made("category", FakeCategory(name=name))

    async def create_voice_channel(self, name: str, **_: Any) -> FakeVoiceChannel:
        return self._made("voice", FakeVoiceChannel(name=name))

    async def create_text_channel(self, name: str, **_: Any) -> FakeTextChannel:
        return self._made("text", FakeTextChannel(name=name))


class FakeClient:
    """The parts of :class:`discord.Client` the outbox and runner use: channel and guild
    look-ups over fakes."""

    def __init__(self, guild: FakeGuild | None = None) -> None:
        self.guild = guild or FakeGuild()
        self.guilds = [self.guild]

    def add(self, channel: Any) -> Any:
        self.guild.channels_by_id[channel.id] = channel
        return channel

    def get_channel(self, channel_id: int) -> Any:
        return self.guild.get_channel(channel_id)

    def get_guild(self, guild_id: int) -> Any:
        return self.guild if guild_id == self.guild.id else None
