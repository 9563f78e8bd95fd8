"""When the garbage collector's full passes run: between bursts of presses, never in one.

Why. CPython (3.11) collects cycles in three generations. A young pass (generation 0) runs every
``threshold0`` net new container objects and walks only those; a middle pass (generation 1) every
``threshold1 + 1`` young passes. A *full* pass walks every tracked object in the process. Without
a policy, right after start-up that is about 150,000-220,000 objects (the modules, classes and
functions of discord.py, SQLAlchemy and aiohttp, plus the bot's caches), and one full pass stalled
the event loop for 90-300 ms. The allocations of 100 presses at once were enough to trigger one,
so in ``bench/bench_interactions.py`` the room buttons' first answers waited for it
(docs/BENCHMARKS.md, issue 12).

CPython's own rule for an automatic full pass (``collect_generations`` in ``gcmodule.c``): after
``threshold2 + 1`` middle passes, *and* only if the objects promoted into the oldest generation
since the last full pass (``long_lived_pending``) exceed a quarter of the objects that survived
that pass (``long_lived_total``). Frozen objects (:func:`gc.freeze`) are in the permanent
generation, which no pass walks, and ``long_lived_total`` counts only the unfrozen survivors of
the last full pass. That explains the earlier experiment of freezing alone at ready: the first
full pass after it waited on the stale ``long_lived_total`` from before the freeze, and from then
on the total was small, so with the default ``threshold2`` of 10 every eleventh middle pass was a
full one. Full passes became cheaper but more frequent, and one landed in the 200-interaction
wave instead of the room-button wave. Freezing moves the pause; it does not choose when it runs.

The policy, in four parts:

1. **Freeze start-up once.** When the bot is set up (extensions loaded, imports done, before it
   connects) one full pass frees start-up garbage, then :func:`gc.freeze` moves everything alive
   into the permanent generation: modules, classes and functions that live as long as the
   process, which no pass need walk again. Objects made afterwards (rooms, messages, the
   gateway's caches) stay collectable. Frozen objects are still freed by reference counting;
   only a *cycle* among them would never be, so nothing is frozen later (a room's state frozen
   after recovery, or the guild cache, could become cyclic garbage and stay for good).
2. **No automatic full pass in a burst.** ``threshold2`` is :data:`BACKSTOP_MIDDLE_PASSES`, so
   CPython starts a full pass by itself only after that many middle passes without one: about
   2 million net new objects with the young threshold below, far more than any burst (100
   presses make 1-2 middle passes). It is a backstop in case the maintenance below cannot run;
   with the maintenance running it is never reached.
3. **A full pass when the bot is quiet.** Every :attr:`GcSettings.check_every` seconds the
   maintenance job asks :meth:`GcPolicy.due`: a full pass runs when something was promoted into
   the oldest generation since the last one, nobody has pressed anything for
   :attr:`GcSettings.quiet_seconds`, and the last full pass is at least
   :attr:`GcSettings.min_interval` old. After the freeze a pass walks only the objects made since
   start-up (tens of milliseconds, not hundreds).
4. **Bounded even if never quiet.** Whatever the traffic, a full pass runs at least every
   :attr:`GcSettings.max_interval` seconds once something was promoted, so cyclic garbage never
   outlives that interval by much and memory cannot grow without bound.

The young threshold is 2,000 (CPython's default is 700; 3.13 raised it to 2,000): fewer young
passes in a burst, and fewer short-lived objects (a press in flight) promoted towards the oldest
generation only to die there. The middle threshold stays at CPython's 10.

"Activity" is an interaction (a press, a form, a command): what a full pass must not delay.
Timer work (prompts of many rooms at once) does not count, so a quiet pass may land among them;
it is the same tens of milliseconds, once per ``min_interval`` at most.

:class:`GcPolicy` is the decision alone (a clock is passed in, so it is tested without waiting);
:func:`attach` and :func:`detach` apply it to the process, for one or more bots (the process's
collector is shared: the first bot sets it up, the last one puts the defaults back).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot import heap

log = logging.getLogger(__name__)

#: CPython starts a full pass by itself only after this many middle passes without one.
BACKSTOP_MIDDLE_PASSES = 100
#: The job's key in :class:`bot.shell.timers.Timers`.
JOB_KEY = "gc-maintenance"


@dataclass(frozen=True)
class GcSettings:
    """The policy's numbers (see the module doc for why)."""

    young_threshold: int = 2_000
    middle_threshold: int = 10
    backstop: int = BACKSTOP_MIDDLE_PASSES
    #: How often the maintenance job looks (seconds).
    check_every: float = 1.0
    #: No interaction for this long counts as quiet.
    quiet_seconds: float = 3.0
    #: Quiet full passes at most this often.
    min_interval: float = 30.0
    #: A full pass at least this often, quiet or not, once anything was promoted.
    max_interval: float = 300.0

    @property
    def thresholds(self) -> tuple[int, int, int]:
        return (self.young_threshold, self.middle_threshold, self.backstop)


