"""What every ``/brew`` command shares: the one ``/brew`` group, who may run a brew, and which
running brew a command means.

``/brew`` is one slash-command group, so its commands live in one cog (:mod:`cogs.brew`),
assembled from a part per job: running a brew (:mod:`cogs.brew_running`), controlling it
(:mod:`cogs.brew_controls`), and the server's settings and organisers' tools
(:mod:`cogs.brew_admin`). Each part decorates its commands with :data:`BREW`; discord.py binds
them to the cog when it is made.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.db.brews import BrewInfo, running_brews
from bot.shell.access import FACILITATOR_ONLY, is_facilitator
from bot.shell.app import BrewBot
from bot.shell.brews import pick_brew
from bot.shell.errors import UserFacingError

#: The ``/brew`` group; its commands are added in the order the parts are imported.
BREW = app_commands.Group(name="brew", description="Run an Over A Brew session", guild_only=True)


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


class BrewCommands(commands.Cog):
    """The helpers every part of the ``/brew`` cog uses; the parts are combined into
    :class:`cogs.brew.BrewCog`, the one cog that is loaded."""

    bot: BrewBot
    brew = BREW

    @property
    def runner(self) -> Any:
        assert self.bot.runner is not None
        return self.bot.runner

    async def _require_facilitator(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        if not await is_facilitator(self.bot.services, interaction.user, interaction.guild_id):
            raise UserFacingError(FACILITATOR_ONLY)

    async def _my_brew(self, interaction: discord.Interaction, number: int | None) -> BrewInfo:
        """The brew this facilitator is running here (or the one they named)."""
        assert interaction.guild_id is not None
        async with self.bot.services.sessions() as session:
            brews = await running_brews(session, interaction.guild_id)
        return pick_brew(brews, interaction.user.id, number)

    async def brew_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        async with self.bot.services.sessions() as session:
            brews = await running_brews(session, interaction.guild_id)
        return [
            app_commands.Choice(name=f"Brew {b.number}: {b.title}"[:100], value=b.number)
            for b in brews
            if current.lower() in f"{b.number} {b.title}".lower()
        ][:25]
