"""Shared fixtures: databases (SQLite always; PostgreSQL when the local server answers), and
discord.py's endpoints put back after every test."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import discord.gateway
import discord.http
import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "BREWHOST_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def _postgres_reachable() -> str | None:
    """None if PostgreSQL answers on 127.0.0.1:5432, else why not (shown as the skip reason)."""
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_ADMIN_URL)
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5432), timeout=1):
            return None
    except OSError as exc:
        return (
            f"PostgreSQL is not reachable at {url.host}:{url.port or 5432} ({exc.strerror or exc})"
        )


@pytest.fixture(autouse=True)
def restore_discord_urls() -> Iterator[None]:
    """Every test leaves discord.py pointed where it found it (Discord itself), so a test that
    points it at a simulator cannot send the next test's calls there."""
    base = discord.http.Route.BASE
    gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    yield
    discord.http.Route.BASE = base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'brewhost.db'}"


async def _admin(sql: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_ADMIN_URL)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database=url.database
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A brand-new PostgreSQL database for one test, dropped afterwards."""
    reason = _postgres_reachable()
    if reason is not None:
        if os.environ.get("BREWHOST_REQUIRE_POSTGRES"):
            pytest.fail(f"{reason}; BREWHOST_REQUIRE_POSTGRES is set")
        pytest.skip(reason)
    from sqlalchemy.engine import make_url

    name = f"brewhost_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each database test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def migrated_sessions(sqlite_url: str) -> AsyncIterator[object]:
    """A session factory on a migrated SQLite database."""
    from bot.db.migrate import upgrade
    from bot.db.session import create_engine, session_factory

    await asyncio.to_thread(upgrade, sqlite_url)
    engine = create_engine(sqlite_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()
