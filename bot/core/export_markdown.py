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

import io
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TextIO, cast
from urllib.parse import quote

from bot.core.export_model import (
    COLLECTION_HEADING,
    COLLECTION_NOTE,
    BrewSummary,
    ChartBy,
    PromptColumn,
    ReflectionRecord,
    SortedAnswer,
    answer_columns,
    answers_by_prompt,
    chart_alt_text,
    consent_sentence,
    count_weeks,
    format_date,
    index_brews,
    is_feedback,
    ordered_brews,
    plural,
    reflections_per_brew,
    weekly_alt_text,
)
from bot.core.reflections import Prompt, neutralise_mentions

__all__ = ["MarkdownStream", "escape_markdown", "escape_markdown_inline", "to_markdown"]

# Characters that start Markdown (or Discord markdown) syntax anywhere in a line. ``$`` is GitHub
# maths, ``~`` strikethrough, ``|`` tables and Discord spoilers, ``<`` HTML and autolinks.
# ``&amp;``-style entities would be decoded; a bare "&" is left readable.
_ENTITY = re.compile(r"&(?=#?\w+;)")
# "2024. A year" at the start of a line would become an ordered list.
_ORDERED = re.compile(r"^(\d+)([.)])")
_HARD_BREAK = "\\\n"


# Most answers need none of the escaping: one search (or a membership test) tells, and the
# rest is skipped. The inline characters are each given a backslash by one ``str.translate``.
_NEEDS_INLINE = re.compile(r"[\\`*_\[\]<|~#$]")
_INLINE_TABLE = str.maketrans({c: "\\" + c for c in "\\`*_[]<|~#$"})
# Block syntax that only matters at the start of a line: quotes, bullets, setext underlines.
_LINE_START_CHARS = frozenset(">-+=")


def _escape_line(line: str) -> str:
    if _NEEDS_INLINE.search(line):
        line = line.translate(_INLINE_TABLE)
    if "&" in line:
        line = _ENTITY.sub(r"\\&", line)
    if not line:
        return line
    first = line[0]
    if first in _LINE_START_CHARS:
        return "\\" + line
    if first.isdigit():
        return _ORDERED.sub(r"\1\\\2", line)
    return line


