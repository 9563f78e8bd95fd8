"""The sign-up card's buttons: Join (voice), Join (text only), Leave, and an optional private
"where are you coming from?" choice when the facilitator offered perspectives.

The card's count is updated by answering the press with an edit of the card itself (one
interaction response, no extra channel message), and the person hears privately what happened.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord
from discord.ui import Button, DynamicItem
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import repo
from bot.db.brews import BrewInfo, get_brew
from bot.db.models import Brew, Signup
from bot.db.signups import signup_count
from bot.shell.errors import UserFacingError, report_component_error

if TYPE_CHECKING:
    from bot.shell.app import BrewBot


def card_view(bot: BrewBot, brew: BrewInfo) -> discord.ui.View:
    content = bot.services.content
    view = discord.ui.View(timeout=None)
    view.add_item(JoinButton(brew.id, "voice", content.button("join_voice")))
    view.add_item(JoinButton(brew.id, "text", content.button("join_text")))
    view.add_item(LeaveButton(brew.id, content.button("leave")))
    if brew.perspectives:
        view.add_item(PerspectiveButton(brew.id, content.button("choose_perspective")))
    return view


async def _refresh_card(interaction: discord.Interaction, bot: BrewBot, brew_id: int) -> None:
    from bot.shell.brews import card_text

    async with bot.services.sessions() as session:
        brew = await get_brew(session, brew_id)
        assert brew is not None
        count = await signup_count(session, brew_id)
    await interaction.response.edit_message(
        content=card_text(bot, brew, count), view=card_view(bot, brew)
    )


async def _open_brew(bot: BrewBot, brew_id: int) -> None:
    async with bot.services.sessions() as session:
        brew = await get_brew(session, brew_id)
    if brew is None or brew.status != "open":
        raise UserFacingError(bot.services.content.text("signup.not_open"))


async def _change_signup(
    interaction: discord.Interaction,
    brew_id: int,
    change: Callable[[AsyncSession, Signup | None], Awaitable[None]],
    reply_key: str,
) -> None:
    """Join or leave: save first, then update the card's count, then tell the person privately."""
    bot: BrewBot = interaction.client  # type: ignore[assignment]
    try:
        await _open_brew(bot, brew_id)
        async with bot.services.sessions() as session:
            await change(session, await repo.signup_of(session, brew_id, interaction.user.id))
            await session.commit()  # saved before anyone is told
        await _refresh_card(interaction, bot, brew_id)
        await interaction.followup.send(bot.services.content.text(reply_key), ephemeral=True)
    except Exception as exc:
        await report_component_error(interaction, exc)


class JoinButton(DynamicItem[Button[Any]], template=r"bh:join:(?P<brew>\d+):(?P<mode>voice|text)"):
    def __init__(self, brew_id: int, mode: str, label: str = "Join") -> None:
        style = discord.ButtonStyle.success if mode == "voice" else discord.ButtonStyle.primary
        super().__init__(Button(label=label, style=style, custom_id=f"bh:join:{brew_id}:{mode}"))
        self.brew_id, self.mode = brew_id, mode

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> JoinButton:
        return cls(int(match["brew"]), match["mode"])

    async def callback(self, interaction: discord.Interaction) -> None:
        text_only = self.mode == "text"

        async def join(session: AsyncSession, signup: Signup | None) -> None:
            if signup is None:
                user_id = interaction.user.id
                session.add(Signup(brew_id=self.brew_id, user_id=user_id, text_only=text_only))
            else:
                signup.text_only = text_only

        reply = "signup.joined_text" if text_only else "signup.joined_voice"
        await _change_signup(interaction, self.brew_id, join, reply)


class LeaveButton(DynamicItem[Button[Any]], template=r"bh:leave:(?P<brew>\d+)"):
    def __init__(self, brew_id: int, label: str = "Leave") -> None:
        super().__init__(
            Button(
                label=label, style=discord.ButtonStyle.secondary, custom_id=f"bh:leave:{brew_id}"
            )
        )
        self.brew_id = brew_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> LeaveButton:
        return cls(int(match["brew"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        async def leave(session: AsyncSession, signup: Signup | None) -> None:
            if signup is not None:
                await session.delete(signup)

        await _change_signup(interaction, self.brew_id, leave, "signup.left")


class PerspectiveButton(DynamicItem[Button[Any]], template=r"bh:persp:(?P<brew>\d+)"):
    """Opens a private (ephemeral) choice of the facilitator's perspective labels."""

    def __init__(self, brew_id: int, label: str = "Say where you're coming from") -> None:
        super().__init__(
            Button(
                label=label, style=discord.ButtonStyle.secondary, custom_id=f"bh:persp:{brew_id}"
            )
        )
        self.brew_id = brew_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PerspectiveButton:
        return cls(int(match["brew"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: BrewBot = interaction.client  # type: ignore[assignment]
        try:
            await _open_brew(bot, self.brew_id)
            async with bot.services.sessions() as session:
                brew = await session.get(Brew, self.brew_id)
                assert brew is not None
                labels = list(brew.perspectives)
            view = discord.ui.View(timeout=None)
            view.add_item(PerspectiveSelect(self.brew_id, labels))
            await interaction.response.send_message(
                bot.services.content.text("signup.perspective_prompt"), view=view, ephemeral=True
            )
        except Exception as exc:
            await report_component_error(interaction, exc)


class PerspectiveSelect(DynamicItem[discord.ui.Select[Any]], template=r"bh:perspsel:(?P<brew>\d+)"):
    def __init__(self, brew_id: int, labels: list[str] | None = None) -> None:
        options = [
            discord.SelectOption(label=label[:100], value=str(i))
            for i, label in enumerate(labels or ["-"])
        ]
        options.append(discord.SelectOption(label="I'd rather not say", value="none"))
        super().__init__(
            discord.ui.Select(
                custom_id=f"bh:perspsel:{brew_id}", options=options, min_values=1, max_values=1
            )
        )
        self.brew_id = brew_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PerspectiveSelect:
        return cls(int(match["brew"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: BrewBot = interaction.client  # type: ignore[assignment]
        try:
            await _open_brew(bot, self.brew_id)
            values = self.item.values
            choice = values[0] if values else "none"
            async with bot.services.sessions() as session:
                brew = await session.get(Brew, self.brew_id)
                assert brew is not None
                label = None
                if choice != "none" and choice.isdigit() and int(choice) < len(brew.perspectives):
                    label = brew.perspectives[int(choice)]
                signup = await repo.signup_of(session, self.brew_id, interaction.user.id)
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


SIGNUP_ITEMS: tuple[type[DynamicItem[Any]], ...] = (
    JoinButton,
    LeaveButton,
    PerspectiveButton,
    PerspectiveSelect,
)
