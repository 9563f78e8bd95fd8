"""The outbox: what a room's change means in Discord, written down first and then carried out.

When a room changes, its new state and the messages it implies are committed in one transaction
(:meth:`Outbox.queue` adds the ``outbox`` rows to the caller's session). :meth:`Outbox.flush`
then carries the rows out in order, deleting each once it is done:

* ``post``: a message with a fixed nonce (``bh<room>n<seq>``), so Discord refuses a duplicate if
  the bot crashed after posting but before deleting the row, and nothing is lost if it crashed
  before posting;
* ``recall``: everyone still in the room's voice channel back to the main voice channel;
* ``cleanup``: the room's channels deleted.

A flush stops at the first thing Discord will not do yet and tries again in 10 seconds; a room
whose channel is gone is handed to ``on_room_gone``. One flush at a time per room keeps a room's
messages in order; rooms flush in parallel.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence

import discord
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import phases
from bot.core.messages import Post, RoomContext, render
from bot.core.phases import Event
from bot.db import repo
from bot.db.models import Brew, Room
from bot.db.models import Outbox as OutboxRow
from bot.services import Services
from bot.shell.errors import only_pinging
from bot.shell.timers import Timers
from bot.shell.ui.room import room_view

log = logging.getLogger(__name__)

RETRY_SECONDS = 10.0

#: Told when a room's channel is gone: ``(room id, why) -> None``.
RoomGoneHandler = Callable[[int, str], Awaitable[None]]


class RoomGone(Exception):
    """The room's text channel is not there any more."""


def room_context(room: Room, brew: Brew) -> RoomContext:
    return RoomContext(
        question=brew.question,
        turns_in_text=room.turns_in_text,
        text_only_members=frozenset(m.user_id for m in room.members if m.text_only),
    )


class Outbox:
    """Queues and carries out the Discord effects of every room's changes."""

    def __init__(
        self,
        client: discord.Client,
        services: Services,
        timers: Timers,
        on_room_gone: RoomGoneHandler,
    ) -> None:
        self.client = client
        self.services = services
        self.timers = timers
        self.on_room_gone = on_room_gone
        self._flush_locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

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
            OutboxRow(
                room_id=room.id,
                kind=kind,
                nonce=f"bh{room.id}n{room.outbox_seq}",
                text=text,
                ping_user_id=ping,
                buttons=buttons,
                step=room.step,
            )
        )

    # ------------------------------------------------------------------ flush
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
                    await self.carry_out(room, item)
                except (discord.NotFound, RoomGone):
                    await self.on_room_gone(room_id, "a channel of this room was deleted")
                    return
                except (discord.HTTPException, discord.RateLimited) as exc:
                    self._retry_later(room_id)
                    log.warning(
                        "room %s: could not %s (%s); will try again in %d seconds",
                        room_id,
                        item.kind,
                        exc,
                        RETRY_SECONDS,
                    )
                    return
                await session.delete(item)
                await session.commit()

    def _retry_later(self, room_id: int, seconds: float = RETRY_SECONDS) -> None:
        when = self.services.clock.now().timestamp() + seconds
        self.timers.at(f"flush-{room_id}", when, lambda: self.flush(room_id))

    def forget(self, room_ids: Sequence[int]) -> None:
        """Drop the flush locks of rooms that are over (a lock still held is left to its
        holder), so a long-running bot does not keep one for every room it ever ran."""
        for room_id in room_ids:
            lock = self._flush_locks.get(room_id)
            if lock is not None and not lock.locked():
                del self._flush_locks[room_id]

    # ------------------------------------------------------------------ carry out
    async def carry_out(self, room: Room, item: OutboxRow) -> None:
        guild = self.client.get_guild(room.brew.guild_id)
        if item.kind == "post":
            await self._post(room, item)
        elif item.kind == "recall" and guild is not None:
            await self.recall(guild, room)
        elif item.kind == "cleanup" and guild is not None:
            await self.delete_room_channels(guild, room)

    async def _post(self, room: Room, item: OutboxRow) -> None:
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
        if item.ping_user_id:
            mentions = only_pinging(users=[item.ping_user_id])
        if view is None:
            await channel.send(item.text, nonce=item.nonce, allowed_mentions=mentions)
        else:
            await channel.send(item.text, nonce=item.nonce, allowed_mentions=mentions, view=view)

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
