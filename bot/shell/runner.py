"""The brew runner: applies the timetable's decisions (:mod:`bot.core.phases`) and the brew
controls (pause, resume, extend, next phase, end, broadcast).

The database is the source of truth. Each room has one timer (:mod:`bot.shell.timers`) holding
only its next deadline, rebuilt from the ``rooms`` table at start-up. When a deadline fires, or
a button or facilitator command changes a room, the runner:

1. loads the room and asks :mod:`bot.core.phases` what happens next,
2. commits the new state *and* the messages it implies in one transaction
   (:meth:`bot.shell.outbox.Outbox.queue`),
3. has :mod:`bot.shell.outbox` carry those messages out.

Changes to one room are serialised by the room's lock, so a press of "I'm done" and a deadline
firing at the same moment cannot both move the turn on; rooms of one brew move in parallel.
Brew-wide controls take every room's lock in one fixed order (by room id), so two controls can
never wait on each other.

Nothing a room needs is lost to a failure: every deadline is a supervised timer
(:class:`bot.shell.timers.Retry`), retried with backoff while the database or Discord fails,
and the facilitator is told, once, when a room has been stuck for a bounded time. Controls
reach rooms still opening too: a broadcast waits in the outbox, a pause is applied as the room
starts, and extend, next and end are applied as soon as it has started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

import discord
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import phases
from bot.core.messages import Post, stamp_rel, stamp_time
from bot.core.phases import Event, Phase, RoomState
from bot.core.reflections import window_closes_at
from bot.db import repo
from bot.db.models import Brew, GuildSettings, Room
from bot.services import Services
from bot.shell.batch import Gather, RoomBatch
from bot.shell.errors import only_pinging
from bot.shell.outbox import BROADCAST_VALID_S, Outbox, describe
from bot.shell.protocols import Change
from bot.shell.recovery import advance_change, recover_guilds
from bot.shell.room_effects import delete_room_channels, recall
from bot.shell.timers import Deadlines, Retry, Timers

log = logging.getLogger(__name__)

#: How long a control waits for a room still opening to start before giving up on it.
OPENING_WAIT_S = 300.0


class BrewRunner:
    """Moves every room of this process's brews through its timetable."""

    def __init__(self, client: discord.Client, services: Services, timers: Timers) -> None:
        self.client = client
        self.services = services
        self.timers = timers
        self.outbox = Outbox(
            client, services, timers, on_room_gone=self.room_lost, tell=self._tell_about_room
        )
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        #: Rooms moved on together in one transaction (deadlines shared by many rooms).
        self.batch = RoomBatch(self)
        self._due = Gather(self._tick_many, lambda work: timers.spawn(work, name="room ticks"))
        #: Each room's next deadline; rooms due at the same instant fire together.
        self.deadlines = Deadlines(self._deadline, lambda work, name: timers.spawn(work, name=name))
        #: Servers whose brews are put back (or being put back) after the start.
        self._recovering: set[int] = set()
        self._servers = Gather(
            lambda ids: recover_guilds(self, ids),
            lambda work: timers.spawn(work, name="recover servers"),
        )
        #: Set when a room's timetable has started (controls for opening rooms wait on it).
        self._started: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)
        #: Rooms whose facilitator was told they are stuck (told again when they move on).
        self._stuck: set[int] = set()
        self.started_at = services.clock.now()
        #: Called with a brew's id once it has ended (scheduled brews complete their event).
        self.ended_listeners: list[Callable[[int], Coroutine[Any, Any, None]]] = []

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self.timers.start()
        self.deadlines.start()
        self.timers.spawn(self._recover_the_rest(), name="recover")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop the timers, let work in flight finish (briefly), then cancel what is left.

        Whatever is cut short is safe: state and outbox are in the database, and posts carry
        a nonce, so the next start carries on without losing or repeating a prompt.
        """
        self.deadlines.stop()
        await self.timers.stop(grace)

    def guild_available(self, guild_id: int) -> None:
        """A server's state has arrived (discord.py's ``guild_available``): put its running
        brews back now, once per process, without waiting for every other server
        (:mod:`bot.shell.recovery`). With several processes (one gateway shard each), a
        process looks after the brews of the servers it is connected to, and only those."""
        if guild_id in self._recovering:
            return
        self._recovering.add(guild_id)
        self.timers.spawn(self._servers.submit(guild_id), name=f"recover server {guild_id}")

    async def _recover_the_rest(self) -> None:
        """Servers that were there before this runner listened (none, when it starts before
        the gateway connects, as :class:`bot.shell.app.BrewBot` does)."""
        await self.client.wait_until_ready()
        for guild in self.client.guilds:
            self.guild_available(guild.id)

    def mark_started(self, room_id: int) -> None:
        """The room's timetable is running (controls waiting for it to start may go on)."""
        self._started[room_id].set()

    # ---------------------------------------------------------------- scheduling
    def schedule(self, room_id: int, when: float | None) -> None:
        """Set the room's one deadline to ``when`` (a Unix timestamp), or clear it. Rooms whose
        deadlines are the same instant are moved on together (:mod:`bot.shell.batch`); a room
        that fails is tried again with backoff until it works (:meth:`retry`)."""
        if when is None:
            self.deadlines.cancel(room_id)
            self.timers.cancel(f"room-{room_id}")
        else:
            self.deadlines.set(room_id, when)

    async def _deadline(self, room_ids: list[int]) -> None:
        for room_id, exc in (await self.batch.apply(room_ids, advance_change)).items():
            log.warning("room %s: could not move on (%s); trying again", room_id, describe(exc))
            self.retry(room_id)

    def retry(self, room_id: int) -> None:
        """A room could not move on: its supervised timer tries again, with backoff, and
        tells the facilitator once if it stays stuck."""
        self.timers.at(
            f"room-{room_id}", self.now(), lambda: self.tick(room_id), retry=self.retry_for(room_id)
        )

    def retry_for(self, room_id: int) -> Retry:
        return Retry(
            on_stuck=lambda exc, seconds: self._tell_stuck(room_id, exc, seconds),
            on_healed=lambda seconds: self._tell_healed(room_id),
        )

    def lock(self, room_id: int) -> asyncio.Lock:
        """The lock of one room's timetable."""
        return self._locks[room_id]

    @contextlib.asynccontextmanager
    async def locked(self, room_ids: Sequence[int]) -> AsyncIterator[None]:
        """Hold several rooms' locks, always taken in the order of their ids, so two
        brew-wide controls (or a control and a deadline) can never wait on each other."""
        async with contextlib.AsyncExitStack() as stack:
            for room_id in sorted(set(room_ids)):
                await stack.enter_async_context(self._locks[room_id])
            yield

    def now(self) -> float:
        return self.services.clock.now().timestamp()

    # ------------------------------------------------------------------- moving on
    async def tick(self, room_id: int) -> None:
        """A deadline: apply whatever is due now, together with every other room whose
        deadline falls due in the same instant (:mod:`bot.shell.batch`)."""
        await self._due.submit(room_id)

    async def _tick_many(self, room_ids: list[int]) -> dict[int, BaseException]:
        return await self.batch.apply(room_ids, advance_change)

    async def change_room(
        self,
        room_id: int,
        change: Change,
        *,
        respect_pause: bool = True,
        starting: bool = False,
    ) -> list[Event]:
        """Apply ``change`` to a running room (or, with ``starting``, to a room that is opening,
        which then runs), commit the state with its messages, set the next deadline, post."""
        async with self.lock(room_id):
            async with self.services.sessions() as session:
                room = await repo.load_room(session, room_id)
                if room is None or room.status != ("opening" if starting else "running"):
                    if not starting:
                        self.schedule(room_id, None)
                    return []
                brew_id = room.brew_id
                brew = room.brew
                timing = repo.timing_of(brew)
                if respect_pause and brew.paused_at is not None:
                    return []
                now = self.now()
                if starting:
                    room.status = "running"
                    if brew.paused_at is not None:
                        # Started while paused: as if it started at the pause, so that resuming
                        # (which shifts every deadline by the pause) starts it afresh.
                        now = brew.paused_at.timestamp()
                state = repo.state_of(room)
                new_state, events = change(state, timing, now, self.presence(room))
                await self._commit(session, room, brew, new_state, events)
                next_at = phases.next_deadline(new_state, timing)
                paused = brew.paused_at is not None
            # The next deadline is set before anything is sent, so a failure while sending can
            # never leave a room without its timer.
            self.schedule(room_id, None if paused else next_at)
        if starting:
            self._started[room_id].set()
        await self.outbox.flush(room_id)
        if new_state.phase is Phase.DONE:
            await self.maybe_finish_brew(brew_id)
        return events

    async def _commit(
        self,
        session: AsyncSession,
        room: Room,
        brew: Brew,
        state: RoomState,
        events: Sequence[Event],
    ) -> None:
        repo.store_state(room, state)
        self.outbox.queue(session, room, brew, events)
        await session.commit()

    # ----------------------------------------------------------------- presence
    def presence(self, room: Room) -> Callable[[str], bool]:
        """Who can take their turn: in the room's voice channel, or taking part by text. Each
        person's voice state is looked up on its own (not the whole server's voice states for
        every room: with 160 rooms moved on together that was 160 x 640 look-ups)."""
        guild = self.client.get_guild(room.brew.guild_id)
        by_text = {m.user_id for m in room.members if m.text_only}

        def present(key: str) -> bool:
            user_id = int(key)
            if user_id in by_text:
                return True
            member = guild.get_member(user_id) if guild is not None else None
            voice = member.voice if member is not None else None
            channel = voice.channel if voice is not None else None
            return channel is not None and channel.id == room.voice_channel_id

        return present

    # -------------------------------------------------------------- brew-level
    async def start_room(self, room_id: int, largest_group: int) -> None:
        """A room's channels are ready: its timetable starts now (in the same transaction as
        the room is marked running). If that fails it is retried like any deadline."""

        async def start() -> None:
            await self._start_room(room_id, largest_group)

        try:
            await start()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("room %s: could not start (%s); trying again", room_id, describe(exc))
            self.timers.at(f"room-{room_id}", self.now(), start, retry=self.retry_for(room_id))

    async def _start_room(self, room_id: int, largest_group: int) -> None:
        def change(
            state: RoomState, timing: phases.Timing, now: float, present: object
        ) -> tuple[RoomState, list[Event]]:
            return phases.start_room(state.order, timing, now, largest_group)

        await self.change_room(room_id, change, respect_pause=False, starting=True)
        async with self.services.sessions() as session:
            room = await repo.load_room(session, room_id)
            running = room is not None and room.status == "running"
        if running:
            self._started[room_id].set()
            await self.outbox.flush(room_id)  # a broadcast queued while it opened, say

    def queue_guide(self, session: AsyncSession, room: Room, text: str) -> None:
        """Queue a room's guide in the caller's transaction (posted first when it starts)."""
        self.outbox.queue_guide(session, room, text)

    async def rooms_of(self, brew_id: int, statuses: tuple[str, ...] = ("running",)) -> list[int]:
        async with self.services.sessions() as session:
            brew = await repo.load_brew(session, brew_id)
            return [r.id for r in brew.rooms if r.status in statuses] if brew else []

    async def for_each_room(self, brew_id: int, change: Change) -> None:
        """Apply ``change`` to every room of the brew: now to running rooms, and to rooms still
        opening as soon as each has started."""
        for room_id in await self.rooms_of(brew_id, ("opening",)):
            self.timers.spawn(self._when_started(room_id, change), name=f"control room {room_id}")
        # Every running room at one moment, in one transaction: their next deadlines are then
        # the same, so they fall due together again (and are applied together).
        failed = await self.batch.apply(await self.rooms_of(brew_id), change, respect_pause=False)
        if failed:
            raise next(iter(failed.values()))

    async def _when_started(self, room_id: int, change: Change) -> None:
        try:
            await asyncio.wait_for(self._started[room_id].wait(), OPENING_WAIT_S)
        except TimeoutError:
            log.warning("room %s never started; a control for it was not applied", room_id)
            return
        await self.change_room(room_id, change, respect_pause=False)

    async def _room_ids(self, brew_id: int) -> list[int]:
        async with self.services.sessions() as session:
            brew = await repo.load_brew(session, brew_id)
            return [r.id for r in brew.rooms] if brew else []

    async def pause(self, brew_id: int) -> bool:
        """Pause every room: running rooms stop their timers and say so; rooms still opening
        start paused (see :meth:`change_room`) and say so once they run."""
        async with self.locked(await self._room_ids(brew_id)):
            async with self.services.sessions() as session:
                brew = await repo.load_brew(session, brew_id)
                if brew is None or brew.paused_at is not None:
                    return False
                brew.paused_at = self.services.clock.now()
                for room in brew.rooms:
                    if room.status in ("running", "opening"):
                        self.outbox.queue_post(
                            session,
                            room,
                            Post(self.services.content.text("turns.paused")),
                            for_phase=room.phase if room.status == "running" else None,
                        )
                        self.schedule(room.id, None)
                await session.commit()
                room_ids = [r.id for r in brew.rooms]
        await asyncio.gather(*(self.outbox.flush(r) for r in room_ids))
        return True

    async def resume(self, brew_id: int) -> bool:
        async with self.locked(await self._room_ids(brew_id)):
            async with self.services.sessions() as session:
                brew = await repo.load_brew(session, brew_id)
                if brew is None or brew.paused_at is None:
                    return False
                paused_for = self.now() - brew.paused_at.timestamp()
                brew.paused_at = None
                timing = repo.timing_of(brew)
                schedule: list[tuple[int, float | None]] = []
                for room in brew.rooms:
                    if room.status != "running":
                        continue
                    state = phases.shift(repo.state_of(room), paused_for)
                    repo.store_state(room, state)
                    text = self.services.content.format(
                        "turns.resumed",
                        ends_rel=stamp_rel(state.phase_ends_at),
                        ends_time=stamp_time(state.phase_ends_at),
                    )
                    self.outbox.queue_post(session, room, Post(text), for_phase=room.phase)
                    schedule.append((room.id, phases.next_deadline(state, timing)))
                await session.commit()
            for room_id, when in schedule:
                self.schedule(room_id, when)
        await asyncio.gather(*(self.outbox.flush(room_id) for room_id, _ in schedule))
        return True

    async def extend(self, brew_id: int, minutes: int) -> None:
        await self.for_each_room(
            brew_id, lambda s, t, now, p: phases.extend(s, minutes * 60, t, once=False)
        )

    async def next_phase(self, brew_id: int) -> None:
        await self.for_each_room(brew_id, lambda s, t, now, p: phases.skip_phase(s, t, now, p))

    async def end(self, brew_id: int) -> None:
        async with self.services.sessions() as session:
            brew = await repo.load_brew(session, brew_id)
            if brew is not None and brew.paused_at is not None:
                brew.paused_at = None
                await session.commit()
        await self.for_each_room(brew_id, lambda s, t, now, p: phases.end_early(s, t, now))

    async def broadcast(self, brew_id: int, text: str) -> int:
        """Post ``text`` in every room of the brew; a room still opening gets it once it runs
        (it waits in the outbox). Returns how many rooms it goes to."""
        async with self.locked(await self._room_ids(brew_id)):
            async with self.services.sessions() as session:
                brew = await repo.load_brew(session, brew_id)
                if brew is None:
                    return 0
                rooms = [
                    r
                    for r in brew.rooms
                    if r.status == "opening"
                    or (r.status == "running" and r.phase not in (Phase.AFTER, Phase.DONE))
                ]
                for room in rooms:
                    self.outbox.queue_post(
                        session,
                        room,
                        Post(self.services.content.format("turns.broadcast", message=text)),
                        valid_for=BROADCAST_VALID_S,
                    )
                await session.commit()
                room_ids = [r.id for r in rooms]
        await asyncio.gather(*(self.outbox.flush(r) for r in room_ids))
        return len(room_ids)

    async def maybe_finish_brew(self, brew_id: int) -> None:
        async with self.services.sessions() as session:
            brew = await repo.load_brew(session, brew_id)
            if brew is None or brew.status != "running":
                return
            if all(
                r.phase == Phase.DONE.value or r.status in ("failed", "ended") for r in brew.rooms
            ):
                brew.status = "ended"
                brew.ended_at = brew.ended_at or self.services.clock.now()
                brew.reflections_close_at = window_closes_at(
                    brew.ended_at, self.services.config.privacy.reflection_window_days
                )
                await self.on_brew_ended(session, brew)
                await session.commit()
                self._forget(brew.id, [r.id for r in brew.rooms])
                log.info("brew %s (number %s) has ended", brew.id, brew.number)
                for listener in self.ended_listeners:
                    self.timers.spawn(listener(brew.id), name=f"brew-ended-{brew.id}")

    def _forget(self, brew_id: int, room_ids: Sequence[int]) -> None:
        """Drop the in-memory locks of a finished brew's rooms, so a long-running bot does not
        keep one for every room it ever ran (a lock still held is left to its holder)."""
        for room_id in room_ids:
            lock = self._locks.get(room_id)
            if lock is not None and not lock.locked():
                del self._locks[room_id]
            self._started.pop(room_id, None)
            self._stuck.discard(room_id)
            self.deadlines.cancel(room_id)
            self.timers.forget(f"room-{room_id}")
        self.outbox.forget(room_ids)

    async def on_brew_ended(self, session: AsyncSession, brew: Brew) -> None:
        """Discard what is no longer needed once a brew is over (perspectives are never kept)."""
        for signup in brew.signups:
            signup.perspective = None
        for category_id in brew.category_ids:
            guild = self.client.get_guild(brew.guild_id)
            channel = guild.get_channel(category_id) if guild else None
            if channel is not None:
                try:
                    await channel.delete(reason="Brew finished")
                except discord.HTTPException:
                    log.info("could not delete category %s", category_id)

    # --------------------------------------------------------------- faults
    async def room_lost(self, room_id: int, why: str) -> None:
        """A room's channel is gone: end that room cleanly, tell the facilitator, others go on."""
        async with self.services.sessions() as session:
            room = await repo.load_room(session, room_id)
            if room is None or room.status in ("failed", "ended"):
                return
            room.status = "failed"
            room.phase = Phase.DONE.value
            brew = room.brew
            for item in await repo.outbox_for(session, room_id):
                await session.delete(item)
            await session.commit()
        self.schedule(room_id, None)
        guild = self.client.get_guild(brew.guild_id)
        if guild is not None:
            await recall(self.services, guild, room)
            await delete_room_channels(self.services, guild, room)
            async with self.services.sessions() as session:
                fresh = await session.get(Room, room_id)
                if fresh is not None:
                    fresh.status = "failed"
                    await session.commit()
        await self.tell_facilitators(
            brew,
            f"Room {room.index + 1} of brew {brew.number} has ended early because {why}. "
            "The other rooms carry on.",
        )
        await self.maybe_finish_brew(brew.id)

    async def _tell_about_room(self, room_id: int, text: str, ping_users: Sequence[int]) -> None:
        async with self.services.sessions() as session:
            room = await repo.load_room(session, room_id)
        if room is not None:
            await self.tell_facilitators(room.brew, text, ping=True, ping_users=ping_users)

    async def _tell_stuck(self, room_id: int, exc: BaseException, seconds: float) -> None:
        """A room has not been able to move on for a bounded time: say which and why, once."""
        if room_id in self._stuck:
            return
        self._stuck.add(room_id)
        minutes = max(1, round(seconds / 60))
        async with self.services.sessions() as session:
            room = await repo.load_room(session, room_id)
        name = f"Room {room.index + 1} of brew {room.brew.number}" if room else f"Room {room_id}"
        text = (
            f"{name} is stuck: for {minutes} minute{'s' if minutes != 1 else ''} it has not "
            f"been able to move on to its next step, because {describe(exc)}. I keep trying, "
            "and it will carry on as soon as this works; the people in it may need a word."
        )
        log.error("room %s is stuck: %s", room_id, exc)
        if room is not None:
            await self.tell_facilitators(room.brew, text, ping=True)

    async def _tell_healed(self, room_id: int) -> None:
        if room_id not in self._stuck:
            return
        self._stuck.discard(room_id)
        async with self.services.sessions() as session:
            room = await repo.load_room(session, room_id)
        if room is not None:
            await self.tell_facilitators(
                room.brew,
                f"Room {room.index + 1} of brew {room.brew.number} is moving on again.",
            )

    async def tell_facilitators(
        self, brew: Brew, text: str, *, ping: bool = False, ping_users: Sequence[int] = ()
    ) -> None:
        """Post in the brew's own channel; ``ping`` alerts the facilitators, ``ping_users``
        the people named (for example those whose room could not open)."""
        channel = self.client.get_channel(brew.channel_id or 0)
        if not isinstance(channel, discord.abc.Messageable):
            log.warning("brew %s: nowhere to tell the facilitators: %s", brew.id, text)
            return
        mentions = only_pinging(users=ping_users)
        people = list(ping_users)
        if ping:
            # Only read (no commit), so the facilitator can be told even while the database
            # refuses writes (a room stuck on a failing write is exactly when this is needed).
            async with self.services.sessions() as session:
                found = await session.get(GuildSettings, brew.guild_id)
                role_id = found.facilitator_role_id if found is not None else None
            mentions = only_pinging(
                users=[*([brew.facilitator_id] if brew.facilitator_id else []), *people],
                roles=[role_id] if role_id else [],
            )
            prefix = " ".join([f"<@&{role_id}>"] if role_id else []) or (
                f"<@{brew.facilitator_id}>" if brew.facilitator_id else ""
            )
            text = f"{prefix} {text}".strip()
        try:
            await channel.send(text, allowed_mentions=mentions)
        except discord.HTTPException as exc:
            log.warning("brew %s: could not tell the facilitators (%s)", brew.id, exc)
