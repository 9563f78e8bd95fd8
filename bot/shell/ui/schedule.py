"""The sign-up-ahead card's buttons: "I'll come (voice)", "I'll come (text only)", "Can't come
after all" and "Add to my calendar", and :func:`rsvp_view`, which puts them under the card.

What a press does is in :mod:`bot.shell.scheduling`, reached at press time through the bot's
``scheduling`` attribute (typed by :class:`ScheduleControls`), so this module imports nothing
that imports it back.
"""

from __future__ import annotations

import re
from typing import Any, Protocol, cast

import discord
from discord.ui import Button, DynamicItem

from bot.core.content import Content
from bot.core.schedule import Rsvp
from bot.shell.ui import ids
from bot.shell.ui.base import Guarded, button

Match = re.Match[str]

_LABELS = {Rsvp.VOICE: "rsvp_voice", Rsvp.TEXT: "rsvp_text", Rsvp.CANT: "rsvp_cant"}
_STYLES = {
    Rsvp.VOICE: discord.ButtonStyle.success,
    Rsvp.TEXT: discord.ButtonStyle.primary,
    Rsvp.CANT: discord.ButtonStyle.secondary,
}


class ScheduleControls(Protocol):
    """What the card's buttons ask of :class:`bot.shell.scheduling.Scheduling`."""

    async def answer(
        self, interaction: discord.Interaction, occurrence_id: int, choice: Rsvp
    ) -> None: ...

    async def send_calendar(self, interaction: discord.Interaction, occurrence_id: int) -> None: ...


def _controls(interaction: discord.Interaction) -> ScheduleControls:
    controls = getattr(interaction.client, "scheduling", None)
    if controls is None:
        raise RuntimeError("scheduled brews are not set up in this bot")
    return cast(ScheduleControls, controls)


def rsvp_view(content: Content, occurrence_id: int) -> discord.ui.View:
    """The buttons under a sign-up-ahead card."""
    view = discord.ui.View(timeout=None)
    for choice in (Rsvp.VOICE, Rsvp.TEXT, Rsvp.CANT):
        view.add_item(RsvpButton(occurrence_id, choice, content.button(_LABELS[choice])))
    view.add_item(CalendarButton(occurrence_id, content.button("add_to_calendar")))
    return view


class RsvpButton(Guarded, DynamicItem[Button[Any]], template=ids.RSVP):
    def __init__(self, occurrence_id: int, choice: Rsvp, label: str = "") -> None:
        custom_id = ids.rsvp_id(occurrence_id, choice.value)
        super().__init__(button(custom_id, label or choice.value, _STYLES[choice]))
        self.occurrence_id, self.choice = occurrence_id, choice

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Match, /
    ) -> RsvpButton:
        return cls(int(match["occurrence"]), Rsvp(match["choice"]))

    async def press(self, interaction: discord.Interaction) -> None:
        await _controls(interaction).answer(interaction, self.occurrence_id, self.choice)


class CalendarButton(Guarded, DynamicItem[Button[Any]], template=ids.CALENDAR):
    """Replies privately with the brew as an ``.ics`` file."""

    def __init__(self, occurrence_id: int, label: str = "Add to my calendar") -> None:
        style = discord.ButtonStyle.secondary
        super().__init__(button(ids.calendar_id(occurrence_id), label, style))
        self.occurrence_id = occurrence_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Match, /
    ) -> CalendarButton:
        return cls(int(match["occurrence"]))

    async def press(self, interaction: discord.Interaction) -> None:
        await _controls(interaction).send_calendar(interaction, self.occurrence_id)
