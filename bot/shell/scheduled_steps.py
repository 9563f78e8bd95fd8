"""The steps of a scheduled brew, carried out: reminders, opening the card, the start, a missed
start; and the Discord scheduled event kept in step.

:func:`run_due` is called by :class:`bot.shell.scheduling.Scheduling` (under its per-occurrence
lock) when a timer fires or at start-up. For each step :func:`bot.core.schedule.due_steps`
returns, the moment is first marked done in the database (:func:`bot.db.scheduling.claim_moment`),
in the same commit as what the step changes there; only a step this process marked is carried
out, so nothing happens twice. Messages go out after the commit: a crash between the two loses
a reminder rather than sending it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

import discord

from bot.core.content import Content
from bot.core.schedule import (
    Answer,
    Moment,
    MomentKind,
    Plan,
    Rsvp,
    StartOutcome,
    Verdict,
    coming,
    due_steps,
    next_index,
    occurrence_start,
    plan_occurrence,
    reminder_recipients,
    start_outcome,
    tally,
)
from bot.core.text import inert
from bot.db import brews as db_brews
from bot.db import scheduling as db
from bot.db.scheduling import OccurrenceInfo, SeriesInfo
from bot.db.settings import read_settings
from bot.permissions import can_create_events
from bot.services import Services
from bot.shell.brews import (
    BrewOptions,
    card_text,
    claim_brew,
    give_back,
    new_brew,
    start_brew,
)
from bot.shell.errors import UserFacingError, only_pinging
from bot.shell.protocols import Host
from bot.shell.ui.signup import card_view

log = logging.getLogger(__name__)

#: Discord's limits for a scheduled event's name and description.
EVENT_NAME_LIMIT = 100
EVENT_DESCRIPTION_LIMIT = 1000

#: The next occurrence to make: (series, its index, its start).
NextOccurrence = tuple[SeriesInfo, int, datetime]


class Scheduling(Protocol):
    """What the steps use of :class:`bot.shell.scheduling.Scheduling`."""

    client: discord.Client
    host: Host

    @property
    def services(self) -> Services: ...

    def now(self) -> datetime: ...


def plan_of(series: SeriesInfo, occurrence: OccurrenceInfo) -> Plan:
    """The moments of one occurrence, as :mod:`bot.core.schedule` plans them."""
    return plan_occurrence(
        occurrence.starts_at,
        length_minutes=max(series.length_s // 60, 1),
        signup_minutes=series.signup_minutes,
        reminder_minutes=series.reminder_minutes,
        speed=series.speed,
        scheduled_at=occurrence.created_at,
    )


def stamp(at: datetime, style: str) -> str:
    return f"<t:{int(at.timestamp())}:{style}>"


def card_link(series: SeriesInfo, occurrence: OccurrenceInfo) -> str:
    base = f"https://discord.com/channels/{series.guild_id}/{series.channel_id}"
    return f"{base}/{occurrence.card_message_id}" if occurrence.card_message_id else base


# ---------------------------------------------------------------------- the card
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


async def close_ahead_card(
    client: discord.Client, content: Content, series: SeriesInfo, occurrence: OccurrenceInfo
) -> None:
    """A cancelled occurrence's card says so, without buttons."""
    channel = client.get_channel(series.channel_id or 0)
    if occurrence.card_message_id is None or not isinstance(channel, discord.abc.Messageable):
        return
    text = content.format(
        "schedule.card_cancelled",
        title=inert(series.title),
        starts=stamp(occurrence.starts_at, "F"),
    )
    try:
        await channel.get_partial_message(occurrence.card_message_id).edit(content=text, view=None)
    except discord.HTTPException as exc:
        log.info("could not close a sign-up-ahead card: %s", exc)


# ---------------------------------------------------------------------- messages
async def direct_message(client: discord.Client, user_id: int, text: str) -> bool:
    """Send ``text`` privately; False when Discord refuses (DMs closed, unknown user)."""
    try:
        user = client.get_user(user_id) or await client.fetch_user(user_id)
        await user.send(text, allowed_mentions=discord.AllowedMentions.none())
    except discord.HTTPException as exc:
        log.info("could not send a direct message (%s)", exc.status)
        return False
    return True


