"""Turn timetable events into the words posted in a room.

Pure: takes the content, an event and what the room knows, and returns text plus who (if anyone)
may be pinged. Deadlines are shown as Discord timestamps (``<t:UNIX:R>`` and ``<t:UNIX:t>``), which
each person's client renders in their own time zone and which update themselves, so the bot never
edits a message every second and screen readers are not flooded. People are named with
``<@id>`` so clients show their display name; only the current speaker is allowed to be pinged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.core.phases import (
    Cleanup,
    Event,
    Extended,
    Nudge,
    Phase,
    PhaseStarted,
    Recall,
    Timing,
    TurnEnded,
    TurnSkipped,
    TurnStarted,
)
from bot.core.text import inert

MAX_MESSAGE = 2000


class PhaseWords(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def text(self) -> str: ...


class Wording(Protocol):
    """What a message needs from the content file (:class:`bot.core.content.Content` is one).

    Declared here rather than imported, so the content loader can build the guide to check
    its length without the two modules importing each other.
    """

    @property
    def phases(self) -> Mapping[str, PhaseWords]: ...
    @property
    def principles(self) -> tuple[str, ...]: ...
    def text(self, dotted: str) -> str: ...
    def format(self, dotted: str, **values: Any) -> str: ...
    def list(self, dotted: str) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Post:
    """One message for a room's text channel."""

    text: str
    ping: tuple[int, ...] = ()  # user ids that may be pinged (only ever the current speaker)
    buttons: tuple[str, ...] = ()  # names of button sets: "turn", "room", "reflect"
    speaker: int | None = None


@dataclass(frozen=True)
class RoomContext:
    question: str
    turns_in_text: bool = False
    text_only_members: frozenset[int] = field(default_factory=frozenset)


def mention(user_id: int | str) -> str:
    return f"<@{int(user_id)}>"


def stamp_rel(at: float) -> str:
    return f"<t:{int(at)}:R>"


def stamp_time(at: float) -> str:
    return f"<t:{int(at)}:t>"


def guide_message(
    content: Wording,
    question: str,
    members: Sequence[int],
    *,
    title: str,
    turns_in_text: bool,
    all_text_only: bool,
    timing: Timing,
) -> str:
    """The first message in every room: the question, the guide, the principles, who is here."""
    return truncate(
        guide_text(
            content,
            question,
            members,
            title=title,
            turns_in_text=turns_in_text,
            all_text_only=all_text_only,
            timing=timing,
        )
    )


def guide_text(
    content: Wording,
    question: str,
    members: Sequence[int],
    *,
    title: str,
    turns_in_text: bool,
    all_text_only: bool,
    timing: Timing,
) -> str:
    """The guide before it is fitted to one message; the content check measures this."""
    lines = [
        f"**{content.text('guide.heading')}: {inert(title)}**",
        content.text("guide.intro"),
        "",
    ]
    lines += [f"**{content.text('guide.question_heading')}**", inert(question), ""]
    durations = {
        "arrive": duration_words(timing.arrive),
        "think": duration_words(timing.think),
        "turn": duration_words(timing.turn),
    }
    steps = content.list("guide.steps")
    # A step with no time is left out rather than shown as "0 seconds".
    for name in ("arrive", "think"):
        if getattr(timing, name) <= 0:
            steps = tuple(s for s in steps if "{" + name + "}" not in s)
    lines += [f"{i}. {step.format(**durations)}" for i, step in enumerate(steps, 1)]
    lines += ["", f"**{content.text('guide.principles_heading')}**"]
    lines += [f"- {p}" for p in content.principles]
    lines += [
        "",
        f"**{content.text('guide.members_heading')}**: " + ", ".join(mention(m) for m in members),
    ]
    if turns_in_text:
        key = "guide.text_turns_note" if all_text_only else "guide.mixed_turns_note"
        lines.append(content.text(key))
    lines.append(content.text("guide.buttons_note"))
    return "\n".join(lines)


