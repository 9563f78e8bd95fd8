"""Requests paced for discord.py's rate-limit queue, and known done as soon as Discord says so.

Opening a big brew sends many requests on two server-wide buckets: channel creates (5 per 5 s)
and member moves (10 per 10 s). discord.py 2.7 handles a crowd of requests waiting on one bucket
badly: every waiter that outlives the window tries to reset it, each sleeping a window of its
own, and the resets can let more through than the window has left (429s, retried a window
later). A :class:`Lane` keeps only a few requests of one kind in discord.py's hands at once, so
the bucket is used back to back, a window after a window, and a request is decided (which
person to move, or whether to move them at all) only when it can go out.

discord.py also holds back the answer to the request that used a window's last token until the
window resets (``Ratelimit.__aexit__`` sleeps it out), although Discord answered at once. The
lane keeps its slot until that answer comes (nothing else could go out earlier anyway), but the
caller need not wait for it: :func:`answered_or_seen` returns as soon as the gateway announces
the result (the new channel, the member in their room), which Discord sends when it happens.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import discord

log = logging.getLogger(__name__)

T = TypeVar("T")


class Lane:
    """At most ``width`` requests of one kind in flight; a slot is taken before the request is
    decided and given back only when discord.py answers it (see the module doc)."""

    def __init__(self, width: int) -> None:
        self._slots = asyncio.Semaphore(width)
        #: Requests whose callers have moved on (their result came from the gateway): kept
        #: referenced until discord.py answers them, and their errors logged.
        self._unclaimed: set[asyncio.Future[Any]] = set()

    async def take(self) -> None:
        """Wait for a free slot (first come, first served)."""
        await self._slots.acquire()

    def give_back(self) -> None:
        """The slot taken was not used after all."""
        self._slots.release()

    def send(self, request: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        """Send ``request`` in the slot taken; the slot is freed when discord.py answers."""
        task = asyncio.ensure_future(request)
        task.add_done_callback(lambda _: self._slots.release())
        return task

    def let_run(self, task: asyncio.Future[Any], what: str) -> None:
        """The caller no longer waits for ``task``: keep it until it ends and log a failure."""
        if task.done():
            _log_failure(task, what)
            return
        self._unclaimed.add(task)

        def ended(done: asyncio.Future[Any]) -> None:
            self._unclaimed.discard(done)
            _log_failure(done, what)

        task.add_done_callback(ended)


def _log_failure(task: asyncio.Future[Any], what: str) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.info("%s failed after the gateway had announced it: %s", what, exc)


def announced(
    client: discord.Client | None, event: str, check: Callable[..., bool]
) -> asyncio.Future[Any] | None:
    """A future for the gateway event ``event`` matching ``check``, registered now (before the
    request is sent, so it cannot be missed); ``None`` without a client."""
    if client is None:
        return None
    return asyncio.ensure_future(client.wait_for(event, check=check))


async def answered_or_seen(
    task: asyncio.Future[T], seen: asyncio.Future[Any] | None, lane: Lane, what: str
) -> T | Any:
    """The request's result as soon as either discord.py answers it or the gateway announces
    it (then the event's object, and the request is left to finish on its own). A failed
    request raises its error, unless the gateway announced success first."""
    if seen is None:
        return await task
    try:
        await asyncio.wait({task, seen}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done() and not seen.cancelled() and seen.exception() is None:
            lane.let_run(task, what)
            return seen.result()
        return await task
    finally:
        if not seen.done():
            seen.cancel()  # discord.py drops a cancelled listener at its next event
        elif not seen.cancelled():
            seen.exception()  # retrieved, so asyncio does not warn about it
