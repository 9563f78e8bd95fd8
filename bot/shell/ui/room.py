"""The buttons under a room's messages: "I'm done", "Pass", "One more minute", "Ask for help"
and "Leave a reflection", and :func:`room_view`, which puts them under a message.

What a press does is in :mod:`bot.shell.room_buttons` (looked up there at press time).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import discord
from discord.ui import Button, DynamicItem

from bot.core.content import Content
from bot.services import Services
from bot.shell import room_buttons
from bot.shell.protocols import RoomControls
from bot.shell.ui import ids
from bot.shell.ui.base import Guarded, button, host
from bot.shell.ui.reflect import ReflectButton

Match = re.Match[str]


def _runner(interaction: discord.Interaction) -> tuple[RoomControls, Services]:
    """The runner and services of the bot that received this press."""
    bot = host(interaction)
    assert bot.runner is not None
    return bot.runner, bot.services


class TurnButton(Guarded, DynamicItem[Button[Any]], template=ids.TURN):
    """ "I'm done" and "Pass" on a turn prompt: only the speaker's (or a facilitator's) press
    counts."""

    def __init__(self, action: str, room_id: int, step: int, label: str = "") -> None:
        style = discord.ButtonStyle.primary if action == "done" else discord.ButtonStyle.secondary
        super().__init__(button(ids.turn_id(action, room_id, step), label or action, style))
        self.action, self.room_id, self.step = action, room_id, step

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Match, /
    ) -> TurnButton:
        return cls(match["action"], int(match["room"]), int(match["step"]))

    async def press(self, interaction: discord.Interaction) -> None:
        runner, services = _runner(interaction)
        passed = self.action == "pass"
        await room_buttons.press_turn_button(
            runner, services, interaction, self.room_id, self.step, passed
        )


class MoreTimeButton(Guarded, DynamicItem[Button[Any]], template=ids.MORE_TIME):
    """ "One more minute": once per phase or turn, for anyone in the room."""

    def __init__(self, room_id: int, step: int, label: str = "One more minute") -> None:
        style = discord.ButtonStyle.secondary
        super().__init__(button(ids.more_time_id(room_id, step), label, style))
        self.room_id, self.step = room_id, step

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Match, /
    ) -> MoreTimeButton:
        return cls(int(match["room"]), int(match["step"]))

    async def press(self, interaction: discord.Interaction) -> None:
        runner, services = _runner(interaction)
        await room_buttons.press_more_time(runner, services, interaction, self.room_id, self.step)


class HelpButton(Guarded, DynamicItem[Button[Any]], template=ids.HELP):
    """ "Ask for help": tells the facilitators where, without interrupting the room."""

    def __init__(self, room_id: int, label: str = "Ask for help") -> None:
        super().__init__(button(ids.help_id(room_id), label, discord.ButtonStyle.secondary))
        self.room_id = room_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Match, /
    ) -> HelpButton:
        return cls(int(match["room"]))

    async def press(self, interaction: discord.Interaction) -> None:
        runner, services = _runner(interaction)
        await room_buttons.press_help(runner, services, interaction, self.room_id)


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
            view.add_item(ReflectButton(brew_id, content.button("reflect")))
    # "turn" already brings the room buttons' place: keep help and more time on turn prompts too.
    if "turn" in names and "room" not in names:
        view.add_item(MoreTimeButton(room_id, step, content.button("more_time")))
        view.add_item(HelpButton(room_id, content.button("help")))
    return view
