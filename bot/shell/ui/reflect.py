"""The "Leave a reflection" button on a room's Close message.

It opens the form as the very first answer to the press (Discord allows a form only then), so
it does no database work first; the form's answers are handled by the reflections cog.
"""

from __future__ import annotations

import re
from typing import Any

import discord
from discord.ui import Button, DynamicItem

from bot.shell import answer_first
from bot.shell.reflections import reflection_form
from bot.shell.ui import ids
from bot.shell.ui.base import Guarded, button, host


class ReflectButton(Guarded, DynamicItem[Button[Any]], template=ids.REFLECT):
    """ "Leave a reflection", under a room's Close message (:func:`.room.room_view`)."""

    def __init__(self, brew_id: int, label: str = "Leave a reflection") -> None:
        super().__init__(button(ids.reflect_id(brew_id), label, discord.ButtonStyle.success))
        self.brew_id = brew_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ReflectButton:
        return cls(int(match["brew"]))

    async def press(self, interaction: discord.Interaction) -> None:
        # Nothing before send_modal: a form must be the first answer, within 3 seconds.
        form = reflection_form(host(interaction).services.content, self.brew_id)
        # Counted as a first answer in flight: other presses' follow-up work waits for it.
        await answer_first.gate().answer(interaction.response.send_modal(form))
