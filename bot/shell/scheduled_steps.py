"""The steps of a scheduled brew, run in order when they fall due.

:func:`run_due` is called by :class:`bot.shell.scheduling.Scheduling` (under its per-occurrence
lock) when the occurrence's timer fires or at start-up. For each step
:func:`bot.core.schedule.due_steps` returns, the moment is first marked done in the database
(:func:`bot.db.scheduling.claim_moment`), in the same commit as what the step changes there;
only a step this process marked is carried out, so nothing happens twice. Messages go out
after the commit: a crash between the two loses a reminder rather than sending it twice.

The steps themselves: :mod:`bot.shell.scheduled_reminders`, :mod:`bot.shell.scheduled_opening`
(which marks its moment in its own single transaction), :mod:`bot.shell.scheduled_starting`;
the Discord event is kept in step by :mod:`bot.shell.scheduled_events`.
"""

from __future__ import annotations

from bot.core.schedule import MomentKind, Verdict, due_steps, next_index, occurrence_start
from bot.db import scheduling as db
from bot.shell.scheduled_context import NextOccurrence, Scheduling, plan_of
from bot.shell.scheduled_opening import open_card
from bot.shell.scheduled_reminders import remind
from bot.shell.scheduled_starting import start_or_tell


async def run_due(sched: Scheduling, occurrence_id: int) -> list[NextOccurrence]:
    """Every step due now, in order; returns the next occurrence to make, if one is due."""
    services = sched.services
    async with services.sessions() as session:
        found = await db.get_occurrence(session, occurrence_id)
        done = await db.done_keys(session, occurrence_id)
    if found is None or found[1].status not in db.ACTIVE:
        return []
    series, occurrence = found
    now = sched.now()
    made: list[NextOccurrence] = []
    for step in due_steps(plan_of(series, occurrence), done=done, now=now):
        kind, key = step.moment.kind, step.moment.key
        if kind is MomentKind.OPEN and step.verdict is Verdict.DO:
            await open_card(sched, series, occurrence, now)
        else:
            async with services.sessions() as session:
                claimed = await db.claim_moment(session, occurrence_id, key, now)
                if kind is MomentKind.START and claimed and step.verdict is Verdict.MISSED:
                    await db.set_status(session, occurrence_id, "missed")
                await session.commit()
            if not claimed:
                continue
            if kind is MomentKind.REMINDER and step.verdict is Verdict.DO:
                await remind(sched, series, occurrence, step.moment)
            elif kind is MomentKind.START:
                await start_or_tell(sched, series, occurrence_id, step.verdict)
        if kind is MomentKind.START:
            index = next_index(occurrence.index, series.occurrences)
            if index is not None and series.cancelled_at is None:
                zone = services.config.timing.zone()
                start = occurrence_start(series.first_start, series.repeat, index, zone)
                made.append((series, index, start))
        async with services.sessions() as session:
            refreshed = await db.get_occurrence(session, occurrence_id)
        if refreshed is not None:
            series, occurrence = refreshed
    return made


__all__ = ["run_due"]
