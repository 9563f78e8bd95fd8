"""The brew runner: applies the timetable's decisions (:mod:`bot.core.phases`) and the brew
controls (pause, resume, extend, next phase, end, broadcast).

The database is the source of truth. Each room has one timer (:mod:`bot.shell.timers`) holding
only its next deadline, rebuilt from the ``rooms`` table at start-up. When a deadline fires, or
a button or facilitator command changes a room, the runner:

1. loads the room and asks :mod:`bot.core.phases` what happens next,
2. commits the new state *and* the messages it implies in one transaction
   (:meth:`bot.shell.outbox.Outbox.queue`),
3. has :mod:`bot.shell.outbox` carry those messages out.

Changes to one brew are serialised by a lock, so a press of "I'm done" and a deadline firing at
the same moment cannot both move the turn on.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence

import discord
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import phases
from bot.core.messages import Post, stamp_rel, stamp_time
from bot.core.phases import Event, Phase, RoomState
from bot.core.reflections import window_closes_at
from bot.db import repo
from bot.db.models import Brew, Room
from bot.services import Services
from bot.shell.errors import only_pinging
from bot.shell.outbox import Outbox
from bot.shell.protocols import Change
from bot.shell.timers import Timers

log = logging.getLogger(__name__)


class BrewRunner:
    """Moves every room of this process's brews through its timetable."""

    def __init__(self, client: discord.Client, services: Services, timers: Timers) -> None:
        self.client = client
        self.services = services
        self.timers = timers
        self.outbox = Outbox(client, services, timers, on_room_gone=self.room_lost)
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.started_at = services.clock.now()

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self.timers.start()
        self.timers.spawn(self.recover(), name="recover")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop the timers, let work in flight finish (briefly), then cancel what is left.

        Whatever is cut short is safe: state and outbox are in the database, and posts carry
        a nonce, so the next start carries on without losing or repeating a prompt.
        """
        await self.timers.stop(grace)

    async def recover(self) -> None:
        """Put every running brew's timers back, after carrying out what was left undone."""
        await self.client.wait_until_ready()
        async with self.services.sessions() as session:
            found_half_open = await repo.rooms_still_opening(session, self.started_at)
            found_pending = await repo.rooms_with_outbox(session)
            found_live = await repo.live_room_ids(session)
        # With several processes (one gateway shard each), a process looks after the brews of
        # the servers it is connected to, and only those.
        mine = {guild.id for guild in self.client.guilds}
        half_open = [r for r, g in found_half_open if g in mine]
        pending = [r for r, g in found_pending if g in mine]
        live = [r for r, g in found_live if g in mine]
        for room_id in half_open:
            # The bot stopped while this room was being opened: its timetable never started.
            await self.room_lost(room_id, "the bot restarted while the room was being opened")
        for room_id in pending:
            await self.outbox.flush(room_id)
        for room_id in live:
            await self.tick(room_id)
        log.info("recovered %d rooms", len(live))

    # ---------------------------------------------------------------- scheduling
    def schedule(self, room_id: int, when: float | None) -> None:
        """Set the room's one timer to ``when`` (a Unix timestamp), or clear it."""
        key = f"room-{room_id}"
        if when is None:
            self.timers.cancel(key)
        else:
            self.timers.at(key, when, lambda: self.tick(room_id))

    def lock(self, brew_id: int) -> asyncio.Lock:
        return self._locks[brew_id]

    def now(self) -> float:
        return self.services.clock.now().timestamp()

    # ------------------------------------------------------------------- moving on
    async def tick(self, room_id: int) -> None:
        """A deadline: apply whatever is due now."""
        await self.change_room(
            room_id, lambda s, t, now, present: phases.advance(s, t, now, present)
        )

    async def change_room(
        self,
        room_id: int,
        change: Change,
        *,
        respect_pause: bool = True,
    ) -> list[Event]:
        async with self.services.sessions() as session:
            room = await repo.load_room(session, room_id)
            if room is None:
                return []
            brew_id = room.brew_id
        async with self.lock(brew_id):
            async with self.services.sessions() as session:
                room = await repo.load_room(session, room_id)
                if room is None or room.status != "running":
                    self.schedule(room_id, None)
                    return []
                brew = room.brew
                timing = repo.timing_of(brew)
                if respect_pause and brew.paused_at is not None:
                    return []
                state = repo.state_of(room)
                new_state, events = change(state, timing, self.now(), self.presence(room))
                await self._commit(session, room, brew, new_state, events)
                next_at = phases.next_deadline(new_state, timing)
                paused = brew.paused_at is not None
            # The next deadline is set before anything is sent, so a failure while sending can
            # never leave a room without its timer.
            self.schedule(room_id, None if paused else next_at)
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
        """Who can take their turn: in the room's voice channel, or taking part by text."""
        guild = self.client.get_guild(room.brew.guild_id)
        voice = guild.get_channel(room.voice_channel_id or 0) if guild else None
        in_voice = (
            {m.id for m in voice.members} if isinstance(voice, discord.VoiceChannel) else set()
        )
        by_text = {m.user_id for m in room.members if m.text_only}

        def present(key: str) -> bool:
            user_id = int(key)
            return user_id in in_voice or user_id in by_text

        return present

    # -------------------------------------------------------------- brew-level
    async def start_room(self, room_id: int, largest_group: int) -> None:
        """A room's channels are ready: its timetable starts now."""

        def change(
            state: RoomState, timing: phases.Timing, now: float, present: object
        ) -> tuple[RoomState, list[Event]]:
            return phases.start_room(state.order, timing, now, largest_group)

        async with self.services.sessions() as session:
            room = await repo.load_room(session, room_id)
            if room is None:
                return
            room.status = "running"
            await session.commit()
        await self.change_room(room_id, change, respect_pause=False)

    async def rooms_of(self, brew_id: int) -> list[int]:
        async with self.services.sessions() as session:
            brew = await repo.load_brew(session, brew_id)
            return [r.id for r in brew.rooms if r.status == "running"] if brew else []

    async def for_each_room(self, brew_id: int, change: Change) -> None:
        await asyncio.gather(
            *(
                self.change_room(rid, change, respect_pause=False)
                for rid in await self.rooms_of(brew_id)
            )
        )

    async def pause(self, brew_id: int) -> bool:
        async with self.lock(brew_id), self.services.sessions() as session:
            brew = await repo.load_brew(session, brew_id)
            if brew is None or brew.paused_at is not None:
                return False
            brew.paused_at = self.services.clock.now()
            for room in brew.rooms:
                if room.status == "running":
                    self.outbox.queue_post(
                        session, room, Post(self.services.content.text("turns.paused"))
                    )
                    self.schedule(room.id, None)
            await session.commit()
            room_ids = [r.id for r in brew.rooms]
        for room_id in room_ids:
            await self.outbox.flush(room_id)
        return True

    async def resume(self, brew_id: int) -> bool:
        async with self.lock(brew_id), self.services.sessions() as session:
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
                self.outbox.queue_post(session, room, Post(text))
                schedule.append((room.id, phases.next_deadline(state, timing)))
            await session.commit()
        for room_id, when in schedule:
            await self.outbox.flush(room_id)
            self.schedule(room_id, when)
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
        async with self.lock(brew_id), self.services.sessions() as session:
            brew = await repo.load_brew(session, brew_id)
            if brew is None:
                return 0
            rooms = [r for r in brew.rooms if r.status == "running"]
            for room in rooms:
                self.outbox.queue_post(
                    session,
                    room,
                    Post(self.services.content.format("turns.broadcast", message=text)),
                )
            await session.commit()
        await asyncio.gather(*(self.outbox.flush(r.id) for r in rooms))
        return len(rooms)

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

    def _forget(self, brew_id: int, room_ids: Sequence[int]) -> None:
        """Drop the in-memory locks of a finished brew, so a long-running bot does not keep
        one for every brew it ever ran (a lock still held is left to its holder)."""
        lock = self._locks.get(brew_id)
        if lock is not None and not lock.locked():
            del self._locks[brew_id]
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
            await self.outbox.recall(guild, room)
            await self.outbox.delete_room_channels(guild, room)
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
        if ping:
            async with self.services.sessions() as session:
                settings = await repo.settings_for(session, brew.guild_id)
                role_id = settings.facilitator_role_id
                await session.commit()
            mentions = only_pinging(
                users=[brew.facilitator_id] if brew.facilitator_id else [],
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
