"""The brew runner: one dispatcher that moves every room through its timetable.

The database is the source of truth. For each room, APScheduler holds only the next deadline, as
a job rebuilt from the ``rooms`` table at start-up (never APScheduler's own pickled job store).
When a deadline fires, or a button or facilitator command changes a room, the runner:

1. loads the room and asks :mod:`bot.core.phases` what happens next,
2. commits the new state *and* the messages it implies (the ``outbox``) in one transaction,
3. carries out the outbox: each post has a fixed nonce, so Discord refuses a duplicate if the
   bot crashed after posting but before noting it, and nothing is lost if it crashed before.

Changes to one brew are serialised by a lock, so a press of "I'm done" and a deadline firing at
the same moment cannot both move the turn on.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import phases
from bot.core.messages import Post, RoomContext, render
from bot.core.phases import Event, Phase, RoomState
from bot.core.reflections import window_closes_at
from bot.db import repo
from bot.db.models import Brew, Outbox, Room
from bot.shell.errors import only_pinging
from bot.shell.views import room_view

if TYPE_CHECKING:
    from bot.shell.app import BrewBot

log = logging.getLogger(__name__)

Presence = Callable[[str], bool]
Change = Callable[[RoomState], tuple[RoomState, list[Event]]]


class BrewRunner:
    def __init__(self, bot: BrewBot) -> None:
        self.bot = bot
        self.services = bot.services
        self.scheduler = AsyncIOScheduler(
            timezone=UTC,
            # A deadline missed while the process was busy or down is still applied, once.
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.started_at = self.services.clock.now()
        self._flush_locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        from bot.shell.views import DYNAMIC_ITEMS

        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)
        self.scheduler.start()
        self.spawn(self.recover())

    async def stop(self, grace: float = 5.0) -> None:
        """Stop the timers, let work in flight finish (briefly), then cancel what is left.

        Whatever is cut short is safe: state and outbox are in the database, and posts carry
        a nonce, so the next start carries on without losing or repeating a prompt.
        """
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def recover(self) -> None:
        """Put every running brew's timers back, after carrying out what was left undone."""
        await self.bot.wait_until_ready()
        async with self.services.sessions() as session:
            found_half_open = await repo.rooms_still_opening(session, self.started_at)
            found_pending = await repo.rooms_with_outbox(session)
            found_live = await repo.live_room_ids(session)
        # With several processes (one gateway shard each), a process looks after the brews of
        # the servers it is connected to, and only those.
        mine = {guild.id for guild in self.bot.guilds}
        half_open = [r for r, g in found_half_open if g in mine]
        pending = [r for r, g in found_pending if g in mine]
        live = [r for r, g in found_live if g in mine]
        for room_id in half_open:
            # The bot stopped while this room was being opened: its timetable never started.
            await self.room_lost(room_id, "the bot restarted while the room was being opened")
        for room_id in pending:
            await self.flush(room_id)
        for room_id in live:
            await self.tick(room_id)
        log.info("recovered %d rooms", len(live))

    # ---------------------------------------------------------------- scheduling
    def schedule(self, room_id: int, when: float | None) -> None:
        job_id = f"room-{room_id}"
        if when is None:
            if self.scheduler.get_job(job_id):
                self.scheduler.remove_job(job_id)
            return
        self.scheduler.add_job(
            self._fire,
            DateTrigger(run_date=datetime.fromtimestamp(when, UTC)),
            args=[room_id],
            id=job_id,
            replace_existing=True,
        )

    async def _fire(self, room_id: int) -> None:
        """The scheduled job only hands the tick to a task: a tick reschedules its own job id,
        which APScheduler would refuse while the job that fired it is still running."""
        self.spawn(self.tick(room_id))

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
        change: Callable[..., tuple[RoomState, list[Event]]],
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
        await self.flush(room_id)
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
        self.queue(session, room, brew, events)
        await session.commit()

    def context(self, room: Room, brew: Brew) -> RoomContext:
        return RoomContext(
            question=brew.question,
            turns_in_text=room.turns_in_text,
            text_only_members=frozenset(m.user_id for m in room.members if m.text_only),
        )

    def queue(self, session: AsyncSession, room: Room, brew: Brew, events: Sequence[Event]) -> None:
        """Write the effects of ``events`` to the outbox (same transaction as the state)."""
        content = self.services.content
        ctx = self.context(room, brew)
        for event in events:
            if isinstance(event, phases.Recall):
                self.queue_effect(session, room, "recall")
            elif isinstance(event, phases.Cleanup):
                self.queue_effect(session, room, "cleanup")
            post = render(content, event, ctx)
            if post is not None:
                self.queue_post(session, room, post)

    def queue_post(self, session: AsyncSession, room: Room, post: Post) -> None:
        self.queue_effect(
            session, room, "post", text=post.text, ping=post.speaker, buttons=",".join(post.buttons)
        )

    def queue_effect(
        self,
        session: AsyncSession,
        room: Room,
        kind: str,
        *,
        text: str = "",
        ping: int | None = None,
        buttons: str = "",
    ) -> None:
        room.outbox_seq += 1
        session.add(
            Outbox(
                room_id=room.id,
                kind=kind,
                nonce=f"bh{room.id}n{room.outbox_seq}",
                text=text,
                ping_user_id=ping,
                buttons=buttons,
                step=room.step,
            )
        )

    # ------------------------------------------------------------------- effects
    async def flush(self, room_id: int) -> None:
        """Carry out a room's outbox in order; stop at the first thing that cannot be done yet.

        One flush at a time per room keeps the room's messages in order; rooms flush in parallel.
        """
        async with self._flush_locks[room_id]:
            await self._flush(room_id)

    async def _flush(self, room_id: int) -> None:
        async with self.services.sessions() as session:
            room = await repo.load_room(session, room_id)
            if room is None:
                return
            items = await repo.outbox_for(session, room_id)
            for item in items:
                try:
                    await self._carry_out(room, item)
                except (discord.NotFound, RoomGone):
                    await self.room_lost(room_id, "a channel of this room was deleted")
                    return
                except (discord.HTTPException, discord.RateLimited) as exc:
                    self._retry_flush_later(room_id)
                    log.warning(
                        "room %s: could not %s (%s); will try again in 10 seconds",
                        room_id,
                        item.kind,
                        exc,
                    )
                    return
                await session.delete(item)
                await session.commit()

    async def _fire_flush(self, room_id: int) -> None:
        self.spawn(self.flush(room_id))

    def _retry_flush_later(self, room_id: int, seconds: float = 10.0) -> None:
        when = datetime.fromtimestamp(self.now() + seconds, UTC)
        self.scheduler.add_job(
            self._fire_flush,
            DateTrigger(run_date=when),
            args=[room_id],
            id=f"flush-{room_id}",
            replace_existing=True,
        )

    async def _carry_out(self, room: Room, item: Outbox) -> None:
        guild = self.bot.get_guild(room.brew.guild_id)
        if item.kind == "post":
            channel = self.bot.get_channel(room.text_channel_id or 0)
            if not isinstance(channel, discord.abc.Messageable):
                raise RoomGone(room.id)
            view = room_view(
                self.services.content,
                [b for b in item.buttons.split(",") if b],
                room_id=room.id,
                brew_id=room.brew_id,
                step=item.step,
            )
            mentions = discord.AllowedMentions.none()
            if item.ping_user_id:
                mentions = only_pinging(users=[item.ping_user_id])
            if view is None:
                await channel.send(item.text, nonce=item.nonce, allowed_mentions=mentions)
            else:
                await channel.send(
                    item.text, nonce=item.nonce, allowed_mentions=mentions, view=view
                )
        elif item.kind == "recall" and guild is not None:
            await self.recall(guild, room)
        elif item.kind == "cleanup" and guild is not None:
            await self.delete_room_channels(guild, room)

    async def recall(self, guild: discord.Guild, room: Room) -> None:
        """Move everyone still in the room's voice channel back to the main voice channel."""
        async with self.services.sessions() as session:
            settings = await repo.settings_for(session, guild.id)
            main_id = settings.main_voice_channel_id
            await session.commit()
        target = guild.get_channel(main_id) if main_id else None
        voice = guild.get_channel(room.voice_channel_id or 0)
        if not isinstance(voice, discord.VoiceChannel) or not isinstance(
            target, discord.VoiceChannel
        ):
            return
        results = await asyncio.gather(
            *(m.move_to(target, reason="Brew finished") for m in voice.members),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, Exception):
                log.info("room %s: could not move someone back: %s", room.id, result)

    async def delete_room_channels(self, guild: discord.Guild, room: Room) -> None:
        # Marked first, so the channel-deleted events that follow are not taken for a fault.
        async with self.services.sessions() as session:
            fresh = await session.get(Room, room.id)
            if fresh is not None and fresh.status == "running":
                fresh.status = "ended"
                await session.commit()
        for channel_id in (room.text_channel_id, room.voice_channel_id):
            channel = guild.get_channel(channel_id or 0)
            if channel is None:
                continue
            try:
                await channel.delete(reason="Brew finished")
            except discord.NotFound:
                pass

    # ----------------------------------------------------------------- presence
    def presence(self, room: Room) -> Callable[[str], bool]:
        """Who can take their turn: in the room's voice channel, or taking part by text."""
        guild = self.bot.get_guild(room.brew.guild_id)
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

    async def for_each_room(
        self, brew_id: int, change: Change | Callable[..., tuple[RoomState, list[Event]]]
    ) -> None:
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
                    self.queue_post(session, room, Post(self.services.content.text("turns.paused")))
                    self.schedule(room.id, None)
            await session.commit()
            room_ids = [r.id for r in brew.rooms]
        for room_id in room_ids:
            await self.flush(room_id)
        return True

    async def resume(self, brew_id: int) -> bool:
        from bot.core.messages import stamp_rel, stamp_time

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
                self.queue_post(session, room, Post(text))
                schedule.append((room.id, phases.next_deadline(state, timing)))
            await session.commit()
        for room_id, when in schedule:
            await self.flush(room_id)
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
                self.queue_post(
                    session,
                    room,
                    Post(self.services.content.format("turns.broadcast", message=text)),
                )
            await session.commit()
        await asyncio.gather(*(self.flush(r.id) for r in rooms))
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
        for locks, keys in ((self._locks, [brew_id]), (self._flush_locks, room_ids)):
            for key in keys:
                lock = locks.get(key)
                if lock is not None and not lock.locked():
                    del locks[key]

    async def on_brew_ended(self, session: AsyncSession, brew: Brew) -> None:
        """Discard what is no longer needed once a brew is over (perspectives are never kept)."""
        for signup in brew.signups:
            signup.perspective = None
        for category_id in brew.category_ids:
            guild = self.bot.get_guild(brew.guild_id)
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
        guild = self.bot.get_guild(brew.guild_id)
        if guild is not None:
            await self.recall(guild, room)
            await self.delete_room_channels(guild, room)
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
        channel = self.bot.get_channel(brew.channel_id or 0)
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


class RoomGone(Exception):
    """The room's text channel is not there any more."""
