"""A scheduled brew's sign-up opening: at ``signup_minutes`` before the start its card becomes
``/brew open``'s card, with everyone who said they would come already joined.

All of it is one transaction: the moment marked done, the new brew, the people joined, the
occurrence's status and the card's message. A crash before the commit leaves nothing behind,
and the opening runs again, once, when the bot is back (:meth:`Scheduling.recover`); a crash
after it leaves an open card with everyone joined, and only the card's edit may be missing.

The rule of ``/brew open`` holds: one open card per channel. If a card is already taking
sign-ups in the channel (someone opened one by hand), no second card is posted. The kindest
thing for the people who said they would come is to keep their place, so they are joined to
that card (in the way they chose); the facilitators are told plainly in the channel, the
sign-up-ahead card points to the open one, and at the start time the facilitators are pinged
rather than the other card being started by itself (it is someone's own card, maybe with
another question). The occurrence's status is then ``joined``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import discord
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.schedule import Rsvp, coming
from bot.core.text import inert
from bot.db import brews as db_brews
from bot.db import scheduling as db
from bot.db.brews import BrewInfo, NewBrew
from bot.db.scheduling import OccurrenceInfo, SeriesInfo
from bot.db.settings import read_settings
from bot.shell.brews import card_text, new_brew
from bot.shell.scheduled_cards import edit_card
from bot.shell.scheduled_context import (
    Scheduling,
    brew_options,
    message_link,
    stamp,
)
from bot.shell.scheduled_events import interested
from bot.shell.scheduled_messages import facilitators, tell_channel
from bot.shell.ui.signup import card_view

log = logging.getLogger(__name__)

#: Tries of the opening's transaction when a brew number was taken meanwhile.
ATTEMPTS = 5


@dataclass(frozen=True)
class Opened:
    """What the opening's transaction did: the brew whose card now takes the sign-ups, how
    many are joined to it, and whether it was a card already open in the channel."""

    brew: BrewInfo
    #: Everyone joined to the card now, and those of them who came from the occurrence.
    joined: int
    coming: int
    existing: bool


async def open_card(
    sched: Scheduling, series: SeriesInfo, occurrence: OccurrenceInfo, now: datetime
) -> None:
    """Open the occurrence's sign-up (see the module's notes); then change the cards."""
    services = sched.services
    guild = sched.client.get_guild(series.guild_id)
    async with services.sessions() as session:
        answers = await db.answers_of(session, occurrence.id)
    people = coming(answers, await interested(guild, occurrence))
    new = new_brew(
        sched.host,
        series.guild_id,
        series.channel_id or 0,
        series.facilitator_id or 0,
        brew_options(series),
    )
    for _ in range(ATTEMPTS):
        async with services.sessions() as session:
            if "open" in await db.done_keys(session, occurrence.id):
                return  # opened already (another process, or an earlier run)
            try:
                opened, role = await _open_in_one_transaction(
                    session, new, series, occurrence, people, now
                )
            except IntegrityError:
                # Marked meanwhile, or a brew number taken meanwhile: nothing was kept.
                await session.rollback()
                continue
        break
    else:
        raise RuntimeError(f"scheduled brew {occurrence.id}: could not open after retries")
    if opened.existing:
        await _joined_to_existing(sched, series, occurrence, opened, role)
    else:
        await _show_open_card(sched, series, occurrence, opened)
    log.info(
        "scheduled brew %s opened %s brew %s, %d joined",
        occurrence.id,
        "onto the open" if opened.existing else "as",
        opened.brew.id,
        len(people),
    )


async def _open_in_one_transaction(
    session: AsyncSession,
    new: NewBrew,
    series: SeriesInfo,
    occurrence: OccurrenceInfo,
    people: dict[int, Rsvp],
    now: datetime,
) -> tuple[Opened, int | None]:
    """The moment marked, the brew made (or the open one found), the people joined, the
    occurrence's status: committed together. Returns what was done and the facilitator role."""
    await db.mark_moment(session, occurrence.id, "open", now)
    existing = await db_brews.open_brew_in_channel(session, series.guild_id, series.channel_id or 0)
    if existing is None:
        brew = await db_brews.create_brew(session, new, commit=False)
        if occurrence.card_message_id is not None:
            await db.set_brew_card(session, brew.id, occurrence.card_message_id)
    else:
        brew = existing
    await db.join_people(session, brew.id, {u: r is Rsvp.TEXT for u, r in people.items()})
    await db.set_status(
        session, occurrence.id, "open" if existing is None else "joined", brew_id=brew.id
    )
    joined = len(await db.open_signups(session, brew.id) or [])
    settings = await read_settings(session, series.guild_id)
    await session.commit()
    return Opened(brew, joined, len(people), existing is not None), settings.facilitator_role_id


async def _show_open_card(
    sched: Scheduling, series: SeriesInfo, occurrence: OccurrenceInfo, opened: Opened
) -> None:
    """The sign-up-ahead card becomes ``/brew open``'s card, buttons and all."""
    channel = sched.client.get_channel(series.channel_id or 0)
    if occurrence.card_message_id is None or not isinstance(channel, discord.abc.Messageable):
        return
    try:
        await channel.get_partial_message(occurrence.card_message_id).edit(
            content=card_text(sched.host, opened.brew, opened.joined),
            view=card_view(sched.host, opened.brew),
            allowed_mentions=discord.AllowedMentions.none(),
        )
    except discord.HTTPException as exc:
        log.warning("scheduled brew %s: could not open its card (%s)", occurrence.id, exc)


async def _joined_to_existing(
    sched: Scheduling,
    series: SeriesInfo,
    occurrence: OccurrenceInfo,
    opened: Opened,
    facilitator_role_id: int | None,
) -> None:
    """No second card: the open one shows its new count, the sign-up-ahead card points to it,
    and the facilitators are told."""
    content, brew = sched.services.content, opened.brew
    link = message_link(series.guild_id, series.channel_id, brew.card_message_id)
    await edit_card(
        sched.client,
        series,
        brew.card_message_id,
        card_text(sched.host, brew, opened.joined),
        keep_buttons=True,
    )
    await edit_card(
        sched.client,
        series,
        occurrence.card_message_id,
        content.format(
            "schedule.card_joined_elsewhere",
            title=inert(series.title),
            starts=stamp(occurrence.starts_at, "F"),
            brew=brew.number,
            card_link=link,
        ),
    )
    mentions, users, roles = facilitators(series, facilitator_role_id)
    text = content.format(
        "schedule.opened_elsewhere",
        facilitators=mentions or "Facilitators",
        title=inert(series.title),
        brew=brew.number,
        count=opened.coming,
        card_link=link,
    )
    await tell_channel(sched.client, series.channel_id, text, users=users, roles=roles)


__all__ = ["Opened", "open_card"]
