from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.reflections import (
    DEFAULT_PROMPTS,
    FEEDBACK_KEY,
    Prompt,
    ReflectionError,
    clean_text,
    neutralise_mentions,
    parse_consent,
    prompts_from_content,
    reflection_window_open,
    validate_answers,
    window_closes_at,
)

ZWSP = "\u200b"


# --- prompts -------------------------------------------------------------------------------


def test_default_prompts_match_the_brief() -> None:
    labels = [p.label for p in DEFAULT_PROMPTS]
    assert labels == [
        "What's missing?",
        "What are your lasting thoughts?",
        "What could be next?",
        "How was this brew for you?",
    ]
    feedback = DEFAULT_PROMPTS[-1]
    assert feedback.key == FEEDBACK_KEY and feedback.long is False
    assert len(DEFAULT_PROMPTS) <= 4  # plus the consent box: Discord's 5-component modal limit


@pytest.mark.parametrize(
    "kwargs",
    [
        {"key": "", "label": "x"},
        {"key": "has space", "label": "x"},
        {"key": "ok", "label": "   "},
        {"key": "ok", "label": "x" * 46},
        {"key": "ok", "label": "x", "max_length": 0},
        {"key": "ok", "label": "x", "max_length": 4001},
    ],
)
def test_prompt_rejects_what_discord_would_refuse(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Prompt(**kwargs)  # type: ignore[arg-type]


def test_prompts_from_content() -> None:
    content = {
        "prompts": [
            {"key": "missing", "label": "Beth sy'n eisiau?", "max_length": 500},
            {"key": "feedback", "label": "How was it?", "long": False},
        ]
    }
    prompts = prompts_from_content(content)
    assert prompts == (
        Prompt("missing", "Beth sy'n eisiau?", True, 500),
        Prompt("feedback", "How was it?", False, 1000),
    )
    assert prompts_from_content(None) == DEFAULT_PROMPTS
    assert prompts_from_content({}) == DEFAULT_PROMPTS
    with pytest.raises(ValueError):
        prompts_from_content({"prompts": []})
    with pytest.raises(ValueError):
        prompts_from_content({"prompts": [{"key": "a", "label": "A"}, {"key": "a", "label": "B"}]})


# --- validate_answers ----------------------------------------------------------------------

PROMPTS = (Prompt("missing", "What's missing?", max_length=20), Prompt("next", "What next?"))


def test_cleans_and_keeps_only_answered() -> None:
    raw = {"missing": "  Time\r\nand\rmoney  \t\n", "next": "   ", "unknown": "ignored"}
    assert validate_answers(PROMPTS, raw) == {"missing": "Time\nand\nmoney"}


def test_drops_control_characters_but_keeps_newlines() -> None:
    text = "a\x00b\x07c\u202ed\ne\x1bf\u2028g"
    assert clean_text(text) == "abcd\nef\ng"
    assert clean_text("tab\there") == "tab here"


def test_nfc_normalisation_counts_like_discord() -> None:
    decomposed = "Cafe\u0301"
    assert clean_text(decomposed) == "Caf\u00e9"


def test_keeps_emoji_sequences() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean_text(f"ok {family}") == f"ok {family}"


@pytest.mark.parametrize("raw", [{}, {"missing": ""}, {"missing": "  \n\t ", "next": "\x00"}])
def test_all_empty_is_refused_kindly(raw: dict[str, str]) -> None:
    with pytest.raises(ReflectionError) as info:
        validate_answers(PROMPTS, raw)
    assert info.value.prompt_key is None
    assert "at least one box" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_oversized_answer_names_the_question_and_is_not_truncated() -> None:
    with pytest.raises(ReflectionError) as info:
        validate_answers(PROMPTS, {"missing": "x" * 25, "next": "fine"})
    message = str(info.value)
    assert info.value.prompt_key == "missing"
    assert "What's missing?" in message
    assert "25" in message and "20" in message and "by 5 characters" in message
    assert "Nothing has been saved" in message


def test_exactly_at_the_limit_is_fine_and_length_is_counted_after_cleaning() -> None:
    assert validate_answers(PROMPTS, {"missing": "x" * 20}) == {"missing": "x" * 20}
    assert validate_answers(PROMPTS, {"missing": "  " + "x" * 20 + "\x00\x00  "}) == {
        "missing": "x" * 20
    }


def test_singular_character() -> None:
    with pytest.raises(ReflectionError, match="by 1 character and"):
        validate_answers(PROMPTS, {"missing": "x" * 21})


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60))
def test_clean_text_is_idempotent(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once
    assert "\r" not in once and "\t" not in once


# --- consent -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["yes", "Yes", "YES", " y ", "Y", "yes please", "Yes, please!", "ok", "OK.", "okay", "yes."],
)
def test_consent_yes(text: str) -> None:
    assert parse_consent(text) is True


@pytest.mark.parametrize(
    "text",
    [None, "", "   ", "no", "No", "n", "nope", "maybe", "yes but not my name", "not yes",
     "yesterday", "don't know", "yes no", "\x00"],
)  # fmt: skip
def test_consent_defaults_to_no(text: str | None) -> None:
    assert parse_consent(text) is False


# --- window --------------------------------------------------------------------------------

ENDED = datetime(2024, 7, 1, 15, 0, tzinfo=UTC)


def test_window_boundaries() -> None:
    closes = window_closes_at(ENDED, 7)
    assert closes == ENDED + timedelta(days=7)
    assert reflection_window_open(ENDED, ENDED, 7)
    assert reflection_window_open(ENDED, closes - timedelta(microseconds=1), 7)
    assert not reflection_window_open(ENDED, closes, 7)
    assert not reflection_window_open(ENDED, closes + timedelta(seconds=1), 7)
    assert not reflection_window_open(ENDED, ENDED - timedelta(seconds=1), 7)


def test_window_zero_days_is_always_closed_and_negative_is_an_error() -> None:
    assert not reflection_window_open(ENDED, ENDED, 0)
    with pytest.raises(ValueError):
        window_closes_at(ENDED, -1)


def test_window_refuses_naive_and_aware_mix() -> None:
    with pytest.raises(TypeError):
        reflection_window_open(ENDED, datetime(2024, 7, 2), 7)


# --- mentions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@everyone hi", f"@{ZWSP}everyone hi"),
        ("hi @here!", f"hi @{ZWSP}here!"),
        ("<@123456>", f"<@{ZWSP}123456>"),
        ("<@!123456>", f"<@{ZWSP}!123456>"),
        ("<@&987>", f"<@{ZWSP}&987>"),
        ("@Everyone", f"@{ZWSP}Everyone"),
        ("mail me@example.org", "mail me@example.org"),
        ("<#123> channel", "<#123> channel"),
        ("no mentions", "no mentions"),
    ],
)
def test_neutralise_mentions(text: str, expected: str) -> None:
    assert neutralise_mentions(text) == expected


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="@<>&!0123456789everyonhr ", max_size=40))
def test_neutralise_mentions_is_idempotent_and_only_adds_zwsp(text: str) -> None:
    once = neutralise_mentions(text)
    assert neutralise_mentions(once) == once
    assert once.replace(ZWSP, "") == text
    assert "@everyone" not in once and "@here" not in once
    assert re.search(r"<@[!&]?\d", once) is None
