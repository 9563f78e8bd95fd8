"""Promise: "the database does not record who answered first", on SQLite and on PostgreSQL.

PostgreSQL keeps the order rows were written in, in the system column ``xmin`` (the transaction
that wrote the row) and in their physical place (``ctid``). While a reflection window is open
that order is kept (a person may still replace their reflection); when the window closes the
sweep writes the brew's reflections again in a random order, in one transaction, and compaction
removes the old row versions. These tests write reflections one by one, in a known order, and
check that neither column gives it back after the sweep.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from bot.db import privacy
from bot.db.models import Reflection
from tests.builders import NOW, Db, add_brew, open_db

COUNT = 24


@pytest.fixture(name="any_db")
async def any_db_fixture(database_url: str) -> AsyncIterator[Db]:
    async with open_db(database_url) as db:
        yield db


async def _write_one_by_one(db: Db, brew_id: int) -> list[str]:
    written = []
    for n in range(COUNT):
        async with db.sessions() as session:
            row = Reflection(
                brew_id=brew_id, submitted_on=date(2024, 7, 1), consent=False,
                answers={"missing": f"answer {n}"},
            )  # fmt: skip
            session.add(row)
            await session.commit()
            written.append(row.id)
    return written


async def test_the_database_does_not_record_who_answered_first_once_the_window_closes(
    any_db: Db,
) -> None:
    db = any_db
    brew_id = await add_brew(db.sessions, ended_at=NOW - timedelta(days=8), window_days=7)
    written = await _write_one_by_one(db, brew_id)
    postgres = db.url.startswith("postgresql")
    if postgres:
        async with db.sessions() as session:
            before = list(await session.scalars(text("SELECT id FROM reflections ORDER BY ctid")))
        assert before == written  # the physical order is the order of submission (not vacuous)

    async with db.sessions() as session:
        assert await privacy.close_reflection_windows(session, NOW) == 1
    assert await privacy.compact(db.sessions.kw["bind"])

    async with db.sessions() as session:
        kept = {r.id: r.answers for r in await session.scalars(select(Reflection))}
        assert set(kept) == set(written)  # nothing lost
        assert sorted(a["missing"] for a in kept.values()) == sorted(
            f"answer {n}" for n in range(COUNT)
        )
        if postgres:
            xmins = set(await session.scalars(text("SELECT xmin::text FROM reflections")))
            assert len(xmins) == 1, "every row was written by the same transaction"
            after = list(await session.scalars(text("SELECT id FROM reflections ORDER BY ctid")))
            # 24! orders: the chance that the shuffle gives back the submission order is nil.
            assert after != written
