"""The readable report, modelled on the ADASS Eastern Region "Over A Brew" report.

Structure (GitHub-flavoured Markdown; also fine pasted into Discord or a word processor):

* ``# Title``, the date it was generated, one sentence of totals, the chart (with alt text) and
  the same numbers as a table, so nothing depends on seeing the image;
* ``## Brew N: title`` per brew, in date order: area, date, people and rooms, reflections
  received, the question for the brew, then ``### What we heard`` with a ``####`` heading per
  prompt and the quotes people agreed to share;
* ``## Feedback on the sessions`` from the ``feedback`` prompt across all brews;
* ``## How this was collected``: the same note as the web page and Word reports
  (:data:`bot.core.export_model.COLLECTION_NOTE`).

With more than :data:`~bot.core.export_model.MAX_BREWS_ON_CHART` brews in one area the chart
shows brews per week (``chart_by="week"``), and a table of its numbers follows it.

Anonymity and consent: only reflections whose author said yes to quoting are shown. The others
are counted ("2 more reflections were shared privately") so the numbers stay honest without
revealing a word. Quotes are alphabetical, never in submission order, and answers from the same
person are not kept together.

Safety and accessibility: every piece of user text (titles and questions too) has mentions
neutralised and Markdown syntax escaped, so a reflection reading ``# heading``, ``**``,
``[link](x)`` or ``@everyone`` shows exactly those characters. Headings give screen-reader users
a way to jump between brews and questions; no emoji or colour carries meaning; dates are written
out ("1 October 2024").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from urllib.parse import quote

from bot.core.export_model import (
    COLLECTION_HEADING,
    COLLECTION_NOTE,
    AnswerRow,
    BrewSummary,
    ChartBy,
    ReflectionRecord,
    answer_rows,
    chart_alt_text,
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
from bot.core.reflections import Prompt, neutralise_mentions

__all__ = ["escape_markdown", "escape_markdown_inline", "to_markdown"]

# Characters that start Markdown (or Discord markdown) syntax anywhere in a line. ``$`` is GitHub
# maths, ``~`` strikethrough, ``|`` tables and Discord spoilers, ``<`` HTML and autolinks.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<|~#$])")
# ``&amp;``-style entities would be decoded; a bare "&" is left readable.
_ENTITY = re.compile(r"&(?=#?\w+;)")
# Block syntax that only matters at the start of a line: quotes, bullets, setext underlines.
_LINE_START = re.compile(r"^([>\-+=])")
# "2024. A year" at the start of a line would become an ordered list.
_ORDERED = re.compile(r"^(\d+)([.)])")
_HARD_BREAK = "\\\n"


def _escape_line(line: str) -> str:
    line = _INLINE_SPECIAL.sub(r"\\\1", line)
    line = _ENTITY.sub(r"\\&", line)
    line = _LINE_START.sub(r"\\\1", line)
    return _ORDERED.sub(r"\1\\\2", line)


def _escaped_lines(text: str) -> list[str]:
    lines = (line.strip() for line in neutralise_mentions(text).split("\n"))
    return [_escape_line(line) for line in lines if line]


def escape_markdown(text: str) -> str:
    """Escape user text so it renders literally, keeping its line breaks (as hard breaks).

    Blank lines and indentation are dropped: inside a list item they would turn into separate
    paragraphs or code blocks. Mentions are neutralised first.
    """
    return _HARD_BREAK.join(_escaped_lines(text))


def escape_markdown_inline(text: str) -> str:
    """Escape user text for a single-line place (heading, table cell, link text)."""
    return " ".join(_escaped_lines(text))


def _bullet(text: str) -> str:
    # Continuation lines are indented so they stay inside the list item.
    return "- " + escape_markdown(text).replace("\n", "\n  ")


def _quotes(
    rows: Sequence[AnswerRow], noun: str = "reflection", nouns: str = "reflections"
) -> list[str]:
    """Consented answers as bullets, then a count of the ones shared privately."""
    shared = [r.answer for r in rows if r.consent]
    private = len(rows) - len(shared)
    out: list[str] = []
    if shared:
        out += [_bullet(text) for text in shared]
        out.append("")
    if private:
        more = "more " if shared else ""
        verb = "was" if private == 1 else "were"
        out += [f"{plural(private, more + noun, more + nouns)} {verb} shared privately.", ""]
    return out


def _consent_sentence(consented: int, total: int) -> str:
    if total == 0:
        return ""
    if consented == total:
        return " Everyone who left a reflection agreed to be quoted."
    if consented == 0:
        return " All of them were shared privately, so they are counted but not quoted."
    private = total - consented
    rest = "the other one was" if private == 1 else f"the other {private} were"
    return (
        f" {plural(consented, 'reflection')} can be quoted here; {rest} shared privately, "
        "so counted but not shown."
    )


def to_markdown(
    brews: Sequence[BrewSummary],
    reflections: Sequence[ReflectionRecord],
    prompts: Sequence[Prompt],
    *,
    title: str,
    generated_on: date,
    chart_filename: str | None,
    chart_by: ChartBy = "brew",
) -> str:
    """Render the report. ``chart_filename`` is the PNG's name next to the report (or ``None``);
    ``chart_by`` must match how that chart was drawn so its alt text (and, for ``"week"``, the
    table after it) describes it."""
    index_brews(brews, reflections)
    columns = prompt_columns(prompts, reflections)
    rows = answer_rows(brews, reflections, prompts)
    per_brew = reflections_per_brew(reflections)
    consented = sum(1 for r in reflections if r.consent)
    brews_in_order = ordered_brews(brews)

    people = sum(b.participants for b in brews)
    rooms = sum(b.rooms for b in brews)
    out = [
        f"# {escape_markdown_inline(title)}",
        "",
        f"Generated on {format_date(generated_on)}.",
        "",
        f"Across {plural(len(brews), 'brew')}, {plural(people, 'person', 'people')} took part "
        f"in {plural(rooms, 'room')} and left {plural(len(reflections), 'reflection')}."
        + _consent_sentence(consented, len(reflections)),
        "",
    ]
    if chart_filename:
        if chart_by == "week":
            weeks = count_weeks((b, per_brew.get(b.number, 0)) for b in brews_in_order)
            alt = escape_markdown_inline(weekly_alt_text(weeks))
            out += [f"![{alt}]({quote(chart_filename)})", ""]
            if weeks:
                out += [
                    "| Week starting | Brews | People | Reflections |",
                    "| --- | ---: | ---: | ---: |",
                    *(
                        f"| {format_date(w.start)} | {w.brews:,} | {w.people:,} | "
                        f"{w.reflections:,} |"
                        for w in weeks
                    ),
                    "",
                ]
        else:
            alt = escape_markdown_inline(chart_alt_text(brews, per_brew, by=chart_by))
            out += [f"![{alt}]({quote(chart_filename)})", ""]
    if brews_in_order:
        out += [
            "| Brew | Area | Date | People | Rooms | Reflections |",
            "| --- | --- | --- | ---: | ---: | ---: |",
        ]
        out += [
            f"| {b.number}: {escape_markdown_inline(b.title)} | "
            f"{escape_markdown_inline(b.area or '') or 'Not given'} | {format_date(b.date)} | "
            f"{b.participants} | {b.rooms} | {per_brew.get(b.number, 0)} |"
            for b in brews_in_order
        ]
        out.append("")
    else:
        out += ["There are no brews to report yet.", ""]

    rows_by_brew: dict[int, list[AnswerRow]] = {}
    for row in rows:
        if not is_feedback(row.prompt):
            rows_by_brew.setdefault(row.brew.number, []).append(row)
    for brew in brews_in_order:
        received = per_brew.get(brew.number, 0)
        out += [
            f"## Brew {brew.number}: {escape_markdown_inline(brew.title)}",
            "",
            f"- Area: {escape_markdown_inline(brew.area or '') or 'Not given'}",
            f"- Date: {format_date(brew.date)}",
            f"- People: {brew.participants}, in {plural(brew.rooms, 'room')}",
            f"- Reflections received: {received}",
            "",
        ]
        if brew.question.strip():
            out += [f"The question for this brew: {escape_markdown(brew.question)}", ""]
        out += ["### What we heard", ""]
        brew_rows = rows_by_brew.get(brew.number, [])
        if not received:
            out += ["No reflections were received for this brew.", ""]
            continue
        if not brew_rows:
            out += ["The reflections for this brew were feedback on the session only.", ""]
            continue
        by_prompt: dict[str, list[AnswerRow]] = {}
        for row in brew_rows:
            by_prompt.setdefault(row.prompt.key, []).append(row)
        for column in columns:
            if is_feedback(column):
                continue
            column_rows = by_prompt.get(column.key, [])
            if column_rows:
                out += [f"#### {escape_markdown_inline(column.label)}", ""]
                out += _quotes(column_rows)

    feedback_rows = [r for r in rows if is_feedback(r.prompt)]
    out += ["## Feedback on the sessions", ""]
    if feedback_rows:
        intro = f"{plural(len(feedback_rows), 'person', 'people')} told us how their brew went."
        out += [intro, ""]
        out += _quotes(feedback_rows, "piece of feedback", "pieces of feedback")
    else:
        out += ["No feedback on the sessions was received.", ""]
    out += [f"## {COLLECTION_HEADING}", "", escape_markdown(COLLECTION_NOTE), ""]
    return "\n".join(out).rstrip("\n") + "\n"
