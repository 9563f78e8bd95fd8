"""The outbox: what a room's change means in Discord, written down first and then carried out.

When a room changes, its new state and the messages it implies are committed in one transaction
(:meth:`Outbox.queue` adds the ``outbox`` rows to the caller's session). :meth:`Outbox.flush`
then carries the rows out in order, deleting each once it is done:

* ``guide``: the room's guide, naming and pinging everyone in it (their link to the room);
  always carried out first;
* ``post``: a message with a fixed nonce (``bh<room>n<seq>``), so Discord refuses a duplicate if
  the bot crashed after posting but before deleting the row, and nothing is lost if it crashed
  before posting;
* ``recall``: everyone still in the room's voice channel back to the main voice channel;
* ``cleanup``: the room's channels deleted.

A post whose moment has passed is dropped, never sent late: each row says the phase (and turn)
it belongs to, or a time it is good until (:func:`is_stale`).

Discord's errors are of two kinds (:func:`classify`). Those that will not heal by asking again
(403 Missing Access / Missing Permissions, 400 and 50035 Invalid Form Body) stop the flush at
once: the facilitator is told, once per room and kind, and the room's next change tries again
(a refused 400 is dropped). Those that may heal (429, 5xx, time-outs, lost connections), and a
database that fails, are retried with backoff by :class:`bot.shell.timers.Timers`, and after a
bounded time the facilitator is told, once, which room is stuck and why.

Discord honours a nonce for a few minutes only, so the first flush of a room after a restart
first reads the room's recent history: a queued post the bot already sent (same text, by the
bot, after the last post the outbox knows of) is taken as done, whatever the downtime.

One flush at a time per room keeps a room's messages in order; rooms flush in parallel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import discord
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import phases
from bot.core.messages import Post, render
from bot.core.phases import Event
from bot.db import repo
from bot.db.models import Brew, Room
from bot.db.models import Outbox as OutboxRow
from bot.db.session import one_statement, reading
from bot.services import Services
from bot.shell.errors import only_pinging
from bot.shell.group_commit import GroupCommit
from bot.shell.outbox_rules import (
    FORBIDDEN,
    GONE,
    REFUSED,
    TRANSIENT,
    FlushFailed,
    RoomGone,
    classify,
    describe,
    is_stale,
    moment_of,
    room_context,
    unlinked_words,
)
from bot.shell.room_effects import delete_room_channels, recall
from bot.shell.timers import Retry, Timers
from bot.shell.ui.room import room_view

log = logging.getLogger(__name__)

#: How long a facilitator's broadcast is worth delivering late (wall seconds).
BROADCAST_VALID_S = 600.0
#: How far back the history check reads (Discord gives at most 100 a request).
HISTORY_LIMIT = 100

#: Told when a room's channel is gone: ``(room id, why) -> None``.
RoomGoneHandler = Callable[[int, str], Awaitable[None]]
#: Tells the facilitators of a room's brew something: ``(room id, text, people to ping)``.
TellHandler = Callable[[int, str, Sequence[int]], Awaitable[None]]


@dataclass
class _Done:
    """What one flush has carried out (or dropped) so far, recorded together at its end."""

    ids: list[int] = field(default_factory=list)
    last_posted_id: int | None = None


@dataclass
class _Held:
    """A room's flush lock as held by one flush, given back once (see ``_carry_out_rows``)."""

    lock: asyncio.Lock
    held: bool = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.lock.release()