def _escaped_lines(text: str) -> list[str]:
    if "@" in text:
        text = neutralise_mentions(text)
    if "\n" not in text:
        line = text.strip()
        return [_escape_line(line)] if line else []
    lines = (line.strip() for line in text.split("\n"))
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
    answers: Sequence[SortedAnswer], noun: str = "reflection", nouns: str = "reflections"
) -> list[str]:
    """Consented answers as bullets, then a count of the ones shared privately."""
    out = [_bullet(text) for _, text, consent in answers if consent]
    shared = len(out)
    private = len(answers) - shared
    if shared:
        out.append("")
    if private:
        more = "more " if shared else ""
        verb = "was" if private == 1 else "were"
        out += [f"{plural(private, more + noun, more + nouns)} {verb} shared privately.", ""]
    return out


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
    table after it) describes it.

    The same writer as :class:`MarkdownStream`, fed every brew from memory: one pass over the
    rows, grouped once per brew.
    """
    index_brews(brews, reflections)
    per_brew = reflections_per_brew(reflections)
    by_brew: dict[int, list[ReflectionRecord]] = {}
    for r in reflections:
        by_brew.setdefault(r.brew_number, []).append(r)
    out = io.StringIO(newline="")
    stream = MarkdownStream(
        out,
        brews,
        per_brew,
        sum(1 for r in reflections if r.consent),
        prompts,
        title=title,
        generated_on=generated_on,
        chart_filename=chart_filename,
        chart_by=chart_by,
    )
    for brew in ordered_brews(brews):
        stream.add(brew, by_brew.get(brew.number, ()))
    stream.close()
    return out.getvalue()


def _header(
    brews_in_order: Sequence[BrewSummary],
    per_brew: Mapping[int, int],
    consented: int,
    *,
    title: str,
    generated_on: date,
    chart_filename: str | None,
    chart_by: ChartBy,
) -> list[str]:
    """Title, totals, the chart and the table of brews: counts only, no reflection text."""
    total = sum(per_brew.get(b.number, 0) for b in brews_in_order)
    people = sum(b.participants for b in brews_in_order)
    rooms = sum(b.rooms for b in brews_in_order)
    out = [
        f"# {escape_markdown_inline(title)}",
        "",
        f"Generated on {format_date(generated_on)}.",
        "",
        f"Across {plural(len(brews_in_order), 'brew')}, {plural(people, 'person', 'people')} "
        f"took part in {plural(rooms, 'room')} and left {plural(total, 'reflection')}."
        + consent_sentence(consented, total),
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
            alt = escape_markdown_inline(chart_alt_text(brews_in_order, per_brew, by=chart_by))
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
    return out


def _brew_section(
    brew: BrewSummary,
    received: int,
    grouped: Mapping[str, Sequence[SortedAnswer]],
    columns: Sequence[PromptColumn],
) -> list[str]:
    """One brew's ``##`` section; ``grouped`` is its answers by prompt key
    (:func:`~bot.core.export_model.answers_by_prompt`), feedback left out here."""
    out = [
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
    if not received:
        return [*out, "No reflections were received for this brew.", ""]
    columns = [c for c in columns if not is_feedback(c) and grouped.get(c.key)]
    if not columns:
        return [*out, "The reflections for this brew were feedback on the session only.", ""]
    for column in columns:
        out += [f"#### {escape_markdown_inline(column.label)}", ""]
        out += _quotes(grouped[column.key])
    return out


class MarkdownStream:
    """The report written to ``out`` one brew at a time, so memory holds one brew.

    What the top needs (totals, the chart's alt text, the table of brews) are counts, passed in
    up front: ``per_brew`` reflections per brew number and ``consented``, how many of them may
    be quoted (after :func:`~bot.core.export_model.quotable`). Then :meth:`add` every brew in
    date order (then number) with all its reflections, already through ``quotable``, and
    :meth:`close`. Quoted feedback, which comes after every brew, waits in ``spool`` (a
    temporary file that stays in memory while small) until then.
    """

    def __init__(
        self,
        out: TextIO,
        brews: Sequence[BrewSummary],
        per_brew: Mapping[int, int],
        consented: int,
        prompts: Sequence[Prompt],
        *,
        title: str,
        generated_on: date,
        chart_filename: str | None,
        chart_by: ChartBy = "brew",
        spool: TextIO | None = None,
    ) -> None:
        self.out = out
        self._per_brew = per_brew
        self._prompts = prompts
        self._spool: TextIO = spool or cast(
            TextIO,
            tempfile.SpooledTemporaryFile(
                max_size=_SPOOL_IN_MEMORY, mode="w+", encoding="utf-8", newline=""
            ),
        )
        self._feedback_shared = 0
        self._feedback_private = 0
        self._write(
            _header(
                ordered_brews(brews),
                per_brew,
                consented,
                title=title,
                generated_on=generated_on,
                chart_filename=chart_filename,
                chart_by=chart_by,
            )
        )

    def _write(self, lines: Sequence[str]) -> None:
        if lines:
            self.out.write("\n".join(lines) + "\n")

    def add(self, brew: BrewSummary, reflections: Sequence[ReflectionRecord]) -> None:
        """Write one brew's section and set its quoted feedback aside for the end."""
        grouped = answers_by_prompt(reflections)
        columns = answer_columns(self._prompts, grouped)
        received = self._per_brew.get(brew.number, 0)
        self._write(_brew_section(brew, received, grouped, columns))
        for column in columns:
            answers = grouped.get(column.key)
            if not answers or not is_feedback(column):
                continue
            shared = [_bullet(text) + "\n" for _, text, consent in answers if consent]
            self._feedback_shared += len(shared)
            self._feedback_private += len(answers) - len(shared)
            if shared:
                self._spool.write("".join(shared))

    def close(self) -> None:
        """Write the feedback and the note on how this was collected; ``out`` stays open."""
        shared, private = self._feedback_shared, self._feedback_private
        self._write(["## Feedback on the sessions", ""])
        if shared or private:
            intro = f"{plural(shared + private, 'person', 'people')} told us how their brew went."
            self._write([intro, ""])
            if shared:
                self._spool.seek(0)
                shutil.copyfileobj(self._spool, self.out)
                self._write([""])
            if private:
                noun, nouns = "piece of feedback", "pieces of feedback"
                more = "more " if shared else ""
                verb = "was" if private == 1 else "were"
                line = f"{plural(private, more + noun, more + nouns)} {verb} shared privately."
                self._write([line, ""])
        else:
            self._write(["No feedback on the sessions was received.", ""])
        self._spool.close()
        self._write([f"## {COLLECTION_HEADING}", "", escape_markdown(COLLECTION_NOTE)])
        self.out.flush()


#: Quoted feedback beyond this many bytes waits on disk rather than in memory.
_SPOOL_IN_MEMORY = 1024 * 1024
