"""The sign-up-ahead card of a scheduled brew: its text with how many are coming, and how it
reads once the occurrence is cancelled, has started, or has moved onto another open card."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import discord

from bot.core.content import Content
from bot.core.schedule import Answer, Plan, tally
from bot.core.text import inert
from bot.db.scheduling import OccurrenceInfo, SeriesInfo
from bot.shell.scheduled_context import stamp

log = logging.getLogger(__name__)


def ahead_card(
    content: Content,
    series: SeriesInfo,
    occurrence: OccurrenceInfo,
    plan: Plan,
    answers: Mapping[int, Answer],
    interested: Iterable[int] = (),
) -> str:
    """The sign-up-ahead card's text, with how many are coming so far."""
    counts = tally(answers, interested)
    opening = plan.moment("open")
    return content.format(
        "schedule.card",
        title=inert(series.title),
        question=inert(series.question),
        starts=stamp(plan.start, "F"),
        starts_rel=stamp(plan.start, "R"),
        length=f"{series.length_s // 60} minutes",
        opens_rel=stamp(opening.at if opening else plan.start, "R"),
        voice=counts.voice,
        text=counts.text,
    )


async def edit_card(
    client: discord.Client,
    series: SeriesInfo,
    message_id: int | None,
    text: str,
    *,
    keep_buttons: bool = False,
) -> None:
    """Change a card's text (and drop its buttons unless ``keep_buttons``); a card Discord
    will not change is logged, not raised: the step it belongs to is already done."""
    channel = client.get_channel(series.channel_id or 0)
    if message_id is None or not isinstance(channel, discord.abc.Messageable):
        return
    message = channel.get_partial_message(message_id)
    try:
        if keep_buttons:
            await message.edit(content=text, allowed_mentions=discord.AllowedMentions.none())
        else:
            await message.edit(
                content=text, view=None, allowed_mentions=discord.AllowedMentions.none()
            )
    except discord.HTTPException as exc:
        log.info("could not change card %s: %s", message_id, exc)


async def close_ahead_card(
    client: discord.Client, content: Content, series: SeriesInfo, occurrence: OccurrenceInfo
) -> None:
    """A cancelled occurrence's card says so, without buttons."""
    text = content.format(
        "schedule.card_cancelled",
        title=inert(series.title),
        starts=stamp(occurrence.starts_at, "F"),
    )
    await edit_card(client, series, occurrence.card_message_id, text)


__all__ = ["ahead_card", "close_ahead_card", "edit_card"]
