"""The Over A Brew timetable for one room, as a pure state machine.

A room moves through the phases of the guide: arrive and grab a brew, a quiet minute to think,
each person's turn to have their say, reflecting together, "still got some time?", and close.
Everything here is plain data and arithmetic on wall-clock seconds (floats), so the Discord shell
and the database only store and apply what these functions decide, and tests can run a whole
brew without waiting.

Why the shapes are what they are:

* A room's ``finish_at`` is fixed when the brew starts (start + length). Reflecting together is
  "the rest of the time", so it absorbs whatever the turns took: a group whose members pass ends
  its turns early and reflects for longer, and every room closes at the same moment. When the
  turns end late, "still got some time?" gives way before reflecting does.
* A deadline applied a moment late (a busy bot: at most :data:`ON_TIME_S`, or a quarter of a
  turn at rehearsal speeds) keeps the timetable: the next phase starts at the deadline, not at
  the moment it was applied, so small delays never add up from turn to turn.
* A deadline that is already overdue by more than that (the bot was down) is applied at once
  and the next phase starts *now* with its full time: nobody loses their turn to a restart.
* Every transition increments ``step``. Buttons carry the step they were posted for, so a stale
  "I'm done" from an earlier turn does nothing, and the shell can tell a prompt it already posted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

#: How late (wall seconds) a deadline may be applied and still keep the timetable (see the
#: module doc); later than this, the next phase starts when it is applied, with its full time.
ON_TIME_S = 1.0


class Phase(StrEnum):
    ARRIVE = "arrive"
    THINK = "think"
    TURNS = "turns"
    REFLECT = "reflect"
    STILL = "still"
    CLOSE = "close"
    AFTER = "after"  # people have been recalled; the rooms wait to be tidied away
    DONE = "done"


#: Phases in which people are talking, in order. AFTER and DONE are housekeeping.
CONVERSATION = (Phase.ARRIVE, Phase.THINK, Phase.TURNS, Phase.REFLECT, Phase.STILL, Phase.CLOSE)


class PlanError(ValueError):
    """The brew's length cannot hold the guide; ``shortest_minutes`` says what would."""

    def __init__(self, message: str, shortest_minutes: int) -> None:
        super().__init__(message)
        self.shortest_minutes = shortest_minutes


@dataclass(frozen=True)
class Timing:
    """A brew's durations in *brew seconds* (before the rehearsal speed is applied)."""

    arrive: int = 120
    think: int = 60
    turn: int = 120
    nudge: int = 30
    length: int = 1800
    still: int = 300
    close: int = 60
    min_reflect: int = 120
    cleanup: int = 600
    speed: float = 1.0

    def wall(self, seconds: float) -> float:
        """Brew seconds as wall-clock seconds at this brew's speed."""
        return seconds / self.speed

    def fixed_seconds(self, largest_group: int) -> int:
        """Everything except reflecting and "still got some time?"."""
        return self.arrive + self.think + self.turn * largest_group + self.close

    def shortest_length(self, largest_group: int) -> int:
        """Shortest length in whole minutes that holds every turn and a minimum reflection."""
        return math.ceil((self.fixed_seconds(largest_group) + self.min_reflect) / 60)

    def check_fits(self, largest_group: int) -> None:
        shortest = self.shortest_length(largest_group)
        if self.length < self.fixed_seconds(largest_group) + self.min_reflect:
            raise PlanError(
                f"A {self.length // 60}-minute brew is too short for groups of {largest_group}: "
                f"arriving, thinking, {largest_group} turns of {_minutes(self.turn)} and time to "
                f"reflect need at least {shortest} minutes.",
                shortest,
            )

    def still_seconds(self, largest_group: int) -> int:
        """ "Still got some time?" shrinks first when the length is tight, never reflecting."""
        spare = self.length - self.fixed_seconds(largest_group) - self.min_reflect
        return max(0, min(self.still, spare))


def _minutes(seconds: int) -> str:
    if seconds % 60 == 0:
        n = seconds // 60
        return f"{n} minute" + ("" if n == 1 else "s")
    return f"{seconds} seconds"


@dataclass(frozen=True)
class RoomState:
    """Where one room is in the timetable. Times are wall-clock epoch seconds."""

    phase: Phase
    phase_ends_at: float
    finish_at: float
    still: float  # wall seconds of "still got some time?" before close
    order: tuple[str, ...]
    turn_index: int = -1
    nudged: bool = False
    extended: bool = False
    step: int = 0

    @property
    def speaker(self) -> str | None:
        if self.phase is Phase.TURNS and 0 <= self.turn_index < len(self.order):
            return self.order[self.turn_index]
        return None

    @property
    def turns_taken(self) -> int:
        if self.phase is Phase.TURNS:
            return max(0, self.turn_index)
        if self.phase in (Phase.ARRIVE, Phase.THINK):
            return 0
        return len(self.order)


# ----------------------------------------------------------------------------------- events
@dataclass(frozen=True)
class PhaseStarted:
    phase: Phase
    ends_at: float
    order: tuple[str, ...] = ()


