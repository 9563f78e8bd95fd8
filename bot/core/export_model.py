"""Input records and shared ordering/counting rules for every export format.

Kept apart from the writers so CSV, JSON, Markdown and the chart agree on the same numbers and
the same (anonymity-preserving) order. See :mod:`bot.core.export` for the public entry points.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal, NamedTuple

from bot.core.reflections import FEEDBACK_KEY, Prompt

__all__ = [
    "COLLECTION_HEADING",
    "COLLECTION_NOTE",
    "MAX_BREWS_ON_CHART",
    "MIN_PEOPLE_PER_CONSENT_GROUP",
    "NO_AREA",
    "AnswerRow",
    "BrewSummary",
    "ChartBar",
    "ChartBy",
    "PromptColumn",
    "ReflectionRecord",
    "SortedAnswer",
    "WeekCount",
    "answer_columns",
    "answer_rows",
    "answers_by_prompt",
    "chart_alt_text",
    "chart_bars",
    "chart_grouping",
    "consent_sentence",
    "count_weeks",
    "format_date",
    "index_brews",
    "is_feedback",
    "ordered_brews",
    "ordered_reflections",
    "plural",
    "prompt_columns",
    "quotable",
    "reflections_per_brew",
    "week_start",
    "weekly_alt_text",
]

#: How a brew without an area is named in exports and on the chart.
NO_AREA = "No area given"


@dataclass(frozen=True)
class BrewSummary:
    """What an export needs to know about one brew; never who was there."""

    number: int
    title: str
    area: str | None
    question: str
    date: date
    participants: int
    rooms: int

    def __post_init__(self) -> None:
        if self.participants < 0 or self.rooms < 0:
            raise ValueError(f"Brew {self.number}: participants and rooms cannot be negative")


@dataclass(frozen=True)
class ReflectionRecord:
    """One anonymous reflection: brew, date only, consent to quote, answers by prompt key."""

    brew_number: int
    date: date
    consent: bool
    answers: Mapping[str, str]


class PromptColumn(NamedTuple):
    """A prompt as exports see it; answers stored under a key no longer in the content file
    still appear, labelled by their key, so nothing people said is lost by a relabel."""

    key: str
    label: str


class AnswerRow(NamedTuple):
    """One answer with the context a reader needs (one CSV row)."""

    brew: BrewSummary
    prompt: PromptColumn
    answer: str
    consent: bool


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``"1 room"``, ``"2 rooms"``, ``"3 people"``: numbers read out naturally by screen readers."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"


_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def format_date(day: date) -> str:
    """``1 October 2024``: unambiguous across countries and read well aloud (unlike ISO).

    Locale-free on purpose so output does not depend on the server's settings.
    """
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def ordered_brews(brews: Iterable[BrewSummary]) -> list[BrewSummary]:
    """Brews in the order they happened (date, then number)."""
    return sorted(brews, key=lambda b: (b.date, b.number))


def index_brews(
    brews: Sequence[BrewSummary], reflections: Iterable[ReflectionRecord]
) -> dict[int, BrewSummary]:
    """Map brew number to brew, refusing duplicates and reflections for an unknown brew.

    A reflection we cannot place would otherwise vanish from a report, which is worse than a
    clear error for the organiser to report.
    """
    index: dict[int, BrewSummary] = {}
    for brew in brews:
        if brew.number in index:
            raise ValueError(f"Brew {brew.number} appears twice in the export")
        index[brew.number] = brew
    for reflection in reflections:
        if reflection.brew_number not in index:
            raise ValueError(
                f"A reflection belongs to brew {reflection.brew_number}, "
                "which is not in the list of brews"
            )
    return index


def prompt_columns(
    prompts: Sequence[Prompt], reflections: Iterable[ReflectionRecord]
) -> list[PromptColumn]:
    """Prompts in form order, then any answer keys not among them, alphabetically."""
    columns = [PromptColumn(p.key, p.label) for p in prompts]
    known = {p.key for p in prompts}
    extra = sorted({k for r in reflections for k in r.answers if k not in known})
    return columns + [PromptColumn(k, k) for k in extra]


def _text_key(text: str) -> tuple[str, str]:
    return (text.casefold(), text)


def ordered_reflections(
    reflections: Iterable[ReflectionRecord], columns: Sequence[PromptColumn]
) -> list[ReflectionRecord]:
    """Reflections sorted by brew, date, then content: never by the order people submitted.

    Storage order follows submission order, and "who clicked Submit first" may be remembered by
    the people in the room; sorting on content removes that link while staying deterministic.
    """
    keys = [c.key for c in columns]

    def sort_key(r: ReflectionRecord) -> tuple[object, ...]:
        get = r.answers.get
        # _text_key of each stripped answer, inlined (a list, then a tuple: no generator).
        texts = tuple([((t := (get(k) or "").strip()).casefold(), t) for k in keys])
        return (r.brew_number, r.date, texts, r.consent)

    return sorted(reflections, key=sort_key)


#: One answer as the writers sort it: ``(text.casefold(), text, consent)``. Plain tuples sort
#: in C, without a key function per answer (280,000 of them in a 100k-reflection export).
SortedAnswer = tuple[str, str, bool]


def answers_by_prompt(reflections: Iterable[ReflectionRecord]) -> dict[str, list[SortedAnswer]]:
    """Every non-empty answer (stripped) under its prompt key, each list in the order exports
    show it: alphabetical (case-insensitive, then exact), then by consent; never in the order
    people submitted. Pass one brew's reflections (answers are not told apart by brew)."""
    grouped: dict[str, list[SortedAnswer]] = {}
    for r in reflections:
        consent = r.consent
        for key, text in r.answers.items():
            if text and (text := text.strip()):
                entry = (text.casefold(), text, consent)
                found = grouped.get(key)
                if found is None:
                    grouped[key] = [entry]
                else:
                    found.append(entry)
    for answers in grouped.values():
        answers.sort()
    return grouped


