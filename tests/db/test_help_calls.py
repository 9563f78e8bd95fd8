"""One help call per room every few minutes, enforced by one conditional UPDATE (both databases)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.db.models import Room
from bot.db.rooms import claim_help_call
from tests.builders import NOW, Db, add_brew, open_db


@pytest.fixture(name="any_db")
async def any_db_fixture(database_url: str) -> AsyncIterator[Db]:
    async with open_db(database_url) as db:
        yield db


async def test_two_presses_at_once_make_one_call_and_the_next_waits(any_db: Db) -> None:
    db = any_db
    await add_brew(db.sessions, room_phase="turns", status="running")
    async with db.sessions() as session:
        room_id = await session.scalar(select(Room.id))
    assert room_id is not None
    interval = timedelta(minutes=5)

    async def press(at=NOW) -> bool:
        async with db.sessions() as session:
            return await claim_help_call(session, room_id, at, interval)

    assert sorted(await asyncio.gather(press(), press())) == [False, True]
    assert not await press(NOW + interval - timedelta(seconds=1))
    assert await press(NOW + interval)
