"""Once a brew is over and its rooms are tidied away, the bot keeps nothing for them in memory.

A long-running bot hosts thousands of rooms; anything it keeps per room for ever is memory that
grows with every brew (issue 12: < 2 MiB per 100 brews). This runs two whole brews and then
looks at every per-room structure in the bot and in discord.py's own caches.
"""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import select

from bot.db.models import Room

from .conftest import Harness


@pytest.fixture
def speed() -> float:
    return 240.0


async def _one_brew(harness: Harness, question: str) -> None:
    world = harness.world
    await harness.put_in_voice([*world.people[:8], world.facilitator])
    rec = await harness.command(world.facilitator, "brew start", question=question)
    assert "has started" in await harness.final_text(rec)
    await harness.wait_for(lambda: bool(harness.room_channels()))
    await harness.wait_for(lambda: not harness.room_channels(), timeout=60)


async def test_after_two_brews_the_bot_keeps_nothing_per_room(harness: Harness) -> None:
    await _one_brew(harness, "What's missing?")
    await _one_brew(harness, "What helps?")
    bot = harness.bot
    assert bot is not None and bot.runner is not None
    async with harness.sessions() as session:
        rooms = list(await session.scalars(select(Room)))
    assert len(rooms) == 4
    room_ids = {r.id for r in rooms}
    channel_ids = {c for r in rooms for c in (r.text_channel_id, r.voice_channel_id) if c}
    runner, outbox = bot.runner, bot.runner.outbox

    def kept() -> dict[str, object]:
        timer_keys = {f"{kind}-{room_id}" for kind in ("room", "flush") for room_id in room_ids}
        return {
            name: found
            for name, found in {
                "runner locks": room_ids & set(runner._locks),
                "runner started events": room_ids & set(runner._started),
                "runner stuck rooms": room_ids & runner._stuck,
                "outbox flush locks": room_ids & set(outbox._flush_locks),
                "outbox history checks": room_ids & outbox._history_checked,
                "outbox notes told": {t for t in outbox._told if t[0] in room_ids},
                "timers": {k for k in timer_keys if bot.timers.is_set(k)},
                "discord.py channels": {c for c in channel_ids if bot.get_channel(c)},
                "discord.py cached messages": list(bot.cached_messages),
                "discord.py persistent views": list(bot.persistent_views),
            }.items()
            if found
        }

    # The last room's tidying may still be finishing its own bookkeeping.
    with contextlib.suppress(TimeoutError):
        await harness.wait_for(lambda: not kept(), timeout=10)
    assert kept() == {}
