"""Scheduled and recurring brews: when each thing happens, and whether it is still worth doing.

A scheduled brew is a series of one or more occurrences. For each occurrence this module gives
the plan (reminders, the moment the sign-up card opens, the start), decides what is due at a
given ``now`` (after a restart too), and counts who is coming. It knows nothing of Discord or
the database: the shell stores which moments are done and asks :func:`due_steps` what to do.

Time rules:

* The start of each occurrence is an absolute instant. Repeats keep the local wall time of the
  first start across summer-time changes (a 7pm brew stays at 7pm), using
  :func:`bot.core.when.localize` for times the clocks skip or repeat. Monthly repeats fall on the
  same day of the month, or the month's last day when it is shorter (31 January, 28 February,
  31 March...).
* Offsets before the start (reminders, the card opening) and the brew's length are durations,
  so they follow ``[timing] speed`` like every other duration: at speed 60 a reminder 15 minutes
  ahead comes 15 seconds before the start.

"Pointless now" rules (what :func:`due_steps` returns when moments were missed, for example
while the bot was down):

* A reminder whose moment has passed is sent once, late, if the brew has not started yet. If
  several reminders are overdue, only the latest (closest to the start) is sent and the others
  are skipped, so nobody gets two reminders at once.
* A reminder is never sent after the start: it is skipped.
* Opening the card and starting happen late if the brew would still be running; once the brew
  would have ended, opening is skipped and the start is reported as missed so the facilitators
  can be told.
* Reminders go only to people who said they would come before the reminder's moment (a person
  who answers after it is not sent it late); see :func:`reminder_recipients`.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

from bot.core.when import localize

MAX_OCCURRENCES = 52
MAX_SIGNUP_MINUTES = 120
#: Longest reminder offset: a week ahead.
MAX_REMINDER_MINUTES = 7 * 24 * 60
DEFAULT_REMINDER_MINUTES = (1440, 15)
DEFAULT_SIGNUP_MINUTES = 15
#: People needed (joined or in the main voice channel) for a brew to start by itself.
MIN_TO_START = 2


class Repeat(StrEnum):
    ONCE = "once"
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    MONTHLY = "monthly"


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    total = year * 12 + (month - 1) + months
    return total // 12, total % 12 + 1


def occurrence_start(first: datetime, repeat: Repeat, index: int, zone: tzinfo) -> datetime:
    """The start of occurrence ``index`` (0 is ``first``), at ``first``'s wall time in ``zone``."""
    if first.tzinfo is None:
        raise ValueError("first must be timezone-aware")
    if index < 0:
        raise ValueError("index must be 0 or more")
    local = first.astimezone(zone)
    if index == 0 or repeat is Repeat.ONCE:
        if index and repeat is Repeat.ONCE:
            raise ValueError("a brew that happens once has only occurrence 0")
        return local
    wall = local.replace(tzinfo=None)
    if repeat is Repeat.WEEKLY:
        wall += timedelta(weeks=index)
    elif repeat is Repeat.FORTNIGHTLY:
        wall += timedelta(weeks=2 * index)
    else:
        year, month = _add_months(wall.year, wall.month, index)
        day = min(wall.day, calendar.monthrange(year, month)[1])
        wall = wall.replace(year=year, month=month, day=day)
    at, _ = localize(wall, zone)
    return at


def occurrence_starts(
    first: datetime, repeat: Repeat, occurrences: int, zone: tzinfo
) -> list[datetime]:
    """Every start of a series, in order."""
    count = 1 if repeat is Repeat.ONCE else occurrences
    return [occurrence_start(first, repeat, i, zone) for i in range(count)]


def series_problem(repeat: Repeat, occurrences: int) -> str | None:
    """A content key explaining why this series cannot be made, or None when it can."""
    if not 1 <= occurrences <= MAX_OCCURRENCES:
        return "schedule.occurrences_range"
    if repeat is Repeat.ONCE and occurrences != 1:
        return "schedule.occurrences_need_repeat"
    return None


def next_index(index: int, occurrences: int) -> int | None:
    """The occurrence created when occurrence ``index`` starts, or None when the series is done."""
    return index + 1 if index + 1 < occurrences else None


def scaled(minutes: float, speed: float) -> timedelta:
    """A duration in minutes at ``[timing] speed`` (as :meth:`bot.clock.Clock.scaled`)."""
    if speed <= 0:
        raise ValueError("speed must be positive")
    return timedelta(seconds=minutes * 60 / speed)


