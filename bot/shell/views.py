"""Buttons that keep working after a restart.

Every button is a :class:`discord.ui.DynamicItem` whose custom id carries what it acts on (the
brew or room, and for turn buttons the step they were posted for). The bot registers the item
classes once, so a press on a message posted before a restart still reaches the right handler;
nothing about the button lives only in memory.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord.ui import Button, DynamicItem

from bot.core.content import Content
from bot.shell import room_buttons
from bot.shell.errors import report_component_error

if TYPE_CHECKING:
    from bot.shell.app import BrewBot


def _bot(interaction: discord.Interaction) -> BrewBot:
    return interaction.client  # type: ignore[return-value]


async def _guarded(interaction: discord.Interaction, work: Callable[[], Awaitable[None]]) -> None:
    try:
        await work()
    except Exception as exc:  # one handler for every button: a kind reply and a logged reference
        await report_component_error(interaction, exc)


class TurnButton(
    DynamicItem[Button[Any]], template=r"bh:turn:(?P<action>done|pass):(?P<room>\d+):(?P<step>\d+)"
):
    """ "I'm done" and "Pass" on a turn prompt: only the speaker's (or a facilitator's) press
    counts."""

    def __init__(self, action: str, room_id: int, step: int, label: str = "") -> None:
        style = discord.ButtonStyle.primary if action == "done" else discord.ButtonStyle.secondary
        super().__init__(
            Button(
                label=label or action, style=style, custom_id=f"bh:turn:{action}:{room_id}:{step}"
            )
        )
        self.action, self.room_id, self.step = action, room_id, step

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> TurnButton:
        return cls(match["action"], int(match["room"]), int(match["step"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        runner = _bot(interaction).runner
        assert runner is not None
        await _guarded(
            interaction,
            lambda: room_buttons.press_turn_button(
                runner, interaction, self.room_id, self.step, self.action == "pass"
            ),
        )


class MoreTimeButton(DynamicItem[Button[Any]], template=r"bh:more:(?P<room>\d+):(?P<step>\d+)"):
    """ "One more minute": once per phase or turn, for anyone in the room."""

    def __init__(self, room_id: int, step: int, label: str = "One more minute") -> None:
        super().__init__(
            Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=f"bh:more:{room_id}:{step}",
            )
        )
        self.room_id, self.step = room_id, step

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> MoreTimeButton:
        return cls(int(match["room"]), int(match["step"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        runner = _bot(interaction).runner
        assert runner is not None
        await _guarded(
            interaction,
            lambda: room_buttons.press_more_time(runner, interaction, self.room_id, self.step),
        )


class HelpButton(DynamicItem[Button[Any]], template=r"bh:help:(?P<room>\d+)"):
    """ "Ask for help": tells the facilitators where, without interrupting the room."""

    def __init__(self, room_id: int, label: str = "Ask for help") -> None:
        super().__init__(
            Button(label=label, style=discord.ButtonStyle.secondary, custom_id=f"bh:help:{room_id}")
        )
        self.room_id = room_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> HelpButton:
        return cls(int(match["room"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        runner = _bot(interaction).runner
        assert runner is not None
        await _guarded(
            interaction, lambda: room_buttons.press_help(runner, interaction, self.room_id)
        )


def reflect_button(content: Content, brew_id: int) -> Button[Any]:
    """The "Leave a reflection" button; the reflections cog handles ``bh:reflect:<brew>``."""
    return Button(
        label=content.button("reflect"),
        style=discord.ButtonStyle.success,
        custom_id=f"bh:reflect:{brew_id}",
    )


def room_view(
    content: Content, names: Sequence[str], *, room_id: int, brew_id: int, step: int
) -> discord.ui.View | None:
    """The buttons under a room message, by the names :mod:`bot.core.messages` gives."""
    if not names:
        return None
    view = discord.ui.View(timeout=None)
    for name in names:
        if name == "turn":
            view.add_item(TurnButton("done", room_id, step, content.button("done")))
            view.add_item(TurnButton("pass", room_id, step, content.button("pass")))
        elif name == "room":
            view.add_item(MoreTimeButton(room_id, step, content.button("more_time")))
            view.add_item(HelpButton(room_id, content.button("help")))
        elif name == "reflect":
            view.add_item(reflect_button(content, brew_id))
    # "turn" already brings the room buttons' place: keep help and more time on turn prompts too.
    if "turn" in names and "room" not in names:
        view.add_item(MoreTimeButton(room_id, step, content.button("more_time")))
        view.add_item(HelpButton(room_id, content.button("help")))
    return view


DYNAMIC_ITEMS: tuple[type[DynamicItem[Any]], ...] = (TurnButton, MoreTimeButton, HelpButton)
