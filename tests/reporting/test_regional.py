"""The regional model: filters, totals by area, brews per week, and sections per area."""

from __future__ import annotations

from datetime import date

from bot.core.export_document import Figure, Heading, Paragraph, Quotes, Table
from bot.core.export_model import BrewSummary, ReflectionRecord
from bot.core.export_regional import (
    RegionalFilter,
    ServerExport,
    area_totals,
    build_regional_report,
    filter_servers,
    week_start,
    weekly_counts,
)
from bot.reporting.chart import draw_chart
from tests.reporting.datasets import AREAS, GENERATED, PROMPTS, region


def server(
    sid: int, area: str | None, *brews: tuple[int, date, int], consent: bool = True
) -> ServerExport:
    summaries = tuple(BrewSummary(n, f"t{n}", area, "q?", d, p, 1) for n, d, p in brews)
    reflections = tuple(
        ReflectionRecord(n, d, consent, {"missing": f"{area} {n}"}) for n, d, _ in brews
    )
    return ServerExport(sid, summaries, reflections)


TWO = [
    server(1, "Norfolk", (1, date(2024, 7, 1), 5), (2, date(2024, 7, 15), 7)),
    server(2, "essex ", (1, date(2024, 7, 2), 4), consent=False),
    server(3, "Essex", (1, date(2024, 7, 3), 3)),
]


def test_brew_numbers_clash_across_servers_but_counts_stay_apart() -> None:
    totals = area_totals(TWO)
    assert [(t.area, t.brews, t.people, t.reflections, t.quotable) for t in totals] == [
        ("Essex", 2, 7, 2, 1),
        ("Norfolk", 2, 12, 2, 2),
    ]


def test_weeks_run_monday_to_sunday_and_keep_empty_weeks() -> None:
    assert week_start(date(2024, 7, 7)) == date(2024, 7, 1)  # a Sunday
    weeks = weekly_counts(TWO)
    assert [(w.start, w.brews, w.people, w.reflections) for w in weeks] == [
        (date(2024, 7, 1), 3, 12, 3),
        (date(2024, 7, 8), 0, 0, 0),
        (date(2024, 7, 15), 1, 7, 1),
    ]


def test_filters_since_until_and_area() -> None:
    flt = RegionalFilter(since=date(2024, 7, 2), until=date(2024, 7, 14), areas=(" ESSEX",))
    kept = filter_servers(TWO, flt)
    assert [(s.server_id, [b.number for b in s.brews]) for s in kept] == [(2, [1]), (3, [1])]
    assert flt.describe() == "This report covers brews from 2 July 2024 to 14 July 2024 in ESSEX."
    assert RegionalFilter().describe() == ""


def test_report_sections_quotes_and_consent() -> None:
    doc = build_regional_report(TWO, PROMPTS, title="Region", generated_on=GENERATED)
    h2 = [b.text for b in doc.blocks if isinstance(b, Heading) and b.level == 2]
    assert h2 == [
        "Summary by area",
        "Brews over time",
        "Essex",
        "Norfolk",
        "Feedback on the sessions",
        "How this was collected",
    ]
    quotes = [q for b in doc.blocks if isinstance(b, Quotes) for q in b.items]
    assert quotes == ["Essex 1", "Norfolk 1", "Norfolk 2"]  # server 2 said no: counted, not shown
    summary = next(b for b in doc.blocks if isinstance(b, Table))
    assert summary.rows[-1] == ("All areas", "4", "19", "4", "4", "3")
    paragraphs = " ".join(b.text for b in doc.blocks if isinstance(b, Paragraph))
    assert (
        "Across 4 brews in 2 areas, 19 people took part in 4 rooms and left 4 reflections."
        in paragraphs
    )
    assert "The areas that took part were Essex and Norfolk." in paragraphs
    figures = [b for b in doc.blocks if isinstance(b, Figure)]
    assert figures[0].alt.endswith(
        "Essex: 7 participants, 2 reflections. Norfolk: 12 participants, 2 reflections."
    )
    assert "Week starting 8 July 2024: 0 brews." in figures[1].alt


def test_empty_region() -> None:
    doc = build_regional_report([], PROMPTS, title="Region", generated_on=GENERATED)
    assert doc.charts == ()
    assert any(
        isinstance(b, Paragraph) and b.text == "There are no brews to report yet."
        for b in doc.blocks
    )


def test_five_hundred_brews_six_areas() -> None:
    servers = region()
    doc = build_regional_report(
        servers,
        PROMPTS,
        title="Region",
        generated_on=GENERATED,
        flt=RegionalFilter(areas=("Luton", "Norfolk")),
    )
    h2 = [b.text for b in doc.blocks if isinstance(b, Heading) and b.level == 2]
    assert h2[2:4] == ["Luton", "Norfolk"]
    full = build_regional_report(servers, PROMPTS, title="Region", generated_on=GENERATED)
    summary = next(b for b in full.blocks if isinstance(b, Table))
    assert [r[0] for r in summary.rows] == [*sorted(AREAS), "All areas"]
    assert summary.rows[-1][1] == "500"
    weeks = next(s for s in full.charts if s.kind == "weekly").weeks
    assert sum(w.brews for w in weeks) == 500


def test_charts_draw_as_png() -> None:
    doc = build_regional_report(region(60), PROMPTS, title="Region", generated_on=GENERATED)
    for spec in doc.charts:
        png = draw_chart(spec)
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
