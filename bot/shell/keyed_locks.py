"""One asyncio lock per key, kept only while someone holds it or waits for it.

A plain ``defaultdict(asyncio.Lock)`` keeps a lock for every key it has ever seen: a bot that
runs a weekly series for years would keep one for every occurrence. Here the lock goes when its
last holder or waiter leaves, and the next caller for that key makes a new one, which is safe
because nobody can be holding or waiting on the old one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class KeyedLocks(Generic[K]):
    """``async with locks.hold(key):`` serialises work per key."""

    def __init__(self) -> None:
        self._locks: dict[K, asyncio.Lock] = {}
        self._users: dict[K, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: K) -> AsyncIterator[None]:
        self._users[key] = self._users.get(key, 0) + 1
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            users = self._users[key] - 1
            if users:
                self._users[key] = users
            else:
                del self._users[key]
                del self._locks[key]

    def __len__(self) -> int:
        """How many keys have a lock now (held or waited for)."""
        return len(self._locks)
