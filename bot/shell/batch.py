"""Rooms moved on in the same instant, in one pass: one transaction, then every post at once.

When a brew's rooms were started or moved on together (``/brew next`` with 160 rooms, say),
their deadlines fall due at the same moment. Applied one room at a time, each room would load
itself, commit its own transaction and read its outbox back before posting: on SQLite, which
lets one writer in at a time, the last room's prompt waits for every other room's commit. Here:

1. :class:`Gather` collects the rooms whose timers fire in the same instant: the timers of a
   shared deadline fire in one pass of the scheduler, so every tick joins one batch while new
   ones keep arriving in consecutive turns of the event loop (no waiting on a clock);
2. :meth:`RoomBatch.apply` takes each room's lock and outbox lock without waiting, reads the
   rooms and their outbox rows in three round trips however many rooms there are, asks the
   core for each room's change at one moment, and commits every new state with every room's
   messages in **one** transaction; each room's next deadline is set before anything is sent;
3. every room's rows, already in memory, are posted concurrently
   (:meth:`bot.shell.outbox.Outbox.flush_claimed`): nothing is read again before the posts. A
   room whose outbox is still busy (its nudge going out a moment before its turn ends, say)
   posts the same rows once it is free, less those that flush carried out
   (:meth:`~bot.shell.outbox.Outbox.flush_enlisted`), rather than reading them again room by
   room.

The guarantees are those of the one-room path (:meth:`bot.shell.runner.BrewRunner.change_room`):
nothing is posted before it is committed, and a room's lock and outbox lock are held across its
change and its posts, so a press or another flush cannot come in between. A room whose lock is
busy (a press being applied) takes the one-room path, which waits for it. If the transaction
fails, every room in it fails, and each room's supervised timer tries it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol

from bot.core import phases
from bot.core.phases import Phase
from bot.db import repo
from bot.db.models import Outbox as OutboxRow
from bot.db.models import Room
from bot.services import Services
from bot.shell.outbox import Outbox
from bot.shell.protocols import Change

log = logging.getLogger(__name__)

#: Turns of the event loop with no new tick before a batch is closed. The scheduler fires
#: every timer due in one pass, and each tick reaches :meth:`Gather.submit` two task hops later.
SETTLE_TURNS = 3

#: ``apply(room_ids)``: the rooms that could not be moved on, with why.
Apply = Callable[[list[int]], Awaitable[dict[int, BaseException]]]


class Gather:
    """Ticks that arrive in the same instant, applied together by one call of ``apply``;
    each caller of :meth:`submit` gets its own room's outcome."""

    def __init__(self, apply: Apply, spawn: Callable[[Coroutine[Any, Any, None]], object]) -> None:
        self._apply = apply
        self._spawn = spawn
        self._batch: dict[int, asyncio.Future[None]] | None = None

    async def submit(self, room_id: int) -> None:
        """Move ``room_id`` on together with whatever else is due now. Returns once its change
        is committed (its posts follow); raises what stopped it, for its timer to retry."""
        if self._batch is None:
            self._batch = {}
            self._spawn(self._run(self._batch))
        future = self._batch.get(room_id)
        if future is None:
            future = self._batch[room_id] = asyncio.get_running_loop().create_future()
        await future

    async def _run(self, batch: dict[int, asyncio.Future[None]]) -> None:
        try:
            quiet = 0
            while quiet < SETTLE_TURNS:
                seen = len(batch)
                await asyncio.sleep(0)
                quiet = quiet + 1 if len(batch) == seen else 0
        except BaseException:  # stopped while gathering: nobody will apply these
            for future in batch.values():
                future.cancel()
            raise
        finally:
            self._batch = None  # a tick arriving from now on starts the next batch
        try:
            failed = await self._apply(list(batch))
        except BaseException as exc:
            for future in batch.values():
                if not future.done():
                    future.set_exception(exc)
            raise
        for room_id, future in batch.items():
            if future.done():
                continue
            if room_id in failed:
                future.set_exception(failed[room_id])
            else:
                future.set_result(None)


class BatchHost(Protocol):
    """What a batch uses of the runner (:class:`bot.shell.runner.BrewRunner`)."""

    services: Services
    outbox: Outbox

    def lock(self, room_id: int) -> asyncio.Lock: ...

    def now(self) -> float: ...

    def presence(self, room: Room) -> Callable[[str], bool]: ...

    def schedule(self, room_id: int, when: float | None) -> None: ...

    async def change_room(
        self, room_id: int, change: Change, *, respect_pause: bool = True
    ) -> list[phases.Event]: ...

    async def maybe_finish_brew(self, brew_id: int) -> None: ...


