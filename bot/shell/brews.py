"""Creating and starting brews: the steps between a facilitator's command and open rooms."""

from __future__ import annotations

import logging
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import discord
from sqlalchemy.exc import IntegrityError

from bot.core.anonymity import new_secret
from bot.core.content import Content
from bot.core.grouping import ApartConstraintError, Group, GroupingError, Person, plan_groups
from bot.core.messages import stamp_rel
from bot.core.phases import Phase, PlanError, Timing
from bot.core.text import check_length, check_text, inert
from bot.db import brews as db_brews
from bot.db import starts as db_starts
from bot.db.brews import (
    BrewChanges,
    BrewInfo,
    BrewOverview,
    NewBrew,
    PlannedRoom,
    SignupInfo,
)
from bot.db.session import reading
from bot.db.settings import ServerSettings, read_settings
from bot.db.starts import BrewBusy
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


#: Brews each bot is starting right now, by ``id(services)``: a "starting" brew missing here
#: was left so by a crash and may be taken over (see :func:`bot.db.brews.claim_open_brew`).
_in_flight: dict[int, set[int]] = {}

#: Tries at saving a plan when another start took some of the same people meanwhile.
PLAN_ATTEMPTS = 3


def starting_now(bot: Host) -> set[int]:
    return _in_flight.setdefault(id(bot.services), set())


def busy_text(exc: BrewBusy) -> str:
    """What a second start (or a late press) hears about the brew that got there first."""
    if exc.status == "starting":
        return (
            f"Brew {exc.number} is already starting, so I haven't started it again. "
            "Use /brew status in a moment to see how it's going."
        )
    if exc.status == "running":
        return f"Brew {exc.number} has already started. Use /brew status to see how it's going."
    return f"Brew {exc.number} is no longer taking sign-ups, so there is nothing to start."


@dataclass(frozen=True)
class Claimed:
    """A brew this start holds (status "starting"), and who had signed up on its card."""

    brew: BrewInfo
    signups: list[SignupInfo]
    from_card: bool


@dataclass(frozen=True)
class Started:
    brew: BrewInfo
    report: OpenReport
    #: People left out because they are already in another running brew here -> its number.
    left_out: dict[int, int] = field(default_factory=dict)


async def claim_brew(
    bot: Host, guild_id: int, channel_id: int, facilitator_id: int, options: BrewOptions
) -> Claimed:
    """``/brew start``'s first step: take this channel's sign-up card (open -> starting, with
    who signed up, in one transaction), or make a new brew already starting. A second start
    hears that the brew is already starting, and is never recorded on it."""
    in_flight = starting_now(bot)
    async with bot.services.sessions() as session:
        try:
            claimed = await db_starts.claim_open_brew(
                session,
                guild_id,
                channel_id,
                facilitator_id,
                overrides(options),
                in_flight=in_flight,
                now=bot.services.clock.now(),
            )
        except BrewBusy as exc:
            raise UserFacingError(busy_text(exc)) from None
        if claimed is None and not options.question:
            latest = await db_brews.latest_in_channel(session, guild_id, channel_id)
            if latest is not None and latest.status == "running":
                raise UserFacingError(busy_text(BrewBusy(latest.id, latest.number, "running")))
    if claimed is not None:
        brew, signups = claimed
        return Claimed(brew, signups, from_card=True)
    new = new_brew(bot, guild_id, channel_id, facilitator_id, options)
    async with bot.services.sessions() as session:
        brew = await db_brews.create_brew(
            session, new, status="starting", in_flight=in_flight, now=bot.services.clock.now()
        )
    return Claimed(brew, [], from_card=False)


async def give_back(bot: Host, claimed: Claimed) -> None:
    """Refused before anything was made: the card takes sign-ups again (everyone still signed
    up); a brew made by this start is deleted, number and all."""
    try:
        async with bot.services.sessions() as session:
            if claimed.from_card:
                await db_starts.release_start(session, claimed.brew.id)
            else:
                await db_brews.discard_unstarted(session, claimed.brew.id)
    except Exception:
        log.exception("brew %s: could not give the refused start back", claimed.brew.id)


async def start_brew(
    bot: Host,
    guild: discord.Guild,
    claimed: Claimed,
    voice_members: Sequence[discord.Member],
    *,
    facilitator_id: int,
    include_me: bool = False,
    progress: Progress | None = None,
) -> Started:
    """Group people, save the plan, then open the rooms. Refusals happen before anything
    exists and give the brew back; a start Discord refuses outright puts it back to open."""
    try:
        people = gather_people(claimed.signups, voice_members, facilitator_id, include_me)
        try:
            brew, groups, settings, left_out = await _save_plan(bot, guild, claimed, people)
        except BaseException:
            await give_back(bot, claimed)
            raise
        return await _open_rooms(bot, guild, claimed, brew, groups, settings, left_out, progress)
    finally:
        starting_now(bot).discard(claimed.brew.id)


def _too_few(people: Sequence[Person], left_out: dict[int, int]) -> UserFacingError:
    if not left_out:
        return UserFacingError(
            "A brew needs at least two people. Ask people to press Join on the sign-up card or "
            "to join your voice channel, then try again."
        )
    numbers = sorted(set(left_out.values()))
    if len(numbers) == 1:
        return UserFacingError(
            f"Brew {numbers[0]} is already starting with these people, so I haven't started "
            "another: nobody can be in two brews at once. Use /brew status to see it."
        )
    listed = ", ".join(str(n) for n in numbers)
    return UserFacingError(
        f"These people are already in brews {listed}, so fewer than two are left to start "
        "with: nobody can be in two brews at once. Use /brew status to see them."
    )


