"""What every persistent button shares: how it is drawn and how a failure is answered."""

from __future__ import annotations

from typing import Any, cast

import discord
from discord.ui import Button

from bot.shell.errors import report_component_error
from bot.shell.protocols import Host


def button(custom_id: str, label: str, style: discord.ButtonStyle) -> Button[Any]:
    return Button(label=label, style=style, custom_id=custom_id)


def host(interaction: discord.Interaction) -> Host:
    """The bot that received this press (a :class:`bot.shell.app.BrewBot`)."""
    return cast(Host, interaction.client)


class Guarded:
    """Mixin for persistent items: ``press`` does the work; any exception becomes a kind reply
    with a reference, and a log line (:func:`bot.shell.errors.report_component_error`)."""

    async def press(self, interaction: discord.Interaction) -> None:
        raise NotImplementedError

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self.press(interaction)
        except Exception as exc:  # one handler for every button: a kind reply and a reference
            await report_component_error(interaction, exc)
