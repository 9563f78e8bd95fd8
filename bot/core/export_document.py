"""A report as a plain document (headings, paragraphs, tables, quotes, figures), built once and
rendered by several writers: HTML (:mod:`bot.core.export_html`) and Word
(:mod:`bot.reporting.docx_report`).

Why an intermediate document: the web page and the Word file must say exactly the same thing as
the Markdown report (what was asked, how many took part, rooms, consented quotes only, "what
could be next", feedback, the date, how it was collected). Building the words once means the two
writers only decide *how* things look, never *what* is said, and a consent or anonymity rule
cannot be applied in one format and forgotten in another.

Every string in a document is plain text: user text is cleaned of control characters here
(Word's XML refuses them; in HTML they can hide text) and each writer escapes for its own syntax.
Charts are described by a :class:`ChartSpec` (the numbers), laid out by
:mod:`bot.core.chart_layout` and drawn as SVG (:mod:`bot.core.chart_svg`, the web page) or PNG
(:mod:`bot.reporting.chart`, Word); a :class:`Figure` names the chart and carries its alt text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from bot.core.export_model import (
    COLLECTION_HEADING,
    COLLECTION_NOTE,
    AnswerRow,
    BrewSummary,
    ChartBar,
    ChartBy,
    PromptColumn,
    ReflectionRecord,
    WeekCount,
    answer_rows,
    chart_alt_text,
    chart_bars,
    chart_grouping,
    consent_sentence,
    count_weeks,
    format_date,
    index_brews,
    is_feedback,
    ordered_brews,
    plural,
    prompt_columns,
    reflections_per_brew,
    weekly_alt_text,
)
from bot.core.reflections import Prompt, clean_text

__all__ = [
    "COLLECTION_HEADING",
    "COLLECTION_NOTE",
    "Block",
    "BulletList",
    "ChartSpec",
    "Figure",
    "Heading",
    "Paragraph",
    "Quotes",
    "ReportDocument",
    "Table",
    "WeekCount",
    "bars_alt_text",
    "build_report",
    "consent_sentence",
    "plain",
    "quote_blocks",
    "week_table",
]

#: Above this many bars, alt text summarises and points to the table instead of listing all.
ALT_TEXT_MAX_BARS = 20


@dataclass(frozen=True)
class Heading:
    level: int  # 1 for the title; sections 2, their parts 3, then 4
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class BulletList:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Quotes:
    """Consented quotes, each kept whole (line breaks included)."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A data table; the first cell of each row heads that row. ``numeric`` marks columns that
    writers right-align."""

    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]


@dataclass(frozen=True)
class Figure:
    chart: str  # key of a ChartSpec in the document
    alt: str
    caption: str


Block = Heading | Paragraph | BulletList | Quotes | Table | Figure


@dataclass(frozen=True)
class ChartSpec:
    """What a chart shows; laid out by :func:`bot.core.chart_layout.layout_chart`."""

    key: str
    kind: Literal["grouped", "weekly"]
    title: str
    axis_label: str
    bars: tuple[ChartBar, ...] = ()
    weeks: tuple[WeekCount, ...] = ()


@dataclass(frozen=True)
class ReportDocument:
    title: str
    generated_on: date
    blocks: tuple[Block, ...]
    charts: tuple[ChartSpec, ...] = field(default=())

    def headings(self) -> list[Heading]:
        return [b for b in self.blocks if isinstance(b, Heading)]


def plain(text: str) -> str:
    """User text made safe for any writer: NFC, one kind of line break, no control characters."""
    return clean_text(text or "")


def plain_inline(text: str) -> str:
    """User text for a one-line place (heading, table cell): line breaks become spaces."""
    return " ".join(line.strip() for line in plain(text).split("\n") if line.strip())


def quote_blocks(
    rows: Sequence[AnswerRow], noun: str = "reflection", nouns: str = "reflections"
) -> list[Block]:
    """Consented answers as quotes, then a count of the ones shared privately."""
    shared = tuple(plain(r.answer) for r in rows if r.consent)
    private = len(rows) - len(shared)
    out: list[Block] = []
    if shared:
        out.append(Quotes(shared))
    if private:
        more = "more " if shared else ""
        verb = "was" if private == 1 else "were"
        out.append(
            Paragraph(f"{plural(private, more + noun, more + nouns)} {verb} shared privately.")
        )
    return out


def bars_alt_text(spec: ChartSpec, full: str | None = None) -> str:
    """Alt text for a grouped bar chart: every number when there are few bars (``full``, or
    built here), a summary and a pointer to the table when there are many."""
    bars = spec.bars
    if not bars:
        return f"{spec.title}: there is nothing to show yet."
    noun = spec.axis_label.lower()
    if len(bars) <= ALT_TEXT_MAX_BARS:
        if full is not None:
            return full
        parts = [f"Bar chart comparing participants and reflections for each {noun}."]
        parts += [
            f"{b.label}: {plural(b.participants, 'participant')}, "
            f"{plural(b.reflections, 'reflection')}."
            for b in bars
        ]
        return " ".join(parts)
    top = max(bars, key=lambda b: b.participants)
    return (
        f"Bar chart comparing participants and reflections for each of {len(bars):,} "
        f"{noun}s, {plural(sum(b.participants for b in bars), 'participant')} and "
        f"{plural(sum(b.reflections for b in bars), 'reflection')} in all. The most "
        f"participants, {top.participants:,}, were in {plain_inline(top.label)}. Every number "
        "is in the table that follows."
    )


def _area(brew: BrewSummary) -> str:
    return plain_inline(brew.area or "") or "Not given"


def brew_table(
    brews: Sequence[tuple[BrewSummary, int]], caption: str, *, area_column: bool = True
) -> Table:
    """A row per brew (given with its reflection count, in the order shown)."""
    headers: tuple[str, ...] = ("Brew", "Area", "Date", "People", "Rooms", "Reflections")
    rows: list[tuple[str, ...]] = [
        (
            f"{b.number}: {plain_inline(b.title)}",
            _area(b),
            format_date(b.date),
            f"{b.participants:,}",
            f"{b.rooms:,}",
            f"{received:,}",
        )
        for b, received in brews
    ]
    numeric: tuple[bool, ...] = (False, False, False, True, True, True)
    if not area_column:
        headers, numeric = headers[:1] + headers[2:], numeric[:1] + numeric[2:]
        rows = [row[:1] + row[2:] for row in rows]
    return Table(caption, headers, tuple(rows), numeric)


def feedback_blocks(rows: Sequence[AnswerRow]) -> list[Block]:
    """The "Feedback on the sessions" section (answers to the feedback prompt)."""
    out: list[Block] = [Heading(2, "Feedback on the sessions")]
    if rows:
        out.append(
            Paragraph(f"{plural(len(rows), 'person', 'people')} told us how their brew went.")
        )
        out += quote_blocks(rows, "piece of feedback", "pieces of feedback")
    else:
        out.append(Paragraph("No feedback on the sessions was received."))
    return out


def prompt_sections(
    columns: Sequence[PromptColumn], rows: Sequence[AnswerRow], *, level: int
) -> list[Block]:
    """A heading per (non-feedback) prompt that has answers, then its quotes and counts."""
    grouped: dict[str, list[AnswerRow]] = {}
    for row in rows:
        grouped.setdefault(row.prompt.key, []).append(row)
    out: list[Block] = []
    for column in columns:
        if is_feedback(column) or column.key not in grouped:
            continue
        out.append(Heading(level, plain_inline(column.label)))
        out += quote_blocks(grouped[column.key])
    return out


def collection_blocks() -> list[Block]:
    return [Heading(2, COLLECTION_HEADING), Paragraph(COLLECTION_NOTE)]


def build_report(
    brews: Sequence[BrewSummary],
    reflections: Sequence[ReflectionRecord],
    prompts: Sequence[Prompt],
    *,
    title: str,
    generated_on: date,
    chart_by: ChartBy | None = None,
) -> ReportDocument:
    """One server's report, with the same content and order as
    :func:`bot.core.export_markdown.to_markdown`, plus the "how this was collected" note.

    ``chart_by`` (default :func:`~bot.core.export_model.chart_grouping`): one bar per brew, per
    area, or brews per week when there are too many brews for a bar each."""
    index_brews(brews, reflections)
    columns = prompt_columns(prompts, reflections)
    rows = answer_rows(brews, reflections, prompts)
    per_brew = reflections_per_brew(reflections)
    consented = sum(1 for r in reflections if r.consent)
    in_order = ordered_brews(brews)
    people = sum(b.participants for b in brews)
    rooms = sum(b.rooms for b in brews)
    by = chart_by or chart_grouping(brews)
    spec, chart_blocks = _chart_blocks(in_order, per_brew, by)

    blocks: list[Block] = [
        Heading(1, plain_inline(title)),
        Paragraph(f"Generated on {format_date(generated_on)}."),
        Paragraph(
            f"Across {plural(len(brews), 'brew')}, {plural(people, 'person', 'people')} took "
            f"part in {plural(rooms, 'room')} and left {plural(len(reflections), 'reflection')}."
            + consent_sentence(consented, len(reflections))
        ),
    ]
    if in_order:
        blocks += chart_blocks
        blocks.append(
            brew_table(
                [(b, per_brew.get(b.number, 0)) for b in in_order],
                "Brews, people, rooms and reflections",
            )
        )
    else:
        blocks.append(Paragraph("There are no brews to report yet."))

    by_brew: dict[int, list[AnswerRow]] = {}
    for row in rows:
        if not is_feedback(row.prompt):
            by_brew.setdefault(row.brew.number, []).append(row)
    for brew in in_order:
        received = per_brew.get(brew.number, 0)
        blocks += [
            Heading(2, f"Brew {brew.number}: {plain_inline(brew.title)}"),
            BulletList(
                (
                    f"Area: {_area(brew)}",
                    f"Date: {format_date(brew.date)}",
                    f"People: {brew.participants}, in {plural(brew.rooms, 'room')}",
                    f"Reflections received: {received}",
                )
            ),
        ]
        if brew.question.strip():
            blocks.append(Paragraph(f"The question for this brew: {plain(brew.question)}"))
        blocks.append(Heading(3, "What we heard"))
        brew_rows = by_brew.get(brew.number, [])
        if not received:
            blocks.append(Paragraph("No reflections were received for this brew."))
            continue
        if not brew_rows:
            blocks.append(
                Paragraph("The reflections for this brew were feedback on the session only.")
            )
            continue
        blocks += prompt_sections(columns, brew_rows, level=4)

    blocks += feedback_blocks([r for r in rows if is_feedback(r.prompt)])
    blocks += collection_blocks()
    return ReportDocument(
        plain_inline(title), generated_on, tuple(blocks), (spec,) if in_order else ()
    )


def week_table(weeks: Sequence[WeekCount]) -> Table:
    """The numbers of the brews-per-week chart, a row per week."""
    return Table(
        "Brews, people and reflections per week",
        ("Week starting", "Brews", "People", "Reflections"),
        tuple(
            (format_date(w.start), f"{w.brews:,}", f"{w.people:,}", f"{w.reflections:,}")
            for w in weeks
        ),
        (False, True, True, True),
    )


def _chart_blocks(
    brews: Sequence[BrewSummary], per_brew: dict[int, int], by: ChartBy
) -> tuple[ChartSpec, list[Block]]:
    """The report's chart and what goes with it: a figure with alt text saying what it shows,
    and (for the weekly chart) the table of its numbers; the brew table follows either way."""
    if by == "week":
        weeks = count_weeks((b, per_brew.get(b.number, 0)) for b in brews)
        spec = ChartSpec(
            "participation", "weekly", "Brews per week", "Week starting", weeks=tuple(weeks)
        )
        return spec, [
            Figure(
                "participation",
                weekly_alt_text(weeks),
                "Brews per week. The same numbers are in the table below.",
            ),
            week_table(weeks),
        ]
    spec = ChartSpec(
        "participation", "grouped", f"Participants and reflections per {by}", by.capitalize(),
        bars=tuple(chart_bars(brews, per_brew, by=by)),
    )  # fmt: skip
    full_alt = chart_alt_text(brews, per_brew, by=by)
    return spec, [
        Figure(
            "participation",
            bars_alt_text(spec, plain_inline(full_alt)),
            f"{spec.title}. The same numbers are in the table below.",
        )
    ]
