"""Reading the time a facilitator types for a scheduled brew.

People type times the way they say them: ``2026-12-08 14:00``, ``8/12/2026 2pm`` (day first, as
in the UK), ``tomorrow 14:00``, ``Tuesday 10:30``, ``today 9am``, ``in 2 hours``. A small parser
for these forms is kept here rather than a general date library: the forms are few, the rules
(day-first dates, which Tuesday, what a time the clocks skip means) must be ours and tested, and a
refusal must say exactly what was not understood.

Everything is read in the community's time zone (``[timing] timezone``) against an injected
``now``. The answer is either :class:`Understood` (an aware datetime in that zone) or
:class:`Refusal` (a content key and its fields, so the wording lives in the content file).

Rules worth knowing:

* A weekday name means the next such day after today: on a Tuesday, ``Tuesday 10:30`` is a week
  away (say ``today 10:30`` for today). ``next Tuesday`` means the same.
* A time with no date means today if that time is still ahead, otherwise tomorrow.
* A date with no year means the next time that date comes round.
* Summer time (see :func:`localize`): a time the clocks skip in spring (01:30 on the last Sunday
  of March in the UK) is moved forward by the skipped hour (02:30); a time that happens twice in
  autumn (01:30 on the last Sunday of October) means the first of the two (summer time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum

#: An example shown with every refusal, in the form that always works.
EXAMPLE = "2026-12-08 14:00"

#: How far ahead a brew may be planned; further is almost always a typing mistake in the year.
MAX_AHEAD = timedelta(days=366)

#: Discord's limit for the name of an autocomplete choice.
CHOICE_NAME_LIMIT = 100

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
#: Words that may stand around a date and a time without changing their meaning.
_FILLER = frozenset({"at", "on", "the", "of", "next", "this", "from", "starting"})


class LocalKind(StrEnum):
    """How a wall-clock time maps onto real time on its day."""

    NORMAL = "normal"
    #: The clocks skip this time (spring forward); it was moved on by the skipped length.
    SKIPPED = "skipped"
    #: The time happens twice (autumn back); the first, summer-time one was taken.
    REPEATED = "repeated"


def localize(naive: datetime, zone: tzinfo) -> tuple[datetime, LocalKind]:
    """Attach ``zone`` to a wall-clock time, applying the summer-time rule.

    * Skipped (spring gap): the time is moved forward by the length of the gap, so 01:30 on the
      UK's spring-forward night becomes 02:30 summer time. This is what the wall clock would show
      had nobody changed it, and keeps a brew on the day it was planned for.
    * Repeated (autumn fold): the first occurrence is taken (``fold=0``, still summer time), so
      the brew is not an hour later than the first time the clock shows it.
    """
    naive = naive.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    round_trip = first.astimezone(UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != naive:
        return round_trip, LocalKind.SKIPPED
    if first.utcoffset() != second.utcoffset():
        return first, LocalKind.REPEATED
    return first, LocalKind.NORMAL


@dataclass(frozen=True)
class Understood:
    """A time that was read: ``at`` is aware, in the community's zone, on a whole minute."""

    at: datetime
    text: str
    local: LocalKind = LocalKind.NORMAL


@dataclass(frozen=True)
class Refusal:
    """Why a time was refused: ``key`` is a content key under ``[schedule]``, ``fields`` fill it.

    Every refusal's fields include ``example`` (a form that always works) and ``text`` (what was
    typed), so the message can show both.
    """

    key: str
    fields: dict[str, str] = field(default_factory=dict)


Parsed = Understood | Refusal


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})(?:t(?=\d))?")
_NUM_DATE = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4}|\d{2})\b")
_SHORT_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})\b(?![/.]\d)")
_MONTH = (
    r"(january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)"
)
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_DAY_MONTH = re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}\b(?:,?\s+(\d{{4}}))?")
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+{_DAY}\b(?:,?\s+(\d{{4}}))?")
_WEEKDAY = re.compile(
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|mon|tues|tue|wed|thurs|thur|thu|fri|sat|sun)\b"
)
_RELATIVE_DAY = re.compile(r"\b(today|tonight|tomorrow|tmrw|tmr)\b")
_IN = re.compile(
    r"^\s*in\s+(an?|\d{1,3})\s+(min|mins|minute|minutes|hr|hrs|hour|hours|day|days|week|weeks)\s*$"
)
_TIME_12 = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)")
_TIME_24 = re.compile(r"\b(\d{1,2})[:.](\d{2})(?::(\d{2}))?\b")
_TIME_WORD = re.compile(r"\b(noon|midday|midnight)\b")


def _refuse(key: str, text: str, **fields: str) -> Refusal:
    return Refusal(key=f"schedule.{key}", fields={"text": text, "example": EXAMPLE, **fields})


