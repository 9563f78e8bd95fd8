"""Simulated people who click the link to their room themselves, each after their own delay.

When Brew Host opens rooms, each room's guide pings its people and opens with a one-click link to
the room's voice channel. Real people click it at different speeds, and some never do (they are
moved by the bot when its move queue reaches them). :class:`LinkClickers` plays that: it watches
the simulator for bot messages that ping one of its people, waits that person's delay, then
clicks the message's voice link (:meth:`discordsim.DiscordSimulator.click_channel_link`).

Delays follow an exponential distribution with the given median ("half of them within 10 s"),
drawn from a seeded random generator, so a rehearsal or a benchmark run is repeatable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from discordsim import DiscordSimulator, SimulatorError
from discordsim.links import channel_links

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SelfJoin:
    """How people answer their room's link: half click within ``median_s`` seconds of being
    pinged; ``share`` of them ever click (the rest wait to be moved)."""

    median_s: float = 10.0
    share: float = 1.0
    seed: int = 7

    def delays(self, people: Sequence[int]) -> dict[int, float | None]:
        """Each person's delay in seconds, or ``None`` for someone who never clicks."""
        rng = random.Random(self.seed)
        rate = math.log(2) / self.median_s if self.median_s > 0 else math.inf
        out: dict[int, float | None] = {}
        for person in people:
            clicks = rng.random() < self.share
            delay = rng.expovariate(rate) if rate != math.inf else 0.0
            out[person] = delay if clicks else None
        return out


class LinkClickers:
    """Clicks the room links people are pinged with (see the module doc).

    ``clicked`` maps each person who clicked to the simulator time they joined; ``scheduled``
    to the time they were first pinged with a link.
    """

    def __init__(
        self, sim: DiscordSimulator, guild_id: int, people: Sequence[int], plan: SelfJoin
    ) -> None:
        self.sim = sim
        self.guild_id = guild_id
        self.delays = plan.delays(people)
        self.pinged: dict[int, float] = {}
        self.clicked: dict[int, float] = {}
        self._seen = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._clicks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self.sim.state.listeners.append(self._wake.set)
        self._task = asyncio.create_task(self._run(), name="link clickers")

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.sim.state.listeners.remove(self._wake.set)
        for task in [*self._clicks, *([self._task] if self._task else [])]:
            task.cancel()
        for task in [*self._clicks, *([self._task] if self._task else [])]:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.1):
                    await self._wake.wait()
            self._wake.clear()
            self._scan()

    def _scan(self) -> None:
        messages = list(self.sim.state.messages.values())
        new, self._seen = messages[self._seen :], len(messages)
        for msg in new:
            if msg.author_id != self.sim.bot_id or msg.guild_id != self.guild_id:
                continue
            if not channel_links(msg.content, self.guild_id):
                continue  # a ping without a link to follow
            for person in msg.mentions:
                if person in self.pinged or person not in self.delays:
                    continue
                self.pinged[person] = self.sim.now()
                delay = self.delays[person]
                if delay is not None:
                    task = asyncio.create_task(self._click(person, msg.id, delay))
                    self._clicks.add(task)
                    task.add_done_callback(self._clicks.discard)

    async def _click(self, person: int, message_id: int, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            joined = await self.sim.click_channel_link(self.guild_id, person, message_id)
        except SimulatorError as exc:  # the room is gone, or full: as a person would, give up
            log.info("person %s could not follow their link: %s", person, exc)
            return
        if joined is not None:
            self.clicked[person] = self.sim.now()
