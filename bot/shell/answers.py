"""Answers first: work that follows an answer waits until the presses that came in with it are
answered too.

Every button and form answers Discord first (a deferred update, a form, a "thinking" reply) and
does its work afterwards. When 100 people press at once, that work (the room's queries, saving a
reflection, the facilitators' notices) used to start as soon as each press's own answer was back,
on the same event loop as the 99 answers still to be sent, and pushed them back: with 100
reflections saved while 100 more people pressed "Leave a reflection", the presses' answers came
after the saves' queries (measured in ``bench/bench_interactions.py``, docs/BENCHMARKS.md,
issue 12). :class:`FirstAnswers` counts the interactions that have arrived and not yet been
answered; :meth:`FirstAnswers.after_answer` marks one answered and then waits, for at most
:data:`MAX_WAIT` seconds so a steady stream of presses can never starve the work, until none is
left. The work then runs in the order the presses came.

One :class:`FirstAnswers` per client (:func:`first_answers`); persistent buttons register through
:class:`bot.shell.ui.base.Guarded`, the reflection form through the reflections cog.
"""

from __future__ import annotations

import asyncio
import contextlib
from weakref import WeakKeyDictionary

import discord

#: The longest the work after an answer waits for other presses' answers, in seconds.
MAX_WAIT = 1.0


class FirstAnswers:
    """Interactions that have arrived and are still waiting for their first answer."""

    def __init__(self, max_wait: float = MAX_WAIT) -> None:
        self.max_wait = max_wait
        self._waiting: set[int] = set()
        self._none_waiting = asyncio.Event()
        self._none_waiting.set()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def arrived(self, interaction_id: int) -> None:
        self._waiting.add(interaction_id)
        self._none_waiting.clear()

    def answered(self, interaction_id: int) -> None:
        """This one has its first answer (or will get none); safe to call more than once."""
        self._waiting.discard(interaction_id)
        if not self._waiting:
            self._none_waiting.set()

    async def after_answer(self, interaction_id: int) -> None:
        """Mark this interaction answered, then let every other waiting answer go first."""
        self.answered(interaction_id)
        if self._waiting:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.max_wait):
                    await self._none_waiting.wait()


_BY_CLIENT: WeakKeyDictionary[discord.Client, FirstAnswers] = WeakKeyDictionary()


def first_answers(client: discord.Client) -> FirstAnswers:
    """The client's :class:`FirstAnswers` (made on first use)."""
    answers = _BY_CLIENT.get(client)
    if answers is None:
        answers = _BY_CLIENT[client] = FirstAnswers()
    return answers


async def let_others_answer(interaction: discord.Interaction) -> None:
    """Call right after answering ``interaction``: its work waits for the others' answers."""
    await first_answers(interaction.client).after_answer(interaction.id)