def answer_columns(prompts: Sequence[Prompt], grouped: Mapping[str, object]) -> list[PromptColumn]:
    """:func:`prompt_columns` for the keys of :func:`answers_by_prompt` (prompts in form
    order, then other keys that have answers, alphabetically)."""
    known = {p.key for p in prompts}
    extra = sorted(k for k in grouped if k not in known)
    return [PromptColumn(p.key, p.label) for p in prompts] + [PromptColumn(k, k) for k in extra]


def answer_rows(
    brews: Sequence[BrewSummary],
    reflections: Sequence[ReflectionRecord],
    prompts: Sequence[Prompt],
) -> list[AnswerRow]:
    """Every non-empty answer, grouped by brew (in date order) then prompt (in form order).

    Within a prompt, answers are alphabetical so neither submission order nor which answers came
    from the same person can be read from their position. Exports pass reflections
    through :func:`quotable` first, so the quoting column cannot group answers either.
    """
    index = index_brews(brews, reflections)
    columns = prompt_columns(prompts, reflections)
    per_brew: dict[int, list[ReflectionRecord]] = {}
    for r in reflections:
        per_brew.setdefault(r.brew_number, []).append(r)
    rows: list[AnswerRow] = []
    for brew in ordered_brews(index.values()):
        grouped = answers_by_prompt(per_brew.get(brew.number, ()))
        for column in columns:
            for _, text, consent in grouped.get(column.key, ()):
                rows.append(AnswerRow(brew, column, text, consent))
    return rows


#: The fewest reflections in one brew that may be marked "yes, you may quote this" in an export.
#: Below that, the quoting column would pick out one or two people's answers and tie them together.
MIN_PEOPLE_PER_CONSENT_GROUP = 3

_NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}

#: The heading of the note every shared report ends with (Markdown, web page, Word, regional).
COLLECTION_HEADING = "How this was collected"

