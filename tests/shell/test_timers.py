"""Timers: keyed one-shot and repeating timers, and supervised tasks (bot/shell/timers.py).

Timers fire on the wall clock, so these tests use instants a few milliseconds away (or in the
past) and wait on events, never on long sleeps.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.shell.timers import Timers

WAIT = 2.0  # upper bound for "this fires soon"; the tests finish in milliseconds


@pytest.fixture
async def timers() -> AsyncIterator[Timers]:
    t = Timers()
    t.start()
    try:
        yield t
    finally:
        await t.stop(grace=0.1)


def soon(ms: float = 20) -> datetime:
    return datetime.now(UTC) + timedelta(milliseconds=ms)


async def test_at_runs_the_coroutine_once_at_its_time(timers: Timers) -> None:
    fired: list[str] = []
    done = asyncio.Event()

    async def work() -> None:
        fired.append("room-1")
        done.set()

    timers.at("room-1", soon(), work)
    assert timers.is_set("room-1")
    await asyncio.wait_for(done.wait(), WAIT)
    await asyncio.sleep(0.05)
    assert fired == ["room-1"]
    assert not timers.is_set("room-1")


async def test_a_time_already_past_still_fires_once(timers: Timers) -> None:
    """A deadline missed while the bot was busy or down is still applied (misfire grace None)."""
    done = asyncio.Event()
    count = 0

    async def work() -> None:
        nonlocal count
        count += 1
        done.set()

    timers.at("late", datetime.now(UTC) - timedelta(hours=1), work)
    await asyncio.wait_for(done.wait(), WAIT)
    await asyncio.sleep(0.05)
    assert count == 1


async def test_setting_a_key_again_replaces_its_timer_and_cancel_forgets_it(
    timers: Timers,
) -> None:
    fired: list[str] = []
    second = asyncio.Event()

    async def first_work() -> None:
        fired.append("first")

    async def second_work() -> None:
        fired.append("second")
        second.set()

    timers.at("room-1", soon(30), first_work)
    timers.at("room-1", soon(40), second_work)  # replaces: the first never runs
    timers.at("room-2", soon(30), first_work)
    timers.cancel("room-2")
    timers.cancel("never-set")  # cancelling an unknown key is harmless
    await asyncio.wait_for(second.wait(), WAIT)
    await asyncio.sleep(0.05)
    assert fired == ["second"]


async def test_a_timer_may_set_its_own_key_again(timers: Timers) -> None:
    """A room's tick reschedules the room's own key while it runs."""
    runs: list[int] = []
    done = asyncio.Event()

    async def tick() -> None:
        runs.append(len(runs))
        if len(runs) < 3:
            timers.at("room-1", soon(5), tick)
        else:
            done.set()

    timers.at("room-1", soon(5), tick)
    await asyncio.wait_for(done.wait(), WAIT)
    assert runs == [0, 1, 2]


async def test_every_runs_first_at_the_given_time_and_reports_its_interval(
    timers: Timers,
) -> None:
    done = asyncio.Event()

    async def sweep() -> None:
        done.set()

    timers.every("sweep", 3600, sweep, first_at=datetime.now(UTC))
    assert timers.interval("sweep") == timedelta(hours=1)
    await asyncio.wait_for(done.wait(), WAIT)
    assert timers.is_set("sweep")  # still there for the next hour
    timers.cancel("sweep")
    assert timers.interval("sweep") is None
    timers.at("one-shot", soon(10_000), sweep)
    assert timers.interval("one-shot") is None


async def test_every_without_a_first_time_waits_one_interval() -> None:
    t = Timers()
    t.start()
    try:

        async def sweep() -> None:
            raise AssertionError("must not run yet")

        t.every("sweep", 3600, sweep)
        assert t.is_set("sweep")
        await asyncio.sleep(0.05)
    finally:
        await t.stop()


async def test_a_failing_task_is_logged_once_with_its_name_and_never_left_unretrieved(
    timers: Timers, caplog: pytest.LogCaptureFixture
) -> None:
    loop = asyncio.get_running_loop()
    unhandled: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: unhandled.append(context))

    async def broken() -> None:
        raise RuntimeError("the database went away")

    with caplog.at_level(logging.ERROR, logger="bot.shell.timers"):
        task = timers.spawn(broken(), name="tick room 7")
        await asyncio.wait_for(asyncio.shield(task), WAIT)
    assert task.done() and task.exception() is None
    failures = [r for r in caplog.records if r.name == "bot.shell.timers"]
    assert len(failures) == 1
    assert "tick room 7" in failures[0].getMessage()
    assert failures[0].exc_info is not None
    assert "the database went away" in str(failures[0].exc_info[1])
    del task
    gc.collect()
    await asyncio.sleep(0)
    assert unhandled == []


async def test_a_failing_timer_is_logged_too(
    timers: Timers, caplog: pytest.LogCaptureFixture
) -> None:
    attempted = asyncio.Event()

    async def broken() -> None:
        attempted.set()
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="bot.shell.timers"):
        timers.at("flush-3", soon(), broken)
        timers.every("sweep", 3600, broken, first_at=datetime.now(UTC))
        await asyncio.wait_for(attempted.wait(), WAIT)
        await asyncio.sleep(0.1)
    names = sorted(r.getMessage() for r in caplog.records if r.name == "bot.shell.timers")
    assert names == ["background work 'flush-3' failed", "background work 'sweep' failed"]


async def test_stop_lets_work_in_flight_finish_then_cancels_what_is_left() -> None:
    t = Timers()
    t.start()
    finished: list[str] = []

    async def quick() -> None:
        await asyncio.sleep(0.01)
        finished.append("quick")

    async def slow() -> None:
        try:
            await asyncio.sleep(60)
            finished.append("slow")
        except asyncio.CancelledError:
            finished.append("slow cancelled")
            raise

    async def never() -> None:
        finished.append("timer")

    t.spawn(quick())
    t.spawn(slow())
    t.at("later", soon(10_000), never)
    await t.stop(grace=0.1)
    assert sorted(finished) == ["quick", "slow cancelled"]
    assert not t.running


async def test_stopping_during_a_repeating_job_logs_no_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An ordinary stop (SIGTERM) while the hourly or daily job runs: the work gets its grace,
    then is cancelled, and nothing is logged as a failure (APScheduler used to log the
    cancelled job with a traceback)."""
    timers = Timers()
    timers.start()
    started = asyncio.Event()
    finished: list[str] = []

    async def slow() -> None:
        started.set()
        await asyncio.sleep(0.05)
        finished.append("slow")

    async def endless() -> None:
        await asyncio.Event().wait()

    timers.every("slow", 3600, slow, first_at=soon(1))
    timers.every("endless", 3600, endless, first_at=soon(1))
    await asyncio.wait_for(started.wait(), WAIT)
    await asyncio.sleep(0.01)
    with caplog.at_level(logging.DEBUG):
        await timers.stop(grace=0.2)
        await asyncio.sleep(0.05)
    assert finished == ["slow"]  # work in flight finished within the grace
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