async def tell_channel(
    client: discord.Client,
    channel_id: int | None,
    text: str,
    *,
    users: Sequence[int] = (),
    roles: Sequence[int] = (),
) -> None:
    """Post in the brew's channel, pinging exactly ``users`` and ``roles``."""
    channel = client.get_channel(channel_id or 0)
    if not isinstance(channel, discord.abc.Messageable):
        log.warning("scheduled brew: nowhere to post in channel %s", channel_id)
        return
    try:
        await channel.send(text, allowed_mentions=only_pinging(users=users, roles=roles))
    except discord.HTTPException as exc:
        log.warning("scheduled brew: could not post in channel %s (%s)", channel_id, exc)


# ---------------------------------------------------------------------- the Discord event
async def _event(guild: discord.Guild, event_id: int) -> discord.ScheduledEvent | None:
    try:
        return guild.get_scheduled_event(event_id) or await guild.fetch_scheduled_event(event_id)
    except discord.HTTPException as exc:
        log.info("could not read scheduled event %s (%s)", event_id, exc.status)
        return None


async def create_event(
    services: Services,
    guild: discord.Guild,
    series: SeriesInfo,
    occurrence: OccurrenceInfo,
    plan: Plan,
) -> str | None:
    """Add the occurrence to the server's Events list; returns why it could not (or None)."""
    content = services.content
    voice = guild.get_channel(series.voice_channel_id or 0)
    if not isinstance(voice, discord.VoiceChannel):
        problem = (
            "The brew is scheduled, but it is not in the server's Events list: no main voice "
            "channel is set. A server admin can choose one with /brew settings."
        )
        async with services.sessions() as session:
            await db.set_event(session, occurrence.id, None, "no main voice channel")
        return problem
    needs = content.format("schedule.event_permission", channel=f"<#{voice.id}>")
    me = guild.me
    perms = voice.permissions_for(me) if me is not None else discord.Permissions.none()
    allowed = can_create_events(perms.value) and perms.view_channel and perms.connect
    event_id: int | None = None
    error: str | None = None
    if allowed:
        description = content.format(
            "schedule.event_description",
            title=series.title,
            question=series.question,
            channel=f"#{getattr(guild.get_channel(series.channel_id or 0), 'name', 'brews')}",
        )
        try:
            event = await guild.create_scheduled_event(
                name=series.title[:EVENT_NAME_LIMIT],
                start_time=plan.start,
                end_time=plan.end,
                channel=voice,
                entity_type=discord.EntityType.voice,
                privacy_level=discord.PrivacyLevel.guild_only,
                description=description[:EVENT_DESCRIPTION_LIMIT],
                reason="Brew Host: a scheduled brew",
            )
            event_id = event.id
        except discord.Forbidden:
            error = "missing permission"
        except discord.HTTPException as exc:
            log.warning("could not create a scheduled event: %s", exc)
            error = f"Discord refused: {exc.text}"[:200]
    else:
        error = "missing permission"
    async with services.sessions() as session:
        await db.set_event(session, occurrence.id, event_id, error)
    return None if event_id is not None else needs


async def interested(guild: discord.Guild | None, occurrence: OccurrenceInfo) -> list[int]:
    """Who pressed "Interested" on the occurrence's event, read through REST (discord.py drops
    those gateway events without the members intent)."""
    if guild is None or occurrence.discord_event_id is None:
        return []
    event = await _event(guild, occurrence.discord_event_id)
    if event is None:
        return []
    try:
        return [user.id async for user in event.users(limit=None) if not user.bot]
    except discord.HTTPException as exc:
        log.info("could not read who is interested (%s)", exc.status)
        return []


