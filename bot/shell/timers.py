"""Timers and background tasks: the only module that uses APScheduler.

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
* :class:`Deadlines` is for the rooms' deadlines: one per room, fired straight from the event
  loop's own timer, and every room due at the same instant in **one** call, so rooms moved on
  together stay together (:mod:`bot.shell.batch`) without a scheduler pass and two task hops
  per room in between. Its caller hands failures to :meth:`Timers.at` with a :class:`Retry`.
* A timer set with a :class:`Retry` is never lost to a failure: a one-shot timer has already
  fired when its work fails (a database write at a deadline, say), so nothing else would run it
  again. Its exception is logged once, the work is tried again after 1, 2, 5, 10, then every
  30 seconds (:class:`Backoff`), and once it has been failing for a bounded wall time (two
  minutes; brew speed plays no part) ``on_stuck`` is told, once, while the retries go on;
  ``on_healed`` is told when it works again after that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

CoroFactory = Callable[[], Coroutine[Any, Any, None]]


def _instant(when: datetime | float) -> datetime:
    return when if isinstance(when, datetime) else datetime.fromtimestamp(when, UTC)


@dataclass(frozen=True)
class Backoff:
    """How long to wait before each retry (wall seconds, the last repeats), and after how long
    failing work is reported as stuck. Brew speed plays no part: a database that is down for a
    minute is down for a minute whatever the rehearsal speed."""

    delays: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0)
    alert_after: float = 120.0

    def delay(self, attempt: int) -> float:
        """The wait after the ``attempt``-th failure (1-based)."""
        return self.delays[min(max(attempt, 1), len(self.delays)) - 1]


#: Told once when work has been failing for ``alert_after``: ``(last error, seconds failing)``.
StuckHandler = Callable[[BaseException, float], Awaitable[None]]
#: Told when work that was reported stuck works again: ``(seconds it was failing)``.
HealedHandler = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Retry:
    """A timer's work is retried with backoff when it fails (see the module doc)."""

    on_stuck: StuckHandler | None = None
    on_healed: HealedHandler | None = None


@dataclass
class _Failing:
    """A key whose work is failing: since when, how often, and whether anyone was told."""

    since: float
    attempts: int = 0
    alerted: bool = False
    errors: list[str] = field(default_factory=list)