async def _save_plan(
    bot: Host, guild: discord.Guild, claimed: Claimed, people: Sequence[Person]
) -> tuple[BrewInfo, list[Group], ServerSettings, dict[int, int]]:
    """Plan the groups of everyone not already in another running brew here, and save the
    plan (starting -> running, rooms, memberships claiming each person, pair history) in one
    transaction. If another start claimed some of the same people meanwhile, the database's
    unique claim refuses this one; it then plans again without them."""
    services = bot.services
    remember = services.config.privacy.remember_brews
    brew_id = claimed.brew.id
    for _ in range(PLAN_ATTEMPTS):
        async with reading(services.sessions) as session:
            left_out = await db_starts.busy_people(session, guild.id, [int(p.key) for p in people])
            here = [p for p in people if int(p.key) not in left_out]
            if len(here) < 2:
                raise _too_few(here, left_out)
            brew = await db_brews.get_brew(session, brew_id)
            assert brew is not None
            settings = await read_settings(session, guild.id)
            recent, apart = await mixing_inputs(
                session, guild.id, [int(p.key) for p in here], remember
            )
        groups = _plan(brew, here, recent, apart)
        check_timing(brew.timing, max(len(g.members) for g in groups))
        check_bot_can_open(
            guild, len(groups), brew_channels(guild, brew, settings.main_voice_channel_id)
        )
        # The reads and the planning above hold no connection and no write lock while the
        # groups are worked out. A claim made meanwhile by another start is caught by the
        # unique claim index, and the brew's status by ``mark_started``. On SQLite the writes
        # wait for the file's one write lock in its busy handler (up to 30 s), never on
        # ``Services.writing``: room batches take a connection and then that lock, so a start
        # taking them the other way round could leave each waiting on the other.
        async with services.sessions() as session:
            now = services.clock.now()
            try:
                brew = await db_starts.mark_started(
                    session,
                    brew_id,
                    now=now,
                    # The key for "has this person already left a reflection?"; destroyed when
                    # the reflection window closes (see bot/core/anonymity.py).
                    secret=new_secret(),
                    participants=len(here),
                    rooms=plan_rooms(groups, here, brew.seed),
                )
                await remember_pairs(session, guild.id, brew_id, groups, now.date(), remember)
                await session.commit()
            except IntegrityError:
                log.info("brew %s: someone was claimed by another start; planning again", brew_id)
                await session.rollback()
                continue
            except BrewBusy as exc:
                raise UserFacingError(busy_text(exc)) from None
        return brew, groups, settings, left_out
    raise UserFacingError(
        "Another brew was starting with the same people at the same moment. Nothing has been "
        "created; please try /brew start again."
    )


def _plan(
    brew: BrewInfo,
    people: Sequence[Person],
    recent: Mapping[frozenset[str], float],
    apart: Collection[frozenset[str]],
) -> list[Group]:
    try:
        return plan_groups(
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


def refused_text(brew: BrewInfo, claimed: Claimed, why: str) -> str:
    """A start Discord refused: said plainly, with what is kept and what to do next."""
    kept = "its question and everyone who signed up" if claimed.from_card else "its question"
    card = " The sign-up card is taking sign-ups again." if claimed.from_card else ""
    return (
        f"{why} Brew {brew.number} has not started; it is open again with {kept}.{card} "
        "Please try /brew start again in a few minutes."
    )


async def _open_rooms(
    bot: Host,
    guild: discord.Guild,
    claimed: Claimed,
    brew: BrewInfo,
    groups: Sequence[Group],
    settings: ServerSettings,
    left_out: dict[int, int],
    progress: Progress | None,
) -> Started:
    assert bot.runner is not None
    services = bot.services
    # The room opener (bot/shell/rooms.py) works on the rows it loads itself.
    opened_brew, rooms = await load_for_opening(services, brew.id)
    opener = RoomOpener(
        bot.runner,
        guild,
        opened_brew,
        rooms,
        groups,
        services=services,
        facilitator_role_id=settings.facilitator_role_id,
        progress=progress,
        main_voice_channel_id=settings.main_voice_channel_id,
        client=bot if isinstance(bot, discord.Client) else None,
    )
    try:
        report = await opener.open()
    except UserFacingError as exc:
        # Refused before any room existed (the category); the opener tidied what it made.
        await _undo_refused(bot, brew)
        raise UserFacingError(refused_text(brew, claimed, str(exc))) from None
    log.info(
        "brew %s: %d rooms ready, %d failed, %d moved, %d joined by themselves, in %.2fs",
        brew.id,
        report.rooms_ready,
        report.rooms_failed,
        report.moved,
        report.joined,
        report.seconds,
    )
    if report.rooms_ready == 0:
        await opener.give_up()
        await _undo_refused(bot, brew)
        raise UserFacingError(
            refused_text(
                brew,
                claimed,
                "I couldn't open any of the rooms: Discord refused or asked me to wait too "
                "long. Everyone involved was told in this channel.",
            )
        )
    await bot.runner.maybe_finish_brew(brew.id)
    return Started(brew, report, left_out)


async def _undo_refused(bot: Host, brew: BrewInfo) -> None:
    """Back to open with its sign-ups, as if the start had not been tried."""
    async with bot.services.sessions() as session:
        undone = await db_starts.undo_refused_start(session, brew.id, keep_card=True)
    if not undone:
        log.warning("brew %s: a refused start could not be undone (a room ran)", brew.id)


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
