"""What the sign-up card's buttons do: Join (voice), Join (text only), Leave, and an optional
private "where are you coming from?" choice when the facilitator offered perspectives.

The buttons themselves, and the card's view, are in :mod:`bot.shell.ui.signup`; it passes its
view builders in, so this module does not import the buttons that call it.

The card's count is updated by answering the press with an edit of the card itself (one
interaction response, no extra channel message), and the person hears privately what happened.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import discord
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import repo
from bot.db.brews import BrewInfo, get_brew
from bot.db.models import Brew, Signup
from bot.db.signups import signup_count
from bot.shell.brews import card_text
from bot.shell.errors import UserFacingError, report_component_error
from bot.shell.protocols import Host

#: Draws the sign-up card's buttons for a brew.
CardView = Callable[[Host, BrewInfo], discord.ui.View]
#: Draws the private choice of perspectives: ``(brew id, labels) -> view``.
ChoiceView = Callable[[int, list[str]], discord.ui.View]


async def _refresh_card(
    interaction: discord.Interaction, bot: Host, brew_id: int, card_view: CardView
) -> None:
    async with bot.services.sessions() as session:
        brew = await get_brew(session, brew_id)
        assert brew is not None
        count = await signup_count(session, brew_id)
    await interaction.response.edit_message(
        content=card_text(bot, brew, count), view=card_view(bot, brew)
    )


async def _open_brew(bot: Host, brew_id: int) -> None:
    async with bot.services.sessions() as session:
        brew = await get_brew(session, brew_id)
    if brew is None or brew.status != "open":
        raise UserFacingError(bot.services.content.text("signup.not_open"))


async def _change_signup(
    interaction: discord.Interaction,
    brew_id: int,
    change: Callable[[AsyncSession, Signup | None], Awaitable[None]],
    reply_key: str,
    card_view: CardView,
) -> None:
    """Join or leave: save first, then update the card's count, then tell the person privately."""
    bot: Host = interaction.client  # type: ignore[assignment]
    try:
        await _open_brew(bot, brew_id)
        async with bot.services.sessions() as session:
            await change(session, await repo.signup_of(session, brew_id, interaction.user.id))
            await session.commit()  # saved before anyone is told
        await _refresh_card(interaction, bot, brew_id, card_view)
        await interaction.followup.send(bot.services.content.text(reply_key), ephemeral=True)
    except Exception as exc:
        await report_component_error(interaction, exc)


async def join(
    interaction: discord.Interaction, brew_id: int, mode: str, card_view: CardView
) -> None:
    text_only = mode == "text"

    async def add(session: AsyncSession, signup: Signup | None) -> None:
        if signup is None:
            user_id = interaction.user.id
            session.add(Signup(brew_id=brew_id, user_id=user_id, text_only=text_only))
        else:
            signup.text_only = text_only

    reply = "signup.joined_text" if text_only else "signup.joined_voice"
    await _change_signup(interaction, brew_id, add, reply, card_view)


async def leave(interaction: discord.Interaction, brew_id: int, card_view: CardView) -> None:
    async def remove(session: AsyncSession, signup: Signup | None) -> None:
        if signup is not None:
            await session.delete(signup)

    await _change_signup(interaction, brew_id, remove, "signup.left", card_view)


async def offer_perspectives(
    interaction: discord.Interaction, brew_id: int, choice_view: ChoiceView
) -> None:
    """Open a private (ephemeral) choice of the facilitator's perspective labels."""
    bot: Host = interaction.client  # type: ignore[assignment]
    try:
        await _open_brew(bot, brew_id)
        async with bot.services.sessions() as session:
            brew = await session.get(Brew, brew_id)
            assert brew is not None
            labels = list(brew.perspectives)
        await interaction.response.send_message(
            bot.services.content.text("signup.perspective_prompt"),
            view=choice_view(brew_id, labels),
            ephemeral=True,
        )
    except Exception as exc:
        await report_component_error(interaction, exc)


async def choose_perspective(
    interaction: discord.Interaction, brew_id: int, values: Sequence[str]
) -> None:
    bot: Host = interaction.client  # type: ignore[assignment]
    try:
        await _open_brew(bot, brew_id)
        choice = values[0] if values else "none"
        async with bot.services.sessions() as session:
            brew = await session.get(Brew, brew_id)
            assert brew is not None
            label = None
            if choice != "none" and choice.isdigit() and int(choice) < len(brew.perspectives):
                label = brew.perspectives[int(choice)]
            signup = await repo.signup_of(session, brew_id, interaction.user.id)
            if signup is None:
                raise UserFacingError(
                    "Please press Join first; then you can say where you're coming from."
                )
            signup.perspective = label
            await session.commit()
        await interaction.response.edit_message(
            content=bot.services.content.text("signup.perspective_saved"), view=None
        )
    except Exception as exc:
        await report_component_error(interaction, exc)
