"""The shared database builders (:mod:`tests.builders`) make what the reflection and organiser
tests expect."""

from __future__ import annotations

from datetime import timedelta

from bot.db.models import Brew
from tests.builders import Db, add_brew, db_fixture  # noqa: F401 - the db fixture


async def test_the_builders_make_a_brew_people_took_part_in(db: Db) -> None:
    brew_id = await add_brew(db.sessions)
    async with db.sessions() as session:
        brew = await session.get(Brew, brew_id)
        assert brew is not None and brew.reflection_secret is not None
        assert brew.reflections_close_at == brew.ended_at + timedelta(days=7)  # type: ignore[operator]
