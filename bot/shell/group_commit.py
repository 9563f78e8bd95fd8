"""Group commit: many small writes that arrive together, committed as one transaction.

When 160 rooms post their prompts at the same moment, each post must then be recorded (its
outbox row deleted, the room's latest message noted). As 160 transactions, on SQLite, which lets
one writer in at a time, they queue for the write lock, and each waiting connection sleeps in
SQLite's busy handler (1, 2, 5, 10... ms) before trying again: the records of one deadline took
seconds, and the rooms' outbox locks were held all that time, so the next deadline found them
busy. Here writes submitted while another group is being written, or in the same few turns of
the event loop, are written together, one transaction after another, never two at once.

Each caller still waits for its own write to be committed (and gets its failure, if the group's
transaction fails), so "deleted only after Discord has answered" and "recorded before the room
moves on" hold exactly as with one transaction per write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: Turns of the event loop a group stays open for writes arriving at the same moment.
SETTLE_TURNS = 2


class GroupCommit(Generic[T]):
    """Writes ``T`` through ``write(items)``, many at a time (see the module doc)."""

    def __init__(
        self,
        write: Callable[[list[T]], Awaitable[None]],
        spawn: Callable[[Coroutine[Any, Any, None]], object],
    ) -> None:
        self._write = write
        self._spawn = spawn
        self._waiting: list[tuple[T, asyncio.Future[None]]] = []
        self._writing = False

    async def submit(self, item: T) -> None:
        """Write ``item`` with whatever else is waiting; returns once it is committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if not self._writing:
            self._writing = True
            self._spawn(self._drain())
        await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                for _ in range(SETTLE_TURNS):
                    await asyncio.sleep(0)
                group, self._waiting = self._waiting, []
                try:
                    await self._write([item for item, _ in group])
                except BaseException as exc:
                    for _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for _, future in group:
                    if not future.done():
                        future.set_result(None)
        finally:
            self._writing = False
            for _, future in self._waiting:  # only when cancelled: nobody will write these
                if not future.done():
                    future.cancel()
            self._waiting = []
