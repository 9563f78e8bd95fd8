"""Compaction after deleting private data, retried until it succeeds.

Deleting a reflection key, receipts or people's ids only keeps the privacy notice's promise once
no copy is left in the database's files (:func:`bot.db.privacy.compact`). Compaction can be kept
waiting by another connection (an organiser's export reading the SQLite file, a backup): then
the write-ahead log still holds the deleted values. So a failed attempt is logged and retried
with growing pauses until it succeeds, even if no further deletion asks for it, and the first
sweep after a start compacts in any case (the bot may have stopped between deleting and
compacting).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import privacy

log = logging.getLogger(__name__)

#: Seconds between attempts; the last pause repeats until compaction succeeds.
RETRY_DELAYS: tuple[float, ...] = (5.0, 15.0, 60.0, 300.0)


class Compaction:
    """Whether compaction is owed, and the one task that retries it."""

    def __init__(self, delays: Sequence[float] = RETRY_DELAYS) -> None:
        self.delays = tuple(delays) or RETRY_DELAYS
        #: Owed at start: the process may have stopped between a deletion and its compaction.
        self.owed = True
        self._retry: asyncio.Task[None] | None = None

    async def run(self, engine: AsyncEngine | None) -> bool:
        """Compact now; if something is in the way, keep trying in the background."""
        self.owed = True
        if await privacy.compact(engine):
            self.owed = False
            return True
        if self._retry is None or self._retry.done():
            self._retry = asyncio.create_task(self._keep_trying(engine))
        return False

    async def _keep_trying(self, engine: AsyncEngine | None) -> None:
        for attempt, delay in enumerate(
            itertools.chain(self.delays, itertools.repeat(self.delays[-1])), start=2
        ):
            await asyncio.sleep(delay)
            if await privacy.compact(engine):
                self.owed = False
                log.info("compaction: done at attempt %d", attempt)
                return

    def cancel(self) -> None:
        """At shutdown: stop retrying (the next start compacts first thing)."""
        if self._retry is not None and not self._retry.done():
            self._retry.cancel()