def _month_number(word: str) -> int:
    for i, name in enumerate(_MONTHS, start=1):
        if name.startswith(word[:3]):
            return i
    raise ValueError(word)


def _weekday_number(word: str) -> int:
    for i, name in enumerate(_WEEKDAYS):
        if name.startswith(word[:3]):
            return i
    raise ValueError(word)


def _year(raw: str | None) -> int | None:
    if raw is None:
        return None
    value = int(raw)
    return 2000 + value if value < 100 else value


@dataclass
class _Found:
    """The parts found so far, and the text with them cut out."""

    rest: str
    day: date | None = None
    month_day: tuple[int, int] | None = None  # (day, month) without a year
    weekday: int | None = None
    relative_days: int | None = None
    at: time | None = None
    problem: str | None = None  # a content key when a part was recognised but impossible

    def cut(self, match: re.Match[str]) -> None:
        self.rest = self.rest[: match.start()] + " " + self.rest[match.end() :]


def _find_date(found: _Found) -> None:
    text = found.rest
    patterns: list[tuple[re.Pattern[str], str]] = [
        (_ISO_DATE, "ymd"),
        (_NUM_DATE, "dmy"),
        (_DAY_MONTH, "d mon y"),
        (_MONTH_DAY, "mon d y"),
        (_SHORT_DATE, "dm"),
    ]
    for pattern, form in patterns:
        match = pattern.search(text)
        if match is None:
            continue
        groups = match.groups()
        try:
            if form == "ymd":
                y, m, d = int(groups[0]), int(groups[1]), int(groups[2])
            elif form == "dmy":
                d, m, y = int(groups[0]), int(groups[1]), _year(groups[2]) or 0
            elif form == "d mon y":
                d, m = int(groups[0]), _month_number(groups[1])
                y = _year(groups[2]) or 0
            elif form == "mon d y":
                m, d = _month_number(groups[0]), int(groups[1])
                y = _year(groups[2]) or 0
            else:
                d, m, y = int(groups[0]), int(groups[1]), 0
            if y:
                found.day = date(y, m, d)
            else:
                date(2024, m, d)  # a leap year: 29 February is a real day-and-month
                found.month_day = (d, m)
        except ValueError:
            found.problem = "when_no_such_day"
        found.cut(match)
        break
    match = _RELATIVE_DAY.search(found.rest)
    if match is not None:
        found.relative_days = 1 if match.group(1).startswith(("tom", "tm")) else 0
        found.cut(match)
    match = _WEEKDAY.search(found.rest)
    if match is not None:
        found.weekday = _weekday_number(match.group(1))
        found.cut(match)


def _find_time(found: _Found) -> None:
    match = _TIME_12.search(found.rest)
    if match is not None:
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if not 1 <= hour <= 12 or minute > 59:
            found.problem = "when_no_such_time"
        else:
            hour = hour % 12 + (12 if match.group(3).startswith("p") else 0)
            found.at = time(hour, minute)
        found.cut(match)
        return
    match = _TIME_24.search(found.rest)
    if match is not None:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour > 23 or minute > 59 or int(match.group(3) or 0) > 59:
            found.problem = "when_no_such_time"
        else:
            found.at = time(hour, minute)
        found.cut(match)
        return
    match = _TIME_WORD.search(found.rest)
    if match is not None:
        found.at = time(0, 0) if match.group(1) == "midnight" else time(12, 0)
        found.cut(match)


def _relative(text: str, match: re.Match[str], now: datetime, zone: tzinfo) -> Parsed:
    count = 1 if match.group(1) in ("a", "an") else int(match.group(1))
    unit = match.group(2)
    now_local = now.astimezone(zone)
    if unit.startswith(("d", "w")):
        days = count * (7 if unit.startswith("w") else 1)
        wall = now_local.replace(tzinfo=None) + timedelta(days=days)
        at, kind = localize(wall, zone)
    else:
        # Real elapsed time: add in UTC (Python adds to an aware local time on the wall clock,
        # which would be an hour out across a summer-time change).
        minutes = count * (60 if unit.startswith("h") else 1)
        at, kind = now.astimezone(UTC) + timedelta(minutes=minutes), LocalKind.NORMAL
    if at.second or at.microsecond:
        at = at.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    return _checked(text, at.astimezone(zone), kind, now)


def _checked(text: str, at: datetime, kind: LocalKind, now: datetime) -> Parsed:
    if at <= now:
        return _refuse("when_past", text, understood=understood_as(at))
    if at.astimezone(UTC) - now.astimezone(UTC) > MAX_AHEAD:
        return _refuse("when_too_far", text, understood=understood_as(at))
    return Understood(at=at, text=text, local=kind)


