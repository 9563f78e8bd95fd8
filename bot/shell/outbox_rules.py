"""The rules a flush follows, apart from the flush itself: how Discord's errors are sorted
(:func:`classify`), said in plain words (:func:`describe`), and when a queued post's moment has
passed (:func:`is_stale`). Kept apart from :mod:`bot.shell.outbox` so each stays readable."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

import aiohttp
import discord

from bot.core import phases
from bot.core.messages import RoomContext
from bot.core.phases import Event, Phase
from bot.db.models import Brew, Room
from bot.db.models import Outbox as OutboxRow

#: A post for a phase or turn that is already over is still posted if it is only this late
#: (wall seconds): it is then part of the room's story in order, not a stale ping. At brew
#: speed 1 no phase is shorter than this; a post held up by an error for longer is dropped.
STALE_GRACE_S = 5.0
#: Kinds of failure (:func:`classify`).
GONE, FORBIDDEN, REFUSED, TRANSIENT = "gone", "forbidden", "refused", "transient"


class RoomGone(Exception):
    """The room's text channel is not there any more."""


class FlushFailed(Exception):
    """Discord failed in a way that may heal (or the database did): try the flush again later."""

    def __init__(self, room_id: int, kind: str, cause: BaseException) -> None:
        super().__init__(f"room {room_id}: could not {kind}: {describe(cause)}")
        self.room_id = room_id
        self.cause = cause


def classify(exc: BaseException) -> str:
    """Whether an error means the room is gone, will not heal, or may heal by waiting."""
    if isinstance(exc, RoomGone | discord.NotFound):
        return GONE
    if isinstance(exc, discord.Forbidden):
        return FORBIDDEN  # 403: 50001 Missing Access, 50013 Missing Permissions, ...
    if isinstance(exc, discord.HTTPException) and 400 <= exc.status < 500 and exc.status != 429:
        return REFUSED  # 400 / 50035 Invalid Form Body and the like: asking again won't help
    return TRANSIENT  # 429, 5xx, time-outs, connection errors


def describe(exc: BaseException) -> str:
    """An error in plain words, for the facilitator and the log."""
    if isinstance(exc, FlushFailed):
        return describe(exc.cause)
    if isinstance(exc, discord.Forbidden):
        return f"Discord says I am not allowed to (error {exc.code or exc.status}: {exc.text})"
    if isinstance(exc, discord.RateLimited):
        return "Discord asked me to slow down for longer than I wait"
    if isinstance(exc, discord.HTTPException):
        if exc.status >= 500:
            return f"Discord is having trouble (error {exc.status})"
        return f"Discord refused it (error {exc.code or exc.status}: {exc.text})"
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ClientError | OSError):
        return "I could not reach Discord"
    name = type(exc).__name__
    if "sqlalchemy" in type(exc).__module__ or name in ("OperationalError", "InterfaceError"):
        return f"the database is not answering ({name})"
    return f"something went wrong ({name})"


def room_context(room: Room, brew: Brew) -> RoomContext:
    return RoomContext(
        question=brew.question,
        turns_in_text=room.turns_in_text,
        text_only_members=frozenset(m.user_id for m in room.members if m.text_only),
    )


def moment_of(event: Event, room: Room) -> tuple[str | None, int | None]:
    """The phase (and turn index) whose moment a post for ``event`` belongs to."""
    if isinstance(event, phases.PhaseStarted):
        return event.phase.value, None
    if isinstance(event, phases.TurnStarted):
        return Phase.TURNS.value, event.position - 1
    if isinstance(event, phases.Nudge):
        return Phase.TURNS.value, room.turn_index
    if isinstance(event, phases.Extended):
        return event.phase.value, room.turn_index if event.phase is Phase.TURNS else None
    if isinstance(event, phases.TurnSkipped | phases.TurnEnded):
        return Phase.TURNS.value, None
    return None, None  # the recall message (with the reflection button) is always worth it


def is_stale(item: OutboxRow, room: Room, now: datetime, wall_now: datetime) -> bool:
    """A post whose moment has passed: a prompt for a phase or turn that is over (and has been
    waiting longer than :data:`STALE_GRACE_S`), or a post past its time (``now`` is the brew
    clock). Recalls and clean-ups are never stale."""
    if item.kind not in ("post", "guide"):
        return False
    if room.phase == Phase.DONE.value:
        return True  # the room is being tidied away: nobody will read it
    if item.valid_until is not None and now > item.valid_until:
        return True
    if (wall_now - item.created_at).total_seconds() <= STALE_GRACE_S:
        return False
    if item.for_phase is not None and item.for_phase != room.phase:
        return True
    return item.for_turn is not None and item.for_turn != room.turn_index


def unlinked_words(people: Sequence[int], room: Room) -> str:
    """What the facilitator is told about the room's people who have had no link to it."""
    names = ", ".join(f"<@{p}>" for p in people)
    where = f"<#{room.text_channel_id}>" if room.text_channel_id else "their room"
    return (
        f"These people were not moved into the room and have not had a link to it: {names}. "
        f"Your room is {where}."
    )