#: The note itself, in one place so no report can promise less (or more) than another.
COLLECTION_NOTE = (
    "Reflections were left anonymously after each brew, with an online form. Brew Host keeps no "
    "names, no Discord accounts and no times of day with them, only the date. Each person was "
    'asked "May we quote this, without your name?" and only answers from people who clearly '
    "said yes are quoted here; everyone else is counted but not a word of theirs is shown. "
    "Answers from a brew are quoted only when at least "
    f"{_NUMBER_WORDS.get(MIN_PEOPLE_PER_CONSENT_GROUP, str(MIN_PEOPLE_PER_CONSENT_GROUP))} "
    "people in that brew said yes, so no quote can be traced to one or two people. "
    "Quotes are listed in alphabetical order, not in the order people sent them, and one "
    "person's answers to different questions are not kept together."
)


def quotable(reflections: Sequence[ReflectionRecord]) -> list[ReflectionRecord]:
    """The reflections as every export shows them: a "yes" to quoting kept only where it cannot
    pick out one person's answers.

    Every export lists answers one by one, in alphabetical order, so nobody can tell which
    answers came from the same person. A quoting column would undo that in a small brew: if only
    one person said "yes", every "yes" row is theirs. So within each brew, a "yes" is shown (and
    used for quotes) only when at least :data:`MIN_PEOPLE_PER_CONSENT_GROUP` people said yes;
    otherwise those reflections are treated as "not for quoting", which is always the safe side.
    """
    yes = Counter(r.brew_number for r in reflections if r.consent)
    least = MIN_PEOPLE_PER_CONSENT_GROUP
    return [
        replace(r, consent=False) if r.consent and yes[r.brew_number] < least else r
        for r in reflections
    ]


def reflections_per_brew(reflections: Iterable[ReflectionRecord]) -> dict[int, int]:
    """How many reflections each brew received (the chart's second series)."""
    return dict(Counter(r.brew_number for r in reflections))


#: How a report's chart groups its brews: one bar per brew, per area, or per week.
ChartBy = Literal["brew", "area", "week"]

#: Above this many brews, one bar per brew is unreadable: the chart groups brews by area
#: (when there are several) or by week instead, and its table matches.
MAX_BREWS_ON_CHART = 30


def chart_grouping(brews: Sequence[BrewSummary]) -> ChartBy:
    """How one export's chart groups its brews.

    Several areas: by area (the comparison organisers want). One area: a bar per brew while
    that stays readable, and brews per week beyond :data:`MAX_BREWS_ON_CHART` brews.
    """
    areas = {(b.area or "").strip().casefold() for b in brews}
    if len(areas - {""}) > 1:
        return "area"
    return "week" if len(brews) > MAX_BREWS_ON_CHART else "brew"


class ChartBar(NamedTuple):
    """One group of bars on the participation chart; shared by the PNG and its alt text."""

    label: str
    participants: int
    reflections: int
    brews: int


def chart_bars(
    brews: Sequence[BrewSummary],
    reflections_per_brew: Mapping[int, int],
    *,
    by: Literal["brew", "area"],
) -> list[ChartBar]:
    """Participants and reflections per brew (date order) or per area (alphabetical, then
    brews without an area last). Brews missing from ``reflections_per_brew`` count 0."""
    if by == "brew":
        return [
            ChartBar(
                f"Brew {b.number}: {b.title}",
                b.participants,
                reflections_per_brew.get(b.number, 0),
                1,
            )
            for b in ordered_brews(brews)
        ]
    if by != "area":
        raise ValueError("by must be 'brew' or 'area'")
    totals: dict[str | None, list[int]] = {}
    for b in brews:
        area = (b.area or "").strip() or None
        acc = totals.setdefault(area, [0, 0, 0])
        acc[0] += b.participants
        acc[1] += reflections_per_brew.get(b.number, 0)
        acc[2] += 1
    order = sorted(totals, key=lambda a: (a is None, (a or "").casefold(), a or ""))
    return [ChartBar(a or NO_AREA, *totals[a]) for a in order]


