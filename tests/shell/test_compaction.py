"""Compaction after deleting private data: a busy database is retried until nothing is left.

The promise (docs/privacy.md): when the reflection window closes, the key and the receipts are
destroyed, and no copy is left in the database's files. A reader holding an old snapshot (an
organiser's export, a backup) keeps SQLite's write-ahead log from being emptied; that must be
noticed, logged and retried, not silently skipped.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.db.models import Brew, ReflectionReceipt
from bot.shell.compaction import Compaction
from bot.shell.reflections import close_reflection_windows, save_reflection
from tests.builders import ANSWERS, GUILD, NOW, USERS, Db, add_brew, db_fixture  # noqa: F401


def _files(db: Db) -> list[bytes]:
    return [p.read_bytes() for p in db.path.parent.glob(db.path.name + "*")]


async def test_the_destroyed_key_and_receipts_leave_no_copy_even_with_a_reader_in_the_way(
    db: Db, caplog: pytest.LogCaptureFixture
) -> None:
    db.services.compaction = Compaction(delays=(0.05,))
    brew_id = await add_brew(db.sessions, ended_at=NOW - timedelta(days=8), window_days=7)
    for user in USERS:
        await save_reflection(
            db.services, guild_id=GUILD, brew_id=brew_id, user_id=user, raw=ANSWERS,
            consent_text="", now=NOW - timedelta(days=7, hours=23),
        )  # fmt: skip
    async with db.sessions() as session:
        secret = (await session.get(Brew, brew_id)).reflection_secret  # type: ignore[union-attr]
        receipts = list(await session.scalars(select(ReflectionReceipt.receipt)))
    assert secret and len(receipts) == 3
    assert any(secret in blob for blob in _files(db))  # not vacuous

    # A reader holds a snapshot from before the sweep (as an export in progress would).
    reader = sqlite3.connect(db.path, timeout=0.1)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM reflection_receipts").fetchone()
    caplog.set_level(logging.INFO)
    try:
        assert await close_reflection_windows(db.services, NOW) == 1
        assert db.services.compaction.owed
        assert any("will try again" in r.getMessage() for r in caplog.records)
        await asyncio.sleep(0.3)  # retries keep failing while the reader is there
        assert db.services.compaction.owed
    finally:
        reader.rollback()
        reader.close()

    for _ in range(100):  # the retry notices the reader has gone
        if not db.services.compaction.owed:
            break
        await asyncio.sleep(0.05)
    assert not db.services.compaction.owed
    for blob in _files(db):
        assert secret not in blob
        for value in receipts:
            assert value.encode() not in blob


async def test_a_later_sweep_with_nothing_to_close_still_compacts_when_compaction_is_owed(
    db: Db,
) -> None:
    """The hourly sweep used to return early when no window closed, so a compaction that had
    failed was never tried again."""
    assert db.services.compaction.owed  # owed at start: a restart may have cut one short
    assert await close_reflection_windows(db.services, NOW) == 0
    assert not db.services.compaction.owed
