"""What the sign-up card's buttons do: Join (voice), Join (text only), Leave, and an optional
private "where are you coming from?" choice when the facilitator offered perspectives.

The buttons themselves, and the card's view, are in :mod:`bot.shell.ui.signup`; it passes its
view builders in, so this module does not import the buttons that call it.

Every press is acknowledged first (a deferred update, within milliseconds, before any database
or Discord work), then the sign-up is saved, then the card's count is edited and the person
hears privately what happened. Presses that come while the brew is starting or running are
refused in plain words; a double-click is two successes (see :mod:`bot.db.signups`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import discord

from bot.db import signups as db_signups
from bot.db.brews import BrewInfo, get_brew
from bot.db.signups import SignupResult
from bot.shell.brews import card_text
from bot.shell.protocols import Host

log = logging.getLogger(__name__)

#: Draws the sign-up card's buttons for a brew.
CardView = Callable[[Host, BrewInfo], discord.ui.View]
#: Draws the private choice of perspectives: ``(brew id, labels) -> view``.
ChoiceView = Callable[[int, list[str]], discord.ui.View]

STARTED = ("starting", "running")


def _refusal(bot: Host, status: str | None, *, leaving: bool = False) -> str:
    """Why a press changed nothing, in plain words."""
    content = bot.services.content
    if status in STARTED:
        return content.text("signup.started_leave" if leaving else "signup.started")
    return content.text("signup.not_open")


@dataclass
class _CardEdits:
    """One card's pending edit: while one edit is on its way, later presses only mark the
    card dirty, and the edit in flight goes round once more with the newest count. So a crowd
    of presses ends with the right count on the card, whatever order Discord answers in."""

    dirty: bool = False
    busy: bool = False


_card_edits: dict[tuple[int, int], _CardEdits] = {}


async def _refresh_card(
    interaction: discord.Interaction, bot: Host, brew_id: int, card_view: CardView
) -> None:
    key = (id(bot.services), brew_id)
    edits = _card_edits.setdefault(key, _CardEdits())
    edits.dirty = True
    if edits.busy:
        return
    edits.busy = True
    try:
        while edits.dirty:
            edits.dirty = False
            async with bot.services.sessions() as session:
                brew = await get_brew(session, brew_id)
                count = await db_signups.signup_count(session, brew_id)
            if brew is None or brew.status != "open":
                return  # the start closes the card itself
            try:
                await interaction.edit_original_response(
                    content=card_text(bot, brew, count), view=card_view(bot, brew)
                )
            except discord.HTTPException as exc:
                log.info("brew %s: could not update the sign-up card: %s", brew_id, exc)
                return
    finally:
        edits.busy = False
        if not edits.dirty:
            _card_edits.pop(key, None)


async def _change_signup(
    interaction: discord.Interaction,
    brew_id: int,
    change: Callable[[Host], Awaitable[SignupResult]],
    reply_key: str,
    card_view: CardView,
    *,
    leaving: bool = False,
) -> None:
    """Join or leave: acknowledge, save, then update the card's count and tell the person."""
    await interaction.response.defer()  # answered at once; the card is edited below
    bot: Host = interaction.client  # type: ignore[assignment]
    result = await change(bot)  # saved before anyone is told
    if not result.changed:
        await interaction.followup.send(
            _refusal(bot, result.status, leaving=leaving), ephemeral=True
        )
        return
    # The person hears first; the card's count follows (it may go round for others' presses).
    await interaction.followup.send(bot.services.content.text(reply_key), ephemeral=True)
    await _refresh_card(interaction, bot, brew_id, card_view)


async def join(
    interaction: discord.Interaction, brew_id: int, mode: str, card_view: CardView
) -> None:
    text_only = mode == "text"
    user_id = interaction.user.id

    async def add(bot: Host) -> SignupResult:
        async with bot.services.sessions() as session:
            return await db_signups.join(session, brew_id, user_id, text_only)

    reply = "signup.joined_text" if text_only else "signup.joined_voice"
    await _change_signup(interaction, brew_id, add, reply, card_view)


async def leave(interaction: discord.Interaction, brew_id: int, card_view: CardView) -> None:
    user_id = interaction.user.id

    async def remove(bot: Host) -> SignupResult:
        async with bot.services.sessions() as session:
            return await db_signups.leave(session, brew_id, user_id)

    await _change_signup(interaction, brew_id, remove, "signup.left", card_view, leaving=True)


async def offer_perspectives(
    interaction: discord.Interaction, brew_id: int, choice_view: ChoiceView
) -> None:
    """Open a private (ephemeral) choice of the facilitator's perspective labels."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    bot: Host = interaction.client  # type: ignore[assignment]
    async with bot.services.sessions() as session:
        status, labels = await db_signups.perspectives_of(session, brew_id)
    if status != "open":
        await interaction.edit_original_response(content=_refusal(bot, status))
        return
    await interaction.edit_original_response(
        content=bot.services.content.text("signup.perspective_prompt"),
        view=choice_view(brew_id, labels),
    )


async def choose_perspective(
    interaction: discord.Interaction, brew_id: int, values: Sequence[str]
) -> None:
    await interaction.response.defer()  # the private prompt is replaced below
    bot: Host = interaction.client  # type: ignore[assignment]
    choice = values[0] if values else "none"
    async with bot.services.sessions() as session:
        result = await db_signups.choose_perspective(session, brew_id, interaction.user.id, choice)
    if not result.joined:
        text = "Please press Join first; then you can say where you're coming from."
    elif not result.saved:
        text = _refusal(bot, result.status)
    else:
        text = bot.services.content.text("signup.perspective_saved")
    await interaction.edit_original_response(content=text, view=None)
