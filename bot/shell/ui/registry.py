"""The one list of persistent items the bot registers at start-up (``BrewBot.setup_hook``).

A press on a message posted before a restart reaches its handler because its class is here.
"""

from __future__ import annotations

from typing import Any

from discord.ui import DynamicItem

from bot.shell.ui.reflect import ReflectButton
from bot.shell.ui.room import HelpButton, MoreTimeButton, TurnButton
from bot.shell.ui.schedule import CalendarButton, RsvpButton
from bot.shell.ui.signup import JoinButton, LeaveButton, PerspectiveButton, PerspectiveSelect

PERSISTENT_ITEMS: tuple[type[DynamicItem[Any]], ...] = (
    TurnButton,
    MoreTimeButton,
    HelpButton,
    ReflectButton,
    JoinButton,
    LeaveButton,
    PerspectiveButton,
    PerspectiveSelect,
    RsvpButton,
    CalendarButton,
)