class MomentKind(StrEnum):
    REMINDER = "reminder"
    OPEN = "open"
    START = "start"


#: At the same instant the card opens first (a reminder then finds people already joined), and
#: the start comes last.
_KIND_ORDER = {MomentKind.OPEN: 0, MomentKind.REMINDER: 1, MomentKind.START: 2}


@dataclass(frozen=True)
class Moment:
    """One thing that happens by itself. ``minutes_before`` is the unscaled offset."""

    kind: MomentKind
    at: datetime
    minutes_before: int = 0

    @property
    def key(self) -> str:
        """Stable name to store once done (``reminder-1440``, ``open``, ``start``)."""
        if self.kind is MomentKind.REMINDER:
            return f"reminder-{self.minutes_before}"
        return self.kind.value


@dataclass(frozen=True)
class Plan:
    """The moments of one occurrence, in the order they happen, and when the brew would end.

    All instants are in UTC (what the database stores and the timer compares).
    """

    start: datetime
    end: datetime
    moments: tuple[Moment, ...]

    def moment(self, key: str) -> Moment | None:
        return next((m for m in self.moments if m.key == key), None)

    @property
    def reminders(self) -> tuple[Moment, ...]:
        return tuple(m for m in self.moments if m.kind is MomentKind.REMINDER)


def normal_reminders(minutes: Iterable[int]) -> tuple[int, ...]:
    """Reminder offsets checked, without repeats, furthest first."""
    values = sorted(set(minutes), reverse=True)
    for value in values:
        if not 1 <= value <= MAX_REMINDER_MINUTES:
            raise ValueError(f"a reminder must be 1 to {MAX_REMINDER_MINUTES} minutes ahead")
    return tuple(values)


