"""The one cleaning rule for typed text (questions, titles, areas, perspectives, broadcasts)."""

from __future__ import annotations

import pytest

from bot.core.text import HiddenCharacter, TextRefused, TextTooLong, check_length, check_text


def test_direction_overrides_and_control_characters_are_removed() -> None:
    typed = "What\u202e is\u2066 missing\u0007?\u202c"
    assert check_length("question", typed, 300) == "What is missing?"


def test_nul_is_refused_kindly_and_says_nothing_was_saved() -> None:
    with pytest.raises(HiddenCharacter) as info:
        check_length("question", "What's\x00 missing?", 300)
    message = str(info.value)
    assert "question" in message and "Nothing has been saved" in message
    assert isinstance(info.value, TextRefused)


def test_length_is_counted_after_cleaning_and_said_plainly() -> None:
    assert check_length("title", "\u202e" * 50 + "Brew", 10) == "Brew"
    with pytest.raises(TextTooLong) as info:
        check_length("title", "x" * 1201, 1200)
    assert "1,201 characters" in str(info.value) and "1,200 or fewer" in str(info.value)


def test_one_line_text_joins_line_breaks() -> None:
    assert check_text("area", " Milton\r\nKeynes \u2028", 100) == "Milton Keynes"
    assert check_length("message", "line one\nline two", 100) == "line one\nline two"