class Deadlines:
    """One deadline per key (a room); the keys due at the same instant fire together as
    ``fire(keys)``, run as one supervised task (see the module doc). In memory only."""

    def __init__(
        self,
        fire: Callable[[list[int]], Coroutine[Any, Any, None]],
        spawn: Callable[[Coroutine[Any, Any, None], str], object],
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._fire = fire
        self._spawn = spawn
        self._wall = wall
        self._when: dict[int, float] = {}
        self._due: dict[float, set[int]] = {}
        self._handles: dict[float, asyncio.TimerHandle] = {}
        self._running = False

    def start(self) -> None:
        """Start firing (deadlines set before this wait until now, as with :class:`Timers`)."""
        self._running = True
        for when in self._due:
            self._arm(when)

    def set(self, key: int, when: float) -> None:
        """Fire ``key`` at ``when`` (a Unix timestamp), replacing its deadline, if any."""
        if self._when.get(key) == when:
            return
        self.cancel(key)
        self._when[key] = when
        keys = self._due.get(when)
        if keys is None:
            keys = self._due[when] = set()
            self._arm(when)
        keys.add(key)

    def _arm(self, when: float) -> None:
        if self._running and when not in self._handles:
            loop = asyncio.get_running_loop()
            delay = max(0.0, when - self._wall())
            self._handles[when] = loop.call_at(loop.time() + delay, self._go, when)

    def cancel(self, key: int) -> None:
        when = self._when.pop(key, None)
        if when is None:
            return
        keys = self._due.get(when)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._due[when]
                handle = self._handles.pop(when, None)
                if handle is not None:
                    handle.cancel()

    def when(self, key: int) -> float | None:
        return self._when.get(key)

    def stop(self) -> None:
        self._running = False
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
        self._due.clear()
        self._when.clear()

    def _go(self, when: float) -> None:
        self._handles.pop(when, None)
        early = when - self._wall()
        if early > 0 and self._running and when in self._due:
            # uvloop's clock counts whole milliseconds and rounds a delay to the nearest one, so
            # its timers can fire up to ~1.5 ms before the instant. A room woken early would
            # find nothing due and write its unchanged state for nothing: wait out the rest.
            self._handles[when] = asyncio.get_running_loop().call_later(
                max(early, 0.001), self._go, when
            )
            return
        keys = sorted(self._due.pop(when, ()))
        for key in keys:
            del self._when[key]
        if keys:
            self._spawn(self._fire(keys), f"deadline of {len(keys)} rooms")


class Timers:
    """Keyed timers and supervised tasks for one bot process."""

    def __init__(
        self, backoff: Backoff | None = None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            # A deadline missed while the process was busy or down is still applied, once.
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._tasks: set[asyncio.Task[None]] = set()
        #: Retry delays and the stuck alert's bound; tests shorten them.
        self.backoff = backoff or Backoff()
        self._monotonic = monotonic
        self._failing: dict[str, _Failing] = {}

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
    def at(
        self,
        key: str,
        when: datetime | float,
        coro_factory: CoroFactory,
        *,
        retry: Retry | None = None,
    ) -> None:
        """Run ``coro_factory()`` once at ``when`` (a datetime or a Unix timestamp), replacing
        any timer with this key. With ``retry``, a failure is retried with backoff until the
        work succeeds (see the module doc)."""

        async def fire() -> None:
            if retry is None:
                self.spawn(coro_factory(), name=key)
            else:
                self.spawn(self._attempt(key, coro_factory, retry), name=key)

        self._scheduler.add_job(
            fire, DateTrigger(run_date=_instant(when), timezone=UTC), id=key, replace_existing=True
        )

    def failing(self, key: str) -> bool:
        """Whether the work of ``key`` failed last time and is waiting to be tried again."""
        return key in self._failing

    async def _attempt(self, key: str, coro_factory: CoroFactory, retry: Retry) -> None:
        """Run the work of ``key``; on failure, log (once per failing spell), tell ``on_stuck``
        once it has failed for long enough, and try again later under ``retry:<key>``."""
        try:
            await coro_factory()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failing = self._failing.get(key)
            if failing is None:
                failing = self._failing[key] = _Failing(since=self._monotonic())
                log.exception("%s failed; it will be tried again until it works", key)
            failing.attempts += 1
            elapsed = self._monotonic() - failing.since
            if not failing.alerted and elapsed >= self.backoff.alert_after:
                failing.alerted = True
                log.error("%s has been failing for %.0f seconds: %s", key, elapsed, exc)
                if retry.on_stuck is not None:
                    await self._quietly(retry.on_stuck(exc, elapsed), key)
            delay = self.backoff.delay(failing.attempts)
            self._scheduler.add_job(
                self._retry_job(key, coro_factory, retry),
                DateTrigger(run_date=datetime.now(UTC) + timedelta(seconds=delay), timezone=UTC),
                id=f"retry:{key}",
                replace_existing=True,
            )
            return
        failing = self._failing.pop(key, None)
        if failing is not None:
            elapsed = self._monotonic() - failing.since
            log.info("%s works again after %d failed attempts", key, failing.attempts)
            if failing.alerted and retry.on_healed is not None:
                await self._quietly(retry.on_healed(elapsed), key)

    def _retry_job(
        self, key: str, coro_factory: CoroFactory, retry: Retry
    ) -> Callable[[], Coroutine[Any, Any, None]]:
        async def fire() -> None:
            self.spawn(self._attempt(key, coro_factory, retry), name=f"retry:{key}")

        return fire

    @staticmethod
    async def _quietly(awaitable: Awaitable[None], key: str) -> None:
        """Telling someone about a failure must not itself stop the retries."""
        try:
            await awaitable
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not report the state of %s", key)

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
            # The work is a task of ours, awaited here so that APScheduler never starts a second
            # run while one is going. When the scheduler shuts down it cancels this job; the
            # work itself is then left to :meth:`stop` (finished, or cancelled after the grace),
            # and the job ends quietly instead of APScheduler logging the cancellation as a
            # failure with a traceback at every ordinary stop.
            work = self.spawn(coro_factory(), name=key)
            try:
                await asyncio.shield(work)
            except asyncio.CancelledError:
                if not work.done():
                    return
                raise

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
        """Forget the timer with this key (and its pending retry), if there is one."""
        for job_id in (key, f"retry:{key}"):
            if self._scheduler.get_job(job_id) is not None:
                self._scheduler.remove_job(job_id)

    def forget(self, key: str) -> None:
        """Drop what is remembered of failures of ``key`` (its work is over for good)."""
        self.cancel(key)
        self._failing.pop(key, None)

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
