"""Creating and starting brews: the steps between a facilitator's command and open rooms."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord

from bot.core.anonymity import new_secret
from bot.core.grouping import ApartConstraintError, GroupingError, Person, plan_groups
from bot.core.phases import PlanError
from bot.core.text import check_length, inert
from bot.db import repo
from bot.db.models import Brew, Membership, Room, Signup
from bot.shell.errors import UserFacingError
from bot.shell.mixing import mixing_inputs, remember_pairs
from bot.shell.rooms import (
    OpenReport,
    Progress,
    RoomOpener,
    brew_channels,
    check_bot_can_open,
)

if TYPE_CHECKING:
    from bot.shell.app import BrewBot

log = logging.getLogger(__name__)

QUESTION_LIMIT = 500
TITLE_LIMIT = 80
DEFAULT_TITLE = "Over A Brew"
MAX_PERSPECTIVES = 5
PERSPECTIVE_LIMIT = 40  # the database column's width


@dataclass(frozen=True)
class BrewOptions:
    """What a facilitator may set per brew; None means "the server's default"."""

    question: str | None = None
    title: str | None = None
    group_size: int | None = None
    length_minutes: int | None = None
    turn_seconds: int | None = None
    think_seconds: int | None = None
    perspectives: tuple[str, ...] = ()


def parse_perspectives(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    labels = tuple(dict.fromkeys(inert(p.strip()) for p in text.split(",") if p.strip()))
    if len(labels) > MAX_PERSPECTIVES:
        raise UserFacingError("Please give at most 5 perspectives, separated by commas.")
    too_long = [label for label in labels if len(label) > PERSPECTIVE_LIMIT]
    if too_long:
        raise UserFacingError(
            f"Please keep each perspective to {PERSPECTIVE_LIMIT} characters or fewer "
            f'("{too_long[0][:20]}..." is longer).'
        )
    return labels


def new_brew(
    bot: BrewBot, guild_id: int, channel_id: int, facilitator_id: int, options: BrewOptions
) -> Brew:
    """A brew row with the options checked and the defaults filled in (not yet numbered)."""
    if not options.question:
        raise UserFacingError(
            "Please give the question for this brew, for example: What's missing?"
        )
    question = check_length("question", options.question, QUESTION_LIMIT)
    title = check_length("title", options.title or DEFAULT_TITLE, TITLE_LIMIT)
    defaults = bot.config.brew
    return Brew(
        guild_id=guild_id,
        channel_id=channel_id,
        facilitator_id=facilitator_id,
        question=question,
        title=title,
        status="open",
        group_size=options.group_size or defaults.group_size,
        length_s=(options.length_minutes or defaults.length_minutes) * 60,
        arrive_s=defaults.arrive_seconds,
        think_s=defaults.think_seconds if options.think_seconds is None else options.think_seconds,
        turn_s=options.turn_seconds or defaults.turn_seconds,
        nudge_s=defaults.nudge_seconds,
        still_s=defaults.still_seconds,
        close_s=defaults.close_seconds,
        min_reflect_s=defaults.min_reflect_seconds,
        cleanup_s=defaults.cleanup_minutes * 60,
        speed=bot.services.clock.speed,
        seed=bot.services.seed(),
        perspectives=list(options.perspectives),
        category_ids=[],
    )


def apply_overrides(brew: Brew, options: BrewOptions) -> None:
    """/brew start may change an open brew's settings at the last moment."""
    if options.question:
        brew.question = check_length("question", options.question, QUESTION_LIMIT)
    if options.title:
        brew.title = check_length("title", options.title, TITLE_LIMIT)
    if options.group_size:
        brew.group_size = options.group_size
    if options.length_minutes:
        brew.length_s = options.length_minutes * 60
    if options.turn_seconds:
        brew.turn_s = options.turn_seconds
    if options.think_seconds is not None:
        brew.think_s = options.think_seconds


def check_timing(brew: Brew, largest_group: int) -> None:
    timing = repo.timing_of(brew)
    try:
        timing.check_fits(largest_group)
    except PlanError as exc:
        raise UserFacingError(
            f"{exc} Try length:{exc.shortest_minutes} or more, smaller groups, or shorter turns."
        ) from None


def gather_people(
    signups: Sequence[Signup],
    voice_members: Sequence[discord.Member],
    facilitator_id: int,
    include_me: bool,
) -> list[Person]:
    """Signed-up people plus those in the facilitator's voice channel; bots never, the
    facilitator only when they ask to be included."""
    people: dict[int, Person] = {}
    for s in signups:
        people[s.user_id] = Person(str(s.user_id), text_only=s.text_only, perspective=s.perspective)
    for m in voice_members:
        if not m.bot and m.id not in people:
            people[m.id] = Person(str(m.id))
    if not include_me:
        people.pop(facilitator_id, None)
    elif facilitator_id not in people:
        people[facilitator_id] = Person(str(facilitator_id))
    return [people[k] for k in sorted(people)]


