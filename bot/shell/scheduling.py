"""Scheduled brews in the shell: the sign-up-ahead card, its buttons, and the timers that run
each occurrence by itself (reminders, the card opening, the start).

The rules (when, what is still worth doing, who is reminded) are the pure core's
(:mod:`bot.core.schedule`); this module carries them out against Discord and the database:

* :meth:`Scheduling.schedule` saves a series and its first occurrence, posts the card, adds the
  Discord scheduled event and sets the occurrence's one timer (key ``sched-<id>``) at its next
  moment.
* When the timer fires, and once for each occurrence at start-up (:meth:`Scheduling.recover`),
  :meth:`Scheduling.run_due` asks :func:`~bot.core.schedule.due_steps` what is due and does each
  step (:mod:`bot.shell.scheduled_steps`, which calls the reminders, the opening and the
  start in their own modules). Each step is first marked done in the database (a
  row whose primary key is the occurrence and the moment), so two timers, two processes or a
  restart never do a step twice.
* The answers on the card (:meth:`answer`) and the calendar file (:meth:`send_calendar`).
"""

from __future__ import annotations

import io
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import discord

from bot.core.calendar_file import CalendarBrew, brew_ics, ics_filename, occurrence_uid
from bot.core.content import Content
from bot.core.schedule import Answer, Rsvp, answer, cancel_recipients, next_moment, tally
from bot.core.text import inert
from bot.db import scheduling as db
from bot.db.scheduling import NewSeries, OccurrenceInfo, SeriesInfo
from bot.services import Services
from bot.shell.errors import UserFacingError, report_component_error
from bot.shell.keyed_locks import KeyedLocks
from bot.shell.protocols import Host
from bot.shell.scheduled_cards import ahead_card, close_ahead_card
from bot.shell.scheduled_context import plan_of
from bot.shell.scheduled_events import create_event, event_status, interested
from bot.shell.scheduled_messages import tell_each
from bot.shell.scheduled_steps import run_due
from bot.shell.timers import Timers
from bot.shell.ui.schedule import rsvp_view

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scheduled:
    """What ``/brew schedule`` made: the series, its first occurrence, and the event note."""

    series: SeriesInfo
    occurrence: OccurrenceInfo
    #: Why the brew is not in the server's Events list (None: it is).
    event_problem: str | None