@dataclass(frozen=True)
class TurnStarted:
    speaker: str
    position: int  # 1-based
    total: int
    ends_at: float


@dataclass(frozen=True)
class TurnSkipped:
    speaker: str
    position: int
    total: int


@dataclass(frozen=True)
class TurnEnded:
    speaker: str
    outcome: str  # "done", "passed" or "time"


@dataclass(frozen=True)
class Nudge:
    speaker: str
    ends_at: float
    seconds_left: int


@dataclass(frozen=True)
class Recall:
    """Close is over: move people back to the main room; the rooms go after cleanup."""

    delete_at: float


@dataclass(frozen=True)
class Cleanup:
    """Delete the room's channels."""


@dataclass(frozen=True)
class Extended:
    phase: Phase
    ends_at: float
    seconds: int
    by: str | None = None  # who asked, for the room's message ("one more minute" button)


Event = PhaseStarted | TurnStarted | TurnSkipped | TurnEnded | Nudge | Recall | Cleanup | Extended

Presence = Callable[[str], bool]


def _everyone_here(_: str) -> bool:
    return True


# ------------------------------------------------------------------------------ transitions
def start_room(
    order: Sequence[str], timing: Timing, now: float, largest_group: int
) -> tuple[RoomState, list[Event]]:
    """A room opens: the Arrive phase starts now; the room finishes ``length`` from now."""
    state = RoomState(
        phase=Phase.ARRIVE,
        phase_ends_at=now + timing.wall(timing.arrive),
        finish_at=now + timing.wall(timing.length),
        still=timing.wall(timing.still_seconds(largest_group)),
        order=tuple(order),
        step=1,
    )
    if timing.arrive <= 0:  # no arriving time: the room starts with the next step, silently
        return _end_phase(state, timing, now, _everyone_here)
    events: list[Event] = [PhaseStarted(Phase.ARRIVE, state.phase_ends_at)]
    return state, events


def next_deadline(state: RoomState, timing: Timing) -> float | None:
    """The next instant at which :func:`advance` has something to do."""
    if state.phase is Phase.DONE:
        return None
    if state.phase is Phase.TURNS and not state.nudged and _nudge_wall(timing) > 0:
        nudge_at = state.phase_ends_at - _nudge_wall(timing)
        if nudge_at < state.phase_ends_at:
            return nudge_at
    return state.phase_ends_at


def _nudge_wall(timing: Timing) -> float:
    if timing.nudge <= 0 or timing.nudge >= timing.turn:
        return 0.0
    return timing.wall(timing.nudge)


def advance(
    state: RoomState, timing: Timing, now: float, present: Presence = _everyone_here
) -> tuple[RoomState, list[Event]]:
    """Apply every deadline that is due at ``now`` (at most one per phase, see module doc)."""
    events: list[Event] = []
    for _ in range(64):  # a bound, not a limit we expect to meet: every phase has a length
        deadline = next_deadline(state, timing)
        if deadline is None or deadline > now:
            break
        if state.phase is Phase.TURNS and not state.nudged and deadline < state.phase_ends_at:
            speaker = state.speaker
            state = replace(state, nudged=True)
            if speaker is not None and present(speaker):
                events.append(Nudge(speaker, state.phase_ends_at, timing.nudge))
            continue
        at = deadline if now - deadline <= _on_time(timing) else now
        ended, more = _end_phase(state, timing, at, present, outcome="time")
        if at < now and (following := next_deadline(ended, timing)) is not None:
            if following <= now:  # kept to the timetable, the next step would be over already
                ended, more = _end_phase(state, timing, now, present, outcome="time")
        state = ended
        events += more
    return state, events


def _on_time(timing: Timing) -> float:
    """How late a deadline may be applied and still keep the timetable: :data:`ON_TIME_S`,
    but never more than a quarter of a turn (rehearsals run whole turns in seconds)."""
    return min(ON_TIME_S, timing.wall(timing.turn) / 4)


def finish_turn(
    state: RoomState,
    timing: Timing,
    now: float,
    speaker: str,
    *,
    passed: bool,
    present: Presence = _everyone_here,
) -> tuple[RoomState, list[Event]]:
    """The speaker says "I'm done" or "Pass": the next person's turn starts now.

    Anyone else pressing the button, or a press for an earlier turn, changes nothing.
    """
    if state.phase is not Phase.TURNS or state.speaker != speaker:
        return state, []
    return _end_phase(state, timing, now, present, outcome="passed" if passed else "done")


def skip_phase(
    state: RoomState, timing: Timing, now: float, present: Presence = _everyone_here
) -> tuple[RoomState, list[Event]]:
    """The facilitator's "next": end the current phase now (all remaining turns included)."""
    if state.phase is Phase.DONE:
        return state, []
    if state.phase is Phase.TURNS:
        state = replace(state, turn_index=len(state.order) - 1)
    return _end_phase(state, timing, now, present, outcome="time")


def end_early(state: RoomState, timing: Timing, now: float) -> tuple[RoomState, list[Event]]:
    """The facilitator ends the brew: go straight to close (its one-minute warning stays)."""
    if state.phase in (Phase.CLOSE, Phase.AFTER, Phase.DONE):
        return state, []
    state = replace(state, phase=Phase.STILL, finish_at=now + timing.wall(timing.close))
    return _enter(state, Phase.CLOSE, timing, now, _everyone_here)