async def start_brew(
    bot: BrewBot,
    guild: discord.Guild,
    brew_id: int,
    people: Sequence[Person],
    *,
    progress: Progress | None = None,
) -> tuple[Brew, OpenReport]:
    """Group people, save the plan, then open the rooms. Refusals happen before anything exists."""
    assert bot.runner is not None
    services = bot.services
    if len(people) < 2:
        raise UserFacingError(
            "A brew needs at least two people. Ask people to press Join on the sign-up card or to "
            "join your voice channel, then try again."
        )
    async with services.sessions() as session:
        brew = await repo.load_brew(session, brew_id)
        assert brew is not None
        settings = await repo.settings_for(session, guild.id)
        recent, apart = await mixing_inputs(
            session, guild.id, [int(p.key) for p in people], services.config.privacy.remember_brews
        )
        try:
            groups = plan_groups(
                people,
                brew.group_size,
                rng=random.Random(brew.seed),
                recent_pairs=recent,
                apart=apart,
            )
        except ApartConstraintError as exc:
            raise UserFacingError(apart_refusal(exc)) from None
        except GroupingError as exc:
            raise UserFacingError(
                f"I couldn't make the groups: {exc} Nothing has been created."
            ) from None
        check_timing(brew, max(len(g.members) for g in groups))
        check_bot_can_open(
            guild, len(groups), brew_channels(guild, brew, settings.main_voice_channel_id)
        )
        order_rng = random.Random(brew.seed + 1)
        text_only = {p.key for p in people if p.text_only}
        now = services.clock.now()
        brew.status = "running"
        brew.started_at = now
        # The key for "has this person already left a reflection?"; destroyed when the
        # reflection window closes (see bot/core/anonymity.py).
        brew.reflection_secret = new_secret()
        brew.participants = len(people)
        brew.rooms_count = len(groups)
        for index, group in enumerate(groups):
            order = list(group.members)
            order_rng.shuffle(order)
            room = Room(
                brew_id=brew.id,
                index=index,
                turns_in_text=group.turns_in_text,
                status="opening",
                turn_order=[int(k) for k in order],
                phase="arrive",
                step=0,
                outbox_seq=0,
            )
            room.members = [
                Membership(brew_id=brew.id, user_id=int(k), text_only=k in text_only)
                for k in group.members
            ]
            session.add(room)
        await remember_pairs(
            session, brew, groups, now.date(), services.config.privacy.remember_brews
        )
        facilitator_role_id = settings.facilitator_role_id
        await session.commit()
        rooms = await repo.rooms_of(session, brew_id)
    opener = RoomOpener(
        bot.runner,
        guild,
        brew,
        rooms,
        groups,
        facilitator_role_id=facilitator_role_id,
        progress=progress,
    )
    report = await opener.open()
    log.info(
        "brew %s: %d rooms ready, %d failed, %d moved, in %.2fs",
        brew.id,
        report.rooms_ready,
        report.rooms_failed,
        report.moved,
        report.seconds,
    )
    if report.rooms_ready == 0:
        await opener.give_up()
        raise UserFacingError(
            "I couldn't open any of the rooms, so this brew has not started: Discord refused or "
            "asked me to wait too long. Everyone involved was told in this channel. Please try "
            "/brew start again in a few minutes."
        )
    await bot.runner.maybe_finish_brew(brew.id)
    return brew, report


def apart_refusal(exc: ApartConstraintError) -> str:
    """Say which keep-apart notes stop the grouping, naming people as Discord shows them
    (this reply is private to the facilitator and pings nobody)."""
    pairs = "; ".join(f"<@{a}> and <@{b}>" for a, b in exc.pairs)
    certainty = (
        "There is no way to make these rooms"
        if exc.proven
        else "I could not find a way to make these rooms"
    )
    return (
        f"{certainty} without putting people together who are marked to be kept apart: {pairs}. "
        "Try a different group size, or check the notes with the people involved "
        "(/brew apart_clear removes one). Nothing has been created."
    )


def card_text(bot: BrewBot, brew: Brew, count: int) -> str:
    content = bot.services.content
    text = content.format(
        "signup.card", title=inert(brew.title), question=inert(brew.question), count=count
    )
    if brew.perspectives:
        text += "\n" + content.format(
            "signup.card_perspectives", perspectives=", ".join(inert(p) for p in brew.perspectives)
        )
    return text
