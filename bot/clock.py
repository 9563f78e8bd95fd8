"""Time, injected.

A brew is a timetable. Rehearsals, the demo and the tests run that timetable faster, so every
duration passes through :meth:`Clock.scaled` (``[timing] speed``: at 60 a two-minute turn lasts two
seconds). Deadlines are real wall-clock instants, which is what Discord's ``<t:...>`` timestamps
show to people, whatever the speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    speed: float

    def now(self) -> datetime: ...

    def scaled(self, seconds: float) -> timedelta: ...


@dataclass
class SystemClock:
    """The real clock, with durations divided by ``speed``."""

    speed: float = 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    def scaled(self, seconds: float) -> timedelta:
        return timedelta(seconds=seconds / self.speed)


@dataclass
class ManualClock:
    """A clock that only moves when told to, for unit tests of timing rules."""

    current: datetime
    speed: float = 1.0

    def now(self) -> datetime:
        return self.current

    def scaled(self, seconds: float) -> timedelta:
        return timedelta(seconds=seconds / self.speed)

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)