async def event_status(guild: discord.Guild, occurrence: OccurrenceInfo, action: str) -> None:
    """Keep the event in step: ``start`` (active), ``end`` (completed), ``cancel``."""
    if occurrence.discord_event_id is None:
        return
    event = await _event(guild, occurrence.discord_event_id)
    if event is None:
        return
    scheduled = discord.EventStatus.scheduled
    try:
        if action == "cancel" and event.status is scheduled:
            await event.cancel(reason="Brew Host: the brew was cancelled")
        elif action in ("start", "end") and event.status is scheduled:
            event = await event.start(reason="Brew Host: the brew has started")
        if action == "end" and event.status is discord.EventStatus.active:
            await event.end(reason="Brew Host: the brew has ended")
    except discord.HTTPException as exc:
        log.info("could not change scheduled event %s (%s)", event.id, exc.status)


# ---------------------------------------------------------------------- the steps
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
            await _open(sched, series, occurrence, now)
        else:
            async with services.sessions() as session:
                claimed = await db.claim_moment(session, occurrence_id, key, now)
                if kind is MomentKind.START and claimed and step.verdict is Verdict.MISSED:
                    await db.set_status(session, occurrence_id, "missed")
                await session.commit()
            if not claimed:
                continue
            if kind is MomentKind.REMINDER and step.verdict is Verdict.DO:
                await _remind(sched, series, occurrence, step.moment)
            elif kind is MomentKind.START:
                await _start_or_tell(sched, series, occurrence_id, step.verdict)
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


async def _remind(
    sched: Scheduling, series: SeriesInfo, occurrence: OccurrenceInfo, moment: Moment
) -> None:
    """A reminder by direct message to each person who said they would come before it; one
    message in the channel, mentioning only them, for those whose DMs are closed."""
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
    text = content.format("schedule.reminder", **fields)
    refused = [uid for uid in people if not await direct_message(sched.client, uid, text)]
    if refused:
        mentions = " ".join(f"<@{uid}>" for uid in refused)
        fallback = content.format("schedule.reminder_fallback", mentions=mentions, **fields)
        await tell_channel(sched.client, series.channel_id, fallback, users=refused)
    log.info(
        "scheduled brew %s: reminder %s sent to %d (%d in the channel)",
        occurrence.id,
        moment.key,
        len(people),
        len(refused),
    )


async def _open(
    sched: Scheduling, series: SeriesInfo, occurrence: OccurrenceInfo, now: datetime
) -> None:
    """The card becomes ``/brew open``'s card, with everyone coming already joined."""
    services, host = sched.services, sched.host
    guild = sched.client.get_guild(series.guild_id)
    people = coming(await _answers(services, occurrence.id), await interested(guild, occurrence))
    options = BrewOptions(
        question=series.question,
        title=series.title,
        group_size=series.group_size,
        length_minutes=series.length_s // 60,
        turn_seconds=series.turn_s,
        think_seconds=series.think_s,
    )
    new = new_brew(
        host, series.guild_id, series.channel_id or 0, series.facilitator_id or 0, options
    )
    async with services.sessions() as session:
        if not await db.claim_moment(session, occurrence.id, "open", now):
            return
        brew = await db_brews.create_brew(session, new)  # commits the mark with the brew
        await db.join_people(session, brew.id, {u: r is Rsvp.TEXT for u, r in people.items()})
        await db.set_status(session, occurrence.id, "open", brew_id=brew.id)
        if occurrence.card_message_id is not None:
            await db_brews.set_card_message(session, brew.id, occurrence.card_message_id)
        await session.commit()
    channel = sched.client.get_channel(series.channel_id or 0)
    if occurrence.card_message_id is None or not isinstance(channel, discord.abc.Messageable):
        return
    try:
        await channel.get_partial_message(occurrence.card_message_id).edit(
            content=card_text(host, brew, len(people)),
            view=card_view(host, brew),
            allowed_mentions=discord.AllowedMentions.none(),
        )
    except discord.HTTPException as exc:
        log.warning("scheduled brew %s: could not open its card (%s)", occurrence.id, exc)
    log.info("scheduled brew %s opened as brew %s, %d joined", occurrence.id, brew.id, len(people))


async def _answers(services: Services, occurrence_id: int) -> dict[int, Answer]:
    async with services.sessions() as session:
        return await db.answers_of(session, occurrence_id)


