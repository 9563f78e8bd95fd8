"""The regional report: brews from several servers (one community server per area, as in the
ADASS Eastern Region's week of brews) gathered into one document with a section per area.

Brew numbers are counted per server, so servers are kept apart as :class:`ServerExport` until
their answers are turned into rows; nothing here joins on a brew number across servers.

Structure: title, date, the period and areas covered, totals; "Summary by area" (chart and a
table of brews, people, rooms, reflections and quotable reflections per area, with a total row);
"Brews over time" (brews per week, chart and table); one section per area (what was asked, a table
of its brews, then the consented quotes per question); feedback on the sessions; how this was
collected. The same anonymity and consent rules as every report apply (see
:mod:`bot.core.export_document`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from bot.core.export_document import (
    Block,
    BulletList,
    ChartSpec,
    Figure,
    Heading,
    Paragraph,
    ReportDocument,
    Table,
    bars_alt_text,
    brew_table,
    collection_blocks,
    consent_sentence,
    feedback_blocks,
    plain_inline,
    prompt_sections,
    week_table,
)
from bot.core.export_model import (
    NO_AREA,
    AnswerRow,
    BrewSummary,
    ChartBar,
    ReflectionRecord,
    WeekCount,
    answer_rows,
    count_weeks,
    format_date,
    index_brews,
    is_feedback,
    plural,
    prompt_columns,
    reflections_per_brew,
    week_start,
    weekly_alt_text,
)
from bot.core.reflections import Prompt

__all__ = [
    "AreaTotals",
    "RegionalFilter",
    "ServerExport",
    "area_name",
    "area_totals",
    "build_regional_report",
    "filter_servers",
    "week_start",
    "weekly_counts",
]


@dataclass(frozen=True)
class ServerExport:
    """One server's brews and reflections; brew numbers are unique only within it."""

    server_id: int
    brews: tuple[BrewSummary, ...]
    reflections: tuple[ReflectionRecord, ...]


@dataclass(frozen=True)
class RegionalFilter:
    """``--since``, ``--until`` (both inclusive, brew dates) and ``--area`` (any of, ignoring
    case and surrounding spaces; empty means every area)."""

    since: date | None = None
    until: date | None = None
    areas: tuple[str, ...] = ()

    def keeps(self, brew: BrewSummary) -> bool:
        if self.since is not None and brew.date < self.since:
            return False
        if self.until is not None and brew.date > self.until:
            return False
        if self.areas:
            wanted = {a.strip().casefold() for a in self.areas}
            return area_name(brew).casefold() in wanted
        return True

    def describe(self) -> str:
        """The filter in words, for the report ("" when nothing was filtered)."""
        parts = []
        if self.since and self.until:
            parts.append(f"from {format_date(self.since)} to {format_date(self.until)}")
        elif self.since:
            parts.append(f"on or after {format_date(self.since)}")
        elif self.until:
            parts.append(f"up to {format_date(self.until)}")
        if self.areas:
            names = [plain_inline(a) for a in self.areas]
            joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            parts.append(f"in {joined}")
        return f"This report covers brews {' '.join(parts)}." if parts else ""


def area_name(brew: BrewSummary) -> str:
    """The brew's area as shown, or :data:`NO_AREA`."""
    return plain_inline(brew.area or "") or NO_AREA


def filter_servers(servers: Iterable[ServerExport], flt: RegionalFilter) -> list[ServerExport]:
    """Only the brews the filter keeps, with their reflections; servers left empty are dropped."""
    out = []
    for server in servers:
        brews = tuple(b for b in server.brews if flt.keeps(b))
        if not brews:
            continue
        kept = {b.number for b in brews}
        reflections = tuple(r for r in server.reflections if r.brew_number in kept)
        out.append(ServerExport(server.server_id, brews, reflections))
    return out


@dataclass(frozen=True)
class AreaTotals:
    area: str
    brews: int
    people: int
    rooms: int
    reflections: int
    quotable: int


def _area_key(area: str) -> tuple[bool, str, str]:
    return (area == NO_AREA, area.casefold(), area)


def area_totals(servers: Sequence[ServerExport]) -> list[AreaTotals]:
    """Totals per area, alphabetical, brews without an area last. Areas that differ only in
    case or spacing are one area (named as first seen in alphabetical order)."""
    acc: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for server in servers:
        per_brew = reflections_per_brew(server.reflections)
        quotable = reflections_per_brew(r for r in server.reflections if r.consent)
        for brew in server.brews:
            name = area_name(brew)
            key = name.casefold()
            names[key] = min(names.get(key, name), name)
            totals = acc.setdefault(key, [0, 0, 0, 0, 0])
            totals[0] += 1
            totals[1] += brew.participants
            totals[2] += brew.rooms
            totals[3] += per_brew.get(brew.number, 0)
            totals[4] += quotable.get(brew.number, 0)
    result = [AreaTotals(names[k], *v) for k, v in acc.items()]
    return sorted(result, key=lambda t: _area_key(t.area))


def weekly_counts(servers: Sequence[ServerExport]) -> list[WeekCount]:
    """Brews, people and reflections per week across ``servers`` (see
    :func:`bot.core.export_model.count_weeks`)."""
    pairs = []
    for server in servers:
        per_brew = reflections_per_brew(server.reflections)
        pairs += [(brew, per_brew.get(brew.number, 0)) for brew in server.brews]
    return count_weeks(pairs)


def _sorted_rows(rows: Iterable[AnswerRow]) -> list[AnswerRow]:
    # Alphabetical across the area's servers too: never in submission or server order.
    return sorted(rows, key=lambda r: (r.answer.casefold(), r.answer, r.consent))


