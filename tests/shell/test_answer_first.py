"""Follow-up work waits for other presses' first answers, briefly (bot/shell/answer_first.py)."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.shell.answer_first import AnswerGate, gate


async def test_work_after_an_answer_waits_for_the_answers_in_flight() -> None:
    answers = AnswerGate(max_wait=5)
    order: list[str] = []
    release = asyncio.Event()

    async def slow_answer() -> str:
        await release.wait()
        order.append("other press answered")
        return "deferred"

    pending = asyncio.ensure_future(answers.answer(slow_answer()))
    await asyncio.sleep(0)
    assert answers.in_flight == 1

    async def follow_up() -> None:
        await answers.then()
        order.append("follow-up work")

    work = asyncio.ensure_future(follow_up())
    await asyncio.sleep(0.02)
    assert order == []  # held back while the other answer is out
    release.set()
    assert await pending == "deferred"
    await work
    assert order == ["other press answered", "follow-up work"]
    assert answers.in_flight == 0


async def test_nothing_in_flight_means_no_wait_and_a_failed_answer_still_counts_down() -> None:
    answers = AnswerGate(max_wait=5)
    started = time.perf_counter()
    await answers.then()
    assert time.perf_counter() - started < 0.01

    async def failing() -> None:
        raise RuntimeError("interaction expired")

    with pytest.raises(RuntimeError):
        await answers.answer(failing())
    assert answers.in_flight == 0
    await asyncio.wait_for(answers.then(), 0.01)


async def test_the_wait_is_bounded_so_follow_ups_are_never_starved() -> None:
    answers = AnswerGate(max_wait=0.05)
    stuck = asyncio.ensure_future(answers.answer(asyncio.Event().wait()))
    await asyncio.sleep(0)
    started = time.perf_counter()
    await answers.then()
    assert 0.04 <= time.perf_counter() - started < 1.0
    stuck.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stuck
    assert answers.in_flight == 0


def test_one_gate_per_event_loop() -> None:
    async def mine() -> AnswerGate:
        first = gate()
        assert gate() is first
        return first

    assert asyncio.run(mine()) is not asyncio.run(mine())
