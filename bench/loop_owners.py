"""Whose work the event loop ran: the bot's, or the simulator's (Discord's side).

In the benchmarks the simulator shares the bot's process and event loop, so every interaction's
latency includes work that Discord would do on its own servers: building the INTERACTION_CREATE
payload, compressing and writing the gateway frame, accepting the bot's HTTP connection and
handling its callback request. :class:`LoopAccount` times every callback the loop runs
(``asyncio.Handle._run``) and charges it to an owner:

* ``bot``: tasks whose outermost coroutine is in discord.py, ``bot/``, ``cogs/``, APScheduler,
  SQLAlchemy or aiosqlite, and socket callbacks of aiohttp's *client* protocol (the bot's REST
  calls and its gateway websocket);
* ``sim``: tasks of ``discordsim`` and of aiohttp's *server* (the simulator's REST and gateway
  endpoints), socket callbacks of the server protocol, accepting connections, and the bench's own
  driving of the simulator (the simulated people pressing buttons);
* ``gc``: the garbage collector's pauses (measured with ``gc.callbacks``, taken out of whichever
  callback they interrupted); of them, ``gc2`` is the full (oldest-generation) passes' share and
  :attr:`LoopAccount.full_passes` counts those passes;
* ``other``: the rest (named in :attr:`LoopAccount.unknown` so the rules can be checked).

It is a measuring instrument for the benchmarks only: it patches ``asyncio.events.Handle._run``
while installed, and costs about a microsecond per callback.

On uvloop the loop's callbacks are uvloop's own C handles, which cannot be patched: there only
the garbage collector's share is measured (``split`` is False and ``bot``/``sim`` read NaN).
Run the bench with ``--loop asyncio`` in the same session for the split.
"""

from __future__ import annotations

import asyncio
import gc
import math
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

BOT_PATHS = (
    "/discord/",
    "/bot/",
    "/cogs/",
    "/apscheduler/",
    "/sqlalchemy/",
    "/aiosqlite/",
    "/aiohttp/client",
)
SIM_PATHS = ("/discordsim/", "/bench/", "/aiohttp/web")


def _task_of(callback: Any) -> asyncio.Task[Any] | None:
    """The task a loop callback steps or wakes, if it is one (C tasks hide it in a wrapper)."""
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        return owner
    for ref in gc.get_referents(callback):
        if isinstance(ref, asyncio.Task):
            return ref
    return None


def _owner_of_path(path: str) -> str | None:
    if path.endswith("selector_events.py"):
        return "sim"  # a task accepting a connection: only the simulator listens
    if any(p in path for p in SIM_PATHS):
        return "sim"
    if any(p in path for p in BOT_PATHS):
        return "bot"
    return None


def _owner_of_task(task: asyncio.Task[Any]) -> str | None:
    coro = task.get_coro()
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    return _owner_of_path(code.co_filename) if code is not None else None


def _owner_of_protocol(protocol: Any) -> str | None:
    module = type(protocol).__module__
    if module.startswith("aiohttp.web") or module.startswith("discordsim"):
        return "sim"
    if module.startswith("aiohttp.client") or module.startswith("aiohttp"):
        return "bot"  # the client's ResponseHandler: the bot's REST calls and websocket
    return None


def classify(callback: Any) -> str:
    """``bot``, ``sim`` or ``other`` for one loop callback."""
    task = _task_of(callback)
    if task is not None:
        return _owner_of_task(task) or "other"
    owner = getattr(callback, "__self__", None)
    protocol = getattr(owner, "_protocol", None)
    if protocol is not None:
        return _owner_of_protocol(protocol) or "other"
    name = getattr(callback, "__qualname__", "")
    if "_accept_connection" in name:
        return "sim"  # only the simulator listens
    func = getattr(callback, "__func__", callback)
    code = getattr(func, "__code__", None)
    if code is not None:
        return _owner_of_path(code.co_filename) or "other"
    return "other"


def _describe(callback: Any) -> str:
    task = _task_of(callback)
    if task is not None:
        coro = task.get_coro()
        code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
        return f"task {code.co_filename if code else coro!r}:{getattr(code, 'co_name', '')}"
    return repr(callback)[:80]


class LoopAccount:
    """Loop time by owner between :meth:`install` and :meth:`uninstall` (seconds)."""

    def __init__(self) -> None:
        self.busy: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.unknown: Counter[str] = Counter()  # seconds by callback
        self.full_passes = 0
        self._gc_start = 0.0
        self._gc_in_handle = 0.0
        self._original: Callable[[asyncio.Handle], None] | None = None
        #: Whether the loop's time is split by owner (asyncio's loop), or only GC (uvloop).
        self.split = True

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            spent = time.perf_counter() - self._gc_start
            self.busy["gc"] += spent
            self._gc_in_handle += spent
            if info.get("generation") == 2:
                self.busy["gc2"] += spent
                self.full_passes += 1

    def install(self) -> None:
        gc.callbacks.append(self._on_gc)
        loop = asyncio.get_running_loop()
        self.split = isinstance(loop, asyncio.BaseEventLoop)
        if not self.split:
            return
        original = asyncio.events.Handle._run
        self._original = original
        account = self

        def _run(handle: asyncio.Handle) -> None:
            account._gc_in_handle = 0.0
            start = time.perf_counter()
            try:
                original(handle)
            finally:
                spent = time.perf_counter() - start - account._gc_in_handle
                owner = classify(handle._callback)  # type: ignore[attr-defined]
                account.busy[owner] += spent
                account.calls[owner] += 1
                if owner == "other":
                    account.unknown[_describe(handle._callback)] += spent  # type: ignore[attr-defined]

        asyncio.events.Handle._run = _run  # type: ignore[method-assign]

    def uninstall(self) -> None:
        if self._original is not None:
            asyncio.events.Handle._run = self._original  # type: ignore[method-assign]
            self._original = None
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def ms(self, owner: str) -> float:
        if not self.split and owner not in ("gc", "gc2"):
            return math.nan
        return self.busy[owner] * 1000
