"""Answers first: work after an answer waits for the other presses' first answers, bounded."""

from __future__ import annotations

import asyncio

from bot.shell.answers import FirstAnswers


async def test_work_after_an_answer_waits_for_the_others_answers() -> None:
    answers = FirstAnswers(max_wait=5.0)
    answers.arrived(1)
    answers.arrived(2)
    order: list[str] = []

    async def work_of_1() -> None:
        await answers.after_answer(1)
        order.append("work 1")

    task = asyncio.create_task(work_of_1())
    await asyncio.sleep(0.01)
    assert order == [] and answers.waiting == 1  # press 2 has not been answered yet
    order.append("answer 2")
    answers.answered(2)
    await asyncio.wait_for(task, 1.0)
    assert order == ["answer 2", "work 1"]


async def test_alone_the_work_goes_straight_on() -> None:
    answers = FirstAnswers(max_wait=5.0)
    answers.arrived(7)
    await asyncio.wait_for(answers.after_answer(7), 0.1)
    assert answers.waiting == 0


async def test_a_press_never_answered_holds_the_work_back_only_so_long() -> None:
    answers = FirstAnswers(max_wait=0.05)
    answers.arrived(1)
    answers.arrived(2)  # never answered
    loop = asyncio.get_running_loop()
    started = loop.time()
    await answers.after_answer(1)
    assert 0.04 <= loop.time() - started < 1.0
    answers.answered(2)
    answers.answered(2)  # twice is harmless
    assert answers.waiting == 0