def extend(
    state: RoomState, seconds: float, timing: Timing, *, once: bool, by: str | None = None
) -> tuple[RoomState, list[Event]]:
    """Give the current phase (or turn) more time; the room's finish moves by the same amount.

    ``once`` is the room's "one more minute" button, allowed once per phase or turn.
    """
    if state.phase in (Phase.AFTER, Phase.DONE) or (once and state.extended):
        return state, []
    wall = timing.wall(seconds)
    state = replace(
        state,
        phase_ends_at=state.phase_ends_at + wall,
        finish_at=state.finish_at + wall,
        extended=state.extended or once,
    )
    return state, [Extended(state.phase, state.phase_ends_at, int(seconds), by)]


def shift(state: RoomState, seconds: float) -> RoomState:
    """Move every deadline later, after a pause of ``seconds`` (wall)."""
    return replace(
        state, phase_ends_at=state.phase_ends_at + seconds, finish_at=state.finish_at + seconds
    )


# ---------------------------------------------------------------------------------- helpers
def _end_phase(
    state: RoomState, timing: Timing, now: float, present: Presence, outcome: str = "time"
) -> tuple[RoomState, list[Event]]:
    phase = state.phase
    if phase is Phase.ARRIVE:
        return _enter(state, Phase.THINK, timing, now, present)
    if phase is Phase.THINK:
        return _enter(state, Phase.TURNS, timing, now, present)
    if phase is Phase.TURNS:
        events: list[Event] = []
        speaker = state.speaker
        if speaker is not None:
            events.append(TurnEnded(speaker, outcome))
        state, more = _next_turn(state, timing, now, present, state.turn_index + 1)
        return state, events + more
    if phase is Phase.REFLECT:
        return _enter(state, Phase.STILL, timing, now, present)
    if phase is Phase.STILL:
        return _enter(state, Phase.CLOSE, timing, now, present)
    if phase is Phase.CLOSE:
        delete_at = now + timing.wall(timing.cleanup)
        state = replace(
            state, phase=Phase.AFTER, phase_ends_at=delete_at, step=state.step + 1, extended=False
        )
        return state, [Recall(delete_at)]
    if phase is Phase.AFTER:
        return replace(state, phase=Phase.DONE, step=state.step + 1), [Cleanup()]
    return state, []


def _enter(
    state: RoomState, phase: Phase, timing: Timing, now: float, present: Presence
) -> tuple[RoomState, list[Event]]:
    """Start ``phase`` now, skipping any phase that has no time."""
    close_at = max(now, state.finish_at - timing.wall(timing.close))
    still_at = max(now, close_at - state.still)
    if phase is Phase.THINK:
        if timing.think <= 0:
            return _enter(state, Phase.TURNS, timing, now, present)
        ends = now + timing.wall(timing.think)
    elif phase is Phase.TURNS:
        if not state.order:
            return _enter(state, Phase.REFLECT, timing, now, present)
        state = replace(state, phase=Phase.TURNS, nudged=False, extended=False)
        started = PhaseStarted(Phase.TURNS, now, state.order)
        state, events = _next_turn(state, timing, now, present, 0)
        return state, [started, *events]
    elif phase is Phase.REFLECT:
        # Reflecting is the heart of the brew: when the turns ran late (a restart, a busy bot),
        # "still got some time?" gives way first and reflecting takes whatever is left before
        # close. Only when close itself is due is there nothing left to reflect in.
        ends = still_at if still_at > now else close_at
        if ends <= now:
            return _enter(state, Phase.STILL, timing, now, present)
    elif phase is Phase.STILL:
        ends = close_at
        if ends <= now:
            return _enter(state, Phase.CLOSE, timing, now, present)
    elif phase is Phase.CLOSE:
        ends = now + timing.wall(timing.close)
    else:  # pragma: no cover - ARRIVE only starts in start_room
        raise ValueError(f"cannot enter {phase}")
    state = replace(
        state,
        phase=phase,
        phase_ends_at=ends,
        turn_index=-1,
        nudged=False,
        extended=False,
        step=state.step + 1,
    )
    return state, [PhaseStarted(phase, ends)]


def _next_turn(
    state: RoomState, timing: Timing, now: float, present: Presence, index: int
) -> tuple[RoomState, list[Event]]:
    events: list[Event] = []
    total = len(state.order)
    while index < total and not present(state.order[index]):
        events.append(TurnSkipped(state.order[index], index + 1, total))
        index += 1
    if index >= total:
        state = replace(state, turn_index=total)
        state, more = _enter(state, Phase.REFLECT, timing, now, present)
        return state, events + more
    ends = now + timing.wall(timing.turn)
    state = replace(
        state,
        phase=Phase.TURNS,
        turn_index=index,
        phase_ends_at=ends,
        nudged=False,
        extended=False,
        step=state.step + 1,
    )
    events.append(TurnStarted(state.order[index], index + 1, total, ends))
    return state, events
