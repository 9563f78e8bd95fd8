"""Anonymous reflections: the "Leave a reflection" button, ``/reflect`` and the form's answers,
plus the hourly job that closes reflection windows and the daily retention job.

The form is opened as the very first answer to a press (Discord allows a form only then), so the
button does no database work before it. ``/reflect`` does one quick indexed lookup first, so it
can say "you haven't taken part in a brew here" without making someone type into a form that
cannot be saved; if that lookup is slow it opens the form for "your latest brew" anyway and
everything is resolved when the form comes back. See :mod:`bot.shell.reflections`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.reflections import ReflectionError
from bot.db.leases import LeaseGuard
from bot.shell import answer_first
from bot.shell.app import BrewBot
from bot.shell.errors import new_reference
from bot.shell.reflections import (
    CONSENT_ID,
    FORM_ID,
    Latest,
    Outcome,
    Result,
    close_reflection_windows,
    closes_text,
    echo_messages,
    find_latest,
    form_values,
    prompt_input_id,
    reflection_form,
    save_reflection,
)
from bot.shell.retention import apply_retention

log = logging.getLogger(__name__)

#: How long /reflect may spend looking up the member's brew before opening the form anyway.
LOOKUP_BUDGET_S = 1.5
WINDOW_JOB = "reflections-window-sweep"
RETENTION_JOB = "privacy-retention"
HOUR_S = 3600.0
DAY_S = 24 * HOUR_S


class ReflectionsCog(commands.Cog):
    def __init__(self, bot: BrewBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        services = self.bot.services

        async def window_job() -> None:
            closed = await close_reflection_windows(services, services.clock.now())
            if closed:
                log.info("closed the reflection window of %d brews", closed)

        async def retention_job() -> None:
            await apply_retention(services, services.clock.now())

        now = services.clock.now()
        # With several processes each job runs once per period, in whichever takes its lease.
        leases = LeaseGuard(services.sessions, services.clock)
        window_job = leases.once_per(WINDOW_JOB, timedelta(hours=1), window_job)
        retention_job = leases.once_per(RETENTION_JOB, timedelta(days=1), retention_job)
        # Run once soon after start (catching up on downtime), then on the interval.
        self.bot.timers.every(WINDOW_JOB, HOUR_S, window_job, first_at=now)
        self.bot.timers.every(RETENTION_JOB, DAY_S, retention_job, first_at=now)

    async def cog_unload(self) -> None:
        self.bot.services.compaction.cancel()
        for key in (WINDOW_JOB, RETENTION_JOB):
            self.bot.timers.cancel(key)

    # ------------------------------------------------------------ /reflect
    @app_commands.command(
        name="reflect", description="Leave an anonymous reflection on the last brew you were in"
    )
    @app_commands.guild_only()
    async def reflect(self, interaction: discord.Interaction) -> None:
        services = self.bot.services
        content = services.content
        assert interaction.guild_id is not None
        latest: Latest | None = None
        try:
            async with asyncio.timeout(LOOKUP_BUDGET_S):
                async with services.sessions() as session:
                    latest = await find_latest(
                        session,
                        interaction.guild_id,
                        interaction.user.id,
                        services.clock.now(),
                        services.config.privacy.reflection_window_days,
                    )
        except TimeoutError:
            # Too slow to be sure within Discord's 3 seconds: open the form for the latest
            # brew and check everything when it comes back.
            await interaction.response.send_modal(reflection_form(content, None))
            return
        if latest is None:
            await interaction.response.send_message(
                content.text("reflection.no_brew"), ephemeral=True
            )
            return
        if latest.result is not None:
            await interaction.response.send_message(
                content.text(f"reflection.{latest.result.value}"), ephemeral=True
            )
            return
        await interaction.response.send_modal(reflection_form(content, latest.brew_id))

    # ------------------------------------------------------------ the form comes back
    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: Any = interaction.data or {}
        match = FORM_ID.fullmatch(str(data.get("custom_id", "")))
        if match is None:
            return
        brew = match["brew"]
        await self.submit(interaction, None if brew == "latest" else int(brew), data)

    async def submit(
        self, interaction: discord.Interaction, brew_id: int | None, data: Any
    ) -> None:
        services = self.bot.services
        content = services.content
        values = form_values(data.get("components") or [])
        raw = {p.key: values.get(prompt_input_id(p), "") for p in content.prompts}
        consent_text = values.get(CONSENT_ID)
        kept = content.text("reflection.kept_heading")
        try:
            answers = answer_first.gate()
            await answers.answer(interaction.response.defer(ephemeral=True, thinking=True))
            await answers.then()  # other presses' first answers go out before this work
            if interaction.guild_id is None:
                raise RuntimeError("reflection form submitted outside a server")
            outcome = await save_reflection(
                services,
                guild_id=interaction.guild_id,
                brew_id=brew_id,
                user_id=interaction.user.id,
                raw=raw,
                consent_text=consent_text,
                now=services.clock.now(),
            )
        except ReflectionError as exc:
            await self._reply(
                interaction, [str(exc), *echo_messages(kept, content.prompts, raw, consent_text)]
            )
            return
        except Exception:
            ref = new_reference()
            # No user id here: this line must never pair a person with their words.
            log.exception("error %s saving a reflection (guild %s)", ref, interaction.guild_id)
            await self._reply(
                interaction,
                [
                    content.format("reflection.failed", ref=ref),
                    *echo_messages(kept, content.prompts, raw, consent_text),
                ],
            )
            return
        await self._reply(interaction, self._outcome_messages(outcome, raw, consent_text))

    def _outcome_messages(
        self, outcome: Outcome, raw: dict[str, str], consent_text: str | None
    ) -> list[str]:
        content = self.bot.services.content
        days = self.bot.services.config.privacy.reflection_window_days
        if outcome.result in (Result.SAVED, Result.REPLACED):
            return [
                content.format(
                    f"reflection.{outcome.result.value}",
                    closes=closes_text(outcome.closes_at, days, content),
                )
            ]
        messages = [content.text(f"reflection.{outcome.result.value}")]
        if outcome.result in (Result.CLOSED, Result.NOT_YET):
            # Their words could not be saved: give them back so nothing typed is lost.
            kept = content.text("reflection.kept_heading")
            messages += echo_messages(kept, content.prompts, raw, consent_text)
        return messages

    async def _reply(self, interaction: discord.Interaction, messages: list[str]) -> None:
        try:
            for text in messages:
                if interaction.response.is_done():
                    await interaction.followup.send(
                        text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
                    )
                else:
                    await interaction.response.send_message(
                        text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
                    )
        except discord.HTTPException:
            log.warning("could not answer a reflection form (guild %s)", interaction.guild_id)


async def setup(bot: BrewBot) -> None:
    await bot.add_cog(ReflectionsCog(bot))