class RoomBatch:
    """Applies one change to many running rooms in one transaction (see the module doc)."""

    def __init__(self, host: BatchHost) -> None:
        self.host = host

    async def apply(
        self, room_ids: Sequence[int], change: Change, *, respect_pause: bool = True
    ) -> dict[int, BaseException]:
        """Apply ``change`` to the running rooms among ``room_ids`` at one moment and post what
        it says; returns the rooms that failed, with why."""
        host = self.host
        mine: list[int] = []
        busy: list[int] = []
        for room_id in sorted(set(room_ids)):
            # A free asyncio lock is taken without waiting: nothing else runs in this loop.
            if host.lock(room_id).locked():
                busy.append(room_id)
            else:
                await host.lock(room_id).acquire()
                mine.append(room_id)
        # Every room is posted from the rows read here: at once where its outbox is free, the
        # others (still posting the last deadline's messages, a nudge say) once it is, less
        # what that flush carried out meanwhile.
        claimed = {room_id for room_id in mine if await host.outbox.claim(room_id)}
        enlisted = [room_id for room_id in mine if room_id not in claimed]
        for room_id in enlisted:
            host.outbox.enlist(room_id)
        one_by_one = asyncio.gather(
            *(host.change_room(r, change, respect_pause=respect_pause) for r in busy),
            return_exceptions=True,
        )
        failed: dict[int, BaseException] = {}
        rooms: dict[int, Room] = {}
        rows: dict[int, list[OutboxRow]] = {}
        finished: set[int] = set()
        try:
            rooms, rows, finished = await self._commit(mine, change, respect_pause)
        except Exception as exc:
            failed = dict.fromkeys(mine, exc)
            log.warning("%d rooms could not move on together (%s)", len(mine), exc)
        except BaseException:
            one_by_one.cancel()
            for room_id in claimed:
                await host.outbox.flush_claimed(room_id, None, [])  # only gives the lock back
            for room_id in enlisted:
                await host.outbox.flush_enlisted(room_id, None, [])  # only counts it out
            raise
        finally:
            for room_id in mine:
                host.lock(room_id).release()
        await asyncio.gather(
            *(host.outbox.flush_claimed(r, rooms.get(r), rows.get(r, [])) for r in claimed),
            *(host.outbox.flush_enlisted(r, rooms.get(r), rows.get(r, [])) for r in enlisted),
        )
        for room_id, outcome in zip(busy, await one_by_one, strict=True):
            if isinstance(outcome, BaseException):
                failed[room_id] = outcome
        for brew_id in sorted(finished):
            try:
                await host.maybe_finish_brew(brew_id)
            except Exception:
                log.exception("brew %s: could not mark it ended; the next start will", brew_id)
        return failed

    async def _commit(
        self, room_ids: list[int], change: Change, respect_pause: bool
    ) -> tuple[dict[int, Room], dict[int, list[OutboxRow]], set[int]]:
        """One transaction: every room's change and messages. Returns the rooms changed
        (detached, with brew and members), their outbox rows (old and new), and the brews a
        room finished in."""
        host = self.host
        if not room_ids:
            return {}, {}, set()
        rooms: dict[int, Room] = {}
        rows: dict[int, list[OutboxRow]] = {}
        finished: set[int] = set()
        deadlines = dict.fromkeys(room_ids, None)  # gone, or no longer running: no timer
        async with host.services.sessions() as session:
            pending: dict[int, list[OutboxRow]] = {}
            for row in await repo.outbox_of_rooms(session, room_ids):
                pending.setdefault(row.room_id, []).append(row)
            now = host.now()
            for room in await repo.load_rooms(session, room_ids):
                brew = room.brew
                if room.status != "running":
                    continue
                if respect_pause and brew.paused_at is not None:
                    deadlines.pop(room.id)  # its timer was cleared by the pause
                    continue
                timing = repo.timing_of(brew)
                state, events = change(repo.state_of(room), timing, now, host.presence(room))
                repo.store_state(room, state)
                host.outbox.queue(session, room, brew, events)
                rooms[room.id] = room
                rows[room.id] = pending.get(room.id, [])
                if brew.paused_at is None:
                    deadlines[room.id] = phases.next_deadline(state, timing)
                if state.phase is Phase.DONE:
                    finished.add(brew.id)
            # The rows just queued, in the order they were made; then everything is written
            # in two statements rather than one per room and per row.
            made = [o for o in session.new if isinstance(o, OutboxRow)]
            async with host.outbox.writing:
                await repo.store_many(session, list(rooms.values()), made)
                await session.commit()
            for row in made:
                rows[row.room_id].append(row)
        # Set before anything is sent, so a failure while sending never leaves a room
        # without its timer.
        for room_id, when in deadlines.items():
            host.schedule(room_id, when)
        return rooms, rows, finished
