"""A scheduled brew's start time: it starts as ``/brew start`` would (the same atomic claim of
the card, then the rooms), or the facilitators are told why not - too few joined, ``auto_start``
off, its people joined to another open card, or the start was missed while the bot was down.
"""

from __future__ import annotations

import logging

from bot.core.schedule import StartOutcome, Verdict, start_outcome
from bot.core.text import inert
from bot.db import brews as db_brews
from bot.db import scheduling as db
from bot.db.scheduling import OccurrenceInfo, SeriesInfo
from bot.db.settings import read_settings
from bot.shell.brews import BrewOptions, claim_brew, give_back, start_brew
from bot.shell.errors import UserFacingError
from bot.shell.scheduled_cards import edit_card
from bot.shell.scheduled_context import Scheduling, card_link, message_link, stamp
from bot.shell.scheduled_events import event_status
from bot.shell.scheduled_messages import facilitators, tell_channel

log = logging.getLogger(__name__)


async def missed(sched: Scheduling, series: SeriesInfo, occurrence: OccurrenceInfo) -> None:
    """The start came while the bot was down and the brew would have ended by now."""
    content = sched.services.content
    text = content.format(
        "schedule.missed", title=inert(series.title), starts=stamp(occurrence.starts_at, "F")
    )
    await tell_channel(sched.client, series.channel_id, text)
    guild = sched.client.get_guild(series.guild_id)
    if guild is not None:
        await event_status(guild, occurrence, "cancel")


async def start_or_tell(
    sched: Scheduling, series: SeriesInfo, occurrence_id: int, verdict: Verdict
) -> None:
    """The start time: start as ``/brew start`` would, or tell the facilitators why not. The
    occurrence ends as ``started`` (or ``missed``), or ``due`` when the card stays open."""
    services, client, content = sched.services, sched.client, sched.services.content
    async with services.sessions() as session:
        found = await db.get_occurrence(session, occurrence_id)
        settings = await read_settings(session, series.guild_id)
        brew = (
            await db_brews.get_brew(session, found[1].brew_id)
            if found and found[1].brew_id
            else None
        )
        signups = await db.open_signups(session, brew.id) if brew is not None else None
    assert found is not None
    occurrence = found[1]
    if verdict is Verdict.MISSED:
        await missed(sched, series, occurrence)
        return
    guild = client.get_guild(series.guild_id)
    if guild is None or brew is None or signups is None:
        # Started by hand already (or the card was ended): nothing to start.
        await _set_status(sched, occurrence_id, "started")
        return
    title = inert(series.title)
    voice = guild.get_channel(series.voice_channel_id or settings.main_voice_channel_id or 0)
    in_voice = [m for m in getattr(voice, "members", []) if not m.bot]
    own_card = occurrence.status == "open"
    outcome = start_outcome(
        # People joined to someone else's open card: that card is theirs to start.
        auto_start=series.auto_start and own_card,
        joined=[s.user_id for s in signups],
        in_voice=[m.id for m in in_voice],
    )
    link = (
        card_link(series, occurrence)
        if own_card
        else message_link(series.guild_id, series.channel_id, brew.card_message_id)
    )
    status = "due"
    if outcome is StartOutcome.START:
        facilitator = series.facilitator_id or 0
        try:
            # The same atomic first step as /brew start: the card moves from open to starting
            # with who signed up, so presses during the start are answered plainly.
            claimed = await claim_brew(
                sched.host, guild.id, series.channel_id or 0, facilitator, BrewOptions()
            )
            if claimed.brew.id != brew.id:
                await give_back(sched.host, claimed)
                raise UserFacingError(content.text("schedule.start_other_card"))
            started = await start_brew(
                sched.host, guild, claimed, in_voice, facilitator_id=facilitator
            )
        except UserFacingError as exc:
            text = content.format("schedule.start_refused", title=title, reason=str(exc))
            await tell_channel(client, series.channel_id, text)
        else:
            status = "started"
            number = started.brew.number
            await edit_card(
                client,
                series,
                occurrence.card_message_id,
                content.format("schedule.card_started", number=number),
            )
            await event_status(guild, occurrence, "start")
            text = content.format(
                "schedule.started",
                number=number,
                title=title,
                rooms=started.report.rooms_ready,
                count=started.brew.participants,
            )
            await tell_channel(client, series.channel_id, text)
    elif outcome is StartOutcome.TOO_FEW:
        count = len({s.user_id for s in signups} | {m.id for m in in_voice})
        await tell_channel(
            client,
            series.channel_id,
            content.format("schedule.too_few", title=title, count=count, card_link=link),
        )
    else:
        mentions, users, roles = facilitators(series, settings.facilitator_role_id)
        text = content.format(
            "schedule.ping_start",
            facilitators=mentions or "Facilitators",
            title=title,
            count=len(signups),
            card_link=link,
        )
        await tell_channel(client, series.channel_id, text, users=users, roles=roles)
    await _set_status(sched, occurrence_id, status)


async def _set_status(sched: Scheduling, occurrence_id: int, status: str) -> None:
    async with sched.services.sessions() as session:
        await db.set_status(session, occurrence_id, status)
        await session.commit()


__all__ = ["missed", "start_or_tell"]
