"""Creating and starting brews: the steps between a facilitator's command and open rooms."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass

import discord

from bot.core.anonymity import new_secret
from bot.core.content import Content
from bot.core.grouping import ApartConstraintError, Group, GroupingError, Person, plan_groups
from bot.core.messages import stamp_rel
from bot.core.phases import Phase, PlanError, Timing
from bot.core.text import check_length, check_text, inert
from bot.db import brews as db_brews
from bot.db.brews import (
    BrewChanges,
    BrewInfo,
    BrewOverview,
    NewBrew,
    PlannedRoom,
    SignupInfo,
)
from bot.db.settings import read_settings
from bot.shell.errors import UserFacingError
from bot.shell.mixing import mixing_inputs, remember_pairs
from bot.shell.protocols import Host
from bot.shell.rooms import (
    OpenReport,
    Progress,
    RoomOpener,
    brew_channels,
    check_bot_can_open,
    load_for_opening,
)

log = logging.getLogger(__name__)

QUESTION_LIMIT = 500
TITLE_LIMIT = 80
DEFAULT_TITLE = "Over A Brew"
MAX_PERSPECTIVES = 5
PERSPECTIVE_LIMIT = 40  # the database column's width
NO_BREW = "You aren't running a brew in this server right now. Start one with /brew start."


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
    cleaned = (check_text("perspective", p, None) for p in text.split(","))
    labels = tuple(dict.fromkeys(inert(p) for p in cleaned if p))
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
    bot: Host, guild_id: int, channel_id: int, facilitator_id: int, options: BrewOptions
) -> NewBrew:
    """A brew with the options checked and the defaults filled in (not yet numbered)."""
    if not options.question:
        raise UserFacingError(
            "Please give the question for this brew, for example: What's missing?"
        )
    question = check_length("question", options.question, QUESTION_LIMIT)
    title = check_length("title", options.title or DEFAULT_TITLE, TITLE_LIMIT)
    defaults = bot.config.brew
    return NewBrew(
        guild_id=guild_id,
        channel_id=channel_id,
        facilitator_id=facilitator_id,
        question=question,
        title=title,
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
        perspectives=tuple(options.perspectives),
    )


def overrides(options: BrewOptions) -> BrewChanges:
    """/brew start may change an open brew's settings at the last moment (checked here)."""
    return BrewChanges(
        question=(
            check_length("question", options.question, QUESTION_LIMIT) if options.question else None
        ),
        title=check_length("title", options.title, TITLE_LIMIT) if options.title else None,
        group_size=options.group_size or None,
        length_s=options.length_minutes * 60 if options.length_minutes else None,
        turn_s=options.turn_seconds or None,
        think_s=options.think_seconds,
    )


def pick_brew(brews: Sequence[BrewInfo], user_id: int, number: int | None) -> BrewInfo:
    """Which running brew a control means: the one named, else the one this facilitator runs,
    else the only one running here. Several and none named is a question back, not a guess."""
    if number is not None:
        for brew in brews:
            if brew.number == number:
                return brew
        raise UserFacingError(f"Brew {number} is not running in this server.")
    mine = [b for b in brews if b.facilitator_id == user_id] or list(brews)
    if not mine:
        raise UserFacingError(NO_BREW)
    if len(mine) > 1:
        numbers = ", ".join(str(b.number) for b in mine)
        raise UserFacingError(
            f"Several brews are running ({numbers}). Say which one with the brew option."
        )
    return mine[0]


async def create_brew(bot: Host, new: NewBrew) -> BrewInfo:
    """Save a new brew with the server's next number."""
    async with bot.services.sessions() as session:
        return await db_brews.create_brew(session, new)


async def open_signup_card(bot: Host, new: NewBrew) -> BrewInfo:
    """``/brew open``: refuse a second card in one channel, else save the new brew."""
    async with bot.services.sessions() as session:
        existing = await db_brews.open_brew_in_channel(session, new.guild_id, new.channel_id)
        if existing is not None:
            raise UserFacingError(
                f"Brew {existing.number} is already taking sign-ups in this channel. "
                "Start it with /brew start, or end it with /brew end."
            )
        return await db_brews.create_brew(session, new)


