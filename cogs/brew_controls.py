"""``/brew pause``, ``resume``, ``extend``, ``next``, ``broadcast``, ``status`` and ``end``:
the facilitator's hand on a running brew. The runner does the work; this says what happened."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.messages import split_lines
from bot.core.text import check_length, inert
from bot.db import brews as db_brews
from bot.db.brews import BrewInfo
from bot.shell.brews import status_lines
from cogs.brew_base import BREW, BrewCommands, plural

BROADCAST_LIMIT = 1500


class ControlCommands(BrewCommands):
    async def _control(
        self,
        interaction: discord.Interaction,
        number: int | None,
        action: Callable[[BrewInfo], Awaitable[str]],
    ) -> None:
        """The shape every control shares: who may, which brew, answer in time, then act."""
        await self._require_facilitator(interaction)
        target = await self._my_brew(interaction, number)
        await interaction.response.defer(ephemeral=True)
        await interaction.followup.send(await action(target), ephemeral=True)

    @BREW.command(name="pause", description="Pause the timer in every room")
    @app_commands.autocomplete(brew=BrewCommands.brew_autocomplete)
    async def pause(self, interaction: discord.Interaction, brew: int | None = None) -> None:
        async def act(target: BrewInfo) -> str:
            if await self.runner.pause(target.id):
                return "Paused. The timer has stopped in every room; /brew resume starts it again."
            return "That brew is already paused."

        await self._control(interaction, brew, act)

    @BREW.command(name="resume", description="Start the timer again after a pause")
    @app_commands.autocomplete(brew=BrewCommands.brew_autocomplete)
    async def resume(self, interaction: discord.Interaction, brew: int | None = None) -> None:
        async def act(target: BrewInfo) -> str:
            if await self.runner.resume(target.id):
                return "Resumed. Every room carries on where it stopped."
            return "That brew isn't paused."

        await self._control(interaction, brew, act)

    @BREW.command(name="extend", description="Give every room more time for the current step")
    @app_commands.describe(minutes="How many more minutes (1 to 30)")
    @app_commands.autocomplete(brew=BrewCommands.brew_autocomplete)
    async def extend(
        self,
        interaction: discord.Interaction,
        minutes: app_commands.Range[int, 1, 30],
        brew: int | None = None,
    ) -> None:
        async def act(target: BrewInfo) -> str:
            await self.runner.extend(target.id, minutes)
            more = plural(minutes, "minute", "minutes")
            return f"Added {more} to the current step in every room; the brew ends {more} later."

        await self._control(interaction, brew, act)

    @BREW.command(name="next", description="End the current step in every room and move on")
    @app_commands.autocomplete(brew=BrewCommands.brew_autocomplete)
    async def next_(self, interaction: discord.Interaction, brew: int | None = None) -> None:
        async def act(target: BrewInfo) -> str:
            if target.paused_at is not None:
                return "This brew is paused. Resume it with /brew resume before moving rooms on."
            await self.runner.next_phase(target.id)
            return "Every room has moved on to the next step."

        await self._control(interaction, brew, act)

    @BREW.command(name="broadcast", description="Post a message in every room (pings nobody)")
    @app_commands.describe(message="What to say to every room")
    @app_commands.autocomplete(brew=BrewCommands.brew_autocomplete)
    async def broadcast(
        self,
        interaction: discord.Interaction,
        message: app_commands.Range[str, 1, 1500],
        brew: int | None = None,
    ) -> None:
        text = inert(check_length("message", message, BROADCAST_LIMIT))

        async def act(target: BrewInfo) -> str:
            rooms = await self.runner.broadcast(target.id, text)
            return f"Posted in {plural(rooms, 'room', 'rooms')}."

        await self._control(interaction, brew, act)

    @BREW.command(name="status", description="How each room is doing")
    @app_commands.autocomplete(brew=BrewCommands.brew_autocomplete)
    async def status(self, interaction: discord.Interaction, brew: int | None = None) -> None:
        await self._require_facilitator(interaction)
        target = await self._my_brew(interaction, brew)
        async with self.bot.services.sessions() as session:
            found = await db_brews.overview(session, target.id)
        assert found is not None
        # Forty rooms do not fit one message: several messages, split between rooms.
        parts = split_lines(status_lines(self.bot.services.content, found))
        await interaction.response.send_message(parts[0], ephemeral=True)
        for part in parts[1:]:
            await interaction.followup.send(part, ephemeral=True)

    @BREW.command(name="end", description="End the brew: every room gets its closing minute")
    @app_commands.autocomplete(brew=BrewCommands.brew_autocomplete)
    async def end(self, interaction: discord.Interaction, brew: int | None = None) -> None:
        await self._require_facilitator(interaction)
        assert interaction.guild_id is not None and interaction.channel_id is not None
        if brew is None:
            async with self.bot.services.sessions() as session:
                cancelled = await db_brews.cancel_open_brew(
                    session, interaction.guild_id, interaction.channel_id
                )
            if cancelled is not None:
                await interaction.response.send_message(
                    f"Brew {cancelled} is closed to sign-ups and won't start.", ephemeral=True
                )
                return
        target = await self._my_brew(interaction, brew)
        await interaction.response.defer(ephemeral=True)
        await self.runner.end(target.id)
        await interaction.followup.send(
            "Every room now has its closing minute; then people in voice go back to the main room.",
            ephemeral=True,
        )

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        async with self.bot.services.sessions() as session:
            room = await db_brews.room_by_channel(session, channel.id)
        # After the recall the rooms are only waiting to be tidied away: nothing to report.
        if room is not None and room.status == "running" and room.phase not in ("after", "done"):
            await self.runner.room_lost(room.id, "one of its channels was deleted")