async def _start_or_tell(
    sched: Scheduling, series: SeriesInfo, occurrence_id: int, verdict: Verdict
) -> None:
    """The start time: start as ``/brew start`` would, or tell the facilitators why not."""
    services, client, content = sched.services, sched.client, sched.services.content
    async with services.sessions() as session:
        found = await db.get_occurrence(session, occurrence_id)
        settings = await read_settings(session, series.guild_id)
    assert found is not None
    occurrence = found[1]
    guild = client.get_guild(series.guild_id)
    title = inert(series.title)
    if verdict is Verdict.MISSED:
        await tell_channel(
            client,
            series.channel_id,
            content.format("schedule.missed", title=title, starts=stamp(occurrence.starts_at, "F")),
        )
        if guild is not None:
            await event_status(guild, occurrence, "cancel")
        return
    signups = None
    if occurrence.brew_id is not None:
        async with services.sessions() as session:
            signups = await db.open_signups(session, occurrence.brew_id)
    if guild is None or signups is None:
        # Started by hand already (or the card was cancelled): nothing to start.
        async with services.sessions() as session:
            await db.set_status(session, occurrence_id, "started")
            await session.commit()
        return
    voice = guild.get_channel(series.voice_channel_id or settings.main_voice_channel_id or 0)
    in_voice = [m for m in getattr(voice, "members", []) if not m.bot]
    outcome = start_outcome(
        auto_start=series.auto_start,
        joined=[s.user_id for s in signups],
        in_voice=[m.id for m in in_voice],
    )
    link = card_link(series, occurrence)
    status = "due"
    if outcome is StartOutcome.START:
        facilitator = series.facilitator_id or 0
        assert occurrence.brew_id is not None
        try:
            # The same atomic first step as /brew start: the card moves from open to starting
            # with who signed up, so presses during the start are answered plainly.
            claimed = await claim_brew(
                sched.host, guild.id, series.channel_id or 0, facilitator, BrewOptions()
            )
            if claimed.brew.id != occurrence.brew_id:
                await give_back(sched.host, claimed)
                raise UserFacingError(
                    "another sign-up card is open in this channel. Start it with /brew start."
                )
            started = await start_brew(
                sched.host, guild, claimed, in_voice, facilitator_id=facilitator
            )
            brew, report = started.brew, started.report
        except UserFacingError as exc:
            await tell_channel(
                client, series.channel_id, f"{title} could not start by itself: {exc}"
            )
        else:
            status = "started"
            await _close_card(client, series, occurrence, brew.number)
            await event_status(guild, occurrence, "start")
            await tell_channel(
                client,
                series.channel_id,
                f"Brew {brew.number}, {title}, has started by itself: {report.rooms_ready} "
                f"{'room is' if report.rooms_ready == 1 else 'rooms are'} open for "
                f"{brew.participants} people. Facilitators can use /brew status to see how it "
                "is going.",
            )
    elif outcome is StartOutcome.TOO_FEW:
        count = len({s.user_id for s in signups} | {m.id for m in in_voice})
        await tell_channel(
            client,
            series.channel_id,
            content.format("schedule.too_few", title=title, count=count, card_link=link),
        )
    else:
        users = [series.facilitator_id] if series.facilitator_id else []
        roles = [settings.facilitator_role_id] if settings.facilitator_role_id else []
        mentions = " ".join([*(f"<@&{r}>" for r in roles), *(f"<@{u}>" for u in users)])
        text = content.format(
            "schedule.ping_start",
            facilitators=mentions or "Facilitators",
            title=title,
            count=len(signups),
            card_link=link,
        )
        await tell_channel(client, series.channel_id, text, users=users, roles=roles)
    async with services.sessions() as session:
        await db.set_status(session, occurrence_id, status)
        await session.commit()


async def _close_card(
    client: discord.Client, series: SeriesInfo, occurrence: OccurrenceInfo, number: int
) -> None:
    channel = client.get_channel(series.channel_id or 0)
    if occurrence.card_message_id is None or not isinstance(channel, discord.abc.Messageable):
        return
    try:
        await channel.get_partial_message(occurrence.card_message_id).edit(
            content=f"Brew {number} has started. Thank you for joining.", view=None
        )
    except discord.HTTPException as exc:
        log.info("could not close the sign-up card: %s", exc)
