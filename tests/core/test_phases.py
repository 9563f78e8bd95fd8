"""The timetable of one room, driven with explicit times: no sleeping, no Discord."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import phases
from bot.core.phases import (
    Cleanup,
    Extended,
    Nudge,
    Phase,
    PhaseStarted,
    PlanError,
    Recall,
    Timing,
    TurnEnded,
    TurnSkipped,
    TurnStarted,
)

T0 = 1_000_000.0
TIMING = Timing()  # 2 min arrive, 1 min think, 2 min turns, 30 s nudge, 30 min, 5 min still


def to_turns(state, timing=TIMING, present=lambda _: True):
    """Arrive ends at T0+120, think at T0+180: turns begin."""
    state, _ = phases.advance(state, timing, T0 + 120, present)
    return phases.advance(state, timing, T0 + 180, present)


def run_until(state, timing, end, present=lambda _: True, step=1.0):
    """Advance second by second, collecting every event, as the scheduler would."""
    events = []
    t = T0
    while t <= end:
        state, ev = phases.advance(state, timing, t, present)
        events += [(t, e) for e in ev]
        t += step
    return state, events


def test_a_whole_room_goes_through_every_phase_in_order():
    state, first = phases.start_room(["a", "b", "c"], TIMING, T0, largest_group=3)
    state, events = run_until(state, TIMING, T0 + 1800 + 700)
    started = [e.phase for e in first + [e for _, e in events] if isinstance(e, PhaseStarted)]
    assert started == [
        Phase.ARRIVE,
        Phase.THINK,
        Phase.TURNS,
        Phase.REFLECT,
        Phase.STILL,
        Phase.CLOSE,
    ]
    kinds = [type(e) for _, e in events]
    assert kinds.count(TurnStarted) == 3
    assert kinds.count(Nudge) == 3
    assert kinds.count(Recall) == 1 and kinds.count(Cleanup) == 1
    assert state.phase is Phase.DONE
    times = {e.phase: t for t, e in events if isinstance(e, PhaseStarted)}
    assert times[Phase.THINK] == T0 + 120
    assert times[Phase.TURNS] == T0 + 180
    # Close starts one minute before the end of the 30 minutes; still got some time 5 min before.
    assert times[Phase.CLOSE] == T0 + 1800 - 60
    assert times[Phase.STILL] == T0 + 1800 - 60 - 300
    recall_at = next(t for t, e in events if isinstance(e, Recall))
    assert recall_at == T0 + 1800


def test_each_speaker_gets_their_prompt_exactly_once_in_order():
    state, _ = phases.start_room(["a", "b", "c", "d"], TIMING, T0, 4)
    _, events = run_until(state, TIMING, T0 + 1900)
    speakers = [e.speaker for _, e in events if isinstance(e, TurnStarted)]
    assert speakers == ["a", "b", "c", "d"]
    nudges = [(t, e.speaker) for t, e in events if isinstance(e, Nudge)]
    assert nudges[0] == (T0 + 180 + 90, "a")


def test_done_and_pass_move_to_the_next_person_at_once_and_reflect_absorbs_the_time():
    state, _ = phases.start_room(["a", "b"], TIMING, T0, 2)
    state, _ = to_turns(state)
    assert state.speaker == "a"
    state, ev = phases.finish_turn(state, TIMING, T0 + 200, "a", passed=True)
    assert TurnEnded("a", "passed") in ev
    assert state.speaker == "b" and state.phase_ends_at == T0 + 200 + 120
    state, ev = phases.finish_turn(state, TIMING, T0 + 210, "b", passed=False)
    assert TurnEnded("b", "done") in ev
    assert state.phase is Phase.REFLECT
    # The room still closes on time: reflecting lasts until "still got some time?".
    assert state.phase_ends_at == T0 + 1800 - 60 - 300


def test_only_the_current_speaker_can_end_their_turn():
    state, _ = phases.start_room(["a", "b"], TIMING, T0, 2)
    state, _ = to_turns(state)
    same, ev = phases.finish_turn(state, TIMING, T0 + 190, "b", passed=True)
    assert same == state and ev == []


def test_someone_who_left_is_skipped_and_said_so():
    state, _ = phases.start_room(["a", "b", "c"], TIMING, T0, 3)
    state, ev = to_turns(state, present=lambda k: k != "a")
    assert TurnSkipped("a", 1, 3) in ev
    assert state.speaker == "b"


def test_if_everyone_left_turns_end_and_reflection_begins():
    state, _ = phases.start_room(["a", "b"], TIMING, T0, 2)
    state, ev = to_turns(state, present=lambda k: False)
    assert [type(e) for e in ev].count(TurnSkipped) == 2
    assert state.phase is Phase.REFLECT


def test_one_more_minute_works_once_per_step_and_moves_the_finish():
    state, _ = phases.start_room(["a", "b"], TIMING, T0, 2)
    longer, ev = phases.extend(state, 60, TIMING, once=True, by="b")
    assert longer.phase_ends_at == state.phase_ends_at + 60
    assert longer.finish_at == state.finish_at + 60
    assert ev == [Extended(Phase.ARRIVE, longer.phase_ends_at, 60, "b")]
    again, ev = phases.extend(longer, 60, TIMING, once=True)
    assert again == longer and ev == []
    # A new step allows it again.
    nxt, _ = phases.advance(longer, TIMING, longer.phase_ends_at)
    assert nxt.phase is Phase.THINK and not nxt.extended


def test_facilitator_extension_is_not_limited():
    state, _ = phases.start_room(["a", "b"], TIMING, T0, 2)
    for _ in range(3):
        state, ev = phases.extend(state, 300, TIMING, once=False)
        assert ev
    assert state.finish_at == T0 + 1800 + 900


def test_pause_shifts_every_deadline():
    state, _ = phases.start_room(["a", "b"], TIMING, T0, 2)
    shifted = phases.shift(state, 42.0)
    assert shifted.phase_ends_at == state.phase_ends_at + 42
    assert shifted.finish_at == state.finish_at + 42


def test_next_ends_the_phase_including_all_remaining_turns():
    state, _ = phases.start_room(["a", "b", "c"], TIMING, T0, 3)
    state, _ = to_turns(state)
    assert state.speaker == "a"
    state, ev = phases.skip_phase(state, TIMING, T0 + 190)
    assert state.phase is Phase.REFLECT
    assert not [e for e in ev if isinstance(e, TurnStarted)]


def test_end_early_goes_to_close_with_its_minute():
    state, _ = phases.start_room(["a", "b"], TIMING, T0, 2)
    state, ev = phases.end_early(state, TIMING, T0 + 10)
    assert state.phase is Phase.CLOSE and state.phase_ends_at == T0 + 70
    assert ev == [PhaseStarted(Phase.CLOSE, T0 + 70)]
    assert phases.end_early(state, TIMING, T0 + 20) == (state, [])


def test_an_overdue_deadline_applies_once_and_the_next_phase_gets_its_full_time():
    state, _ = phases.start_room(["a", "b"], TIMING, T0, 2)
    # The bot was down from T0+100 to T0+400: arrive ended at T0+120.
    state, ev = phases.advance(state, TIMING, T0 + 400)
    assert [type(e) for e in ev] == [PhaseStarted]
    assert state.phase is Phase.THINK and state.phase_ends_at == T0 + 400 + 60


def test_zero_think_time_skips_the_think_phase():
    timing = Timing(think=0)
    state, _ = phases.start_room(["a", "b"], timing, T0, 2)
    state, ev = phases.advance(state, timing, T0 + 120)
    assert Phase.THINK not in [e.phase for e in ev if isinstance(e, PhaseStarted)]
    assert state.speaker == "a"


def test_speed_scales_every_duration():
    fast = Timing(speed=60)
    state, _ = phases.start_room(["a", "b"], fast, T0, 2)
    assert state.phase_ends_at == T0 + 2
    assert state.finish_at == T0 + 30


def test_length_fit_names_the_shortest_length_that_works():
    timing = Timing(length=10 * 60)
    with pytest.raises(PlanError) as info:
        timing.check_fits(8)  # 2 + 1 + 16 + 1 min, plus 2 min to reflect = 22
    assert info.value.shortest_minutes == 22
    assert "22 minutes" in str(info.value)
    Timing(length=22 * 60).check_fits(8)


def test_still_got_some_time_shrinks_before_reflection_does():
    timing = Timing(length=22 * 60)
    assert timing.still_seconds(8) == 0
    assert Timing().still_seconds(4) == 300


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 8),
    turn=st.integers(30, 600),
    arrive=st.integers(0, 300),
    think=st.integers(0, 120),
    actions=st.lists(st.sampled_from(["done", "pass", "more", "wait"]), max_size=30),
)
def test_any_sequence_of_presses_gives_every_speaker_one_prompt_and_ends(
    n, turn, arrive, think, actions
):
    timing = Timing(arrive=arrive, think=think, turn=turn, nudge=min(30, turn - 1))
    length = timing.shortest_length(n) * 60 + 300
    timing = Timing(arrive=arrive, think=think, turn=turn, nudge=min(30, turn - 1), length=length)
    order = [str(i) for i in range(n)]
    state, events = phases.start_room(order, timing, T0, n)
    now = T0
    for action in actions:
        now += 7
        state, ev = phases.advance(state, timing, now)
        events += ev
        if state.speaker is not None and action in ("done", "pass"):
            state, ev = phases.finish_turn(
                state, timing, now, state.speaker, passed=action == "pass"
            )
            events += ev
        elif action == "more":
            state, ev = phases.extend(state, 60, timing, once=True)
            events += ev
    for _ in range(10_000):
        deadline = phases.next_deadline(state, timing)
        if deadline is None:
            break
        now = max(now, deadline)
        state, ev = phases.advance(state, timing, now)
        events += ev
    assert state.phase is Phase.DONE
    assert [e.speaker for e in events if isinstance(e, TurnStarted)] == order
    assert sum(isinstance(e, Recall) for e in events) == 1
    steps = [e for e in events if isinstance(e, PhaseStarted)]
    assert [e.phase for e in steps][-1] is Phase.CLOSE


def test_zero_arrive_time_starts_with_thinking_and_says_nothing_about_arriving():
    timing = Timing(arrive=0)
    state, events = phases.start_room(["a", "b"], timing, T0, 2)
    assert [e.phase for e in events if isinstance(e, PhaseStarted)] == [Phase.THINK]
    assert state.phase is Phase.THINK and state.phase_ends_at == T0 + 60


def test_turns_that_end_late_keep_reflecting_and_give_up_still_got_some_time():
    # Turns end at T0+1500 (the bot was down): "still got some time?" was due at T0+1440,
    # close at T0+1740. Reflecting takes what is left; "still got some time?" gives way.
    state, _ = phases.start_room(["a"], TIMING, T0, 1)
    state, _ = to_turns(state)
    state, ev = phases.finish_turn(state, TIMING, T0 + 1500, "a", passed=False)
    assert [e.phase for e in ev if isinstance(e, PhaseStarted)] == [Phase.REFLECT]
    assert state.phase is Phase.REFLECT and state.phase_ends_at == T0 + 1800 - 60
    state, ev = phases.advance(state, TIMING, state.phase_ends_at)
    assert [e.phase for e in ev if isinstance(e, PhaseStarted)] == [Phase.CLOSE]
    # Once close is due, there is nothing left to reflect in: straight to close.
    late, _ = to_turns(phases.start_room(["a"], TIMING, T0, 1)[0])
    late, ev = phases.finish_turn(late, TIMING, T0 + 1750, "a", passed=False)
    assert [e.phase for e in ev if isinstance(e, PhaseStarted)] == [Phase.CLOSE]


def test_a_deadline_applied_a_moment_late_keeps_the_timetable():
    # A busy bot applies each turn's end 0.4 s late: the next turn still ends one turn after
    # the last one was due, so the lateness never adds up from turn to turn.
    state, _ = phases.start_room(["a", "b", "c", "d"], TIMING, T0, 4)
    state, _ = to_turns(state)
    assert state.phase_ends_at == T0 + 180 + 120
    for turn in range(1, 4):
        due = T0 + 180 + 120 * turn
        state, ev = phases.advance(state, TIMING, state.phase_ends_at - 30)  # the nudge
        state, ev = phases.advance(state, TIMING, due + 0.4)
        started = [e for e in ev if isinstance(e, TurnStarted)]
        assert [e.position for e in started] == [turn + 1]
        assert state.phase_ends_at == due + 120 == started[0].ends_at


def test_a_deadline_applied_much_later_starts_the_next_turn_afresh():
    state, _ = phases.start_room(["a", "b"], TIMING, T0, 2)
    state, _ = to_turns(state)
    late = T0 + 300 + phases.ON_TIME_S + 5
    state, _ = phases.advance(state, TIMING, late)
    assert state.speaker == "b" and state.phase_ends_at == late + 120


def test_keeping_the_timetable_never_makes_the_next_step_over_before_it_starts():
    # At rehearsal speed a step can be shorter than the lateness allowed: a think of 0.1 s,
    # applied 0.3 s late, still gets its full time (from now), and nobody's turn is skipped.
    timing = Timing(speed=60, think=6)
    state, _ = phases.start_room(["a", "b"], timing, T0, 2)
    due = state.phase_ends_at
    state, ev = phases.advance(state, timing, due + 0.3)
    assert state.phase is Phase.THINK and state.phase_ends_at == due + 0.3 + 0.1
    assert not [e for e in ev if isinstance(e, TurnStarted)]