def plan_occurrence(
    start: datetime,
    *,
    length_minutes: int,
    signup_minutes: int = DEFAULT_SIGNUP_MINUTES,
    reminder_minutes: Iterable[int] = DEFAULT_REMINDER_MINUTES,
    speed: float = 1.0,
    scheduled_at: datetime | None = None,
) -> Plan:
    """The plan for an occurrence starting at ``start``.

    Reminders whose moment is at or before ``scheduled_at`` (when the facilitator scheduled it)
    are left out: a day-ahead reminder makes no sense for a brew planned two hours ahead, and
    nobody can have answered before it anyway.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if not 0 <= signup_minutes <= MAX_SIGNUP_MINUTES:
        raise ValueError(f"signup_minutes must be 0 to {MAX_SIGNUP_MINUTES}")
    if length_minutes <= 0:
        raise ValueError("length_minutes must be positive")
    # Durations are real elapsed time, so subtract in UTC: Python does arithmetic on an aware
    # local datetime on the wall clock, which is an hour out across a summer-time change (and
    # could put "15 minutes before 02:00" after 02:00 on the spring-forward night).
    start = start.astimezone(UTC)
    moments = [
        Moment(MomentKind.REMINDER, start - scaled(m, speed), m)
        for m in normal_reminders(reminder_minutes)
    ]
    if scheduled_at is not None:
        moments = [m for m in moments if m.at > scheduled_at]
    moments.append(Moment(MomentKind.OPEN, start - scaled(signup_minutes, speed), signup_minutes))
    moments.append(Moment(MomentKind.START, start, 0))
    moments.sort(key=lambda m: (m.at, _KIND_ORDER[m.kind], -m.minutes_before))
    return Plan(start=start, end=start + scaled(length_minutes, speed), moments=tuple(moments))


class Verdict(StrEnum):
    #: Do it now (on time, or late but still useful).
    DO = "do"
    #: Pointless now and nobody needs telling (a late reminder, opening after the end).
    SKIP = "skip"
    #: Pointless now and the facilitators are told (a start after the brew would have ended).
    MISSED = "missed"


@dataclass(frozen=True)
class Step:
    moment: Moment
    verdict: Verdict
    #: How long after its moment this is being decided (zero or more).
    late_by: timedelta


def due_steps(plan: Plan, *, done: Collection[str], now: datetime) -> list[Step]:
    """What to do now for every moment that has come and is not in ``done``, in order.

    The caller marks each returned step's ``moment.key`` as done whatever the verdict, in the
    same transaction that records its effect, so nothing happens twice.
    """
    pending = [m for m in plan.moments if m.key not in done and m.at <= now]
    latest_reminder = max(
        (m for m in pending if m.kind is MomentKind.REMINDER),
        key=lambda m: m.at,
        default=None,
    )
    steps = []
    for moment in pending:
        if moment.kind is MomentKind.REMINDER:
            useful = now < plan.start and moment is latest_reminder
            verdict = Verdict.DO if useful else Verdict.SKIP
        elif moment.kind is MomentKind.OPEN:
            verdict = Verdict.DO if now < plan.end else Verdict.SKIP
        else:
            verdict = Verdict.DO if now < plan.end else Verdict.MISSED
        steps.append(Step(moment, verdict, now - moment.at))
    return steps


def next_moment(plan: Plan, *, done: Collection[str], now: datetime) -> Moment | None:
    """The next moment still to come (for the timer), or None when all are done or due."""
    return next((m for m in plan.moments if m.key not in done and m.at > now), None)


class StartOutcome(StrEnum):
    #: Start the brew as ``/brew start`` would.
    START = "start"
    #: Fewer than two people: tell the facilitators, the card stays open.
    TOO_FEW = "too_few"
    #: ``auto_start`` is off: ping the facilitators to start it.
    PING = "ping"


def start_outcome(
    *, auto_start: bool, joined: Iterable[int], in_voice: Iterable[int]
) -> StartOutcome:
    """What happens at the start time; people joined and in the main voice count once each."""
    if not auto_start:
        return StartOutcome.PING
    people = set(joined) | set(in_voice)
    return StartOutcome.START if len(people) >= MIN_TO_START else StartOutcome.TOO_FEW


# ---------------------------------------------------------------------- answers on the card
class Rsvp(StrEnum):
    VOICE = "voice"
    TEXT = "text"
    CANT = "cant"


@dataclass(frozen=True)
class Answer:
    """A person's answer on the sign-up-ahead card.

    ``coming_since`` is when they first said they would come (kept when they switch between
    voice and text, cleared when they say they can't come): reminders before it are not theirs.
    """

    choice: Rsvp
    answered_at: datetime
    coming_since: datetime | None


def answer(previous: Answer | None, choice: Rsvp, now: datetime) -> Answer:
    """The answer after a person presses ``choice`` at ``now``."""
    if choice is Rsvp.CANT:
        return Answer(choice, now, None)
    since = previous.coming_since if previous is not None else None
    return Answer(choice, now, since or now)


def coming(answers: Mapping[int, Answer], interested: Iterable[int] = ()) -> dict[int, Rsvp]:
    """Who is coming and how. People "Interested" in the Discord event who have not answered
    the card count as coming by voice; an answer on the card always wins."""
    out: dict[int, Rsvp] = {
        uid: a.choice for uid, a in answers.items() if a.choice is not Rsvp.CANT
    }
    for uid in interested:
        if uid not in answers:
            out[uid] = Rsvp.VOICE
    return out


@dataclass(frozen=True)
class Tally:
    voice: int
    text: int
    cant: int
    #: Of ``voice``: people counted from the Discord event's Interested list.
    interested_only: int

    @property
    def coming(self) -> int:
        return self.voice + self.text


def tally(answers: Mapping[int, Answer], interested: Iterable[int] = ()) -> Tally:
    interested_only = {uid for uid in interested if uid not in answers}
    choices = [a.choice for a in answers.values()]
    return Tally(
        voice=choices.count(Rsvp.VOICE) + len(interested_only),
        text=choices.count(Rsvp.TEXT),
        cant=choices.count(Rsvp.CANT),
        interested_only=len(interested_only),
    )


def reminder_recipients(answers: Mapping[int, Answer], reminder: Moment) -> list[int]:
    """People to remind at ``reminder``: they said they would come at or before its moment.

    People only "Interested" in the Discord event are left out: Discord notifies them itself,
    and Brew Host does not know when they pressed it.
    """
    return sorted(
        uid
        for uid, a in answers.items()
        if a.coming_since is not None and a.coming_since <= reminder.at
    )


def cancel_recipients(answers: Mapping[int, Answer]) -> list[int]:
    """Everyone who said they would come (told once, privately, when it is cancelled)."""
    return sorted(uid for uid, a in answers.items() if a.choice is not Rsvp.CANT)