def chart_alt_text(
    brews: Sequence[BrewSummary],
    reflections_per_brew: Mapping[int, int],
    *,
    by: Literal["brew", "area"] = "brew",
) -> str:
    """The chart's numbers in words, one sentence per bar group, for screen-reader users.

    Every number drawn on the chart appears here, so nobody has to see the image to get the
    same information. Plain text: the Markdown writer escapes it.
    """
    bars = chart_bars(brews, reflections_per_brew, by=by)
    per = "brew" if by == "brew" else "area"
    if not bars:
        return "Bar chart of participants and reflections: there are no brews to show yet."
    parts = [
        f"Bar chart comparing the number of participants and reflections for each {per}, "
        f"{plural(len(bars), per)} in total."
    ]
    for bar in bars:
        label = bar.label if by == "brew" else f"{bar.label} ({plural(bar.brews, 'brew')})"
        parts.append(
            f"{label}: {plural(bar.participants, 'participant')}, "
            f"{plural(bar.reflections, 'reflection')}."
        )
    return " ".join(parts)


def is_feedback(column: PromptColumn) -> bool:
    """Feedback on the session is reported separately from what was heard about co-production."""
    return column.key == FEEDBACK_KEY


class WeekCount(tuple[date, int, int, int]):
    """Brews, people and reflections in the week starting on a Monday."""

    __slots__ = ()

    def __new__(cls, start: date, brews: int, people: int, reflections: int) -> WeekCount:
        return super().__new__(cls, (start, brews, people, reflections))

    @property
    def start(self) -> date:
        return self[0]

    @property
    def brews(self) -> int:
        return self[1]

    @property
    def people(self) -> int:
        return self[2]

    @property
    def reflections(self) -> int:
        return self[3]


def week_start(day: date) -> date:
    """The Monday of ``day``'s week (weeks run Monday to Sunday, as in the UK)."""
    return day - timedelta(days=day.weekday())


def count_weeks(brews: Iterable[tuple[BrewSummary, int]]) -> list[WeekCount]:
    """Brews, people and reflections per week for ``(brew, reflections received)`` pairs, from
    the first brew's week to the last's, including weeks with no brews (a gap is part of the
    story)."""
    totals: dict[date, list[int]] = {}
    for brew, received in brews:
        t = totals.setdefault(week_start(brew.date), [0, 0, 0])
        t[0] += 1
        t[1] += brew.participants
        t[2] += received
    if not totals:
        return []
    weeks = []
    current, last = min(totals), max(totals)
    while current <= last:
        weeks.append(WeekCount(current, *totals.get(current, [0, 0, 0])))
        current += timedelta(days=7)
    return weeks


#: Above this many weeks, the weekly chart's alt text summarises and points to the table.
ALT_TEXT_MAX_WEEKS = 20


def weekly_alt_text(weeks: Sequence[WeekCount]) -> str:
    """Alt text for the brews-per-week chart: every week when there are few, otherwise the
    total, the busiest week and a pointer to the table (which has every number)."""
    if not weeks:
        return "Bar chart of brews per week: there are no brews to show yet."
    intro = (
        f"Bar chart of the number of brews in each week, {plural(len(weeks), 'week')} from the "
        f"week starting {format_date(weeks[0].start)}."
    )
    if len(weeks) <= ALT_TEXT_MAX_WEEKS:
        return " ".join(
            [intro]
            + [f"Week starting {format_date(w.start)}: {plural(w.brews, 'brew')}." for w in weeks]
        )
    busiest = max(weeks, key=lambda w: w.brews)
    return (
        f"{intro} {plural(sum(w.brews for w in weeks), 'brew')} in all; the busiest week, "
        f"starting {format_date(busiest.start)}, had {plural(busiest.brews, 'brew')}. Every "
        "number is in the table that follows."
    )


def consent_sentence(consented: int, total: int) -> str:
    """Every report's sentence on how many reflections can be quoted (same words)."""
    if total == 0:
        return ""
    if consented == total:
        return " Everyone who left a reflection agreed to be quoted."
    if consented == 0:
        return " All of them were shared privately, so they are counted but not quoted."
    private = total - consented
    rest = "the other one was" if private == 1 else f"the other {private:,} were"
    return (
        f" {plural(consented, 'reflection')} can be quoted here; {rest} shared privately, "
        "so counted but not shown."
    )