def render(content: Wording, event: Event, ctx: RoomContext) -> Post | None:
    """The message for ``event``, or None if the event is silent (cleanup)."""
    if isinstance(event, PhaseStarted):
        return _phase(content, event, ctx)
    if isinstance(event, TurnStarted):
        speaker = int(event.speaker)
        # Only people taking part by text are asked to type; in a mixed room a voice speaker
        # still speaks (the guide says "you can type or speak").
        key = "turns.start_text" if speaker in ctx.text_only_members else "turns.start"
        text = content.format(
            key,
            mention=mention(speaker),
            name=mention(speaker),
            position=event.position,
            total=event.total,
            ends_rel=stamp_rel(event.ends_at),
            ends_time=stamp_time(event.ends_at),
        )
        return Post(text, ping=(speaker,), buttons=("turn",), speaker=speaker)
    if isinstance(event, Nudge):
        return Post(
            content.format("turns.nudge", name=mention(event.speaker), seconds=event.seconds_left)
        )
    if isinstance(event, TurnSkipped):
        return Post(
            content.format(
                "turns.skipped",
                name=mention(event.speaker),
                position=event.position,
                total=event.total,
            )
        )
    if isinstance(event, TurnEnded):
        if event.outcome == "passed":
            return Post(content.format("turns.passed", name=mention(event.speaker)))
        if event.outcome == "done":
            return Post(content.format("turns.done", name=mention(event.speaker)))
        return None  # time ran out: the next prompt says what happens
    if isinstance(event, Extended):
        if event.by is not None:
            text = content.format(
                "turns.extended",
                by=mention(event.by),
                ends_rel=stamp_rel(event.ends_at),
                ends_time=stamp_time(event.ends_at),
            )
        else:
            text = content.format(
                "turns.extended_facilitator",
                duration=duration_words(event.seconds),
                ends_rel=stamp_rel(event.ends_at),
                ends_time=stamp_time(event.ends_at),
            )
        return Post(text)
    if isinstance(event, Recall):
        text = content.format("turns.recall", delete_rel=stamp_rel(event.delete_at))
        return Post(text, buttons=("reflect",))
    if isinstance(event, Cleanup):
        return None
    return None  # pragma: no cover - every event type is handled above


def _phase(content: Wording, event: PhaseStarted, ctx: RoomContext) -> Post:
    phase = content.phases[event.phase.value]
    body = phase.text.format(
        question=inert(ctx.question),
        ends_rel=stamp_rel(event.ends_at),
        ends_time=stamp_time(event.ends_at),
        order=", ".join(mention(m) for m in event.order),
    )
    buttons: tuple[str, ...] = ("room",)
    if event.phase is Phase.CLOSE:
        buttons = ("reflect", "room")
    return Post(f"**{phase.name}**\n{body}", buttons=buttons)


def duration_words(seconds: int) -> str:
    """ "1 minute", "2 minutes", "90 seconds": how a duration reads aloud."""
    if seconds % 60 == 0 and seconds >= 60:
        minutes = seconds // 60
        return f"{minutes} minute" + ("" if minutes == 1 else "s")
    return f"{seconds} second" + ("" if seconds == 1 else "s")


def split_lines(lines: Sequence[str], limit: int = MAX_MESSAGE) -> list[str]:
    """Pack lines into as few messages as fit ``limit``, never splitting a line unless it alone
    is too long (then it is cut into pieces). Nothing is dropped."""
    parts: list[str] = []
    current = ""
    for line in lines:
        pieces = [line[i : i + limit] for i in range(0, len(line), limit)] or [""]
        for piece in pieces:
            candidate = f"{current}\n{piece}" if current else piece
            if len(candidate) <= limit:
                current = candidate
            else:
                parts.append(current)
                current = piece
    parts.append(current)
    return parts


def truncate(text: str, limit: int = MAX_MESSAGE) -> str:
    """Fit text into a message, saying so if anything had to go (never a silent cut)."""
    if len(text) <= limit:
        return text
    marker = "\n(shortened to fit Discord's message limit)"
    return text[: limit - len(marker)] + marker