async def test_deadlines_due_at_the_same_instant_fire_together_once() -> None:
    import time

    from bot.shell.timers import Deadlines

    fired: list[list[int]] = []
    tasks: list[asyncio.Task[None]] = []

    async def fire(keys: list[int]) -> None:
        fired.append(keys)

    deadlines = Deadlines(fire, lambda work, name: tasks.append(asyncio.ensure_future(work)))
    when = time.time() + 0.05
    for key in (3, 1, 2):
        deadlines.set(key, when)
    deadlines.set(4, when + 0.02)
    deadlines.set(5, when)
    deadlines.cancel(5)
    await asyncio.sleep(0.15)
    assert fired == []  # nothing fires before start, as with Timers
    deadlines.start()
    await asyncio.sleep(0.05)
    await asyncio.gather(*tasks)
    assert fired == [[1, 2, 3], [4]]
    assert deadlines.when(1) is None
    deadlines.set(6, time.time() + 10)
    deadlines.stop()
    assert deadlines.when(6) is None


async def test_writes_arriving_together_are_committed_together_and_share_a_failure() -> None:
    from bot.shell.group_commit import GroupCommit

    groups: list[list[int]] = []
    tasks: list[asyncio.Task[None]] = []

    async def write(items: list[int]) -> None:
        groups.append(items)
        if 99 in items:
            raise RuntimeError("database is locked")

    commits = GroupCommit(write, lambda work: tasks.append(asyncio.ensure_future(work)))
    await asyncio.gather(*(commits.submit(i) for i in (1, 2, 3)))
    results = await asyncio.gather(commits.submit(4), commits.submit(99), return_exceptions=True)
    assert groups == [[1, 2, 3], [4, 99]]
    assert all(isinstance(r, RuntimeError) for r in results)
    await commits.submit(5)  # the next group is written as usual
    assert groups[-1] == [5]


def test_deadlines_never_fire_before_their_instant_on_uvloop() -> None:
    """uvloop's timers count whole milliseconds and can fire up to ~1.5 ms early (measured:
    128 of 200 timers); a room woken before its deadline would write its state for nothing.
    Deadlines wait out the rest, so every room fires at or after its instant."""
    import time

    from bot import event_loop
    from bot.shell.timers import Deadlines

    pytest.importorskip("uvloop")
    late: list[float] = []

    async def scenario() -> None:
        assert event_loop.loop_name() == "uvloop"
        tasks: list[asyncio.Task[None]] = []
        due: dict[int, float] = {}

        async def fire(keys: list[int]) -> None:
            now = time.time()
            late.extend(now - due[k] for k in keys)

        deadlines = Deadlines(fire, lambda work, name: tasks.append(asyncio.ensure_future(work)))
        deadlines.start()
        for key in range(100):
            due[key] = time.time() + 0.005 + key * 0.0007  # instants off the millisecond grid
            deadlines.set(key, due[key])
            await asyncio.sleep(0.0003)
        await asyncio.sleep(0.1)
        await asyncio.gather(*tasks)
        deadlines.stop()

    event_loop.run(scenario(), event_loop.choose("uvloop"))
    assert len(late) == 100
    assert min(late) >= 0
