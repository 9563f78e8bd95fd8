"""The in-process brew harness of the integration tests, shared here, plus brew-level checks."""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from bot.db.models import Brew, Room
from tests.integration.conftest import (  # noqa: F401 - fixtures
    Harness,
    db_url,
    harness,
    rate_limits,
    sim,
    speed,
    world,
)

PROMPT = re.compile(r"<@(\d+)>, it is your turn to have your say \((\d+) of (\d+)\)")


async def brews_and_rooms(h: Harness) -> tuple[list[Brew], list[Room]]:
    """Every brew and room, read through the bot's own connection pool.

    A test that cuts the database's connections may have cut the one this read is given (the
    pool checks only connections that sat idle, see bot/db/session.py): that read fails once,
    like any request in flight, and the pool replaces its connections. The bot's own work
    retries; this read, which is the test looking, is simply made again."""
    for attempt in (1, 2):
        try:
            async with h.sessions() as session:
                brews = list(await session.scalars(select(Brew).order_by(Brew.id)))
                rooms = list(await session.scalars(select(Room).order_by(Room.brew_id, Room.index)))
            return brews, rooms
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")


async def wait_all_ended(h: Harness, timeout: float = 90) -> None:
    async def ended() -> bool:
        brews, _ = await brews_and_rooms(h)
        return bool(brews) and all(b.status == "ended" for b in brews)

    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await ended():
        assert loop.time() < deadline, f"brews not ended within {timeout}s"
        await asyncio.sleep(0.2)


def room_problems(h: Harness, rooms: list[Room]) -> list[str]:
    """What people in these rooms would notice: a room that never reached Close, a turn
    prompt lost, doubled or out of order (a stale prompt delivered late)."""
    problems: list[str] = []
    for room in rooms:
        texts = [
            m.content
            for m in h.sim.messages(room.text_channel_id or 0, include_deleted=True)
            if m.author_id == h.sim.bot_id and not m.ephemeral
        ]
        heads = [t.split("\n")[0] for t in texts if t.startswith("**")]
        if "**Close**" not in heads:
            problems.append(f"room {room.id} never reached Close: {heads}")
        prompts = [(int(m.group(1)), int(m.group(2))) for t in texts for m in PROMPT.finditer(t)]
        counts = Counter(uid for uid, _ in prompts)
        for uid in room.turn_order:
            if counts[uid] != 1:
                problems.append(f"room {room.id}: {uid} got {counts[uid]} turn prompts")
        positions = [pos for _, pos in prompts]
        if positions != sorted(positions):
            problems.append(f"room {room.id}: prompts out of order (stale): {positions}")
        # A prompt after the room moved on to reflecting is a stale one delivered late.
        after = texts[next((i for i, t in enumerate(texts) if "**Reflect" in t), len(texts)) :]
        if any(PROMPT.search(t) for t in after):
            problems.append(f"room {room.id}: a turn prompt arrived after the turns were over")
    return problems