class GcPolicy:
    """Decides when the maintenance full pass runs; knows nothing of :mod:`gc` itself."""

    def __init__(self, settings: GcSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        now = clock()
        self.last_activity = now
        self.last_full = now

    def activity(self) -> None:
        """Someone pressed something: not a moment for a full pass."""
        self.last_activity = self._clock()

    def due(self, promoted: int) -> str | None:
        """Why a full pass should run now, or None. ``promoted`` is the number of middle passes
        since the last full one (``gc.get_count()[2]``): 0 means nothing reached the oldest
        generation, so a full pass would find nothing new."""
        if promoted <= 0:
            return None
        now = self._clock()
        since_full = now - self.last_full
        if since_full >= self.settings.max_interval:
            return "overdue"
        quiet = now - self.last_activity >= self.settings.quiet_seconds
        if quiet and since_full >= self.settings.min_interval:
            return "quiet"
        return None

    def collected(self) -> None:
        """A full pass has just run (ours or any other)."""
        self.last_full = self._clock()


class _Bot(Protocol):
    """What :func:`attach` needs of the bot: its timers and discord.py's listeners."""

    timers: Any

    def add_listener(self, func: Callable[..., Any], name: str = ...) -> None: ...

    def remove_listener(self, func: Callable[..., Any], name: str = ...) -> None: ...


class _Process:
    """The process's one collector set-up, shared by every attached bot."""

    def __init__(self) -> None:
        self.bots: list[_Bot] = []
        self.policy: GcPolicy | None = None
        self.saved_thresholds: tuple[int, int, int] | None = None

    def start(self, settings: GcSettings) -> GcPolicy:
        policy = GcPolicy(settings)
        self.policy = policy
        self.saved_thresholds = gc.get_threshold()
        started = time.perf_counter()
        freed = gc.collect()
        gc.freeze()
        gc.set_threshold(*settings.thresholds)
        gc.callbacks.append(self._on_gc)
        policy.collected()
        log.info(
            "froze %d start-up objects out of full collections (%d freed first, %.0f ms)",
            gc.get_freeze_count(),
            freed,
            (time.perf_counter() - started) * 1000,
        )
        return policy

    def stop(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self.saved_thresholds is not None:
            gc.set_threshold(*self.saved_thresholds)
        gc.unfreeze()  # back into the oldest generation: collectable again
        self.policy = None
        self.saved_thresholds = None

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        # A full pass by anyone (the backstop, a library's gc.collect()) resets the interval.
        if phase == "stop" and info.get("generation") == 2 and self.policy is not None:
            self.policy.collected()

    async def maintain(self) -> None:
        policy = self.policy
        if policy is None:
            return
        reason = policy.due(gc.get_count()[2])
        if reason is None:
            return
        started = time.perf_counter()
        freed = gc.collect()  # the callback above records it in the policy
        # What the pass freed, and what the brews before it freed, goes back to the system
        # as whole pages (bot.heap): the resident size follows what is in use, not the peak.
        trimmed = heap.trim()
        log.debug(
            "full collection (%s): %d freed, heap trimmed: %s, %.1f ms",
            reason,
            freed,
            trimmed,
            (time.perf_counter() - started) * 1000,
        )

    async def interaction(self, _interaction: object) -> None:
        if self.policy is not None:
            self.policy.activity()


_process = _Process()


def attach(bot: _Bot, settings: GcSettings | None = None) -> GcPolicy:
    """Apply the policy for ``bot`` (the first bot in the process sets the collector up)."""
    if not _process.bots or _process.policy is None:
        _process.start(settings or GcSettings())
    policy = _process.policy
    assert policy is not None
    _process.bots.append(bot)
    bot.add_listener(_process.interaction, "on_interaction")
    bot.timers.every(JOB_KEY, policy.settings.check_every, _process.maintain)
    return policy


def detach(bot: _Bot) -> None:
    """``bot`` is closing; the last one out puts the collector back as it found it."""
    if bot not in _process.bots:
        return
    _process.bots.remove(bot)
    bot.remove_listener(_process.interaction, "on_interaction")
    bot.timers.cancel(JOB_KEY)
    if not _process.bots:
        _process.stop()
