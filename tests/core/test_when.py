"""Reading typed times for /brew schedule (bot.core.when)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.content import load_content
from bot.core.when import (
    CHOICE_NAME_LIMIT,
    EXAMPLE,
    LocalKind,
    Refusal,
    Understood,
    localize,
    parse_when,
    understood_as,
    understood_label,
)

LONDON = ZoneInfo("Europe/London")
# Monday 7 December 2026, 10:00 in London (GMT, so also 10:00 UTC).
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=LONDON)


def read(text: str, now: datetime = NOW) -> Understood:
    result = parse_when(text, now=now, zone=LONDON)
    assert isinstance(result, Understood), result
    assert result.at.tzinfo is LONDON
    return result


def refused(text: str, now: datetime = NOW) -> Refusal:
    result = parse_when(text, now=now, zone=LONDON)
    assert isinstance(result, Refusal), result
    assert result.fields["example"] == EXAMPLE
    return result


def local(result: Understood) -> tuple[int, int, int, int, int]:
    at = result.at
    return (at.year, at.month, at.day, at.hour, at.minute)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-08 14:00", (2026, 12, 8, 14, 0)),
        ("2026-12-08T14:00", (2026, 12, 8, 14, 0)),
        ("8/12/2026 2pm", (2026, 12, 8, 14, 0)),
        ("08/12/2026 14:00", (2026, 12, 8, 14, 0)),
        ("8.12.26 14.00", (2026, 12, 8, 14, 0)),
        ("8 December 2026 at 2:30pm", (2026, 12, 8, 14, 30)),
        ("Dec 8th, 2026 2.30 pm", (2026, 12, 8, 14, 30)),
        ("Tuesday 8 December 2026 2pm", (2026, 12, 8, 14, 0)),
        ("tomorrow 14:00", (2026, 12, 8, 14, 0)),
        ("14:00 tomorrow", (2026, 12, 8, 14, 0)),
        ("Tomorrow at 9am", (2026, 12, 8, 9, 0)),
        ("today 11am", (2026, 12, 7, 11, 0)),
        ("tonight 7.30pm", (2026, 12, 7, 19, 30)),
        ("Tuesday 10:30", (2026, 12, 8, 10, 30)),
        ("next Friday noon", (2026, 12, 11, 12, 0)),
        ("sat 12am", (2026, 12, 12, 0, 0)),
        # A weekday name means the next such day after today: Monday is a week away.
        ("Monday 11:00", (2026, 12, 14, 11, 0)),
        # A bare time: today while it is ahead, otherwise tomorrow.
        ("14:00", (2026, 12, 7, 14, 0)),
        ("9:00", (2026, 12, 8, 9, 0)),
        # A day and month without a year: the next time it comes round.
        ("8/12 2pm", (2026, 12, 8, 14, 0)),
        ("1 March 10am", (2027, 3, 1, 10, 0)),
        ("7 December 9am", (2027, 12, 7, 9, 0)),
        ("in 2 hours", (2026, 12, 7, 12, 0)),
        ("in 90 minutes", (2026, 12, 7, 11, 30)),
        ("in a week", (2026, 12, 14, 10, 0)),
    ],
)
def test_reads_what_people_type(text: str, expected: tuple[int, ...]) -> None:
    assert local(read(text)) == expected


def test_in_hours_counts_real_time_across_the_spring_change() -> None:
    night = datetime(2027, 3, 28, 0, 30, tzinfo=LONDON)  # 00:30 GMT
    result = read("in 2 hours", night)
    assert local(result) == (2027, 3, 28, 3, 30)  # 02:30 GMT = 03:30 BST
    assert result.at.astimezone(UTC) - night.astimezone(UTC) == timedelta(hours=2)


def test_relative_time_is_rounded_up_to_a_whole_minute() -> None:
    now = datetime(2026, 12, 7, 10, 0, 30, tzinfo=LONDON)
    assert local(read("in 1 hour", now)) == (2026, 12, 7, 11, 1)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "schedule.when_empty"),
        ("   ", "schedule.when_empty"),
        ("blah", "schedule.when_unreadable"),
        ("8/12/2026 2pm ish", "schedule.when_unreadable"),
        ("monthly 2pm", "schedule.when_unreadable"),
        ("at 2", "schedule.when_unreadable"),
        ("tomorrow", "schedule.when_no_time"),
        ("8 December 2026", "schedule.when_no_time"),
        ("31/2/2027 10:00", "schedule.when_no_such_day"),
        ("2027-13-01 10:00", "schedule.when_no_such_day"),
        ("29/2/2027 10:00", "schedule.when_no_such_day"),
        ("tomorrow 25:00", "schedule.when_no_such_time"),
        ("tomorrow 13pm", "schedule.when_no_such_time"),
        ("Wednesday 8 December 2026 2pm", "schedule.when_wrong_weekday"),
        ("today 9am", "schedule.when_past"),
        ("2026-12-07 10:00", "schedule.when_past"),
        ("2025-12-08 14:00", "schedule.when_past"),
        ("2028-01-01 10:00", "schedule.when_too_far"),
    ],
)
def test_refusals_name_their_reason(text: str, key: str) -> None:
    assert refused(text).key == key


def test_every_refusal_renders_with_the_shipped_wording_and_shows_an_example() -> None:
    content = load_content()
    for text in ("blah", "tomorrow", "31/2/2027 10:00", "tomorrow 25:00", "today 9am"):
        refusal = refused(text)
        message = content.format(refusal.key, **refusal.fields)
        assert EXAMPLE in message
    wrong = refused("Wednesday 8 December 2026 2pm")
    assert content.format(wrong.key, **wrong.fields).startswith(
        "Tuesday 8 December 2026 is not a Wednesday."
    )
    past = refused("today 9am")
    assert content.format(past.key, **past.fields).startswith(
        "Monday 7 December 2026 at 9:00am (UK time) has already gone."
    )


def test_29_february_without_a_year_finds_the_next_leap_year() -> None:
    assert local(read("29/2 10:00", datetime(2027, 3, 1, tzinfo=LONDON))) == (
        2028,
        2,
        29,
        10,
        0,
    )


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse_when("tomorrow 14:00", now=datetime(2026, 12, 7, 10, 0), zone=LONDON)


def test_another_zone_reads_times_there() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    result = parse_when("2026-12-08 14:00", now=NOW, zone=tokyo)
    assert isinstance(result, Understood)
    assert result.at.astimezone(UTC) == datetime(2026, 12, 8, 5, 0, tzinfo=UTC)
    assert understood_as(result.at) == "Tuesday 8 December 2026 at 2:00pm (Tokyo time)"


# -------------------------------------------------------------------- summer time (UK)
# 2027: clocks go forward on Sunday 28 March at 01:00 GMT, back on Sunday 31 October at 02:00 BST.


def test_time_in_the_spring_gap_moves_forward_by_the_skipped_hour() -> None:
    result = read("2027-03-28 01:30")
    assert result.local is LocalKind.SKIPPED
    assert local(result) == (2027, 3, 28, 2, 30)
    assert result.at.utcoffset() == timedelta(hours=1)
    assert result.at.astimezone(UTC) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert "clocks go forward" in understood_label(result)


def test_time_repeated_in_autumn_is_the_first_one_in_summer_time() -> None:
    result = read("2027-10-31 01:30")
    assert result.local is LocalKind.REPEATED
    assert result.at.utcoffset() == timedelta(hours=1)
    assert result.at.astimezone(UTC) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


def test_times_either_side_of_the_changes_are_normal() -> None:
    before = read("2027-03-28 00:59")
    after = read("2027-03-28 02:00")
    assert (before.local, after.local) == (LocalKind.NORMAL, LocalKind.NORMAL)
    # 00:59 GMT to 02:00 BST is one real minute (compare in UTC: Python subtracts two times in
    # the same zone on the wall clock).
    assert after.at.astimezone(UTC) - before.at.astimezone(UTC) == timedelta(minutes=1)
    assert read("2027-10-31 02:00").at.utcoffset() == timedelta(0)


def test_tomorrow_across_the_change_keeps_the_wall_time() -> None:
    saturday = datetime(2027, 3, 27, 20, 0, tzinfo=LONDON)
    result = read("tomorrow 19:00", saturday)
    assert local(result) == (2027, 3, 28, 19, 0)
    # One hour fewer that night.
    assert result.at.astimezone(UTC) - saturday.astimezone(UTC) == timedelta(hours=22)


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.none()
    )
)
def test_localize_keeps_real_wall_times_and_moves_only_skipped_ones(naive: datetime) -> None:
    at, kind = localize(naive, LONDON)
    assert at.tzinfo is LONDON
    if kind is LocalKind.SKIPPED:
        assert at.replace(tzinfo=None) - naive == timedelta(hours=1)
    else:
        assert at.replace(tzinfo=None) == naive
        # It survives a round trip through UTC (it is a real instant on that wall clock).
        assert at.astimezone(UTC).astimezone(LONDON).replace(tzinfo=None) == naive


@given(
    st.datetimes(
        min_value=datetime(2026, 12, 7, 10, 1),
        max_value=datetime(2027, 12, 6, 23, 59),
        timezones=st.none(),
    )
)
def test_the_iso_form_reads_back_every_future_minute(naive: datetime) -> None:
    naive = naive.replace(second=0, microsecond=0)
    result = parse_when(naive.strftime("%Y-%m-%d %H:%M"), now=NOW, zone=LONDON)
    assert isinstance(result, Understood)
    expected, _ = localize(naive, LONDON)
    assert result.at == expected


@given(st.text(max_size=60))
def test_any_text_is_either_understood_in_the_future_or_refused(text: str) -> None:
    result = parse_when(text, now=NOW, zone=LONDON)
    if isinstance(result, Understood):
        assert result.at > NOW
        assert result.at.second == 0
    else:
        assert result.key.startswith("schedule.when_")


# -------------------------------------------------------------------- descriptions


def test_understood_as_reads_plainly() -> None:
    at = datetime(2026, 12, 8, 14, 0, tzinfo=LONDON)
    assert understood_as(at) == "Tuesday 8 December 2026 at 2:00pm (UK time)"
    assert understood_as(at.astimezone(UTC), LONDON) == understood_as(at)
    assert understood_as(at.replace(hour=12)).endswith("at midday (UK time)")
    assert "midnight" in understood_as(at.replace(hour=0))
    assert understood_as(at.replace(hour=9, minute=5)).endswith("at 9:05am (UK time)")


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
    st.sampled_from(["Europe/London", "America/Argentina/ComodRivadavia", "Asia/Kolkata"]),
)
def test_descriptions_fit_an_autocomplete_choice(naive: datetime, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    at, kind = localize(naive, zone)
    assert len(understood_as(at)) <= CHOICE_NAME_LIMIT
    label = understood_label(Understood(at=at, text="", local=kind))
    assert len(label) <= CHOICE_NAME_LIMIT