class Scheduling:
    """Scheduled brews for one bot process (``BrewBot.scheduling``)."""

    def __init__(self, client: discord.Client, host: Host, timers: Timers) -> None:
        self.client = client
        self.host = host
        self.timers = timers
        #: Per occurrence, so its steps never run twice at once; kept only while in use.
        self._locks: KeyedLocks[int] = KeyedLocks()

    @property
    def services(self) -> Services:
        return self.host.services

    def now(self) -> datetime:
        return self.services.clock.now()

    # ------------------------------------------------------------------ scheduling
    async def schedule(
        self, guild: discord.Guild, channel: discord.abc.Messageable, new: NewSeries
    ) -> Scheduled:
        """Save the series, post its first card, add the Discord event and set the timer."""
        async with self.services.sessions() as session:
            series, occurrence = await db.create_series(session, new, self.now())
        occurrence, problem = await self._publish(guild, series, occurrence, channel)
        return Scheduled(series, occurrence, problem)

    async def _publish(
        self,
        guild: discord.Guild,
        series: SeriesInfo,
        occurrence: OccurrenceInfo,
        channel: discord.abc.Messageable | None = None,
    ) -> tuple[OccurrenceInfo, str | None]:
        """Post an occurrence's card, add its event, set its timer."""
        if channel is None:
            found = guild.get_channel(series.channel_id or 0)
            channel = found if isinstance(found, discord.abc.Messageable) else None
        content = self.services.content
        if channel is not None and occurrence.card_message_id is None:
            text = ahead_card(content, series, occurrence, plan_of(series, occurrence), {})
            message = await channel.send(
                text,
                view=rsvp_view(content, occurrence.id),
                allowed_mentions=discord.AllowedMentions.none(),
            )
            async with self.services.sessions() as session:
                await db.set_card_message(session, occurrence.id, message.id)
        problem = None
        if occurrence.discord_event_id is None:
            problem = await create_event(
                self.services, guild, series, occurrence, plan_of(series, occurrence)
            )
        async with self.services.sessions() as session:
            found_again = await db.get_occurrence(session, occurrence.id)
        assert found_again is not None
        await self.arm(occurrence.id)
        return found_again[1], problem

    # ------------------------------------------------------------------ timers
    def _key(self, occurrence_id: int) -> str:
        return f"sched-{occurrence_id}"

    async def arm(self, occurrence_id: int) -> None:
        """Set the occurrence's one timer at its next moment (or clear it when none is left)."""
        async with self.services.sessions() as session:
            found = await db.get_occurrence(session, occurrence_id)
            done = await db.done_keys(session, occurrence_id)
        key = self._key(occurrence_id)
        if found is None or found[1].status not in db.ACTIVE:
            self.timers.cancel(key)
            return
        series, occurrence = found
        moment = next_moment(plan_of(series, occurrence), done=done, now=self.now())
        if moment is None:
            self.timers.cancel(key)
            return
        self.timers.at(key, moment.at, lambda: self.run_due(occurrence_id))

    async def recover(self) -> None:
        """At start-up: do once what fell due while the bot was down, then set every timer."""
        await self.client.wait_until_ready()
        async with self.services.sessions() as session:
            found = await db.active_occurrences(session)
        mine = {guild.id for guild in self.client.guilds}
        ids = [occurrence_id for occurrence_id, guild_id in found if guild_id in mine]
        for occurrence_id in ids:
            await self.run_due(occurrence_id)
        log.info("recovered %d scheduled brews", len(ids))

    async def run_due(self, occurrence_id: int) -> None:
        """Do every step that is due now for this occurrence, in order, then re-arm."""
        async with self._locks.hold(occurrence_id):
            try:
                made = await run_due(self, occurrence_id)
            finally:
                await self.arm(occurrence_id)
        for series, index, starts_at in made:
            await self.add_next(series, index, starts_at)

    async def add_next(self, series: SeriesInfo, index: int, starts_at: datetime) -> None:
        """The next occurrence of a repeating series (made once, whoever asks first)."""
        guild = self.client.get_guild(series.guild_id)
        async with self.services.sessions() as session:
            occurrence = await db.add_occurrence(session, series.id, index, starts_at, self.now())
        if occurrence is None or guild is None:
            return
        await self._publish(guild, series, occurrence)

    # ------------------------------------------------------------------ the card's buttons
    async def answer(
        self, interaction: discord.Interaction, occurrence_id: int, choice: Rsvp
    ) -> None:
        """A press of "I'll come" or "Can't come after all": answered first, saved, the card's
        counts updated, and the person told privately."""
        await interaction.response.defer()
        try:
            async with self.services.sessions() as session:
                found = await db.get_occurrence(session, occurrence_id)
                if found is None or found[1].status != "planned":
                    raise UserFacingError(self.services.content.text("signup.not_open"))
                answers = await db.answers_of(session, occurrence_id)
                new = answer(answers.get(interaction.user.id), choice, self.now())
                await db.save_answer(session, occurrence_id, interaction.user.id, new)
                answers[interaction.user.id] = new
            series, occurrence = found
            await self._refresh_card(interaction, series, occurrence, answers)
            key = {Rsvp.VOICE: "answered_voice", Rsvp.TEXT: "answered_text"}.get(
                choice, "answered_cant"
            )
            await interaction.followup.send(
                self.services.content.text(f"schedule.{key}"), ephemeral=True
            )
        except Exception as exc:
            await report_component_error(interaction, exc)

    async def _refresh_card(
        self,
        interaction: discord.Interaction,
        series: SeriesInfo,
        occurrence: OccurrenceInfo,
        answers: dict[int, Answer],
    ) -> None:
        guild = interaction.guild
        who = await interested(guild, occurrence) if guild is not None else []
        text = ahead_card(
            self.services.content,
            series,
            occurrence,
            plan_of(series, occurrence),
            answers,
            who,
        )
        try:
            await interaction.edit_original_response(
                content=text, view=rsvp_view(self.services.content, occurrence.id)
            )
        except discord.HTTPException as exc:
            log.info("could not update the sign-up-ahead card: %s", exc)

    async def send_calendar(self, interaction: discord.Interaction, occurrence_id: int) -> None:
        """ "Add to my calendar": the brew as an ``.ics`` file, privately."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            async with self.services.sessions() as session:
                found = await db.get_occurrence(session, occurrence_id)
            if found is None:
                raise UserFacingError(self.services.content.text("signup.not_open"))
            series, occurrence = found
            data, name = calendar_file(self.services, series, occurrence)
            await interaction.followup.send(
                self.services.content.text("schedule.calendar_sent"),
                file=discord.File(io.BytesIO(data), filename=name),
                ephemeral=True,
            )
        except Exception as exc:
            await report_component_error(interaction, exc)

    # ------------------------------------------------------------------ commands
    async def upcoming_lines(self, guild: discord.Guild) -> list[str]:
        """``/brew upcoming``: a line per occurrence still to come (none: the "none" text)."""
        content = self.services.content
        async with self.services.sessions() as session:
            items = await db.upcoming(session, guild.id)
        if not items:
            return [content.text("schedule.upcoming_none")]
        lines = [content.text("schedule.upcoming_heading")]
        for series, occurrence, answers in items:
            counts = tally(answers, await interested(guild, occurrence))
            stamp = int(occurrence.starts_at.timestamp())
            lines.append(
                content.format(
                    "schedule.upcoming_line",
                    number=occurrence.number,
                    title=inert(series.title),
                    starts=f"<t:{stamp}:F>",
                    voice=counts.voice,
                    text=counts.text,
                )
            )
        return lines

    async def cancel(self, guild: discord.Guild, number: int, all_future: bool) -> int:
        """``/brew cancel_scheduled``: cancel one occurrence (or the rest of its series); each
        person who said they would come is told once, privately. Returns how many."""
        content = self.services.content
        async with self.services.sessions() as session:
            occurrence = await db.occurrence_by_number(session, guild.id, number)
            if occurrence is None or occurrence.status != "planned":
                if occurrence is not None and occurrence.status in ("open", "joined"):
                    raise UserFacingError(content.format("schedule.cancel_open", number=number))
                raise UserFacingError(content.format("schedule.cancel_missing", number=number))
            found = await db.get_occurrence(session, occurrence.id)
            assert found is not None
            series = found[0]
            cancelled = await db.cancel_occurrences(
                session, occurrence, all_future=all_future, now=self.now()
            )
            told: set[int] = set()
            notices: list[tuple[int, OccurrenceInfo]] = []
            for item in cancelled:
                for user_id in cancel_recipients(await db.answers_of(session, item.id)):
                    if user_id not in told:
                        told.add(user_id)
                        notices.append((user_id, item))
        for item in cancelled:
            self.timers.cancel(self._key(item.id))
            await close_ahead_card(self.client, content, series, item)
            await event_status(guild, item, "cancel")
        by_occurrence: defaultdict[int, list[int]] = defaultdict(list)
        for user_id, item in notices:
            by_occurrence[item.id].append(user_id)
        for item in cancelled:
            people = by_occurrence.get(item.id)
            if not people:
                continue
            fields = {
                "title": inert(series.title),
                "starts": f"<t:{int(item.starts_at.timestamp())}:F>",
                "channel": f"<#{series.channel_id}>",
            }
            await tell_each(
                self.client,
                series.channel_id,
                people,
                content.format("schedule.cancelled_notice", **fields),
                _filled(content, "schedule.cancelled_fallback", fields),
            )
        return len(cancelled)

    # ------------------------------------------------------------------ brews ending
    async def brew_ended(self, brew_id: int) -> None:
        """A brew that began as a scheduled occurrence has ended: its event is completed."""
        async with self.services.sessions() as session:
            occurrence = await db.occurrence_by_brew(session, brew_id)
        if occurrence is None:
            return
        guild = self.client.get_guild(occurrence.guild_id)
        if guild is not None:
            await event_status(guild, occurrence, "end")


def _filled(content: Content, key: str, fields: dict[str, str]) -> Callable[[str], str]:
    """``key`` with ``fields`` and the mentions given later (a channel fallback's text)."""
    return lambda mentions: content.format(key, mentions=mentions, **fields)


def calendar_file(
    services: Services, series: SeriesInfo, occurrence: OccurrenceInfo
) -> tuple[bytes, str]:
    """The ``.ics`` bytes and file name for one occurrence."""
    zone = services.config.timing.zone()
    plan = plan_of(series, occurrence)
    link = f"https://discord.com/channels/{series.guild_id}/{series.channel_id}"
    brew = CalendarBrew(
        uid=occurrence_uid(series.guild_id, occurrence.id),
        title=series.title,
        description=services.content.format(
            "schedule.calendar_description",
            title=series.title,
            question=series.question,
            link=link,
        ),
        url=link,
        start=plan.start,
        end=plan.end,
    )
    data = brew_ics(brew, zone=zone, stamp=services.clock.now())
    return data, ics_filename(series.title, plan.start.astimezone(zone))


__all__ = ["Scheduled", "Scheduling", "calendar_file", "plan_of"]
