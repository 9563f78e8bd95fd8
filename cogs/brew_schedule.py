"""``/brew schedule``, ``/brew upcoming`` and ``/brew cancel_scheduled``: brews planned ahead.

The work is in :mod:`bot.shell.scheduling`; this part reads the options (the typed time through
:func:`bot.core.when.parse_when`, shown back in autocomplete before it is sent), checks them with
the same rules as ``/brew open``, and says what happened.
"""

from __future__ import annotations

import discord
from discord import app_commands

from bot.core.schedule import MAX_OCCURRENCES, Repeat, occurrence_starts, series_problem
from bot.core.text import check_length
from bot.core.when import Refusal, parse_when, understood_as, understood_label
from bot.db.scheduling import NewSeries
from bot.db.settings import read_settings
from bot.shell.brews import DEFAULT_TITLE, QUESTION_LIMIT, TITLE_LIMIT
from bot.shell.errors import UserFacingError
from bot.shell.scheduling import Scheduling
from cogs.brew_base import BREW, BrewCommands
from cogs.brew_running import BREW_OPTIONS_HELP

REPEAT_WORDS = {
    Repeat.WEEKLY: "every week",
    Repeat.FORTNIGHTLY: "every two weeks",
    Repeat.MONTHLY: "every month",
}


class ScheduleCommands(BrewCommands):
    @property
    def scheduling(self) -> Scheduling:
        assert self.bot.scheduling is not None
        return self.bot.scheduling

    @BREW.command(name="schedule", description="Plan a brew ahead, once or repeating")
    @app_commands.describe(
        question="The question people will think about, e.g. What's missing?",
        when="When it starts, in the community's time zone, e.g. 2026-12-08 14:00",
        repeat="Once (default), or every week, fortnight or month",
        occurrences="How many in all, for a repeating brew (1 to 52)",
        signup_minutes="Minutes before the start that people can join (0 to 120)",
        auto_start="Start by itself at the time if two or more have joined (default: yes)",
        **BREW_OPTIONS_HELP,
    )
    @app_commands.choices(repeat=[app_commands.Choice(name=r.value, value=r.value) for r in Repeat])
    async def schedule(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, 500],
        when: app_commands.Range[str, 1, 100],
        title: app_commands.Range[str, 1, 80] | None = None,
        repeat: str = Repeat.ONCE.value,
        occurrences: app_commands.Range[int, 1, MAX_OCCURRENCES] = 1,
        signup_minutes: app_commands.Range[int, 0, 120] | None = None,
        auto_start: bool = True,
        group_size: app_commands.Range[int, 2, 8] | None = None,
        length: app_commands.Range[int, 10, 180] | None = None,
        turn: app_commands.Range[int, 30, 600] | None = None,
        think: app_commands.Range[int, 0, 600] | None = None,
    ) -> None:
        await self._require_facilitator(interaction)
        guild, channel = interaction.guild, interaction.channel
        assert guild is not None and interaction.guild_id is not None
        if not isinstance(channel, discord.abc.Messageable) or interaction.channel_id is None:
            raise UserFacingError("Please use /brew schedule in a text channel.")
        services = self.bot.services
        content = services.content
        zone = services.config.timing.zone()
        parsed = parse_when(when, now=services.clock.now(), zone=zone)
        if isinstance(parsed, Refusal):
            raise UserFacingError(content.format(parsed.key, **parsed.fields))
        repeats = Repeat(repeat)
        problem = series_problem(repeats, occurrences)
        if problem is not None:
            raise UserFacingError(content.text(problem))
        await interaction.response.defer(ephemeral=True, thinking=True)
        async with services.sessions() as session:
            settings = await read_settings(session, guild.id)
        defaults = services.config.brew
        new = NewSeries(
            guild_id=guild.id,
            title=check_length("title", title or DEFAULT_TITLE, TITLE_LIMIT),
            question=check_length("question", question, QUESTION_LIMIT),
            channel_id=interaction.channel_id,
            voice_channel_id=settings.main_voice_channel_id,
            facilitator_id=interaction.user.id,
            repeat=repeats,
            occurrences=occurrences,
            first_start=parsed.at,
            timezone=services.config.timing.timezone,
            signup_minutes=(
                services.config.schedule.signup_minutes
                if signup_minutes is None
                else signup_minutes
            ),
            reminder_minutes=services.config.schedule.reminder_minutes,
            auto_start=auto_start,
            group_size=group_size,
            length_s=(length or defaults.length_minutes) * 60,
            turn_s=turn,
            think_s=think,
            speed=services.clock.speed,
        )
        made = await self.scheduling.schedule(guild, channel, new)
        if repeats is Repeat.ONCE:
            series_text = content.text("schedule.series_once")
        else:
            last = occurrence_starts(parsed.at, repeats, occurrences, zone)[-1]
            series_text = content.format(
                "schedule.series_repeats",
                repeat=REPEAT_WORDS[repeats],
                occurrences=occurrences,
                last=understood_as(last, zone),
            )
        lines = [
            content.format(
                "schedule.scheduled",
                title=made.series.title,
                understood=understood_label(parsed),
                series=series_text,
            )
        ]
        if made.event_problem:
            lines.append(made.event_problem)
        await interaction.edit_original_response(content="\n".join(lines))

    @schedule.autocomplete("when")
    async def when_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Show how the typed time was understood, before the command is sent."""
        services = self.bot.services
        text = current.strip()
        if not text:
            return []
        parsed = parse_when(text, now=services.clock.now(), zone=services.config.timing.zone())
        if isinstance(parsed, Refusal):
            if parsed.key in ("schedule.when_past", "schedule.when_too_far"):
                name = services.content.format(parsed.key, **parsed.fields)
            else:
                name = services.content.format("schedule.autocomplete_unreadable", **parsed.fields)
            return [app_commands.Choice(name=name[:100], value=text[:100])]
        return [app_commands.Choice(name=understood_label(parsed), value=text[:100])]

    @BREW.command(name="upcoming", description="List the brews scheduled in this server")
    async def upcoming(self, interaction: discord.Interaction) -> None:
        await self._require_facilitator(interaction)
        assert interaction.guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        lines = await self.scheduling.upcoming_lines(interaction.guild)
        text = "\n".join(lines)
        await interaction.edit_original_response(content=text[:2000])

    @BREW.command(
        name="cancel_scheduled", description="Cancel a scheduled brew, or the rest of its series"
    )
    @app_commands.describe(
        brew="The scheduled brew's number (see /brew upcoming)",
        all_future="Also cancel every later one in its series (default: only this one)",
    )
    async def cancel_scheduled(
        self,
        interaction: discord.Interaction,
        brew: app_commands.Range[int, 1, 1_000_000],
        all_future: bool = False,
    ) -> None:
        await self._require_facilitator(interaction)
        assert interaction.guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        count = await self.scheduling.cancel(interaction.guild, brew, all_future)
        word = "1 scheduled brew" if count == 1 else f"{count} scheduled brews"
        text = self.bot.services.content.format("schedule.cancelled_done", count=word)
        await interaction.edit_original_response(content=text)
