"""The persistent buttons: custom ids byte-identical to the ones already posted in Discord, each
matched by its own class, and every class in the one registry the bot uses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core.content import load_content
from bot.shell.ui import ids
from bot.shell.ui.reflect import ReflectButton
from bot.shell.ui.registry import PERSISTENT_ITEMS
from bot.shell.ui.room import HelpButton, MoreTimeButton, TurnButton, room_view
from bot.shell.ui.schedule import CalendarButton, RsvpButton
from bot.shell.ui.signup import JoinButton, LeaveButton, PerspectiveButton, PerspectiveSelect

#: The ids as messages posted before this version carry them: they must keep working.
POSTED = [
    (TurnButton, "bh:turn:done:12:3", lambda: TurnButton("done", 12, 3)),
    (TurnButton, "bh:turn:pass:12:3", lambda: TurnButton("pass", 12, 3)),
    (MoreTimeButton, "bh:more:12:3", lambda: MoreTimeButton(12, 3)),
    (HelpButton, "bh:help:12", lambda: HelpButton(12)),
    (ReflectButton, "bh:reflect:5", lambda: ReflectButton(5)),
    (JoinButton, "bh:join:5:voice", lambda: JoinButton(5, "voice")),
    (JoinButton, "bh:join:5:text", lambda: JoinButton(5, "text")),
    (LeaveButton, "bh:leave:5", lambda: LeaveButton(5)),
    (PerspectiveButton, "bh:persp:5", lambda: PerspectiveButton(5)),
    (PerspectiveSelect, "bh:perspsel:5", lambda: PerspectiveSelect(5, ["carer"])),
]


@pytest.mark.parametrize(("cls", "custom_id", "build"), POSTED)
def test_each_button_builds_the_id_already_in_discord_and_only_its_class_matches_it(
    cls: type, custom_id: str, build: object
) -> None:
    item = build()  # type: ignore[operator]
    assert item.custom_id == custom_id
    matching = [
        c for c in PERSISTENT_ITEMS if c.__discord_ui_compiled_template__.fullmatch(custom_id)
    ]
    assert matching == [cls]


def test_the_registry_holds_each_persistent_item_once() -> None:
    assert len(set(PERSISTENT_ITEMS)) == len(PERSISTENT_ITEMS) == 10
    assert RsvpButton in PERSISTENT_ITEMS and CalendarButton in PERSISTENT_ITEMS


def test_the_reflection_form_id_and_the_turn_done_helper() -> None:
    assert ids.reflection_form_id(42) == "bh:rf:42"
    assert ids.reflection_form_id(None) == "bh:rf:latest"
    assert ids.REFLECTION_FORM.fullmatch("bh:rf:latest")
    assert not ids.REFLECTION_FORM.fullmatch("bh:rf:x")
    assert ids.is_turn_done("bh:turn:done:1:2")
    assert not ids.is_turn_done("bh:turn:pass:1:2")


def test_a_turn_prompt_keeps_more_time_and_help() -> None:
    view = room_view(load_content(), ["turn"], room_id=1, brew_id=2, step=3)
    assert view is not None
    assert [getattr(i, "custom_id", None) for i in view.children] == [
        "bh:turn:done:1:3",
        "bh:turn:pass:1:3",
        "bh:more:1:3",
        "bh:help:1",
    ]
    assert room_view(load_content(), [], room_id=1, brew_id=2, step=3) is None


def test_no_custom_id_is_spelt_out_outside_the_ui_folder() -> None:
    root = Path(__file__).resolve().parents[2]
    literal = re.compile(r"""["']bh:[a-z]""")
    offenders = [
        str(path.relative_to(root))
        for folder in ("bot", "cogs")
        for path in (root / folder).rglob("*.py")
        if "ui" not in path.relative_to(root).parts and literal.search(path.read_text())
    ]
    assert offenders == []