def parse_when(text: str, *, now: datetime, zone: tzinfo) -> Parsed:
    """Read ``text`` as a future time in ``zone``; ``now`` must be aware.

    Returns :class:`Understood` or a :class:`Refusal` whose key is one of ``schedule.when_empty``,
    ``when_unreadable``, ``when_no_time``, ``when_no_such_day``, ``when_no_such_time``,
    ``when_wrong_weekday``, ``when_past``, ``when_too_far``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    original = " ".join(text.split())
    if not original:
        return _refuse("when_empty", original)
    lowered = original.lower().replace(",", " ")
    relative = _IN.match(lowered)
    if relative is not None:
        return _relative(original, relative, now, zone)
    found = _Found(rest=lowered)
    _find_date(found)
    _find_time(found)
    if found.problem is not None:
        return _refuse(found.problem, original)
    leftover = [w for w in re.split(r"\s+", found.rest.strip()) if w and w not in _FILLER]
    nothing = (
        found.day is None
        and found.month_day is None
        and found.weekday is None
        and found.relative_days is None
        and found.at is None
    )
    if leftover or nothing:
        return _refuse("when_unreadable", original)
    if found.at is None:
        return _refuse("when_no_time", original)
    now_local = now.astimezone(zone)
    today = now_local.date()
    day: date
    if found.day is not None:
        day = found.day
    elif found.month_day is not None:
        day = _next_month_day(found.month_day, found.at, now_local, zone)
    elif found.relative_days is not None:
        day = today + timedelta(days=found.relative_days)
    elif found.weekday is not None:
        ahead = (found.weekday - today.weekday() - 1) % 7 + 1
        day = today + timedelta(days=ahead)
    else:
        at_today, _ = localize(datetime.combine(today, found.at), zone)
        day = today if at_today > now else today + timedelta(days=1)
    if found.weekday is not None and day.weekday() != found.weekday:
        if found.day is not None or found.month_day is not None or found.relative_days is not None:
            return _refuse(
                "when_wrong_weekday",
                original,
                date=_date_words(day),
                weekday=_WEEKDAYS[found.weekday].capitalize(),
            )
    at, kind = localize(datetime.combine(day, found.at), zone)
    return _checked(original, at, kind, now)


def _next_month_day(
    month_day: tuple[int, int], at: time, now_local: datetime, zone: tzinfo
) -> date:
    d, m = month_day
    year = now_local.year
    for candidate_year in range(year, year + 9):
        try:
            day = date(candidate_year, m, d)
        except ValueError:
            continue  # 29 February outside a leap year
        moment, _ = localize(datetime.combine(day, at), zone)
        if moment > now_local:
            return day
    return date(year, m, d)  # unreachable for real dates; keeps the type checker calm


def zone_words(zone: tzinfo) -> str:
    """How people name the zone: "UK time" for Europe/London, else "<city> time"."""
    key = getattr(zone, "key", None) or str(zone)
    if key in ("Europe/London", "GB", "GB-Eire"):
        return "UK time"
    if key in ("UTC", "Etc/UTC", "Etc/GMT"):
        return "UTC"
    return key.rsplit("/", 1)[-1].replace("_", " ") + " time"


def _date_words(day: date) -> str:
    weekday = _WEEKDAYS[day.weekday()].capitalize()
    return f"{weekday} {day.day} {_MONTHS[day.month - 1].capitalize()} {day.year}"


def clock_words(moment: datetime) -> str:
    """``2:00pm``; midday and midnight are said in words, since 12am/12pm confuse people."""
    if (moment.hour, moment.minute) == (12, 0):
        return "midday"
    if (moment.hour, moment.minute) == (0, 0):
        return "midnight (the start of the day)"
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d}{'am' if moment.hour < 12 else 'pm'}"


def understood_as(at: datetime, zone: tzinfo | None = None) -> str:
    """How a time reads to people, for autocomplete and replies (at most 100 characters).

    ``Tuesday 8 December 2026 at 2:00pm (UK time)``. ``at`` is shown in ``zone`` (default: its
    own zone). Plain words only, so it reads the same to a screen reader.
    """
    zone = zone or at.tzinfo or UTC
    local = at.astimezone(zone)
    text = f"{_date_words(local.date())} at {clock_words(local)} ({zone_words(zone)})"
    return _fit(text)


def understood_label(understood: Understood) -> str:
    """:func:`understood_as` plus a word when summer time moved or chose the time."""
    text = understood_as(understood.at)
    if understood.local is LocalKind.SKIPPED:
        text += ", as the clocks go forward that night"
    elif understood.local is LocalKind.REPEATED:
        text += ", the first time the clocks show it that night"
    return _fit(text)


def _fit(text: str) -> str:
    if len(text) > CHOICE_NAME_LIMIT:
        text = text[: CHOICE_NAME_LIMIT - 1] + "…"
    return text
