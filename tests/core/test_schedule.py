"""Series, per-occurrence plans, catch-up rules and RSVP counting (bot.core.schedule)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.schedule import (
    MAX_OCCURRENCES,
    Answer,
    MomentKind,
    Plan,
    Repeat,
    Rsvp,
    StartOutcome,
    Verdict,
    answer,
    cancel_recipients,
    coming,
    due_steps,
    next_index,
    next_moment,
    occurrence_start,
    occurrence_starts,
    plan_occurrence,
    reminder_recipients,
    series_problem,
    start_outcome,
    tally,
)

LONDON = ZoneInfo("Europe/London")


def wall(at: datetime) -> tuple[int, int, int, int, int]:
    at = at.astimezone(LONDON)
    return (at.year, at.month, at.day, at.hour, at.minute)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# -------------------------------------------------------------------- series


def test_weekly_keeps_the_wall_time_across_the_spring_change() -> None:
    # Saturdays 19:00 around Sunday 28 March 2027.
    first = datetime(2027, 3, 20, 19, 0, tzinfo=LONDON)
    starts = occurrence_starts(first, Repeat.WEEKLY, 3, LONDON)
    assert [wall(s) for s in starts] == [
        (2027, 3, 20, 19, 0),
        (2027, 3, 27, 19, 0),
        (2027, 4, 3, 19, 0),
    ]
    assert [s.astimezone(UTC).hour for s in starts] == [19, 19, 18]
    # Six days and 23 hours of real time across the change.
    assert starts[2].astimezone(UTC) - starts[1].astimezone(UTC) == timedelta(days=7, hours=-1)


def test_fortnightly_keeps_the_wall_time_across_the_autumn_change() -> None:
    first = datetime(2027, 10, 20, 10, 30, tzinfo=LONDON)
    starts = occurrence_starts(first, Repeat.FORTNIGHTLY, 2, LONDON)
    assert [wall(s) for s in starts] == [(2027, 10, 20, 10, 30), (2027, 11, 3, 10, 30)]
    assert [s.astimezone(UTC).hour for s in starts] == [9, 10]


def test_monthly_clamps_to_the_end_of_shorter_months_and_comes_back() -> None:
    first = datetime(2027, 1, 31, 14, 0, tzinfo=LONDON)
    starts = occurrence_starts(first, Repeat.MONTHLY, 5, LONDON)
    assert [wall(s)[:3] for s in starts] == [
        (2027, 1, 31),
        (2027, 2, 28),
        (2027, 3, 31),
        (2027, 4, 30),
        (2027, 5, 31),
    ]
    assert {wall(s)[3:] for s in starts} == {(14, 0)}


def test_monthly_on_the_29th_meets_a_leap_february() -> None:
    first = datetime(2027, 12, 29, 9, 0, tzinfo=LONDON)
    starts = occurrence_starts(first, Repeat.MONTHLY, 3, LONDON)
    assert [wall(s)[:3] for s in starts] == [(2027, 12, 29), (2028, 1, 29), (2028, 2, 29)]


def test_monthly_at_a_time_the_clocks_skip_moves_forward_that_month_only() -> None:
    first = datetime(2027, 2, 28, 1, 30, tzinfo=LONDON)
    starts = occurrence_starts(first, Repeat.MONTHLY, 3, LONDON)
    assert [wall(s) for s in starts] == [
        (2027, 2, 28, 1, 30),
        (2027, 3, 28, 2, 30),  # 01:30 does not exist that night
        (2027, 4, 28, 1, 30),
    ]


def test_once_is_one_occurrence_and_the_index_is_checked() -> None:
    first = datetime(2027, 1, 5, 14, 0, tzinfo=LONDON)
    assert occurrence_starts(first, Repeat.ONCE, 5, LONDON) == [first]
    with pytest.raises(ValueError):
        occurrence_start(first, Repeat.ONCE, 1, LONDON)
    with pytest.raises(ValueError):
        occurrence_start(first, Repeat.WEEKLY, -1, LONDON)
    with pytest.raises(ValueError):
        occurrence_start(first.replace(tzinfo=None), Repeat.WEEKLY, 1, LONDON)


def test_series_limits_and_the_next_occurrence() -> None:
    assert series_problem(Repeat.WEEKLY, 52) is None
    assert series_problem(Repeat.ONCE, 1) is None
    assert series_problem(Repeat.WEEKLY, 0) == "schedule.occurrences_range"
    assert series_problem(Repeat.MONTHLY, MAX_OCCURRENCES + 1) == "schedule.occurrences_range"
    assert series_problem(Repeat.ONCE, 2) == "schedule.occurrences_need_repeat"
    assert next_index(0, 3) == 1
    assert next_index(2, 3) is None
    assert next_index(0, 1) is None


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1)),
    st.sampled_from(list(Repeat)),
    st.integers(min_value=1, max_value=MAX_OCCURRENCES),
)
def test_every_series_is_in_order_and_keeps_its_wall_time(
    naive: datetime, repeat: Repeat, occurrences: int
) -> None:
    first = naive.replace(second=0, microsecond=0, tzinfo=LONDON, fold=0)
    first = first.astimezone(UTC).astimezone(LONDON)  # a real instant
    starts = occurrence_starts(first, repeat, occurrences, LONDON)
    assert len(starts) == (1 if repeat is Repeat.ONCE else occurrences)
    instants = [s.astimezone(UTC) for s in starts]
    assert instants == sorted(instants) and len(set(instants)) == len(instants)
    for start in starts[1:]:
        moved = (start.hour, start.minute) != (first.hour, first.minute)
        if moved:  # only a time the clocks skip may move, and by the skipped hour
            skipped = start.replace(hour=first.hour, minute=first.minute)
            assert skipped.astimezone(UTC).astimezone(LONDON).hour != first.hour
        if repeat is Repeat.MONTHLY:
            assert start.day == first.day or start.day < first.day
        else:
            assert start.weekday() == first.weekday()


# -------------------------------------------------------------------- plans


START = datetime(2026, 12, 8, 14, 0, tzinfo=LONDON)


def make_plan(**kwargs: object) -> Plan:
    defaults: dict[str, object] = {"length_minutes": 30}
    defaults.update(kwargs)
    return plan_occurrence(START, **defaults)  # type: ignore[arg-type]


def test_default_plan_has_two_reminders_the_opening_and_the_start() -> None:
    plan = make_plan()
    assert [(m.key, wall(m.at)) for m in plan.moments] == [
        ("reminder-1440", (2026, 12, 7, 14, 0)),
        ("open", (2026, 12, 8, 13, 45)),
        ("reminder-15", (2026, 12, 8, 13, 45)),
        ("start", (2026, 12, 8, 14, 0)),
    ]
    assert plan.end == START.astimezone(UTC) + timedelta(minutes=30)
    assert all(m.at.tzinfo is UTC for m in plan.moments)


def test_offsets_follow_speed_but_the_start_does_not() -> None:
    plan = make_plan(speed=60, reminder_minutes=[1440, 15], signup_minutes=10)
    start = START.astimezone(UTC)
    assert plan.start == start
    at = {m.key: start - m.at for m in plan.moments}
    assert at == {
        "reminder-1440": timedelta(minutes=24),
        "reminder-15": timedelta(seconds=15),
        "open": timedelta(seconds=10),
        "start": timedelta(0),
    }
    assert plan.end - start == timedelta(seconds=30)


def test_offsets_are_real_time_across_the_spring_change() -> None:
    # 02:00 BST on the spring-forward night: 15 minutes before is 00:45 GMT, not 01:45 (which
    # does not exist) and never after the start.
    start = datetime(2027, 3, 28, 2, 0, tzinfo=LONDON)
    plan = plan_occurrence(start, length_minutes=30, reminder_minutes=[1440, 15])
    assert plan.moment("open") is not None
    assert wall(plan.moment("open").at) == (2027, 3, 28, 0, 45)  # type: ignore[union-attr]
    # A day before is 24 real hours: 02:00 GMT on Saturday.
    assert plan.moment("reminder-1440").at == datetime(2027, 3, 27, 1, 0, tzinfo=UTC)  # type: ignore[union-attr]
    assert all(m.at <= plan.start for m in plan.moments)


def test_reminders_already_past_when_scheduled_are_left_out() -> None:
    plan = make_plan(scheduled_at=START - timedelta(hours=2))
    assert [m.key for m in plan.moments] == ["open", "reminder-15", "start"]


def test_plan_refuses_bad_settings() -> None:
    with pytest.raises(ValueError):
        make_plan(signup_minutes=121)
    with pytest.raises(ValueError):
        make_plan(reminder_minutes=[0])
    with pytest.raises(ValueError):
        make_plan(length_minutes=0)
    with pytest.raises(ValueError):
        plan_occurrence(START.replace(tzinfo=None), length_minutes=30)


# -------------------------------------------------------------------- what is due


def verdicts(plan: Plan, now: datetime, done: set[str] | None = None) -> dict[str, Verdict]:
    return {s.moment.key: s.verdict for s in due_steps(plan, done=done or set(), now=now)}


def test_nothing_is_due_before_the_first_moment() -> None:
    plan = make_plan()
    now = START - timedelta(days=2)
    assert verdicts(plan, now) == {}
    assert next_moment(plan, done=set(), now=now).key == "reminder-1440"  # type: ignore[union-attr]


def test_on_time_each_moment_is_done_once() -> None:
    plan = make_plan()
    done: set[str] = set()
    seen = []
    for moment in plan.moments:
        for step in due_steps(plan, done=done, now=moment.at):
            assert step.verdict is Verdict.DO
            assert step.late_by == timedelta(0)
            seen.append(step.moment.key)
            done.add(step.moment.key)
    assert seen == [m.key for m in plan.moments]
    assert due_steps(plan, done=done, now=plan.end + timedelta(days=1)) == []
    assert next_moment(plan, done=done, now=START) is None


def test_back_after_a_day_down_sends_only_the_latest_reminder() -> None:
    plan = make_plan()
    now = START - timedelta(minutes=5)
    assert verdicts(plan, now) == {
        "reminder-1440": Verdict.SKIP,
        "open": Verdict.DO,
        "reminder-15": Verdict.DO,
    }


def test_a_reminder_is_never_sent_after_the_start_but_a_late_start_happens() -> None:
    plan = make_plan()
    now = START + timedelta(minutes=10)
    steps = due_steps(plan, done={"reminder-1440"}, now=now)
    assert {s.moment.key: s.verdict for s in steps} == {
        "open": Verdict.DO,
        "reminder-15": Verdict.SKIP,
        "start": Verdict.DO,
    }
    assert [s.late_by for s in steps if s.moment.key == "start"] == [timedelta(minutes=10)]


def test_after_the_brew_would_have_ended_the_start_is_missed() -> None:
    plan = make_plan()
    assert verdicts(plan, plan.end, {"reminder-1440", "reminder-15"}) == {
        "open": Verdict.SKIP,
        "start": Verdict.MISSED,
    }
    # Opened on time, then down through the whole brew: only the start is reported.
    assert verdicts(plan, plan.end + timedelta(hours=1), {"reminder-1440", "open"}) == {
        "reminder-15": Verdict.SKIP,
        "start": Verdict.MISSED,
    }


def test_sign_up_from_the_start_opens_before_starting() -> None:
    plan = make_plan(signup_minutes=0)
    steps = due_steps(plan, done={"reminder-1440", "reminder-15"}, now=START)
    assert [(s.moment.key, s.verdict) for s in steps] == [
        ("open", Verdict.DO),
        ("start", Verdict.DO),
    ]


@given(
    st.sets(st.sampled_from(["reminder-1440", "reminder-15", "open", "start"])),
    st.integers(min_value=-3000, max_value=200),
)
def test_due_steps_never_repeats_and_never_reminds_after_the_start(
    done: set[str], minutes_from_start: int
) -> None:
    plan = make_plan()
    now = START + timedelta(minutes=minutes_from_start)
    steps = due_steps(plan, done=done, now=now)
    keys = [s.moment.key for s in steps]
    assert not set(keys) & done
    assert len(keys) == len(set(keys))
    assert all(s.moment.at <= now for s in steps)
    sent = [s for s in steps if s.moment.kind is MomentKind.REMINDER and s.verdict is Verdict.DO]
    assert len(sent) <= 1
    if now >= plan.start:
        assert not sent
    if now >= plan.end:
        assert all(s.verdict is not Verdict.DO for s in steps)


# -------------------------------------------------------------------- starting


def test_start_outcome() -> None:
    assert start_outcome(auto_start=True, joined=[1, 2], in_voice=[]) is StartOutcome.START
    assert start_outcome(auto_start=True, joined=[1], in_voice=[2]) is StartOutcome.START
    assert start_outcome(auto_start=True, joined=[1], in_voice=[1]) is StartOutcome.TOO_FEW
    assert start_outcome(auto_start=True, joined=[], in_voice=[]) is StartOutcome.TOO_FEW
    assert start_outcome(auto_start=False, joined=[1, 2, 3], in_voice=[]) is StartOutcome.PING


# -------------------------------------------------------------------- answers


T0 = utc(2026, 12, 1, 12, 0)


def test_switching_between_voice_and_text_keeps_when_they_first_said_yes() -> None:
    first = answer(None, Rsvp.VOICE, T0)
    assert first.coming_since == T0
    switched = answer(first, Rsvp.TEXT, T0 + timedelta(days=1))
    assert switched.choice is Rsvp.TEXT
    assert switched.coming_since == T0
    assert switched.answered_at == T0 + timedelta(days=1)
    cant = answer(switched, Rsvp.CANT, T0 + timedelta(days=2))
    assert cant.coming_since is None
    again = answer(cant, Rsvp.VOICE, T0 + timedelta(days=3))
    assert again.coming_since == T0 + timedelta(days=3)


def test_reminders_go_to_people_who_said_yes_before_the_reminder() -> None:
    plan = make_plan()
    day_before = plan.moment("reminder-1440")
    soon = plan.moment("reminder-15")
    assert day_before is not None and soon is not None
    answers = {
        1: answer(None, Rsvp.VOICE, day_before.at - timedelta(hours=1)),
        2: answer(None, Rsvp.TEXT, day_before.at + timedelta(hours=1)),  # too late for the first
        3: answer(answer(None, Rsvp.VOICE, T0), Rsvp.CANT, T0 + timedelta(hours=1)),
        4: answer(None, Rsvp.VOICE, soon.at + timedelta(minutes=1)),  # after both
    }
    assert reminder_recipients(answers, day_before) == [1]
    assert reminder_recipients(answers, soon) == [1, 2]
    assert cancel_recipients(answers) == [1, 2, 4]


def test_interested_people_count_as_voice_unless_they_answered() -> None:
    answers = {
        1: Answer(Rsvp.VOICE, T0, T0),
        2: Answer(Rsvp.TEXT, T0, T0),
        3: Answer(Rsvp.CANT, T0, None),
    }
    interested = [2, 3, 4, 5]
    assert coming(answers, interested) == {
        1: Rsvp.VOICE,
        2: Rsvp.TEXT,
        4: Rsvp.VOICE,
        5: Rsvp.VOICE,
    }
    counted = tally(answers, interested)
    assert (counted.voice, counted.text, counted.cant, counted.interested_only) == (3, 1, 1, 2)
    assert counted.coming == 4
    assert tally({}, []).coming == 0
