"""gc_policy: when the maintenance full collection runs, and what attaching does to the process."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from bot.shell import gc_policy
from bot.shell.gc_policy import GcPolicy, GcSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


SETTINGS = GcSettings(quiet_seconds=3.0, min_interval=30.0, max_interval=300.0)


def policy() -> tuple[GcPolicy, Clock]:
    clock = Clock()
    return GcPolicy(SETTINGS, clock), clock


def test_nothing_promoted_means_no_full_pass_even_when_overdue() -> None:
    p, clock = policy()
    clock.now += 10_000
    assert p.due(promoted=0) is None


def test_quiet_and_old_enough_runs_a_full_pass() -> None:
    p, clock = policy()
    clock.now += 30.0
    assert p.due(promoted=1) == "quiet"


def test_not_again_within_min_interval_however_quiet() -> None:
    p, clock = policy()
    clock.now += 29.9
    assert p.due(promoted=5) is None


def test_a_recent_press_holds_it_back() -> None:
    p, clock = policy()
    clock.now += 100.0
    p.activity()
    clock.now += 2.9
    assert p.due(promoted=5) is None
    clock.now += 0.1
    assert p.due(promoted=5) == "quiet"


def test_never_quiet_still_collects_after_max_interval() -> None:
    p, clock = policy()
    for _ in range(299):  # a press every second for five minutes
        clock.now += 1.0
        p.activity()
        assert p.due(promoted=50) is None
    clock.now += 1.0
    p.activity()
    assert p.due(promoted=50) == "overdue"


def test_a_full_pass_restarts_both_intervals() -> None:
    p, clock = policy()
    clock.now += 300.0
    assert p.due(promoted=1) == "overdue"
    p.collected()
    clock.now += 29.0
    assert p.due(promoted=1) is None
    clock.now += 1.0
    assert p.due(promoted=1) == "quiet"


def test_default_thresholds_hold_back_automatic_full_passes() -> None:
    young, middle, backstop = GcSettings().thresholds
    assert young >= 700  # no more young passes than CPython's default
    assert middle == 10
    # A full pass by CPython only after this many middle passes: far more than one burst
    # of presses makes (1-2 per 100 presses, measured), never 0 (which would mean every time).
    assert backstop >= 50


class FakeTimers:
    def __init__(self) -> None:
        self.jobs: dict[str, Any] = {}

    def every(self, key: str, seconds: float, factory: Any, **_: Any) -> None:
        self.jobs[key] = (seconds, factory)

    def cancel(self, key: str) -> None:
        self.jobs.pop(key, None)


class FakeBot:
    def __init__(self) -> None:
        self.timers = FakeTimers()
        self.listeners: list[tuple[Any, str]] = []

    def add_listener(self, func: Any, name: str = "") -> None:
        self.listeners.append((func, name))

    def remove_listener(self, func: Any, name: str = "") -> None:
        self.listeners.remove((func, name))


@pytest.fixture
def clean_process(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(gc_policy, "_process", gc_policy._Process())
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    gc.unfreeze()


async def test_attach_freezes_sets_thresholds_and_detach_restores(clean_process: Any) -> None:
    before = gc.get_threshold()
    kept = [[i] for i in range(1000)]  # alive at attach: frozen
    bot, other = FakeBot(), FakeBot()
    gc_policy.attach(bot)  # type: ignore[arg-type]
    assert gc.get_threshold() == GcSettings().thresholds
    assert gc.get_freeze_count() >= len(kept)
    assert gc_policy.JOB_KEY in bot.timers.jobs
    assert [name for _, name in bot.listeners] == ["on_interaction"]

    gc_policy.attach(other)  # type: ignore[arg-type]  # a second bot shares the set-up
    gc_policy.detach(bot)  # type: ignore[arg-type]
    assert gc.get_threshold() == GcSettings().thresholds  # the other bot still runs
    assert bot.listeners == [] and bot.timers.jobs == {}

    gc_policy.detach(other)  # type: ignore[arg-type]
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    gc_policy.detach(other)  # type: ignore[arg-type]  # twice is harmless


async def test_maintenance_runs_a_full_pass_when_due(clean_process: Any) -> None:
    bot = FakeBot()
    policy = gc_policy.attach(bot)  # type: ignore[arg-type]
    try:
        _, job = bot.timers.jobs[gc_policy.JOB_KEY]
        policy.last_full -= 10_000  # overdue
        gc.collect(1)  # a middle pass: something reached the oldest generation
        assert gc.get_count()[2] >= 1
        full_before = gc.get_stats()[2]["collections"]
        await job()
        assert gc.get_stats()[2]["collections"] == full_before + 1
        assert gc.get_count()[2] == 0
        await job()  # not due again straight after
        assert gc.get_stats()[2]["collections"] == full_before + 1
    finally:
        gc_policy.detach(bot)  # type: ignore[arg-type]


async def test_a_press_is_activity(clean_process: Any) -> None:
    bot = FakeBot()
    policy = gc_policy.attach(bot)  # type: ignore[arg-type]
    try:
        listener, _ = bot.listeners[0]
        policy.last_activity = 0.0
        await listener(object())
        assert policy.last_activity > 0.0
    finally:
        gc_policy.detach(bot)  # type: ignore[arg-type]
