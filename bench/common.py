"""Shared pieces of the benchmarks: results, statistics, the loop-lag probe and stage helpers.

A benchmark returns :class:`Metric` objects: one figure per repetition, the target it is held
to, and (where there is one) the comparison measured in the same run. ``run_all.py`` collects
them, prints the table and writes the JSON file.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

T = TypeVar("T")


def add_loop_option(parser: argparse.ArgumentParser) -> None:
    """``--loop asyncio|uvloop``: the event loop of the bench, the bot and every comparison in
    the run (the simulator and the bot share the bench's loop; a bot or bare client in a process
    of its own is started on the same one). Default: what ``brewhost run`` picks
    (:func:`bot.event_loop.choose`), uvloop where installed."""
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default=None,
        help="event loop for the bot, the simulator and the comparisons (default: the one "
        "`brewhost run` picks, uvloop where installed)",
    )


def run_on_loop(coro: Coroutine[Any, Any, T], loop: str | None) -> T:
    """``asyncio.run(coro)`` on the loop named (None: the production choice), saying which."""
    from bot import event_loop

    choice = event_loop.choose(loop or "auto")
    print(f"  {choice.describe()}; {machine_load()}", flush=True)
    return event_loop.run(coro, choice)


def current_loop() -> str:
    """ "uvloop" or "asyncio": the running loop, for processes started to match it."""
    from bot.event_loop import loop_name

    return loop_name()


@dataclass
class Metric:
    """One measured figure over the repetitions, with its target.

    ``target`` is ``(op, limit)`` with op ``"<"`` or ``"<="``, checked against the median
    (``check="median"``) or the worst repetition (``check="max"``). ``None`` means reported
    only (a comparison or a supporting figure).
    """

    bench: str
    name: str
    unit: str
    values: list[float] = field(default_factory=list)
    target: tuple[str, float] | None = None
    check: str = "median"
    note: str = ""

    @property
    def lo(self) -> float:
        return min(self.values) if self.values else math.nan

    @property
    def med(self) -> float:
        return statistics.median(self.values) if self.values else math.nan

    @property
    def hi(self) -> float:
        return max(self.values) if self.values else math.nan

    @property
    def ok(self) -> bool | None:
        if self.target is None:
            return None
        if not self.values:
            return False
        op, limit = self.target
        value = self.hi if self.check == "max" else self.med
        return value < limit if op == "<" else value <= limit

    def target_text(self) -> str:
        if self.target is None:
            return ""
        op, limit = self.target
        which = "worst run" if self.check == "max" else "median"
        return f"{which} {op} {limit:g} {self.unit}"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metric:
        target = data.get("target")
        return cls(
            data["bench"],
            data["name"],
            data["unit"],
            list(data["values"]),
            (target[0], float(target[1])) if target else None,
            data.get("check", "median"),
            data.get("note", ""),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "bench": self.bench,
            "name": self.name,
            "unit": self.unit,
            "values": self.values,
            "min": self.lo,
            "median": self.med,
            "max": self.hi,
            "target": list(self.target) if self.target else None,
            "check": self.check,
            "ok": self.ok,
            "note": self.note,
        }


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 200 values is the 198th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


class LagProbe:
    """A task that sleeps ``interval`` seconds in a loop and records how late each wake-up was:
    the longest overshoot is the longest time the event loop could not run anything else."""

    def __init__(self, interval: float = 0.010) -> None:
        self.interval = interval
        self.overshoots: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.overshoots.append(time.perf_counter() - before - self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    @property
    def max_stall(self) -> float:
        return max(self.overshoots, default=0.0)


def rss_mib(pid: int | None = None) -> float:
    """Resident memory now (VmRSS) of ``pid`` (this process by default), in MiB."""
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def machine_load() -> str:
    """``uptime``'s load averages and the core count, for the figures' context."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


async def wait_until(
    predicate: Callable[[], Any], within: float, step: float = 0.02, what: str = "condition"
) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned) or time runs out."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within:g}s waiting for {what}")
        await asyncio.sleep(step)


def messages_with(sim: Any, channel_ids: Iterable[int], prefix: str) -> dict[int, Any]:
    """The latest public message carrying a component whose custom id starts with ``prefix``,
    per channel."""
    found: dict[int, Any] = {}
    for channel_id in channel_ids:
        for message in sim.messages(channel_id, include_ephemeral=False):
            if not message.deleted and any(c.startswith(prefix) for c in message.custom_ids()):
                found[channel_id] = message
    return found


def custom_id(message: Any, prefix: str) -> str:
    return next(c for c in message.custom_ids() if c.startswith(prefix))


async def post_prompt_wave(targets: Sequence[Any], people: Sequence[int], wave: int) -> None:
    """The floor's wave: a bare discord.py client posts one turn-prompt-like message (a ping,
    four buttons) to each of ``targets`` at once, as the bot posts its prompts. Shared by the
    in-process floor (bench_brews) and the one in its own process (turns_apart)."""
    import discord  # only the floors need it; the rest of common stays light

    def view(i: int) -> discord.ui.View:
        buttons = discord.ui.View(timeout=None)
        for name in ("done", "pass", "more", "help"):
            buttons.add_item(discord.ui.Button(label=name, custom_id=f"f:{name}:{i}"))
        return buttons

    await asyncio.gather(
        *(
            target.send(
                f"<@{people[i]}>, it is your turn to have your say "
                f"({wave + 2} of 5). Your turn ends in 2 minutes.",
                allowed_mentions=discord.AllowedMentions(users=True),
                view=view(i),
                nonce=f"f{wave + 1}n{i}",
            )
            for i, target in enumerate(targets)
        )
    )
