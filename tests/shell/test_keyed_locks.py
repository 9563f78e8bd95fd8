"""KeyedLocks: serialises per key, and keeps nothing once nobody holds or waits."""

from __future__ import annotations

import asyncio

from bot.shell.keyed_locks import KeyedLocks


async def test_work_on_one_key_runs_one_at_a_time_and_other_keys_do_not_wait() -> None:
    locks: KeyedLocks[int] = KeyedLocks()
    order: list[str] = []
    release = asyncio.Event()

    async def slow(key: int, name: str) -> None:
        async with locks.hold(key):
            order.append(f"{name} in")
            await release.wait()
            order.append(f"{name} out")

    first = asyncio.create_task(slow(1, "a"))
    second = asyncio.create_task(slow(1, "b"))
    await asyncio.sleep(0)
    async with locks.hold(2):  # another key: not held up by key 1
        order.append("other")
    assert order == ["a in", "other"]
    assert len(locks) == 1  # key 1: held by a, waited for by b
    release.set()
    await asyncio.gather(first, second)
    assert order == ["a in", "other", "a out", "b in", "b out"]
    assert len(locks) == 0


async def test_a_holder_that_fails_or_is_cancelled_leaves_nothing_behind() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    try:
        async with locks.hold("x"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    blocker = asyncio.Event()

    async def waits() -> None:
        async with locks.hold("y"):
            await blocker.wait()

    task = asyncio.create_task(waits())
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert len(locks) == 0
