"""Ordering and counting of export rows (sample data from :mod:`tests.builders`)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.export import BrewSummary, ReflectionRecord, chart_alt_text, chart_bars
from bot.core.export_model import (
    answer_rows,
    format_date,
    ordered_reflections,
    plural,
    prompt_columns,
    reflections_per_brew,
)
from tests.builders import PROMPTS, brews, reflections


def test_rows_are_grouped_by_brew_date_then_prompt_then_text() -> None:
    rows = answer_rows(brews(), reflections(), PROMPTS)
    assert [(r.brew.number, r.prompt.key, r.answer) for r in rows] == [
        (1, "missing", "Private thought"),
        (1, "missing", "Time and budget"),
        (1, "next", "A network"),
        (1, "next", "Private next"),
        (1, "feedback", "Great chat"),
        (2, "feedback", "Too short"),
    ]


def test_order_does_not_depend_on_submission_order() -> None:
    forward = answer_rows(brews(), reflections(), PROMPTS)
    backward = answer_rows(brews(), list(reversed(reflections())), PROMPTS)
    assert forward == backward
    cols = prompt_columns(PROMPTS, reflections())
    assert ordered_reflections(reflections(), cols) == ordered_reflections(
        list(reversed(reflections())), cols
    )


def test_unknown_prompt_keys_are_kept_with_their_key_as_label() -> None:
    extra = [ReflectionRecord(1, date(2024, 7, 1), True, {"old_question": "Still counts"})]
    rows = answer_rows(brews(), extra, PROMPTS)
    assert [(r.prompt.label, r.answer) for r in rows] == [("old_question", "Still counts")]


def test_reflection_for_unknown_brew_is_an_error() -> None:
    with pytest.raises(ValueError, match="brew 99"):
        answer_rows(brews(), [ReflectionRecord(99, date(2024, 7, 1), True, {"next": "x"})], PROMPTS)


def test_duplicate_brew_is_an_error() -> None:
    with pytest.raises(ValueError, match="twice"):
        answer_rows(brews() + brews()[:1], [], PROMPTS)


def test_negative_counts_refused() -> None:
    with pytest.raises(ValueError):
        BrewSummary(1, "t", None, "q", date(2024, 1, 1), -1, 0)


def test_reflections_per_brew() -> None:
    assert reflections_per_brew(reflections()) == {1: 3, 2: 1}


def test_chart_bars_by_brew_and_area() -> None:
    per = reflections_per_brew(reflections())
    by_brew = chart_bars(brews(), per, by="brew")
    assert [(b.label, b.participants, b.reflections) for b in by_brew] == [
        ("Brew 1: The value of co-production", 12, 3),
        ("Brew 2: Direct Payments", 5, 1),
        ("Brew 3: Open brew", 4, 0),
    ]
    more = [*brews(), BrewSummary(4, "Again", "Essex", "q", date(2024, 7, 5), 3, 1)]
    by_area = chart_bars(more, {**per, 4: 2}, by="area")
    assert [tuple(b) for b in by_area] == [
        ("Essex", 15, 5, 2),
        ("Norfolk", 5, 1, 1),
        ("No area given", 4, 0, 1),
    ]


def test_alt_text_mentions_every_number() -> None:
    per = reflections_per_brew(reflections())
    text = chart_alt_text(brews(), per, by="brew")
    for fragment in (
        "12 participants, 3 reflections",
        "5 participants, 1 reflection.",
        "4 participants, 0 reflections",
        "3 brews in total",
    ):
        assert fragment in text  # fmt: skip
    area_text = chart_alt_text(brews(), per, by="area")
    assert "Essex (1 brew): 12 participants, 3 reflections." in area_text
    assert "No area given (1 brew): 4 participants, 0 reflections." in area_text
    assert "no brews" in chart_alt_text([], {}, by="brew")


def test_plural_and_dates() -> None:
    assert plural(1, "person", "people") == "1 person"
    assert plural(2, "person", "people") == "2 people"
    assert plural(0, "room") == "0 rooms"
    assert format_date(date(2024, 10, 1)) == "1 October 2024"


def test_a_yes_to_quoting_is_kept_only_where_three_people_in_the_brew_said_yes() -> None:
    from bot.core.export_model import MIN_PEOPLE_PER_CONSENT_GROUP, quotable

    day = date(2024, 7, 1)
    lonely = [ReflectionRecord(1, day, True, {"missing": f"a{i}"}) for i in range(1)]
    lonely += [ReflectionRecord(1, day, False, {"missing": f"b{i}"}) for i in range(4)]
    enough = [
        ReflectionRecord(2, day, True, {"missing": f"c{i}"})
        for i in range(MIN_PEOPLE_PER_CONSENT_GROUP)
    ]
    enough.append(ReflectionRecord(2, day, False, {"missing": "d"}))
    shown = quotable(lonely + enough)
    assert [r.consent for r in shown if r.brew_number == 1] == [False] * 5
    assert sum(r.consent for r in shown if r.brew_number == 2) == MIN_PEOPLE_PER_CONSENT_GROUP
    assert [r.answers for r in shown] == [r.answers for r in lonely + enough]
