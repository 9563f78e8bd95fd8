"""After a restart: every running brew put back, server by server, as soon as each is there.

The database is the truth, so recovery only reads it and applies what fell due while nobody
ran the rooms. It starts for a server when discord.py says the server is available (its
``GUILD_CREATE`` has arrived, with its channels and voice states), not when every server has
arrived: discord.py waits ``guild_ready_timeout`` (2 seconds by default) after the last one
before it says it is ready, and a server that becomes available later (after an outage) is put
back then too. Servers that arrive together are put back together (:class:`bot.shell.batch.Gather`).

For the servers at hand:

1. rooms a previous process left half-open are finished (or ended out loud), and what is left
   in the outbox of rooms no longer live (a clean-up cut short) is carried out, a few at a time;
2. every live room applies what fell due **in one transaction** and posts at once
   (:class:`bot.shell.batch.RoomBatch`): a prompt whose moment passed is dropped, not posted
   late, and the next step starts now with its full time; a room that fails is retried by its
   supervised timer;
3. people still waiting where the brew gathers are moved into rooms still in their first steps,
   and what is left in a live room's outbox (a paused brew's) is carried out;
4. brews with no live room left (the last process stopped during clean-up) are ended.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Protocol

import discord

from bot.core import phases
from bot.core.phases import Event, Phase, RoomState
from bot.db import repo
from bot.services import Services
from bot.shell.batch import RoomBatch
from bot.shell.outbox import Outbox
from bot.shell.protocols import RoomControls
from bot.shell.room_stragglers import move_stragglers
from bot.shell.rooms import finish_opening

log = logging.getLogger(__name__)

#: Rooms put back at once in the steps done room by room (opening, moves, left-over outboxes).
RECOVERY_CONCURRENCY = 10


class RecoveryHost(RoomControls, Protocol):
    """What recovery uses of the runner (:class:`bot.shell.runner.BrewRunner`)."""

    client: discord.Client
    services: Services
    outbox: Outbox
    batch: RoomBatch
    started_at: datetime

    def mark_started(self, room_id: int) -> None: ...

    def retry(self, room_id: int) -> None: ...


def advance_change(
    state: RoomState, timing: phases.Timing, now: float, present: Callable[[str], bool]
) -> tuple[RoomState, list[Event]]:
    """A deadline's change: apply whatever is due at ``now``."""
    return phases.advance(state, timing, now, present)


async def recover_guilds(host: RecoveryHost, guild_ids: Iterable[int]) -> dict[int, BaseException]:
    """Put back every running brew of the servers ``guild_ids`` (see the module doc)."""
    mine = set(guild_ids)
    async with host.services.sessions() as session:
        found_half_open = await repo.rooms_still_opening(session, host.started_at)
        found_pending = await repo.rooms_with_outbox(session)
        found_live = await repo.live_rooms(session)
        found_brews = await repo.running_brew_ids(session)
    half_open = [r for r, g in found_half_open if g in mine]
    live = [r for r, g, _, _ in found_live if g in mine]
    # Only rooms in their first steps can have people still waiting to be moved in.
    first_steps = [r for r, g, p, _ in found_live if g in mine and p in (Phase.ARRIVE, Phase.THINK)]
    # Left-over outboxes: of rooms no longer live (carried out first: a room being tidied away
    # must be gone before its brew can end), and of live rooms the batch leaves alone (a
    # paused brew's; a room the batch posted for finds nothing left).
    pending = [r for r, g in found_pending if g in mine]
    left_over = [r for r in pending if r not in set(live)]
    brews_live = {b for _, g, _, b in found_live if g in mine}
    slots = asyncio.Semaphore(RECOVERY_CONCURRENCY)

    async def bounded(work: Awaitable[object]) -> None:
        async with slots:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not put a room back after the restart")

    # Coroutines are created here but only run inside ``bounded``, a few at a time.
    await asyncio.gather(
        *(bounded(finish_opening(host, host.client, host.services, r)) for r in half_open),
        *(bounded(host.outbox.flush(r)) for r in left_over),
    )
    for room_id in live:
        host.mark_started(room_id)
    for room_id, exc in (await host.batch.apply(live, advance_change)).items():
        log.warning("room %s: could not catch up after the restart (%s); trying again", room_id,
                    exc)  # fmt: skip
        host.retry(room_id)
    await asyncio.gather(
        *(bounded(move_stragglers(host, host.client, host.services, r)) for r in first_steps),
        *(bounded(host.outbox.flush(r)) for r in pending if r not in set(left_over)),
    )
    # A brew whose rooms had all finished when the last process stopped (killed during
    # clean-up) has no live room to end it: end it here, after its clean-up was carried out.
    await asyncio.gather(
        *(
            bounded(host.maybe_finish_brew(b))
            for b, g in found_brews
            if g in mine and b not in brews_live
        )
    )
    log.info("recovered %d rooms (%d were still opening)", len(live), len(half_open))
    return {}
