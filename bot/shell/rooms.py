"""Opening a brew's rooms as fast as Discord's rate limits allow.

The floor is: per group, two channel creates (permission overwrites inside the create call) and
one guide message; one move per voice member; one category per 25 groups (50 channels). Calls
that do not depend on each other go out together (discord.py queues them per rate-limit bucket),
and each room starts its timetable as soon as its own channels and guide are ready, without
waiting for the other rooms' moves. Nothing is created before the bot has checked it holds the
permissions it needs and that the server has room for the channels, so a brew never half-starts.

The guide goes through the room's outbox (queued with the room's channel ids, posted first when
the room starts, retried like every other post). Under its heading is a one-click link to the
room's voice channel, and it pings everyone in the room, so people can join their room by
themselves long before Discord's member-move limit (10 moves per 10 s per server) lets the bot
reach them.

Pacing (:mod:`bot.shell.room_lanes`): channel creates go out room by room, voice then text,
:data:`CREATE_CONCURRENCY` at a time, and moves :data:`MOVE_CONCURRENCY` at a time, so discord.py
never holds a crowd of waiting requests on one bucket and each bucket is used window after
window. A channel counts as made, and a person as moved, as soon as the gateway announces it,
even while discord.py still holds back the answer to the request that used up its window.

Moves: every voice member is queued for a move as soon as their room's channels exist, in the
order the rooms become ready, so moves start with the first room and overlap the remaining
creates. A move is decided only when its turn comes (a slot in the lane is free, so the request
goes out at once): the bot looks at the person's cached voice state then. Someone already in
their room joined by themselves (counted, never moved, no request); someone who left voice, or
went somewhere other than the channel they were in when the brew started (or the main voice
channel, or the facilitator's), is left alone, with their link. Only people still waiting are
moved.

A room a previous process left half-open is finished by :func:`finish_opening`: its channels
are found in the brew's category (by id, or by name when the process stopped before it saved
them) or made again, and its people are moved; if it cannot be finished, the half-made channels
are deleted and its people told where to go.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.core.grouping import Group
from bot.core.messages import guide_message, truncate
from bot.db import repo
from bot.db.models import Brew, Room
from bot.services import Services
from bot.shell.errors import UserFacingError
from bot.shell.protocols import RoomControls
from bot.shell.room_checks import (
    CATEGORY_CHANNEL_LIMIT,
    GROUPS_PER_CATEGORY,
    GUILD_CHANNEL_LIMIT,
    BrewChannels,
    brew_categories,
    brew_channels,
    category_name,
    check_bot_can_open,
    find_channel,
    room_overwrites,
    text_name,
    voice_name,
)
from bot.shell.room_lanes import Lane, announced, answered_or_seen

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 3.0
#: Moves in flight at once. One: the next person is picked (and skipped if they joined by
#: themselves) only when the previous move is answered, which is also when discord.py would
#: send it; with a second one in flight, that one waits a whole window in discord.py's queue
#: after its person was checked. Ten moves per window one after another take ten round trips,
#: far less than the 10 s window (docs/BENCHMARKS.md, "Opening rooms").
MOVE_CONCURRENCY = 1
#: Channel creates in flight at once: two, so a room's two channels travel together (the first
#: room's guide needs both), and discord.py's queue for the bucket never holds more than one.
CREATE_CONCURRENCY = 2


@dataclass
class OpenReport:
    """What opening did so far (the facilitator's progress) and in the end (their summary)."""

    rooms_ready: int = 0
    rooms_failed: int = 0
    #: Moved into their room by the bot (or already there after a restart).
    moved: int = 0
    #: In their room by the time the move queue reached them: they used the guide's link.
    joined: int = 0
    not_moved: list[int] = field(default_factory=list)
    seconds: float = 0.0


#: ``(report so far, rooms in all)``: told at most every :data:`PROGRESS_EVERY_S` while rooms
#: open (the end is the caller's to tell, from the report :meth:`RoomOpener.open` returns).
Progress = Callable[[OpenReport, int], Awaitable[None]]


def voice_link(guild_id: int, channel_id: int) -> str:
    """A link that opens (and, for a voice channel, joins) the channel in Discord's apps."""
    return f"https://discord.com/channels/{guild_id}/{channel_id}"


class RoomGoneError(Exception):
    """Where the room's channels belong is gone: the room cannot be made again."""


class RoomOpener:
    """Opens every room of one brew, reporting progress to the facilitator.

    Each room's timetable is started through ``runner`` as soon as that room is ready.
    """

    def __init__(
        self,
        runner: RoomControls,
        guild: discord.Guild,
        brew: Brew,
        rooms: Sequence[Room],
        groups: Sequence[Group],
        *,
        services: Services,
        facilitator_role_id: int | None,
        progress: Progress | None = None,
        main_voice_channel_id: int | None = None,
        client: discord.Client | None = None,
    ) -> None:
        self.runner = runner
        #: Its gateway events tell the opener early that a channel exists or a person was
        #: moved (see :mod:`bot.shell.room_lanes`); without it, only the answers do.
        self.client = client
        self.services = services
        self.guild = guild
        self.brew = brew
        self.rooms = list(rooms)
        self.groups = list(groups)
        self.facilitator_role_id = facilitator_role_id
        self.progress = progress
        self.report = OpenReport()
        self._last_progress = 0.0
        self._largest = max((len(g.members) for g in groups), default=1)
        self._moves = Lane(MOVE_CONCURRENCY)
        self._creates = Lane(CREATE_CONCURRENCY)
        # Where each person was when opening began, and where the brew gathers: the bot moves
        # only people still there (see the module doc).
        self._started_in: dict[int, int | None] = {
            int(m): self._voice_channel_id(int(m)) for g in self.groups for m in g.members
        }
        facilitator = guild.get_member(brew.facilitator_id or 0)
        gathering = (
            facilitator.voice.channel.id
            if facilitator and facilitator.voice and facilitator.voice.channel
            else None
        )
        self._gathering = {c for c in (main_voice_channel_id, gathering) if c}

    def _voice_channel_id(self, user_id: int) -> int | None:
        """The voice channel ``user_id`` is in, from discord.py's cache (no request)."""
        member = self.guild.get_member(user_id)
        if member is None or member.voice is None or member.voice.channel is None:
            return None
        return member.voice.channel.id

    async def open(self) -> OpenReport:
        started = time.monotonic()
        try:
            categories = await self._create_categories()
        except (discord.HTTPException, discord.RateLimited) as exc:
            await self._abandon()
            raise UserFacingError(
                "Discord would not let me create the category for the rooms just now "
                f"({exc}). Nothing has been opened; please try /brew start again in a minute."
            ) from None
        # Every room at once: their creates queue in the lane in room order (voice, then
        # text), and each room goes on (moves, guide, timetable) as soon as its own are made.
        # The categories are saved meanwhile (a restart before that finds them by name).
        rooms = asyncio.gather(
            *(
                self._open_room(room, group, categories[i // GROUPS_PER_CATEGORY])
                for i, (room, group) in enumerate(zip(self.rooms, self.groups, strict=True))
            )
        )
        try:
            async with self.services.sessions() as session:
                brew = await session.get(Brew, self.brew.id)
                assert brew is not None
                brew.category_ids = [c.id for c in categories]
                await session.commit()
        finally:
            await rooms
        self.report.seconds = time.monotonic() - started
        # No last progress edit: the caller's summary replaces it at once, and one edit fewer
        # is one round trip less before people hear the brew has started.
        return self.report

    async def _create_categories(self) -> list[discord.CategoryChannel]:
        """One category per 25 rooms, all at once; if any fails, none is left behind."""
        parts = math.ceil(len(self.rooms) / GROUPS_PER_CATEGORY)
        overwrites = room_overwrites(
            self.guild,
            [],
            self.facilitator_role_id,
            voice=False,
            facilitator_id=self.brew.facilitator_id,
        )
        results = await asyncio.gather(
            *(
                self.guild.create_category(
                    category_name(self.brew, i + 1, parts),
                    overwrites=overwrites,
                    reason="Brew Host rooms",
                )
                for i in range(parts)
            ),
            return_exceptions=True,
        )
        made = [r for r in results if isinstance(r, discord.CategoryChannel)]
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            for category in made:
                with contextlib.suppress(discord.HTTPException, discord.RateLimited):
                    await category.delete(reason="Brew could not open")
            raise failed[0]
        return made

    async def give_up(self) -> None:
        """No room could open: the brew is marked failed and its categories removed."""
        await self._abandon()
        async with self.services.sessions() as session:
            brew = await session.get(Brew, self.brew.id)
            category_ids = list(brew.category_ids) if brew else []
        for category_id in category_ids:
            channel = self.guild.get_channel(category_id)
            if channel is not None:
                with contextlib.suppress(discord.HTTPException, discord.RateLimited):
                    await channel.delete(reason="Brew could not open")

    async def _abandon(self) -> None:
        """Opening failed before any room existed: the brew and its rooms are marked failed."""
        async with self.services.sessions() as session:
            brew = await session.get(Brew, self.brew.id)
            if brew is not None:
                brew.status = "failed"
            for room in self.rooms:
                fresh = await session.get(Room, room.id)
                if fresh is not None:
                    fresh.status = "failed"
            await session.commit()

    async def _create(
        self,
        room: Room,
        members: Sequence[int],
        category: discord.CategoryChannel,
        *,
        voice: bool,
    ) -> discord.abc.GuildChannel:
        """One of the room's channels, through the create lane; made as soon as the gateway
        announces it."""
        name = voice_name(room) if voice else text_name(room)
        kind = discord.VoiceChannel if voice else discord.TextChannel

        def is_it(channel: discord.abc.GuildChannel) -> bool:
            return (
                isinstance(channel, kind)
                and channel.guild.id == self.guild.id
                and channel.category_id == category.id
                and channel.name == name
            )

        await self._creates.take()
        try:
            seen = announced(self.client, "guild_channel_create", is_it)
            request = self._creates.send(
                self._create_room_channels(room, members, category, voice=voice)
            )
        except BaseException:
            self._creates.give_back()
            raise
        made: discord.abc.GuildChannel = await answered_or_seen(
            request, seen, self._creates, f"creating {name}"
        )
        return made

    def _create_room_channels(
        self,
        room: Room,
        members: Sequence[int],
        category: discord.CategoryChannel,
        *,
        voice: bool,
    ) -> Coroutine[Any, Any, discord.abc.GuildChannel]:
        overwrites = room_overwrites(
            self.guild,
            members,
            self.facilitator_role_id,
            voice=voice,
            facilitator_id=self.brew.facilitator_id,
        )
        if voice:
            return self.guild.create_voice_channel(
                voice_name(room),
                category=category,
                overwrites=overwrites,
                reason=f"Brew {self.brew.number}",
            )
        return self.guild.create_text_channel(
            text_name(room),
            category=category,
            overwrites=overwrites,
            topic=f"Brew {self.brew.number}, room {room.index + 1}. Private to this group.",
            reason=f"Brew {self.brew.number}",
        )

    async def _open_room(
        self,
        room: Room,
        group: Group,
        category: discord.CategoryChannel | None,
        *,
        found: tuple[discord.abc.GuildChannel | None, discord.abc.GuildChannel | None] = (
            None,
            None,
        ),
    ) -> None:
        """Make (or adopt, after a restart: ``found``) the room's two channels, queue its people
        for their moves, queue its guide with their link and start its timetable."""
        members = [int(m) for m in group.members]

        async def ready(
            existing: discord.abc.GuildChannel | None, voice: bool
        ) -> discord.abc.GuildChannel:
            if existing is not None:
                return existing
            if category is None:
                raise RoomGoneError("the brew's category is gone")
            return await self._create(room, members, category, voice=voice)

        voice, text = await asyncio.gather(
            ready(found[0], True), ready(found[1], False), return_exceptions=True
        )
        if not isinstance(voice, discord.VoiceChannel) or not isinstance(text, discord.TextChannel):
            await self._room_failed(room, members, [voice, text])
            return
        text_only = {int(m) for m in group.members if m in self._text_only_keys(room)}
        # Queued now, before the database write below: the move queue never waits on it.
        moving = asyncio.gather(
            *(self._move(uid, voice) for uid in members if uid not in text_only)
        )
        try:
            await self._ready(room, group, members, text_only, voice, text)
        finally:
            await moving
        await self._tell_progress()

    async def _ready(
        self,
        room: Room,
        group: Group,
        members: Sequence[int],
        text_only: set[int],
        voice: discord.VoiceChannel,
        text: discord.TextChannel,
    ) -> None:
        """Save the room's channels with its guide (in one transaction), then start it: the
        guide is its first post."""
        guide = guide_message(
            self.services.content,
            self.brew.question,
            members,
            title=self.brew.title,
            turns_in_text=group.turns_in_text,
            all_text_only=bool(members) and all(m in text_only for m in members),
            timing=repo.timing_of(self.brew),
        )
        if not (members and all(m in text_only for m in members)):
            # Right under the heading, so it is what the ping shows: one click takes each
            # person to their room.
            link = self.services.content.format(
                "room.voice_link",
                channel=f"<#{voice.id}>",
                link=voice_link(self.guild.id, voice.id),
            )
            heading, _, rest = guide.partition("\n")
            guide = truncate(f"{heading}\n{link}\n{rest}")
        # Everyone is named in the guide, and pinged once, so each person gets a link to their
        # room whether or not a move works. It is queued with the channel ids, so a restart
        # finds it and posts it (once: it has a fixed nonce, and history is checked).
        await self._mark(room, voice_id=voice.id, text_id=text.id, guide=guide)
        self.report.rooms_ready += 1
        await self.runner.start_room(room.id, self._largest)

    async def _room_failed(
        self, room: Room, members: Sequence[int], results: Sequence[object]
    ) -> None:
        """A room could not be made: tidy its half, tell its people where to go instead."""
        errors = [r for r in results if isinstance(r, BaseException)]
        log.warning(
            "brew %s room %s: could not create channels: %s", self.brew.id, room.index + 1, errors
        )
        for made in results:
            if isinstance(made, discord.abc.GuildChannel):
                with contextlib.suppress(discord.HTTPException, discord.RateLimited):
                    await made.delete(reason="Room could not open")
        self.report.rooms_failed += 1
        await self._mark(room, status="failed")
        await self.runner.tell_facilitators(
            self.brew,
            self.services.content.format(
                "room.could_not_open",
                members=", ".join(f"<@{m}>" for m in members),
                brew=self.brew.number,
            ),
            ping_users=members,
        )

    def _text_only_keys(self, room: Room) -> set[str]:
        return {str(m.user_id) for m in room.members if m.text_only}

    async def _move(self, user_id: int, voice: discord.VoiceChannel) -> None:
        """Move one person when their turn in the move lane comes, if they still need it: where
        they are is read from the cache when the request can go out at once, never earlier.
        Done when Discord answers, or as soon as the gateway shows them in their room."""
        await self._moves.take()
        try:
            member = self._still_waiting(user_id, voice)
            if member is None:
                self._moves.give_back()
                await self._tell_progress()
                return

            def arrived(who: discord.Member, _: object, after: discord.VoiceState) -> bool:
                return (
                    who.id == user_id and after.channel is not None and after.channel.id == voice.id
                )

            seen = announced(self.client, "voice_state_update", arrived)
            request = self._moves.send(member.move_to(voice, reason=f"Brew {self.brew.number}"))
        except BaseException:
            self._moves.give_back()
            raise
        try:
            await answered_or_seen(request, seen, self._moves, f"moving {user_id}")
            self.report.moved += 1
        except (discord.HTTPException, discord.RateLimited) as exc:
            log.info("could not move a member into room %s: %s", voice.id, exc)
            self.report.not_moved.append(user_id)
        await self._tell_progress()

    def _still_waiting(self, user_id: int, voice: discord.VoiceChannel) -> discord.Member | None:
        """The member to move, or ``None`` (counted) if they need no move (see the module doc)."""
        where = self._voice_channel_id(user_id)
        started_in = self._started_in.get(user_id)
        if where == voice.id:
            if started_in == voice.id:
                self.report.moved += 1  # already there when opening began: moved before a restart
            else:
                self.report.joined += 1  # used the guide's link
            return None
        if where is None or (where not in self._gathering and where != started_in):
            # Not in voice, or gone somewhere of their own choosing: they have their link.
            self.report.not_moved.append(user_id)
            return None
        return self.guild.get_member(user_id)

    async def _mark(
        self,
        room: Room,
        *,
        status: str | None = None,
        voice_id: int | None = None,
        text_id: int | None = None,
        guide: str | None = None,
    ) -> None:
        async with self.services.sessions() as session:
            fresh = await session.get(Room, room.id)
            assert fresh is not None
            if guide is not None:
                self.runner.queue_guide(session, fresh, guide)
            if status:
                fresh.status = status
            if voice_id:
                fresh.voice_channel_id = voice_id
                room.voice_channel_id = voice_id
            if text_id:
                fresh.text_channel_id = text_id
                room.text_channel_id = text_id
            await session.commit()

    async def _tell_progress(self) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_EVERY_S:
            return
        self._last_progress = now
        try:
            await self.progress(self.report, len(self.rooms))
        except discord.HTTPException as exc:
            log.info("could not update the facilitator's progress message: %s", exc)


async def load_for_opening(services: Services, brew_id: int) -> tuple[Brew, list[Room]]:
    async with services.sessions() as session:
        brew = await repo.load_brew(session, brew_id)
        assert brew is not None
        return brew, list(brew.rooms)


async def finish_opening(
    runner: RoomControls, client: discord.Client, services: Services, room_id: int
) -> None:
    """Finish opening a room a previous process left half-open (see the module doc)."""
    async with services.sessions() as session:
        room = await repo.load_room(session, room_id)
        brew = await repo.load_brew(session, room.brew_id) if room else None
        if room is None or brew is None or room.status != "opening":
            return
        settings = await repo.settings_for(session, brew.guild_id)
        role_id = settings.facilitator_role_id
        main_voice_id = settings.main_voice_channel_id
        await session.commit()
    guild = client.get_guild(brew.guild_id)
    if guild is None:
        return
    categories = brew_categories(guild, brew)
    category = categories[min(room.index // GROUPS_PER_CATEGORY, len(categories) - 1)]
    found = (
        find_channel(
            guild, room.voice_channel_id, category, voice_name(room), discord.VoiceChannel
        ),
        find_channel(guild, room.text_channel_id, category, text_name(room), discord.TextChannel),
    )
    group = Group(
        members=tuple(str(m.user_id) for m in room.members), turns_in_text=room.turns_in_text
    )
    opener = RoomOpener(
        runner,
        guild,
        brew,
        [room],
        [group],
        services=services,
        facilitator_role_id=role_id,
        main_voice_channel_id=main_voice_id,
        client=client,
    )
    opener._largest = max((len(r.members) for r in brew.rooms), default=1)
    if room.text_channel_id and found[1] is not None and found[1].id == room.text_channel_id:
        # Its ids (and its guide) were saved before the restart: only start it and move people.
        voice = found[0]
        if not isinstance(voice, discord.VoiceChannel):
            await opener._room_failed(room, [m.user_id for m in room.members], [found[1]])
            return
        text_only = {m.user_id for m in room.members if m.text_only}
        movers = [
            opener._move(m.user_id, voice) for m in room.members if m.user_id not in text_only
        ]
        await asyncio.gather(runner.start_room(room.id, opener._largest), *movers)
    else:
        await opener._open_room(room, group, category, found=found)
    log.info(
        "brew %s room %s: finished opening after a restart (%s)",
        brew.id,
        room.index + 1,
        "adopted" if any(found) else "made again",
    )


#: The checks live in :mod:`bot.shell.room_checks`; callers open rooms through this module.
__all__ = [
    "CATEGORY_CHANNEL_LIMIT",
    "CREATE_CONCURRENCY",
    "GROUPS_PER_CATEGORY",
    "GUILD_CHANNEL_LIMIT",
    "MOVE_CONCURRENCY",
    "BrewChannels",
    "OpenReport",
    "Progress",
    "RoomGoneError",
    "RoomOpener",
    "brew_channels",
    "check_bot_can_open",
    "finish_opening",
    "load_for_opening",
    "voice_link",
]
