"""The sign-up card's buttons (Join with voice, Join by text, Leave, and "say where you're coming
from" when the facilitator offered perspectives), the private choice of perspective, and the
views that carry them. What a press does is in :mod:`bot.shell.signup`."""

from __future__ import annotations

import re
from typing import Any

import discord
from discord.ui import Button, DynamicItem, Select

from bot.db.brews import BrewInfo
from bot.shell import signup
from bot.shell.protocols import Host
from bot.shell.ui import ids
from bot.shell.ui.base import Guarded, button

Match = re.Match[str]


def card_view(bot: Host, brew: BrewInfo) -> discord.ui.View:
    """The buttons under a brew's sign-up card."""
    content = bot.services.content
    view = discord.ui.View(timeout=None)
    view.add_item(JoinButton(brew.id, "voice", content.button("join_voice")))
    view.add_item(JoinButton(brew.id, "text", content.button("join_text")))
    view.add_item(LeaveButton(brew.id, content.button("leave")))
    if brew.perspectives:
        view.add_item(PerspectiveButton(brew.id, content.button("choose_perspective")))
    return view


def perspective_choice_view(brew_id: int, labels: list[str]) -> discord.ui.View:
    """The private choice of the facilitator's perspective labels."""
    view = discord.ui.View(timeout=None)
    view.add_item(PerspectiveSelect(brew_id, labels))
    return view


class JoinButton(Guarded, DynamicItem[Button[Any]], template=ids.JOIN):
    def __init__(self, brew_id: int, mode: str, label: str = "Join") -> None:
        style = discord.ButtonStyle.success if mode == "voice" else discord.ButtonStyle.primary
        super().__init__(button(ids.join_id(brew_id, mode), label, style))
        self.brew_id, self.mode = brew_id, mode

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Match, /
    ) -> JoinButton:
        return cls(int(match["brew"]), match["mode"])

    async def press(self, interaction: discord.Interaction) -> None:
        await signup.join(interaction, self.brew_id, self.mode, card_view)


class LeaveButton(Guarded, DynamicItem[Button[Any]], template=ids.LEAVE):
    def __init__(self, brew_id: int, label: str = "Leave") -> None:
        super().__init__(button(ids.leave_id(brew_id), label, discord.ButtonStyle.secondary))
        self.brew_id = brew_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Match, /
    ) -> LeaveButton:
        return cls(int(match["brew"]))

    async def press(self, interaction: discord.Interaction) -> None:
        await signup.leave(interaction, self.brew_id, card_view)


class PerspectiveButton(Guarded, DynamicItem[Button[Any]], template=ids.PERSPECTIVE):
    """Opens a private (ephemeral) choice of the facilitator's perspective labels."""

    def __init__(self, brew_id: int, label: str = "Say where you're coming from") -> None:
        style = discord.ButtonStyle.secondary
        super().__init__(button(ids.perspective_id(brew_id), label, style))
        self.brew_id = brew_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Match, /
    ) -> PerspectiveButton:
        return cls(int(match["brew"]))

    async def press(self, interaction: discord.Interaction) -> None:
        await signup.offer_perspectives(interaction, self.brew_id, perspective_choice_view)


class PerspectiveSelect(Guarded, DynamicItem[Select[Any]], template=ids.PERSPECTIVE_CHOICE):
    def __init__(self, brew_id: int, labels: list[str] | None = None) -> None:
        options = [
            discord.SelectOption(label=label[:100], value=str(i))
            for i, label in enumerate(labels or ["-"])
        ]
        options.append(discord.SelectOption(label="I'd rather not say", value="none"))
        super().__init__(
            Select(
                custom_id=ids.perspective_choice_id(brew_id),
                options=options,
                min_values=1,
                max_values=1,
            )
        )
        self.brew_id = brew_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Match, /
    ) -> PerspectiveSelect:
        return cls(int(match["brew"]))

    async def press(self, interaction: discord.Interaction) -> None:
        await signup.choose_perspective(interaction, self.brew_id, self.item.values)