class Outbox:
    """Queues and carries out the Discord effects of every room's changes."""

    def __init__(
        self,
        client: discord.Client,
        services: Services,
        timers: Timers,
        on_room_gone: RoomGoneHandler,
        *,
        tell: TellHandler | None = None,
    ) -> None:
        self.client = client
        self.services = services
        self.timers = timers
        self.on_room_gone = on_room_gone
        self.tell = tell
        #: One flush at a time per room. A room's lock exists only while a flush holds it or
        #: waits for it (``_flush_users`` counts them), so rooms that are over keep nothing,
        #: even when their last flush was still running as the brew ended.
        self._flush_locks: dict[int, asyncio.Lock] = {}
        self._flush_users: dict[int, int] = {}
        #: (room, kind) pairs the facilitator has been told about: told once, not at each try.
        self._told: set[tuple[int, str]] = set()
        #: Rooms whose history has been compared with the outbox since this process started.
        self._history_checked: set[int] = set()
        #: Per room, the nonces of rows this process carried out, True once their record is
        #: committed. A flush may start before an earlier flush's record is in (see
        #: ``_carry_out_rows``), or carry out rows read before it took the lock
        #: (:meth:`enlist`): it takes those rows as done (recording them too). Nonces are
        #: never reused, so keeping one longer is harmless; see ``_purge``.
        self._carried: dict[int, dict[str, bool]] = {}
        #: Rows written before this moment were written by an earlier process (the row's
        #: ``created_at`` is the database's wall clock, not the brew's clock).
        self.started_at = datetime.now(UTC)
        self._records = GroupCommit(self._record_many, lambda w: timers.spawn(w, name="records"))
        #: Held while rooms' changes or records are written: SQLite's writers queue here, in
        #: asyncio, rather than in its busy handler (see :attr:`Services.writing`).
        self.writing = services.writing

    # ------------------------------------------------------------------ queue
    def queue(self, session: AsyncSession, room: Room, brew: Brew, events: Sequence[Event]) -> None:
        """Write the effects of ``events`` to the outbox (same transaction as the state)."""
        content = self.services.content
        ctx = room_context(room, brew)
        for event in events:
            if isinstance(event, phases.Recall):
                self.queue_effect(session, room, "recall")
            elif isinstance(event, phases.Cleanup):
                self.queue_effect(session, room, "cleanup")
            post = render(content, event, ctx)
            if post is not None:
                for_phase, for_turn = moment_of(event, room)
                self.queue_post(session, room, post, for_phase=for_phase, for_turn=for_turn)

    def queue_post(
        self,
        session: AsyncSession,
        room: Room,
        post: Post,
        *,
        for_phase: str | None = None,
        for_turn: int | None = None,
        valid_for: float | None = None,
    ) -> None:
        """Queue a message; it is dropped unsent if the room has left ``for_phase`` (or turn
        ``for_turn``) or ``valid_for`` wall seconds have passed by the time it can go."""
        valid_until = (
            self.services.clock.now() + timedelta(seconds=valid_for)
            if valid_for is not None
            else None
        )
        self.queue_effect(
            session,
            room,
            "post",
            text=post.text,
            ping=post.speaker,
            buttons=",".join(post.buttons),
            for_phase=for_phase,
            for_turn=for_turn,
            valid_until=valid_until,
        )

    def queue_guide(self, session: AsyncSession, room: Room, text: str) -> None:
        """The room's guide: posted before anything else, pinging everyone in the room."""
        self.queue_effect(session, room, "guide", text=text, nonce=f"bhguide{room.id}")

    def queue_effect(
        self,
        session: AsyncSession,
        room: Room,
        kind: str,
        *,
        text: str = "",
        ping: int | None = None,
        buttons: str = "",
        nonce: str | None = None,
        for_phase: str | None = None,
        for_turn: int | None = None,
        valid_until: datetime | None = None,
    ) -> None:
        room.outbox_seq += 1
        session.add(
            OutboxRow(
                room_id=room.id,
                kind=kind,
                nonce=nonce or f"bh{room.id}n{room.outbox_seq}",
                text=text,
                ping_user_id=ping,
                buttons=buttons,
                step=room.step,
                for_phase=for_phase,
                for_turn=for_turn,
                valid_until=valid_until,
            )
        )

    # ------------------------------------------------------------------ flush
    async def flush(self, room_id: int) -> None:
        """Carry out a room's outbox in order; stop at the first thing that cannot be done yet.

        Never raises: what may heal is tried again later with backoff (see the module doc).
        """
        try:
            await self.flush_now(room_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("room %s: %s; will try again", room_id, describe(exc))
            self.retry_later(room_id)

    async def flush_now(self, room_id: int) -> None:
        """Like :meth:`flush`, but a failure that may heal is raised as :class:`FlushFailed`
        (or the database's own error), for the caller to retry."""
        held = _Held(self._lock_in(room_id), held=False)
        try:
            await held.lock.acquire()
            held.held = True
            await self._flush(room_id, held)
        finally:
            held.release()
            self._lock_out(room_id)

    def _lock_in(self, room_id: int) -> asyncio.Lock:
        """The room's flush lock, counted as held or waited for by one more caller."""
        self._flush_users[room_id] = self._flush_users.get(room_id, 0) + 1
        return self._flush_locks.setdefault(room_id, asyncio.Lock())

    def _lock_out(self, room_id: int) -> None:
        """One caller fewer; nobody left holding or waiting: the lock goes (the next flush
        makes a new one), so rooms that are over keep nothing."""
        users = self._flush_users[room_id] - 1
        if users:
            self._flush_users[room_id] = users
        else:
            del self._flush_users[room_id]
            del self._flush_locks[room_id]

    def retry_later(self, room_id: int) -> None:
        """Flush again after the first backoff delay; further failures back off and, after a
        bounded time, the facilitator is told the room is stuck."""
        when = datetime.now(UTC) + timedelta(seconds=self.timers.backoff.delay(1))
        self.timers.at(
            f"flush-{room_id}",
            when,
            lambda: self.flush_now(room_id),
            retry=Retry(
                on_stuck=lambda exc, seconds: self._stuck(room_id, exc, seconds),
                on_healed=lambda seconds: self._healed(room_id),
            ),
        )

    async def _flush(self, room_id: int, held: _Held) -> None:
        # The room and its rows are read in one query, outside a transaction, and the session
        # is closed before Discord is called: a flush never holds a pooled connection across a
        # send, a move or a delete, so hundreds of rooms flushing at the same deadline do not
        # exhaust the pool. What was done is then recorded in one short write (:meth:`_record`).
        self._purge(room_id)
        async with reading(self.services.sessions) as session:
            room, items = await repo.room_with_outbox(session, room_id)
        if not items or room is None or room.status == "opening":
            return  # nothing queued; or an opening room, whose rows wait for it to start
        # Closing the session detached ``room`` and ``items`` with everything loaded (the
        # room's brew and members are loaded eagerly); they are read, never written, below.
        await self._carry_out_rows(room, items, held)

    async def claim(self, room_id: int) -> bool:
        """Take the room's flush lock now if it is free (a free asyncio lock is taken without
        waiting), for a caller that reads the rows itself (:mod:`bot.shell.batch`: rooms moved
        on together are read in one query) and then calls :meth:`flush_claimed`."""
        held = self._flush_locks.get(room_id)
        if held is not None and held.locked():
            return False
        await self._lock_in(room_id).acquire()
        self._purge(room_id)  # before the caller reads the rows
        return True

    def enlist(self, room_id: int) -> None:
        """Count the caller as waiting for a room's flush lock (one :meth:`claim` found busy)
        before it reads the rows itself, then :meth:`flush_enlisted`: rows the holder carries
        out meanwhile stay known as carried out (``_purge``)."""
        self._lock_in(room_id)

    async def flush_enlisted(self, room_id: int, room: Room | None, items: list[OutboxRow]) -> None:
        """:meth:`flush_claimed` once the lock is free, for a room :meth:`enlist` ed (nothing to
        wait for without ``items``). Never raises."""
        if not items or room is None:
            self._lock_out(room_id)
            return
        try:
            await self._flush_locks[room_id].acquire()
        except BaseException:
            self._lock_out(room_id)
            raise
        await self.flush_claimed(room_id, room, items)

    async def flush_claimed(self, room_id: int, room: Room | None, items: list[OutboxRow]) -> None:
        """:meth:`flush` for rows read (detached, the room's brew and members loaded) under the
        lock taken by :meth:`claim`, which this releases. Never raises."""
        held = _Held(self._flush_locks[room_id])
        try:
            if items and room is not None and room.status != "opening":
                await self._carry_out_rows(room, items, held)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("room %s: %s; will try again", room_id, describe(exc))
            self.retry_later(room_id)
        finally:
            held.release()
            self._lock_out(room_id)

    async def _carry_out_rows(self, room: Room, items: list[OutboxRow], held: _Held) -> None:
        """Carry out a room's rows in order (the room's flush lock is ``held``), then record
        them. The lock is given back before the record: the next flush (a deadline's prompt
        after a nudge) need not wait for this one's write, and takes these rows as done."""
        room_id = room.id
        items.sort(key=lambda i: (i.kind != "guide", i.id))
        if room_id not in self._history_checked:
            self._history_checked.add(room_id)
            if any(i.created_at < self.started_at for i in items):
                items = await self._already_posted(room, items)
        done = _Done()
        try:
            await self._carry_out_all(room, items, done)
        finally:
            # Whatever happened, what Discord did take is recorded (once for the whole run of
            # items). Should the process die before this, the next flush finds the rows still
            # queued: their nonces (for a few minutes) and the history check after a restart
            # keep them from being posted twice.
            ids = set(done.ids)
            nonces = [i.nonce for i in items if i.id in ids]
            self._carried.setdefault(room_id, {}).update(dict.fromkeys(nonces, False))
            held.release()
            if done.ids:
                await self._record(room_id, done.ids, last_posted_id=done.last_posted_id)
            carried = self._carried.get(room_id, {})
            carried.update({n: True for n in nonces if n in carried})  # (kept if it failed)
            self._purge(room_id)

    def _purge(self, room_id: int) -> None:
        """Forget rows whose record is committed, when the caller is the room's only flush
        (holding or waiting for its lock): a read that began before the record, which could
        still see them, is always made by a flush counted there."""
        carried = self._carried.get(room_id)
        if carried is not None and self._flush_users.get(room_id, 0) <= 1:
            for nonce in [n for n, recorded in carried.items() if recorded]:
                del carried[nonce]
            if not carried:
                del self._carried[room_id]

    async def _carry_out_all(self, room: Room, items: Sequence[OutboxRow], done: _Done) -> None:
        """Carry out ``items`` in order, noting in ``done`` each one done or dropped."""
        room_id = room.id
        now = self.services.clock.now()
        posts_blocked = False
        carried = self._carried.get(room_id, {})
        for item in items:
            if item.nonce in carried:  # carried out by an earlier flush, its record not in yet
                done.ids.append(item.id)
                continue
            if is_stale(item, room, now, datetime.now(UTC)):
                log.info("room %s: dropped a %s whose moment has passed", room_id, item.kind)
                done.ids.append(item.id)
                continue
            if posts_blocked and item.kind in ("post", "guide"):
                continue  # kept in order behind a post Discord would not take
            try:
                message_id = await self.carry_out(room, item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                kind = classify(exc)
                if kind == GONE:
                    if done.ids:  # recorded before the room is ended
                        await self._record(room_id, done.ids, last_posted_id=done.last_posted_id)
                        done.ids = []
                    await self.on_room_gone(room_id, "a channel of this room was deleted")
                    return
                if kind == TRANSIENT:
                    raise FlushFailed(room_id, item.kind, exc) from exc
                await self._refused(room, item, kind, exc)
                if kind == REFUSED or item.kind == "cleanup":
                    done.ids.append(item.id)  # asking again the same way won't help
                elif item.kind in ("post", "guide"):
                    posts_blocked = True
                continue
            if message_id is not None:
                room.last_posted_id = done.last_posted_id = message_id
            done.ids.append(item.id)

    async def _record(
        self, room_id: int, done: Sequence[int], *, last_posted_id: int | None = None
    ) -> None:
        """Record, in one short write, that the outbox rows ``done`` are carried out (or
        dropped) and, if given, the id of the room's latest post. The rows are deleted only
        after Discord has answered, so a crash in between re-sends with the same nonce."""
        await self._records.submit((room_id, list(done), last_posted_id))

    async def _record_many(self, done: list[tuple[int, list[int], int | None]]) -> None:
        """Records that arrive together (rooms that posted at the same moment), written in one
        transaction (:mod:`bot.shell.group_commit`). A record that comes alone is one
        statement, and on PostgreSQL one round trip (:func:`bot.db.session.one_statement`)."""
        # Connection first, then the lock, as room batches do (batch.py): the other order
        # deadlocked the pool until its 30 s time-out (bench_interactions, 50 rooms).
        if len(done) == 1:
            room_id, rows, last_posted_id = done[0]
            async with one_statement(self.services.sessions) as session:
                await session.connection()
                async with self.writing:
                    await repo.outbox_done(session, room_id, rows, last_posted_id)
                    await session.commit()
            return
        async with self.services.sessions() as session:
            await session.connection()
            async with self.writing:
                await repo.outbox_done_many(session, done)
                await session.commit()

    async def _already_posted(self, room: Room, items: list[OutboxRow]) -> list[OutboxRow]:
        """Compare the room's recent history with the queued posts: those the bot already
        posted (same text, in order, after the last post known to be done) are deleted.
        Returns the rows still to carry out. No database connection is held while Discord is
        read."""
        channel = self.client.get_channel(room.text_channel_id or 0)
        me = getattr(self.client, "user", None)
        if not isinstance(channel, discord.TextChannel) or me is None:
            return items
        after = discord.Object(room.last_posted_id) if room.last_posted_id else None
        try:
            history = [
                m
                async for m in channel.history(limit=HISTORY_LIMIT, after=after, oldest_first=True)
                if m.author.id == me.id
            ]
        except (discord.HTTPException, discord.RateLimited) as exc:
            log.info("room %s: could not read its history (%s); relying on nonces", room.id, exc)
            return items
        left = list(items)
        done: list[int] = []
        last_posted_id: int | None = None
        position = 0
        for item in items:
            if item.kind not in ("post", "guide"):
                break
            match = next(
                (
                    i
                    for i in range(position, len(history))
                    if history[i].content.strip() == item.text.strip()
                ),
                None,
            )
            if match is None:
                break
            position = match + 1
            last_posted_id = room.last_posted_id = history[match].id
            log.info("room %s: a queued %s was already posted; not posting it again", room.id,
                     item.kind)  # fmt: skip
            left.remove(item)
            done.append(item.id)
        if done:
            await self._record(room.id, done, last_posted_id=last_posted_id)
        return left

    def forget(self, room_ids: Sequence[int]) -> None:
        """Drop what is kept about rooms that are over, so a long-running bot does not keep
        anything for every room it ever ran (their flush locks go by themselves)."""
        for room_id in room_ids:
            self._history_checked.discard(room_id)
            self._carried.pop(room_id, None)
            self._told = {t for t in self._told if t[0] != room_id}
            self.timers.forget(f"flush-{room_id}")

    # ------------------------------------------------------------------ telling
    async def _say(self, room_id: int, kind: str, text: str, ping: Sequence[int] = ()) -> None:
        """Tell the facilitators once per room and kind of problem."""
        if (room_id, kind) in self._told:
            return
        self._told.add((room_id, kind))
        log.warning("room %s: telling the facilitator: %s", room_id, text)
        if self.tell is not None:
            await self.tell(room_id, text, ping)

    async def _refused(self, room: Room, item: OutboxRow, kind: str, exc: BaseException) -> None:
        name = f"Room {room.index + 1} of brew {room.brew.number}"
        where = f" (<#{room.text_channel_id}>)" if room.text_channel_id else ""
        log.warning("room %s: Discord will not %s: %s", room.id, item.kind, exc)
        if item.kind == "cleanup":
            text = (
                f"I could not delete the channels of {name.lower()}{where}: {describe(exc)}. "
                "Please delete them by hand, or give my role Manage Channels there."
            )
        elif kind == FORBIDDEN:
            text = (
                f"I can't post in {name.lower()}{where}: {describe(exc)}. Please check my "
                "role's permissions in that channel (View Channel, Send Messages, Read Message "
                "History). The room's timetable carries on, and its next messages will be "
                "posted once I am allowed again."
            )
        else:
            text = (
                f"Discord refused a message for {name.lower()}{where} ({describe(exc)}), so I "
                "left it out. The room carries on."
            )
        unlinked = self._unlinked(room) if item.kind == "guide" else []
        if unlinked:
            text += " " + unlinked_words(unlinked, room)
        await self._say(room.id, f"{kind}:{item.kind}", text, unlinked)

    def _unlinked(self, room: Room) -> list[int]:
        """The room's people who are not in its voice channel: without the guide they have no
        link to their room."""
        voice = self.client.get_channel(room.voice_channel_id or 0)
        inside = {m.id for m in voice.members} if isinstance(voice, discord.VoiceChannel) else set()
        return [m.user_id for m in room.members if m.user_id not in inside]

    async def _stuck(self, room_id: int, exc: BaseException, seconds: float) -> None:
        async with reading(self.services.sessions) as session:
            room, items = await repo.room_with_outbox(session, room_id)
        if room is None:
            return
        minutes = max(1, round(seconds / 60))
        text = (
            f"Room {room.index + 1} of brew {room.brew.number} is stuck: for {minutes} "
            f"minute{'s' if minutes != 1 else ''} I have not been able to post its messages, "
            f"because {describe(exc)}. I keep trying."
        )
        unlinked = self._unlinked(room) if any(i.kind == "guide" for i in items) else []
        if unlinked:
            text += " " + unlinked_words(unlinked, room)
        await self._say(room_id, "stuck-flush", text, unlinked)

    async def _healed(self, room_id: int) -> None:
        if (room_id, "stuck-flush") in self._told:
            self._told.discard((room_id, "stuck-flush"))
            if self.tell is not None:
                await self.tell(room_id, "Messages are reaching that room again.", ())

    # ------------------------------------------------------------------ carry out
    async def carry_out(self, room: Room, item: OutboxRow) -> int | None:
        """Do what ``item`` says; returns the id of the message posted, if any."""
        guild = self.client.get_guild(room.brew.guild_id)
        if item.kind in ("post", "guide"):
            return await self._post(room, item)
        if item.kind == "recall" and guild is not None:
            await recall(self.services, guild, room)
        elif item.kind == "cleanup" and guild is not None:
            await delete_room_channels(self.services, guild, room)
        return None

    async def _post(self, room: Room, item: OutboxRow) -> int | None:
        channel = self.client.get_channel(room.text_channel_id or 0)
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
        if item.kind == "guide":
            mentions = only_pinging(users=[m.user_id for m in room.members])
        elif item.ping_user_id:
            mentions = only_pinging(users=[item.ping_user_id])
        if view is None:
            sent = await channel.send(item.text, nonce=item.nonce, allowed_mentions=mentions)
        else:
            sent = await channel.send(
                item.text, nonce=item.nonce, allowed_mentions=mentions, view=view
            )
        message_id = getattr(sent, "id", None)
        return message_id if isinstance(message_id, int) else None
