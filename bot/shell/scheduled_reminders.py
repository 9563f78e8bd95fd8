"""A scheduled brew's reminders: by direct message to each person who said they would come
before the reminder's moment, and one message in the brew's channel, mentioning only them, for
those whose DMs are closed."""

from __future__ import annotations

import logging

from bot.core.schedule import Moment, reminder_recipients
from bot.core.text import inert
from bot.db import scheduling as db
from bot.db.scheduling import OccurrenceInfo, SeriesInfo
from bot.shell.scheduled_context import Scheduling, card_link, stamp
from bot.shell.scheduled_messages import tell_each

log = logging.getLogger(__name__)


async def remind(
    sched: Scheduling, series: SeriesInfo, occurrence: OccurrenceInfo, moment: Moment
) -> None:
    """Send one reminder (its moment already marked done, so it is sent at most once)."""
    content = sched.services.content
    async with sched.services.sessions() as session:
        answers = await db.answers_of(session, occurrence.id)
    people = reminder_recipients(answers, moment)
    fields = {
        "title": inert(series.title),
        "question": inert(series.question),
        "starts": stamp(occurrence.starts_at, "F"),
        "starts_rel": stamp(occurrence.starts_at, "R"),
        "card_link": card_link(series, occurrence),
        "channel": f"<#{series.channel_id}>",
    }
    refused = await tell_each(
        sched.client,
        series.channel_id,
        people,
        content.format("schedule.reminder", **fields),
        lambda mentions: content.format("schedule.reminder_fallback", mentions=mentions, **fields),
    )
    log.info(
        "scheduled brew %s: reminder %s sent to %d (%d in the channel)",
        occurrence.id,
        moment.key,
        len(people),
        len(refused),
    )


__all__ = ["remind"]
