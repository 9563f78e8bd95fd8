"""One place where application-command errors become a kind message and a log line.

The person sees plain words and a short reference they can quote to whoever runs the bot; the
log has the same reference with the full traceback. Expected refusals (:class:`UserFacingError`)
are not errors in the log at all.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence

import discord
from discord import app_commands

from bot.core.text import TextRefused

log = logging.getLogger(__name__)

SORRY = (
    "Sorry, something went wrong on our side and nothing was changed by that last step. "
    "If it keeps happening, tell whoever runs Brew Host this reference: {ref}."
)


class UserFacingError(Exception):
    """A refusal or problem the person can act on; the message is shown as it is."""


#: Refusals shown to the person as they are: ours, and the core's refusals of typed text.
USER_FACING = (UserFacingError, TextRefused)


def new_reference() -> str:
    return secrets.token_hex(4).upper()


async def reply_ephemeral(interaction: discord.Interaction, text: str) -> None:
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not tell the user about an error (interaction %s)", interaction.id)


async def on_app_command_error(
    interaction: discord.Interaction, error: app_commands.AppCommandError
) -> None:
    original = getattr(error, "original", error)
    if isinstance(original, USER_FACING):
        await reply_ephemeral(interaction, str(original))
        return
    if isinstance(error, app_commands.CheckFailure):
        await reply_ephemeral(interaction, str(error) or "You can't use that command here.")
        return
    ref = new_reference()
    command = interaction.command.qualified_name if interaction.command else "?"
    log.error("error %s in /%s (guild %s)", ref, command, interaction.guild_id, exc_info=original)
    await reply_ephemeral(interaction, SORRY.format(ref=ref))


async def report_component_error(interaction: discord.Interaction, error: Exception) -> None:
    """The same, for buttons and forms (views call this from ``on_error``)."""
    if isinstance(error, USER_FACING):
        await reply_ephemeral(interaction, str(error))
        return
    ref = new_reference()
    log.error("error %s in a button or form (guild %s)", ref, interaction.guild_id, exc_info=error)
    await reply_ephemeral(interaction, SORRY.format(ref=ref))


def only_pinging(users: Sequence[int] = (), roles: Sequence[int] = ()) -> discord.AllowedMentions:
    """Allowed mentions that can ping exactly these people and roles, and never @everyone.

    ``discord.AllowedMentions(users=[...])`` alone would leave @everyone and roles allowed,
    so every message that pings anyone is built through here.
    """
    return discord.AllowedMentions(
        everyone=False,
        users=[discord.Object(u) for u in users],
        roles=[discord.Object(r) for r in roles],
        replied_user=False,
    )
