"""``/brew``: the facilitator's commands. Thin: check who is asking, translate options, call
``bot.shell`` and say what happened in plain words."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.messages import split_lines, stamp_rel
from bot.core.phases import Phase
from bot.core.text import check_length, inert
from bot.db import repo
from bot.db.models import Brew, Signup
from bot.shell.access import FACILITATOR_ONLY, MANAGER_ONLY, is_facilitator
from bot.shell.app import BrewBot
from bot.shell.brews import (
    BrewOptions,
    apply_overrides,
    card_text,
    gather_people,
    new_brew,
    parse_perspectives,
    start_brew,
)
from bot.shell.errors import UserFacingError
from bot.shell.mixing import clear_apart, set_apart
from bot.shell.signup import SIGNUP_ITEMS, card_view

log = logging.getLogger(__name__)

NO_BREW = "You aren't running a brew in this server right now. Start one with /brew start."
BROADCAST_LIMIT = 1500
#: What /brew open and /brew start say about the options they share.
BREW_OPTIONS_HELP = {
    "title": "A short name for this brew",
    "group_size": "People per room (2 to 8)",
    "length": "Whole brew, in minutes (10 to 180)",
    "turn": "Each person's turn, in seconds (30 to 600)",
    "think": "Quiet thinking time, in seconds (0 to 600)",
}


class BrewCog(commands.Cog):
    brew = app_commands.Group(
        name="brew", description="Run an Over A Brew session", guild_only=True
    )

    def __init__(self, bot: BrewBot) -> None:
        self.bot = bot
        bot.add_dynamic_items(*SIGNUP_ITEMS)

    # ------------------------------------------------------------ helpers
    @property
    def runner(self) -> Any:
        assert self.bot.runner is not None
        return self.bot.runner

    async def _require_facilitator(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        if not await is_facilitator(self.bot.services, interaction.user, interaction.guild_id):
            raise UserFacingError(FACILITATOR_ONLY)

    async def _my_brew(self, interaction: discord.Interaction, number: int | None) -> Brew:
        """The brew this facilitator is running here (or the one they named)."""
        assert interaction.guild_id is not None
        async with self.bot.services.sessions() as session:
            brews = await repo.active_brews(session, interaction.guild_id, statuses=("running",))
        if number is not None:
            for brew in brews:
                if brew.number == number:
                    return brew
            raise UserFacingError(f"Brew {number} is not running in this server.")
        mine = [b for b in brews if b.facilitator_id == interaction.user.id] or brews
        if not mine:
            raise UserFacingError(NO_BREW)
        if len(mine) > 1:
            numbers = ", ".join(str(b.number) for b in mine)
            raise UserFacingError(
                f"Several brews are running ({numbers}). Say which one with the brew option."
            )
        return mine[0]

    async def brew_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        async with self.bot.services.sessions() as session:
            brews = await repo.active_brews(session, interaction.guild_id, statuses=("running",))
        return [
            app_commands.Choice(name=f"Brew {b.number}: {b.title}"[:100], value=b.number)
            for b in brews
            if current.lower() in f"{b.number} {b.title}".lower()
        ][:25]

    # ------------------------------------------------------------ open / start
    @brew.command(name="open", description="Post a sign-up card for a brew in this channel")
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
        guild_id, channel_id = interaction.guild_id, interaction.channel_id
        new_brew(self.bot, guild_id, channel_id, interaction.user.id, options)  # checks options
        async with self.bot.services.sessions() as session:
            existing = await repo.open_brew_in_channel(session, guild_id, channel_id)
            if existing is not None:
                raise UserFacingError(
                    f"Brew {existing.number} is already taking sign-ups in this channel. "
                    "Start it with /brew start, or end it with /brew end."
                )
        brew = await repo.save_numbered(
            self.bot.services.sessions,
            lambda: new_brew(self.bot, guild_id, channel_id, interaction.user.id, options),
        )
        await interaction.response.send_message(
            card_text(self.bot, brew, 0),
            view=card_view(self.bot, brew),
            allowed_mentions=discord.AllowedMentions.none(),
        )
        message = await interaction.original_response()
        async with self.bot.services.sessions() as session:
            fresh = await session.get(Brew, brew.id)
            assert fresh is not None
            fresh.card_message_id = message.id
            await session.commit()

    @brew.command(name="start", description="Split people into private rooms and start the brew")
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
        channel_id = interaction.channel_id
        signups: list[Signup] = []
        async with self.bot.services.sessions() as session:
            brew = await repo.open_brew_in_channel(session, guild.id, channel_id)
            if brew is not None:
                apply_overrides(brew, options)
                brew.facilitator_id = interaction.user.id
                signups = list(brew.signups)
                await session.commit()
        created_here = brew is None
        if brew is None:
            brew = await repo.save_numbered(
                self.bot.services.sessions,
                lambda: new_brew(self.bot, guild.id, channel_id, interaction.user.id, options),
            )
        brew_id, card_id = brew.id, brew.card_message_id
        member = guild.get_member(interaction.user.id) or interaction.user
        voice_state = getattr(member, "voice", None)
        in_voice = list(voice_state.channel.members) if voice_state and voice_state.channel else []
        people = gather_people(signups, in_voice, interaction.user.id, include_me)

        async def progress(ready: int, total: int) -> None:
            await interaction.edit_original_response(
                content=f"Opening rooms: {ready} of {total} rooms ready."
            )

        started = time.monotonic()
        try:
            brew, report = await start_brew(self.bot, guild, brew_id, people, progress=progress)
        except UserFacingError:
            if created_here:
                # Refused before anything existed: leave no half-made brew in this channel.
                await repo.discard_unstarted(self.bot.services.sessions, brew_id)
            raise
        ready = report.rooms_ready
        lines = [
            f"Brew {brew.number} has started: {ready} {'room is' if ready == 1 else 'rooms are'} "
            f"open for {brew.participants} people (in {time.monotonic() - started:.1f} seconds).",
        ]
        if report.moved:
            lines.append(
                f"{plural(report.moved, 'person was', 'people were')} moved into their rooms."
            )
        if report.not_moved:
            lines.append(
                f"{plural(len(report.not_moved), 'person was', 'people were')} not in voice or "
                "could not be moved; each was sent a link to their room."
            )
        if report.rooms_failed:
            lines.append(
                f"{plural(report.rooms_failed, 'room', 'rooms')} could not be opened; "
                "their people were told in this channel."
            )
        lines.append("Use /brew status to see how it's going, and /brew end to finish early.")
        await interaction.edit_original_response(content="\n".join(lines))
        await self._close_card(
            interaction, card_id, f"Brew {brew.number} has started. Thank you for joining."
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

    # ------------------------------------------------------------ controls
    async def _control(
        self,
        interaction: discord.Interaction,
        number: int | None,
        action: Callable[[Brew], Awaitable[str]],
    ) -> None:
        """The shape every control shares: who may, which brew, answer in time, then act."""
        await self._require_facilitator(interaction)
        target = await self._my_brew(interaction, number)
        await interaction.response.defer(ephemeral=True)
        await interaction.followup.send(await action(target), ephemeral=True)

    @brew.command(name="pause", description="Pause the timer in every room")
    @app_commands.autocomplete(brew=brew_autocomplete)
    async def pause(self, interaction: discord.Interaction, brew: int | None = None) -> None:
        async def act(target: Brew) -> str:
            if await self.runner.pause(target.id):
                return "Paused. The timer has stopped in every room; /brew resume starts it again."
            return "That brew is already paused."

        await self._control(interaction, brew, act)

    @brew.command(name="resume", description="Start the timer again after a pause")
    @app_commands.autocomplete(brew=brew_autocomplete)
    async def resume(self, interaction: discord.Interaction, brew: int | None = None) -> None:
        async def act(target: Brew) -> str:
            if await self.runner.resume(target.id):
                return "Resumed. Every room carries on where it stopped."
            return "That brew isn't paused."

        await self._control(interaction, brew, act)

    @brew.command(name="extend", description="Give every room more time for the current step")
    @app_commands.describe(minutes="How many more minutes (1 to 30)")
    @app_commands.autocomplete(brew=brew_autocomplete)
    async def extend(
        self,
        interaction: discord.Interaction,
        minutes: app_commands.Range[int, 1, 30],
        brew: int | None = None,
    ) -> None:
        async def act(target: Brew) -> str:
            await self.runner.extend(target.id, minutes)
            more = plural(minutes, "minute", "minutes")
            return f"Added {more} to the current step in every room; the brew ends {more} later."

        await self._control(interaction, brew, act)

    @brew.command(name="next", description="End the current step in every room and move on")
    @app_commands.autocomplete(brew=brew_autocomplete)
    async def next_(self, interaction: discord.Interaction, brew: int | None = None) -> None:
        async def act(target: Brew) -> str:
            if target.paused_at is not None:
                return "This brew is paused. Resume it with /brew resume before moving rooms on."
            await self.runner.next_phase(target.id)
            return "Every room has moved on to the next step."

        await self._control(interaction, brew, act)

    @brew.command(name="broadcast", description="Post a message in every room (pings nobody)")
    @app_commands.describe(message="What to say to every room")
    @app_commands.autocomplete(brew=brew_autocomplete)
    async def broadcast(
        self,
        interaction: discord.Interaction,
        message: app_commands.Range[str, 1, 1500],
        brew: int | None = None,
    ) -> None:
        text = inert(check_length("message", message, BROADCAST_LIMIT))

        async def act(target: Brew) -> str:
            rooms = await self.runner.broadcast(target.id, text)
            return f"Posted in {plural(rooms, 'room', 'rooms')}."

        await self._control(interaction, brew, act)

    @brew.command(name="status", description="How each room is doing")
    @app_commands.autocomplete(brew=brew_autocomplete)
    async def status(self, interaction: discord.Interaction, brew: int | None = None) -> None:
        await self._require_facilitator(interaction)
        target = await self._my_brew(interaction, brew)
        async with self.bot.services.sessions() as session:
            full = await repo.load_brew(session, target.id)
        assert full is not None
        content = self.bot.services.content
        lines = [f"**Brew {full.number}: {full.title}**" + (" (paused)" if full.paused_at else "")]
        for room in full.rooms:
            state = repo.state_of(room)
            if room.status == "failed":
                lines.append(f"Room {room.index + 1}: ended early.")
                continue
            if room.status == "opening":
                lines.append(f"Room {room.index + 1}: opening.")
                continue
            phase = (
                content.phases[state.phase.value].name
                if state.phase.value in content.phases
                else ("finished" if state.phase in (Phase.AFTER, Phase.DONE) else state.phase.value)
            )
            where = (
                f"<#{room.text_channel_id}>" if room.text_channel_id else f"Room {room.index + 1}"
            )
            line = f"{where}: {phase}"
            if state.phase not in (Phase.AFTER, Phase.DONE):
                line += f", ends {stamp_rel(state.phase_ends_at)}"
            line += f"; {state.turns_taken} of {len(state.order)} have had their turn."
            lines.append(line)
        # Forty rooms do not fit one message: several messages, split between rooms.
        parts = split_lines(lines)
        await interaction.response.send_message(parts[0], ephemeral=True)
        for part in parts[1:]:
            await interaction.followup.send(part, ephemeral=True)

    @brew.command(name="end", description="End the brew: every room gets its closing minute")
    @app_commands.autocomplete(brew=brew_autocomplete)
    async def end(self, interaction: discord.Interaction, brew: int | None = None) -> None:
        await self._require_facilitator(interaction)
        assert interaction.guild_id is not None and interaction.channel_id is not None
        async with self.bot.services.sessions() as session:
            open_brew = await repo.open_brew_in_channel(
                session, interaction.guild_id, interaction.channel_id
            )
            if brew is None and open_brew is not None:
                open_brew.status = "cancelled"
                await session.commit()
                await interaction.response.send_message(
                    f"Brew {open_brew.number} is closed to sign-ups and won't start.",
                    ephemeral=True,
                )
                return
        target = await self._my_brew(interaction, brew)
        await interaction.response.defer(ephemeral=True)
        await self.runner.end(target.id)
        await interaction.followup.send(
            "Every room now has its closing minute; then people in voice go back to the main room.",
            ephemeral=True,
        )

    # ------------------------------------------------------------ settings
    @brew.command(
        name="settings", description="Set this server's roles, main voice channel and area"
    )
    @app_commands.describe(
        facilitator_role="Members with this role can run brews",
        organiser_role="Members with this role can export reflections",
        main_voice_channel="Where people go back to when a brew ends",
        area="Your area's name, shown in reports (e.g. Norfolk)",
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        facilitator_role: discord.Role | None = None,
        organiser_role: discord.Role | None = None,
        main_voice_channel: discord.VoiceChannel | None = None,
        area: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        member = interaction.user
        if not isinstance(member, discord.Member) or not member.guild_permissions.manage_guild:
            raise UserFacingError(MANAGER_ONLY)
        assert interaction.guild_id is not None
        async with self.bot.services.sessions() as session:
            settings = await repo.settings_for(session, interaction.guild_id)
            if facilitator_role is not None:
                settings.facilitator_role_id = facilitator_role.id
            if organiser_role is not None:
                settings.organiser_role_id = organiser_role.id
            if main_voice_channel is not None:
                settings.main_voice_channel_id = main_voice_channel.id
            if area is not None:
                settings.area_label = area.strip()
            await session.commit()
            summary = settings_summary(
                settings.facilitator_role_id,
                settings.organiser_role_id,
                settings.main_voice_channel_id,
                settings.area_label,
            )
        await interaction.response.send_message("\n".join(summary), ephemeral=True)

    # ------------------------------------------------------------ keep apart
    @brew.command(
        name="apart", description="Privately make sure two people are never put in the same room"
    )
    @app_commands.describe(member_a="One person", member_b="The other person")
    async def apart(
        self, interaction: discord.Interaction, member_a: discord.Member, member_b: discord.Member
    ) -> None:
        await self._require_facilitator(interaction)
        assert interaction.guild_id is not None
        if member_a.id == member_b.id:
            raise UserFacingError("Please choose two different people.")
        async with self.bot.services.sessions() as session:
            added = await set_apart(session, interaction.guild_id, member_a.id, member_b.id)
            await session.commit()
        await interaction.response.send_message(
            (
                "Noted. Those two people will never be put in the same room in this server. "
                "Only a one-way code is stored, not their names. /brew apart_clear removes it."
            )
            if added
            else "Those two people are already kept apart.",
            ephemeral=True,
        )

    @brew.command(
        name="apart_clear", description="Remove keep-apart notes (for two people, or all)"
    )
    @app_commands.describe(
        member_a="One person (leave both empty to clear every note)", member_b="The other person"
    )
    async def apart_clear(
        self,
        interaction: discord.Interaction,
        member_a: discord.Member | None = None,
        member_b: discord.Member | None = None,
    ) -> None:
        await self._require_facilitator(interaction)
        assert interaction.guild_id is not None
        if (member_a is None) != (member_b is None):
            raise UserFacingError("Choose both people, or neither to clear every keep-apart note.")
        async with self.bot.services.sessions() as session:
            removed = await clear_apart(
                session,
                interaction.guild_id,
                member_a.id if member_a else None,
                member_b.id if member_b else None,
            )
            await session.commit()
        await interaction.response.send_message(
            f"Removed {plural(removed, 'keep-apart note', 'keep-apart notes')}.", ephemeral=True
        )

    # ------------------------------------------------------------ organiser
    @brew.command(name="export", description="Organisers: download the reflections and a report")
    @app_commands.describe(
        format="CSV for spreadsheets, JSON for tools, or a readable report with a chart",
        brew="Only this brew number",
        since="Only brews on or after this date, written YYYY-MM-DD",
    )
    @app_commands.choices(
        format=[
            app_commands.Choice(name="Report (Markdown, with a chart)", value="markdown"),
            app_commands.Choice(name="Spreadsheet (CSV)", value="csv"),
            app_commands.Choice(name="Data (JSON)", value="json"),
        ]
    )
    async def export(
        self,
        interaction: discord.Interaction,
        format: app_commands.Choice[str] | None = None,
        brew: app_commands.Range[int, 1] | None = None,
        since: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        from bot.shell.access import ORGANISER_ONLY, is_organiser
        from bot.shell.organiser import send_export

        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild_id is not None
        if not await is_organiser(self.bot.services, interaction.user, interaction.guild_id):
            raise UserFacingError(ORGANISER_ONLY)
        fmt = format.value if format is not None else "markdown"
        await send_export(interaction, self.bot.services, fmt, brew, since)

    @brew.command(name="purge", description="Organisers: delete a brew and its reflections")
    @app_commands.describe(brew="The number of the brew to delete")
    async def purge(
        self, interaction: discord.Interaction, brew: app_commands.Range[int, 1]
    ) -> None:
        from bot.core.export_model import plural
        from bot.shell.access import ORGANISER_ONLY, is_organiser
        from bot.shell.organiser import PurgeView, find_purge_target

        assert interaction.guild_id is not None
        services = self.bot.services
        if not await is_organiser(services, interaction.user, interaction.guild_id):
            raise UserFacingError(ORGANISER_ONLY)
        target = await find_purge_target(services, interaction.guild_id, brew)
        await interaction.response.send_message(
            services.content.format(
                "export.purge_confirm",
                number=target.number,
                title=target.title,
                reflections=plural(target.reflections, "reflection"),
            ),
            view=PurgeView(services, interaction.guild_id, interaction.user.id, target),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    # ------------------------------------------------------------ events
    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        async with self.bot.services.sessions() as session:
            room = await repo.room_by_channel(session, channel.id)
        # After the recall the rooms are only waiting to be tidied away: nothing to report.
        if room is not None and room.status == "running" and room.phase not in ("after", "done"):
            await self.runner.room_lost(room.id, "one of its channels was deleted")


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def settings_summary(
    facilitator_role_id: int | None,
    organiser_role_id: int | None,
    main_voice_channel_id: int | None,
    area: str | None,
) -> list[str]:
    def shown(value: str | None, unset: str) -> str:
        return value if value else f"not set ({unset})"

    return [
        "Brew Host settings for this server:",
        "- Facilitator role: "
        + shown(
            f"<@&{facilitator_role_id}>" if facilitator_role_id else None,
            "only people with Manage Server can run brews",
        ),
        "- Organiser role: "
        + shown(
            f"<@&{organiser_role_id}>" if organiser_role_id else None,
            "only people with Manage Server can export",
        ),
        "- Main voice channel: "
        + shown(
            f"<#{main_voice_channel_id}>" if main_voice_channel_id else None,
            "people stay in their room when a brew ends",
        ),
        "- Area: " + shown(area, "reports show no area"),
    ]


async def setup(bot: BrewBot) -> None:
    await bot.add_cog(BrewCog(bot))
