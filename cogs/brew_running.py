"""``/brew open`` and ``/brew start``: a sign-up card, then people split into open rooms."""

from __future__ import annotations

import logging
import time

import discord
from discord import app_commands

from bot.db import brews as db_brews
from bot.shell.brews import (
    BrewOptions,
    card_text,
    claim_brew,
    new_brew,
    open_signup_card,
    parse_perspectives,
    start_brew,
)
from bot.shell.rooms import OpenReport
from bot.shell.ui.signup import card_view
from cogs.brew_base import BREW, BrewCommands, plural

log = logging.getLogger(__name__)

#: What /brew open and /brew start say about the options they share.
BREW_OPTIONS_HELP = {
    "title": "A short name for this brew",
    "group_size": "People per room (2 to 8)",
    "length": "Whole brew, in minutes (10 to 180)",
    "turn": "Each person's turn, in seconds (30 to 600)",
    "think": "Quiet thinking time, in seconds (0 to 600)",
}


class RunningCommands(BrewCommands):
    @BREW.command(name="open", description="Post a sign-up card for a brew in this channel")
    @app_commands.describe(
        question="The question people will think about, e.g. What's missing?",
        perspectives="Up to 5 comma-separated labels people may pick privately, e.g. carer",
        **BREW_OPTIONS_HELP,
    )
    async def open_(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, 500],
        title: app_commands.Range[str, 1, 80] | None = None,
        group_size: app_commands.Range[int, 2, 8] | None = None,
        length: app_commands.Range[int, 10, 180] | None = None,
        turn: app_commands.Range[int, 30, 600] | None = None,
        think: app_commands.Range[int, 0, 600] | None = None,
        perspectives: str | None = None,
    ) -> None:
        await self._require_facilitator(interaction)
        assert interaction.guild_id is not None and interaction.channel_id is not None
        options = BrewOptions(
            question=question,
            title=title,
            group_size=group_size,
            length_minutes=length,
            turn_seconds=turn,
            think_seconds=think,
            perspectives=parse_perspectives(perspectives),
        )
        new = new_brew(
            self.bot, interaction.guild_id, interaction.channel_id, interaction.user.id, options
        )
        brew = await open_signup_card(self.bot, new)
        await interaction.response.send_message(
            card_text(self.bot, brew, 0),
            view=card_view(self.bot, brew),
            allowed_mentions=discord.AllowedMentions.none(),
        )
        message = await interaction.original_response()
        async with self.bot.services.sessions() as session:
            await db_brews.set_card_message(session, brew.id, message.id)

    @BREW.command(name="start", description="Split people into private rooms and start the brew")
    @app_commands.describe(
        question="The question (needed if no brew is open in this channel)",
        include_me="Put yourself in a room too (default: no, you hold the space)",
        **BREW_OPTIONS_HELP,
    )
    async def start(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, 500] | None = None,
        title: app_commands.Range[str, 1, 80] | None = None,
        group_size: app_commands.Range[int, 2, 8] | None = None,
        length: app_commands.Range[int, 10, 180] | None = None,
        turn: app_commands.Range[int, 30, 600] | None = None,
        think: app_commands.Range[int, 0, 600] | None = None,
        include_me: bool = False,
    ) -> None:
        # Opening rooms takes longer than Discord's 3 seconds: answer "thinking" first.
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._require_facilitator(interaction)
        guild = interaction.guild
        assert guild is not None and interaction.channel_id is not None
        options = BrewOptions(
            question=question,
            title=title,
            group_size=group_size,
            length_minutes=length,
            turn_seconds=turn,
            think_seconds=think,
        )
        channel_id, user_id = interaction.channel_id, interaction.user.id
        # The card moves from open to starting with who signed up, in one step: a second
        # start hears "already starting", later presses hear "already started".
        claimed = await claim_brew(self.bot, guild.id, channel_id, user_id, options)
        member = guild.get_member(user_id) or interaction.user
        voice_state = getattr(member, "voice", None)
        in_voice = list(voice_state.channel.members) if voice_state and voice_state.channel else []

        async def progress(report: OpenReport, total: int) -> None:
            text = f"Opening rooms: {report.rooms_ready} of {total} rooms ready."
            if report.joined or report.moved:
                text += (
                    f" {plural(report.joined, 'person has', 'people have')} joined their room "
                    f"by themselves; {plural(report.moved, 'person was', 'people were')} moved."
                )
            await interaction.edit_original_response(content=text)

        started = time.monotonic()
        result = await start_brew(
            self.bot,
            guild,
            claimed,
            in_voice,
            facilitator_id=user_id,
            include_me=include_me,
            progress=progress,
        )
        started_brew, report = result.brew, result.report
        ready = report.rooms_ready
        lines = [
            f"Brew {started_brew.number} has started: {ready} "
            f"{'room is' if ready == 1 else 'rooms are'} open for {started_brew.participants} "
            f"people (in {time.monotonic() - started:.1f} seconds).",
        ]
        if report.joined:
            lines.append(
                f"{plural(report.joined, 'person', 'people')} joined their room by themselves, "
                "from the link in their room's first message."
            )
        if report.moved:
            lines.append(
                f"{plural(report.moved, 'person was', 'people were')} moved into their rooms."
            )
        if report.not_moved:
            lines.append(
                f"{plural(len(report.not_moved), 'person was', 'people were')} not in voice or "
                "could not be moved; each was sent a link to their room."
            )
        if result.left_out:
            numbers = ", ".join(str(n) for n in sorted(set(result.left_out.values())))
            lines.append(
                f"{plural(len(result.left_out), 'person was', 'people were')} left out because "
                f"they are already in brew {numbers}: nobody can be in two brews at once."
            )
        if report.rooms_failed:
            lines.append(
                f"{plural(report.rooms_failed, 'room', 'rooms')} could not be opened; "
                "their people were told in this channel."
            )
        lines.append("Use /brew status to see how it's going, and /brew end to finish early.")
        await interaction.edit_original_response(content="\n".join(lines))
        await self._close_card(
            interaction,
            claimed.brew.card_message_id,
            f"Brew {started_brew.number} has started. Thank you for joining.",
        )

    async def _close_card(
        self, interaction: discord.Interaction, card_id: int | None, text: str
    ) -> None:
        channel = interaction.channel
        if card_id is None or not isinstance(channel, discord.abc.Messageable):
            return
        try:
            await channel.get_partial_message(card_id).edit(content=text, view=None)  # type: ignore[union-attr]
        except discord.HTTPException as exc:
            log.info("could not close the sign-up card: %s", exc)
