"""``/brew settings``, ``apart``, ``apart_clear``, ``export`` and ``purge``: the server's
settings, keep-apart notes, and what organisers do with what was heard.

The exporters (:mod:`bot.shell.organiser`, :mod:`bot.shell.regional` and the report builders
they import) load the first time an organiser exports or purges, not with the bot: a running
bot that nobody exports from does not carry them (idle memory, issue 12). They are imported in a
worker thread so the import never holds up the event loop.
"""

from __future__ import annotations

import asyncio
import importlib

import discord
from discord import app_commands

from bot.core.export_formats import EXPORT_FORMATS
from bot.core.text import NUMBER_MAX, check_text
from bot.db.settings import change_settings
from bot.shell.access import MANAGER_ONLY, ORGANISER_ONLY, is_organiser
from bot.shell.errors import UserFacingError
from bot.shell.mixing import clear_apart, set_apart
from cogs.brew_base import BREW, BrewCommands, plural

#: Longest area name (it heads report sections and fits a category name).
AREA_LIMIT = 100


async def load_exporters() -> None:
    """Import the exporters once, off the event loop (a no-op once they are loaded)."""
    await asyncio.to_thread(importlib.import_module, "bot.shell.regional")


class AdminCommands(BrewCommands):
    @BREW.command(
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
        area: app_commands.Range[str, 1, AREA_LIMIT] | None = None,
    ) -> None:
        member = interaction.user
        if not isinstance(member, discord.Member) or not member.guild_permissions.manage_guild:
            raise UserFacingError(MANAGER_ONLY)
        assert interaction.guild_id is not None
        async with self.bot.services.sessions() as session:
            saved = await change_settings(
                session,
                interaction.guild_id,
                facilitator_role_id=facilitator_role.id if facilitator_role else None,
                organiser_role_id=organiser_role.id if organiser_role else None,
                main_voice_channel_id=main_voice_channel.id if main_voice_channel else None,
                area_label=check_text("area", area, AREA_LIMIT) if area is not None else None,
            )
        summary = settings_summary(
            saved.facilitator_role_id,
            saved.organiser_role_id,
            saved.main_voice_channel_id,
            saved.area_label,
        )
        await interaction.response.send_message("\n".join(summary), ephemeral=True)

    @BREW.command(
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
        added = await set_apart(self.bot.services, interaction.guild_id, member_a.id, member_b.id)
        await interaction.response.send_message(
            (
                "Noted. Those two people will never be put in the same room in this server. "
                "Only a one-way code is stored, not their names. /brew apart_clear removes it."
            )
            if added
            else "Those two people are already kept apart.",
            ephemeral=True,
        )

    @BREW.command(
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
        removed = await clear_apart(
            self.bot.services,
            interaction.guild_id,
            member_a.id if member_a else None,
            member_b.id if member_b else None,
        )
        await interaction.response.send_message(
            f"Removed {plural(removed, 'keep-apart note', 'keep-apart notes')}.", ephemeral=True
        )

    @BREW.command(name="export", description="Organisers: download the reflections and a report")
    @app_commands.describe(
        format="A report (Markdown, web page or Word), CSV for spreadsheets, or JSON for tools",
        brew="Only this brew number",
        since="Only brews on or after this date, written YYYY-MM-DD",
        until="Only brews on or before this date, written YYYY-MM-DD",
        scope="This server (the usual), or every server in your region if it is set up",
        area="Regional report only: just this area (e.g. Norfolk)",
    )
    @app_commands.choices(
        format=[app_commands.Choice(name=f.choice, value=f.key) for f in EXPORT_FORMATS.values()],
        scope=[
            app_commands.Choice(name="This server", value="server"),
            app_commands.Choice(name="All servers in the region", value="region"),
        ],
    )
    async def export(
        self,
        interaction: discord.Interaction,
        format: app_commands.Choice[str] | None = None,
        brew: app_commands.Range[int, 1, NUMBER_MAX] | None = None,
        since: app_commands.Range[str, 1, 40] | None = None,
        until: app_commands.Range[str, 1, 40] | None = None,
        scope: app_commands.Choice[str] | None = None,
        area: app_commands.Range[str, 1, AREA_LIMIT] | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild_id is not None
        if not await is_organiser(self.bot.services, interaction.user, interaction.guild_id):
            raise UserFacingError(ORGANISER_ONLY)
        await load_exporters()
        from bot.shell.organiser import send_export
        from bot.shell.regional import send_regional_export

        fmt = format.value if format is not None else None
        if scope is not None and scope.value == "region":
            await send_regional_export(
                interaction, self.bot.services, fmt, brew, since, until, area
            )
            return
        await send_export(
            interaction, self.bot.services, fmt or "markdown", brew, since, until, area
        )

    @BREW.command(name="purge", description="Organisers: delete a brew and its reflections")
    @app_commands.describe(brew="The number of the brew to delete")
    async def purge(
        self, interaction: discord.Interaction, brew: app_commands.Range[int, 1, NUMBER_MAX]
    ) -> None:
        assert interaction.guild_id is not None
        services = self.bot.services
        if not await is_organiser(services, interaction.user, interaction.guild_id):
            raise UserFacingError(ORGANISER_ONLY)
        await load_exporters()
        from bot.core.export_model import plural as plural_noun
        from bot.shell.organiser import PurgeView, find_purge_target

        target = await find_purge_target(services, interaction.guild_id, brew)
        await interaction.response.send_message(
            services.content.format(
                "export.purge_confirm",
                number=target.number,
                title=target.title,
                reflections=plural_noun(target.reflections, "reflection"),
            ),
            view=PurgeView(services, interaction.guild_id, interaction.user.id, target),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )


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
