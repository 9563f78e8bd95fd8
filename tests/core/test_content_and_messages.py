"""The words: the shipped content loads, replacements are checked, messages read well."""

from __future__ import annotations

import pytest

from bot.core.content import ContentError, load_content
from bot.core.messages import RoomContext, guide_message, render, stamp_rel, stamp_time
from bot.core.phases import (
    Nudge,
    Phase,
    PhaseStarted,
    Recall,
    Timing,
    TurnEnded,
    TurnSkipped,
    TurnStarted,
)

CONTENT = load_content()
PRINCIPLES = [
    "Mix with people who are not like you.",
    "Ask someone who is struggling to help you.",
    "No fixing: just be alongside one another.",
    "It's OK to disagree respectfully.",
    "It's okay to be a bit rubbish sometimes.",
    "To be silly is to be human.",
]


def test_the_shipped_content_has_the_six_principles_and_four_questions():
    assert list(CONTENT.principles) == PRINCIPLES
    assert [p.label for p in CONTENT.prompts] == [
        "What's missing?",
        "What are your lasting thoughts?",
        "What could be next?",
        "How was this brew for you?",
    ]


def test_guide_has_question_first_then_guide_then_principles():
    text = guide_message(
        CONTENT,
        "What's missing? @everyone",
        [11, 22],
        title="Norfolk",
        turns_in_text=False,
        all_text_only=False,
        timing=Timing(think=90, turn=120),
    )
    assert "Think: 90 seconds of quiet" in text and "2 minutes each" in text
    assert text.index("What's missing?") < text.index("Grab a brew") < text.index(PRINCIPLES[0])
    for principle in PRINCIPLES:
        assert principle in text
    assert "@everyone" not in text  # made inert
    assert "<@11>" in text and "<@22>" in text
    assert len(text) <= 2000


def test_phase_messages_say_what_to_do_and_when_it_ends():
    ctx = RoomContext(question="What's missing?")
    post = render(CONTENT, PhaseStarted(Phase.THINK, 1_700_000_060.0), ctx)
    assert post is not None
    assert post.text.startswith("**Think**")
    assert stamp_rel(1_700_000_060) in post.text and stamp_time(1_700_000_060) in post.text
    assert post.ping == ()


def test_only_the_speaker_is_pinged_and_gets_turn_buttons():
    ctx = RoomContext(question="q")
    post = render(CONTENT, TurnStarted("42", 1, 3, 1_700_000_000.0), ctx)
    assert post is not None and post.ping == (42,) and "turn" in post.buttons
    assert "<@42>" in post.text and "1 of 3" in post.text and "Pass" in post.text
    typist = RoomContext("q", turns_in_text=True, text_only_members=frozenset({42}))
    text_room = render(CONTENT, TurnStarted("42", 1, 3, 1.0), typist)
    assert text_room is not None and "Type your answer" in text_room.text
    # A voice speaker in a room shared with someone typing is not asked to type.
    mixed = render(CONTENT, TurnStarted("7", 2, 3, 1.0), typist)
    assert mixed is not None and "Type your answer" not in mixed.text
    for event in (Nudge("42", 1.0, 30), TurnSkipped("42", 1, 3), TurnEnded("42", "passed")):
        other = render(CONTENT, event, ctx)
        assert other is not None and other.ping == ()


def test_close_offers_a_reflection_and_recall_says_when_rooms_go():
    close = render(CONTENT, PhaseStarted(Phase.CLOSE, 1.0), RoomContext("q"))
    assert close is not None and "reflect" in close.buttons and "anonymous" in close.text
    recall = render(CONTENT, Recall(1_700_000_600.0), RoomContext("q"))
    assert recall is not None and "<t:1700000600:R>" in recall.text


def test_no_think_time_leaves_the_think_step_out():
    text = guide_message(
        CONTENT,
        "q",
        [1, 2],
        title="t",
        turns_in_text=False,
        all_text_only=False,
        timing=Timing(think=0),
    )
    assert "Think:" not in text and "1. Grab a brew" in text and "2. Have your say" in text


def test_no_message_depends_on_emoji():
    import re

    emoji = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")
    for key in ("guide.intro", "turns.start", "turns.nudge", "phases.close.text", "signup.card"):
        assert not emoji.search(CONTENT.text(key)), key


def test_a_replacement_file_is_merged_over_the_default(tmp_path):
    custom = tmp_path / "mine.toml"
    custom.write_text('[phases.arrive]\nname = "Settle in"\n', encoding="utf-8")
    content = load_content(custom)
    assert content.phases["arrive"].name == "Settle in"
    assert content.phases["arrive"].text == CONTENT.phases["arrive"].text
    assert content.principles == CONTENT.principles


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[turns]\nnudge = "{nme}, hurry"\n', "turns.nudge uses {nme}"),
        ('[turns]\nnudge = "{name"\n', "turns.nudge"),
        ("[[reflection.questions]]\nlabel = 'no key'\n", "needs a key"),
    ],
)
def test_a_broken_replacement_is_refused_at_load_time(tmp_path, toml, message):
    custom = tmp_path / "mine.toml"
    custom.write_text(toml, encoding="utf-8")
    with pytest.raises(ContentError, match=message.replace("{", r"\{").replace("}", r"\}")):
        load_content(custom)


def test_long_lists_are_split_between_lines_and_nothing_is_lost():
    from bot.core.messages import split_lines

    lines = [f"Room {i}: Have your say, ends soon; 2 of 4 have had their turn." for i in range(60)]
    parts = split_lines(lines)
    assert len(parts) > 1 and all(len(p) <= 2000 for p in parts)
    assert "\n".join(parts).split("\n") == lines
    assert split_lines(["x" * 4500]) == ["x" * 2000, "x" * 2000, "x" * 500]
    assert split_lines(["short"]) == ["short"]
