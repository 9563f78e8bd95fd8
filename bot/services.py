"""What the bot needs from outside, built in one place.

``brewhost run``, the rehearsal stage (demo, integration tests, benchmarks) and the shell's unit
tests all wire the bot the same way through :func:`build_services`, so a new dependency is added
once and every way of running the bot gets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.core.content import Content, load_content
from bot.shell.compaction import Compaction


@dataclass
class Services:
    """What the cogs need, built once and shared."""

    config: Config
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    content: Content
    #: Where each brew's random seed comes from (fixed in tests, so groups are exact).
    seed: Callable[[], int] = field(default=lambda: secrets.randbits(31))
    #: Compaction owed after deleting private data, retried until it succeeds.
    compaction: Compaction = field(default_factory=Compaction)
    #: Held around a write transaction that many rooms may start at the same moment (rooms'
    #: changes and the records of their posts). SQLite takes one writer at a time and its busy
    #: handler is not first come, first served (it sleeps up to 100 ms between tries), so they
    #: queue here, in asyncio, in order. Take a connection first, then this lock, everywhere:
    #: the other order can leave a lock holder waiting for a connection that a task waiting
    #: for the lock holds. PostgreSQL takes many writers at once: a lock would only keep
    #: waiting tasks' pooled connections idle and run the pool dry.
    writing: contextlib.AbstractAsyncContextManager[object] = field(init=False)

    def __post_init__(self) -> None:
        self.writing = (
            asyncio.Lock()
            if self.config.database.url.startswith("sqlite")
            else contextlib.nullcontext()
        )


def build_services(
    config: Config,
    sessions: async_sessionmaker[AsyncSession],
    *,
    clock: Clock | None = None,
    content: Content | None = None,
    seed: int | None = None,
) -> Services:
    """The bot's services for ``config``.

    By default the clock is the real one at ``[timing] speed`` and the wording is the shipped
    content with ``[content] path`` merged over it. A fixed ``seed`` makes every brew's grouping
    the same from run to run (the demo and the tests); without one each brew draws its own.
    """
    services = Services(
        config=config,
        sessions=sessions,
        clock=clock if clock is not None else SystemClock(config.timing.speed),
        content=content if content is not None else load_content(config.content.path),
    )
    if seed is not None:
        fixed = seed
        services.seed = lambda: fixed
    return services


__all__ = ["Services", "build_services"]