def check_timing(timing: Timing, largest_group: int) -> None:
    try:
        timing.check_fits(largest_group)
    except PlanError as exc:
        raise UserFacingError(
            f"{exc} Try length:{exc.shortest_minutes} or more, smaller groups, or shorter turns."
        ) from None


def gather_people(
    signups: Sequence[SignupInfo],
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
    bot: Host,
    guild: discord.Guild,
    brew_id: int,
    people: Sequence[Person],
    *,
    progress: Progress | None = None,
) -> tuple[BrewInfo, OpenReport]:
    """Group people, save the plan, then open the rooms. Refusals happen before anything exists."""
    assert bot.runner is not None
    services = bot.services
    if len(people) < 2:
        raise UserFacingError(
            "A brew needs at least two people. Ask people to press Join on the sign-up card or to "
            "join your voice channel, then try again."
        )
    remember = services.config.privacy.remember_brews
    async with services.sessions() as session:
        brew = await db_brews.get_brew(session, brew_id)
        assert brew is not None
        settings = await read_settings(session, guild.id)
        recent, apart = await mixing_inputs(
            session, guild.id, [int(p.key) for p in people], remember
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
        check_timing(brew.timing, max(len(g.members) for g in groups))
        check_bot_can_open(
            guild, len(groups), brew_channels(guild, brew, settings.main_voice_channel_id)
        )
        now = services.clock.now()
        brew = await db_brews.mark_started(
            session,
            brew_id,
            now=now,
            # The key for "has this person already left a reflection?"; destroyed when the
            # reflection window closes (see bot/core/anonymity.py).
            secret=new_secret(),
            participants=len(people),
            rooms=plan_rooms(groups, people, brew.seed),
        )
        await remember_pairs(session, guild.id, brew_id, groups, now.date(), remember)
        await session.commit()
    # The room opener (bot/shell/rooms.py) works on the rows it loads itself.
    opened_brew, rooms = await load_for_opening(services, brew_id)
    opener = RoomOpener(
        bot.runner,
        guild,
        opened_brew,
        rooms,
        groups,
        services=services,
        facilitator_role_id=settings.facilitator_role_id,
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


def plan_rooms(groups: Sequence[Group], people: Sequence[Person], seed: int) -> list[PlannedRoom]:
    """Each group's room: a speaking order shuffled from the brew's seed, and who is text only."""
    order_rng = random.Random(seed + 1)
    text_only = frozenset(int(p.key) for p in people if p.text_only)
    rooms = []
    for group in groups:
        order = list(group.members)
        order_rng.shuffle(order)
        rooms.append(
            PlannedRoom(
                turns_in_text=group.turns_in_text,
                order=tuple(int(k) for k in order),
                members=tuple(int(k) for k in group.members),
                text_only=text_only,
            )
        )
    return rooms


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


def card_text(bot: Host, brew: BrewInfo, count: int) -> str:
    content = bot.services.content
    text = content.format(
        "signup.card", title=inert(brew.title), question=inert(brew.question), count=count
    )
    if brew.perspectives:
        text += "\n" + content.format(
            "signup.card_perspectives", perspectives=", ".join(inert(p) for p in brew.perspectives)
        )
    return text


def status_lines(content: Content, found: BrewOverview) -> list[str]:
    """``/brew status``: a heading, then one line per room in plain words."""
    brew = found.brew
    lines = [f"**Brew {brew.number}: {brew.title}**" + (" (paused)" if brew.paused_at else "")]
    for room in found.rooms:
        state = room.state
        if room.status == "failed":
            lines.append(f"Room {room.index + 1}: ended early.")
            continue
        if room.status == "opening":
            lines.append(f"Room {room.index + 1}: opening.")
            continue
        phase = (
            content.phases[state.phase.value].name
            if state.phase.value in content.phases
            else ("finished" if state.phase in (Phase.AFTER, Phase.DONE) else state.phase.value)
        )
        where = f"<#{room.text_channel_id}>" if room.text_channel_id else f"Room {room.index + 1}"
        line = f"{where}: {phase}"
        if state.phase not in (Phase.AFTER, Phase.DONE):
            line += f", ends {stamp_rel(state.phase_ends_at)}"
        line += f"; {state.turns_taken} of {len(state.order)} have had their turn."
        lines.append(line)
    return lines
