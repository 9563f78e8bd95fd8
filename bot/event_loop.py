"""Which event loop ``brewhost run`` runs on: uvloop where it is installed, asyncio's own otherwise.

Why: everything a press costs before its answer goes out is loop work (reading the gateway
frame, discord.py's parsing and dispatch, aiohttp's request for the callback), and uvloop (libuv,
written in Cython) does the loop's own part of it in C. ``docs/BENCHMARKS.md`` (Under load,
section 1) has the figures, measured on both loops in the same session with
``bench/bench_interactions.py --loop asyncio|uvloop``.

The escape hatch is ``[runtime] event_loop = "asyncio"`` in the config file, or
``brewhost run --loop asyncio``: the standard loop, should a library ever misbehave on uvloop.
``"uvloop"`` refuses to start without it rather than quietly falling back. uvloop does not
exist for Windows (its dependency is not installed there), so "auto" runs asyncio's loop there.

The benchmarks use :func:`choose` too, so they measure the loop the bot uses in production.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["LoopChoice", "LoopUnavailable", "choose", "loop_name", "run"]

T = TypeVar("T")


class LoopUnavailable(Exception):
    """``event_loop = "uvloop"`` was asked for and uvloop cannot be imported."""


@dataclass(frozen=True)
class LoopChoice:
    """The loop chosen: its name, how to make one (None: asyncio's default) and why."""

    name: str
    factory: Callable[[], asyncio.AbstractEventLoop] | None
    reason: str

    def describe(self) -> str:
        """One line for the log: which loop runs, and why."""
        return f"event loop: {self.name} ({self.reason})"


def choose(wanted: str = "auto") -> LoopChoice:
    """The loop for ``wanted`` ("auto", "uvloop" or "asyncio")."""
    if wanted == "asyncio":
        return LoopChoice("asyncio", None, 'asked for with event_loop = "asyncio"')
    if wanted not in ("auto", "uvloop"):
        raise ValueError(f"unknown event loop {wanted!r}; expected auto, uvloop or asyncio")
    try:
        import uvloop
    except ImportError:
        if wanted == "uvloop":
            raise LoopUnavailable(
                'event_loop = "uvloop" but uvloop is not installed (pip install uvloop; '
                "it does not exist for Windows)"
            ) from None
        return LoopChoice("asyncio", None, "uvloop is not installed")
    version = getattr(uvloop, "__version__", "?")
    how = "the default where installed" if wanted == "auto" else 'asked for with "uvloop"'
    return LoopChoice("uvloop", uvloop.new_event_loop, f"uvloop {version}, {how}")


def run(coro: Coroutine[Any, Any, T], choice: LoopChoice) -> T:
    """``asyncio.run(coro)`` on the chosen loop (Ctrl-C cancels ``coro`` as with
    :func:`asyncio.run`)."""
    with asyncio.Runner(loop_factory=choice.factory) as runner:
        return runner.run(coro)


def loop_name(loop: asyncio.AbstractEventLoop | None = None) -> str:
    """ "uvloop" or "asyncio": what ``loop`` (the running loop by default) is."""
    loop = loop or asyncio.get_running_loop()
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
