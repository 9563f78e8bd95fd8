"""First answers before follow-up work, across presses: the work a press does after its first
answer (loading the room, saving a reflection) waits while other presses' first answers are
still on their way, for at most :data:`MAX_WAIT` seconds.

Why: each button already answers before its own work (:mod:`bot.shell.room_buttons`), but one
event loop serves every press in turn. When 100 presses arrive at once, the database work after
the first presses' answers used to run in between the later presses' parsing and their answers,
so those answers waited for other people's queries (``bench/bench_interactions.py``; figures in
docs/BENCHMARKS.md, Under load, section 1). Holding that work back until the answers in flight
are out moves the answers forward and the follow-ups (a private "it's not your turn", a saved
reflection's confirmation) back by a few milliseconds. The wait is bounded, so under a steady
stream of presses the follow-ups are late by at most :data:`MAX_WAIT`, never starved.

One gate per event loop (the tests run many loops, one bot each).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["MAX_WAIT", "AnswerGate", "gate"]

T = TypeVar("T")

#: The longest follow-up work waits for other presses' answers (seconds).
MAX_WAIT = 0.25


class AnswerGate:
    """Counts first answers in flight; :meth:`then` waits until there are none (bounded)."""

    def __init__(self, max_wait: float = MAX_WAIT) -> None:
        self.max_wait = max_wait
        self._in_flight = 0
        self._clear = asyncio.Event()
        self._clear.set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def answer(self, first_answer: Awaitable[T]) -> T:
        """Await a press's first answer (a defer, a reply, a form), counted while it is out."""
        self._in_flight += 1
        self._clear.clear()
        try:
            return await first_answer
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._clear.set()

    async def then(self) -> None:
        """Before work that follows an answer: let the other presses' answers go out first."""
        if self._clear.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._clear.wait(), self.max_wait)


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AnswerGate] = (
    weakref.WeakKeyDictionary()
)


def gate() -> AnswerGate:
    """The running loop's gate."""
    loop = asyncio.get_running_loop()
    found = _gates.get(loop)
    if found is None:
        found = _gates[loop] = AnswerGate()
    return found
