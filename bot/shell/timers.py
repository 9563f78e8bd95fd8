"""Timers and background tasks: the only module that knows APScheduler.

Every timer has a key (``"room-12"``, ``"flush-12"``, ``"reflections-window-sweep"``); setting a
key again replaces its timer, so a room has at most one pending deadline. Timers live in memory
only: the database is the truth and the runner rebuilds them from it at start-up (APScheduler's
own pickled job store is never used).

* :meth:`Timers.at` runs a coroutine once at an instant. A timer missed while the process was
  busy or asleep still fires, once (``misfire_grace_time=None, coalesce=True``). The coroutine
  runs as its own supervised task, so it may set its own key again (APScheduler refuses to
  replace a job that is still running).
* :meth:`Timers.every` runs a coroutine on an interval, never two at once.
* :meth:`Timers.spawn` starts a supervised task: an exception is logged once, with what the task
  was doing, and never surfaces as "Task exception was never retrieved"; :meth:`Timers.stop`
  lets tasks in flight finish briefly, then cancels the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

CoroFactory = Callable[[], Coroutine[Any, Any, None]]


def _instant(when: datetime | float) -> datetime:
    return when if isinstance(when, datetime) else datetime.fromtimestamp(when, UTC)


class Timers:
    """Keyed timers and supervised tasks for one bot process."""

    def __init__(self) -> None:
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            # A deadline missed while the process was busy or down is still applied, once.
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start firing timers (timers set before this wait until now)."""
        if not self._scheduler.running:
            self._scheduler.start()

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop the timers, let tasks in flight finish (briefly), then cancel what is left."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    # ------------------------------------------------------------------ timers
    def at(self, key: str, when: datetime | float, coro_factory: CoroFactory) -> None:
        """Run ``coro_factory()`` once at ``when`` (a datetime or a Unix timestamp), replacing
        any timer with this key."""

        async def fire() -> None:
            self.spawn(coro_factory(), name=key)

        self._scheduler.add_job(
            fire, DateTrigger(run_date=_instant(when)), id=key, replace_existing=True
        )

    def every(
        self,
        key: str,
        seconds: float,
        coro_factory: CoroFactory,
        *,
        first_at: datetime | None = None,
    ) -> None:
        """Run ``coro_factory()`` every ``seconds`` (first at ``first_at`` if given), never two
        runs at once, replacing any timer with this key."""

        async def run() -> None:
            await self._supervised(coro_factory(), key)

        # APScheduler reads an explicit ``next_run_time=None`` as "paused", so it is only
        # passed when there is a first time to give.
        first: dict[str, datetime] = {"next_run_time": first_at} if first_at else {}
        self._scheduler.add_job(
            run,
            IntervalTrigger(seconds=seconds, timezone=UTC),
            id=key,
            replace_existing=True,
            **first,
        )

    def cancel(self, key: str) -> None:
        """Forget the timer with this key, if there is one."""
        if self._scheduler.get_job(key) is not None:
            self._scheduler.remove_job(key)

    def is_set(self, key: str) -> bool:
        return self._scheduler.get_job(key) is not None

    def interval(self, key: str) -> timedelta | None:
        """How often the repeating timer ``key`` runs (None if there is no such timer)."""
        job = self._scheduler.get_job(key)
        trigger = job.trigger if job is not None else None
        return trigger.interval if isinstance(trigger, IntervalTrigger) else None

    # ------------------------------------------------------------------ tasks
    def spawn(self, coro: Coroutine[Any, Any, None], *, name: str = "") -> asyncio.Task[None]:
        """Run ``coro`` as a task that is awaited at :meth:`stop` and whose failure is logged
        once, naming ``name`` (or the coroutine)."""
        label = name or getattr(coro, "__qualname__", "task")
        task = asyncio.ensure_future(self._supervised(coro, label))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @staticmethod
    async def _supervised(coro: Coroutine[Any, Any, None], label: str) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background work %r failed", label)