def _questions(brews: Sequence[BrewSummary]) -> list[str]:
    counts: dict[str, int] = {}
    for brew in brews:
        q = plain_inline(brew.question)
        if q:
            counts[q] = counts.get(q, 0) + 1
    return [
        f"{q} ({plural(n, 'brew')})" for q, n in sorted(counts.items(), key=lambda i: (-i[1], i[0]))
    ]


def build_regional_report(
    servers: Sequence[ServerExport],
    prompts: Sequence[Prompt],
    *,
    title: str,
    generated_on: date,
    flt: RegionalFilter | None = None,
) -> ReportDocument:
    """The regional report for ``servers`` (already loaded); ``flt`` is applied here."""
    flt = flt or RegionalFilter()
    servers = filter_servers(servers, flt)
    all_reflections = [r for s in servers for r in s.reflections]
    rows_by_area: dict[str, list[AnswerRow]] = {}
    brews_by_area: dict[str, list[tuple[BrewSummary, int]]] = {}
    feedback: list[AnswerRow] = []
    for server in servers:
        index_brews(server.brews, server.reflections)
        per_brew = reflections_per_brew(server.reflections)
        for brew in server.brews:
            brews_by_area.setdefault(area_name(brew).casefold(), []).append(
                (brew, per_brew.get(brew.number, 0))
            )
        for row in answer_rows(server.brews, server.reflections, prompts):
            if is_feedback(row.prompt):
                feedback.append(row)
            else:
                rows_by_area.setdefault(area_name(row.brew).casefold(), []).append(row)
    columns = prompt_columns(prompts, all_reflections)
    totals = area_totals(servers)
    weeks = weekly_counts(servers)
    people = sum(t.people for t in totals)
    rooms = sum(t.rooms for t in totals)
    brews = sum(t.brews for t in totals)
    quotable = sum(t.quotable for t in totals)

    blocks: list[Block] = [
        Heading(1, plain_inline(title)),
        Paragraph(f"Generated on {format_date(generated_on)}."),
    ]
    if flt.describe():
        blocks.append(Paragraph(flt.describe()))
    areas_sentence = (
        f" The areas that took part were {_join([t.area for t in totals])}." if totals else ""
    )
    blocks.append(
        Paragraph(
            f"Across {plural(brews, 'brew')} in {plural(len(totals), 'area')}, "
            f"{plural(people, 'person', 'people')} took part in {plural(rooms, 'room')} and left "
            f"{plural(len(all_reflections), 'reflection')}."
            + consent_sentence(quotable, len(all_reflections))
            + areas_sentence
        )
    )
    charts: list[ChartSpec] = []
    if not totals:
        blocks.append(Paragraph("There are no brews to report yet."))
    else:
        area_spec = ChartSpec(
            "areas", "grouped", "Participants and reflections per area", "Area",
            bars=tuple(ChartBar(t.area, t.people, t.reflections, t.brews) for t in totals),
        )  # fmt: skip
        week_spec = ChartSpec(
            "weeks", "weekly", "Brews per week", "Week starting", weeks=tuple(weeks)
        )
        charts += [area_spec, week_spec]
        blocks += [
            Heading(2, "Summary by area"),
            Figure(
                "areas",
                bars_alt_text(area_spec),
                f"{area_spec.title}. The same numbers are in the table below.",
            ),
            Table(
                "Brews, people and reflections by area",
                ("Area", "Brews", "People", "Rooms", "Reflections", "Can be quoted"),
                (
                    *tuple(
                        (
                            t.area,
                            f"{t.brews:,}",
                            f"{t.people:,}",
                            f"{t.rooms:,}",
                            f"{t.reflections:,}",
                            f"{t.quotable:,}",
                        )
                        for t in totals
                    ),
                    (
                        "All areas",
                        f"{brews:,}",
                        f"{people:,}",
                        f"{rooms:,}",
                        f"{len(all_reflections):,}",
                        f"{quotable:,}",
                    ),
                ),
                (False, True, True, True, True, True),
            ),
            Heading(2, "Brews over time"),
            Figure(
                "weeks",
                weekly_alt_text(weeks),
                "Brews per week. The same numbers are in the table below.",
            ),
            week_table(weeks),
        ]
    for area in totals:
        key = area.area.casefold()
        area_brews = sorted(brews_by_area[key], key=lambda pair: (pair[0].date, pair[0].number))
        in_area = [b for b, _ in area_brews]
        blocks += [
            Heading(2, area.area),
            Paragraph(
                f"In {area.area}, {plural(area.people, 'person', 'people')} took part in "
                f"{plural(area.brews, 'brew')} and {plural(area.rooms, 'room')}, and left "
                f"{plural(area.reflections, 'reflection')}."
                + consent_sentence(area.quotable, area.reflections)
            ),
        ]
        questions = _questions(in_area)
        if questions:
            blocks += [Paragraph("What was asked:"), BulletList(tuple(questions))]
        blocks.append(brew_table(area_brews, f"Brews in {area.area}", area_column=False))
        blocks.append(Heading(3, f"What we heard in {area.area}"))
        area_rows = _sorted_rows(rows_by_area.get(key, []))
        if not area.reflections:
            blocks.append(Paragraph("No reflections were received in this area."))
        elif not area_rows:
            blocks.append(
                Paragraph("The reflections in this area were feedback on the sessions only.")
            )
        else:
            blocks += prompt_sections(columns, area_rows, level=4)
    blocks += feedback_blocks(_sorted_rows(feedback))
    blocks += collection_blocks()
    return ReportDocument(plain_inline(title), generated_on, tuple(blocks), tuple(charts))


def _join(names: Sequence[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]
