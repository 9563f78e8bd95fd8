"""Every report ends with the same "How this was collected" note, and a server with more brews
than a chart can show one bar each gets its chart by week, with alt text and a table to match."""

from __future__ import annotations

from datetime import date, timedelta

from bot.core.export import to_markdown
from bot.core.export_document import (
    Figure,
    Heading,
    Paragraph,
    Table,
    build_report,
)
from bot.core.export_html import to_html
from bot.core.export_model import (
    COLLECTION_HEADING,
    COLLECTION_NOTE,
    MAX_BREWS_ON_CHART,
    MIN_PEOPLE_PER_CONSENT_GROUP,
    BrewSummary,
    ReflectionRecord,
    chart_grouping,
    count_weeks,
    weekly_alt_text,
)
from bot.core.export_regional import build_regional_report
from bot.db.exports import ExportData
from bot.export_files import draw_chart, render_files

from .datasets import GENERATED, ONE_BREW, PROMPTS, region


def busy_server(count: int, areas: tuple[str, ...] = ("Norfolk",)) -> ExportData:
    """``count`` brews, two a week from 1 July 2024, each with one reflection."""
    start = date(2024, 7, 1)
    brews = tuple(
        BrewSummary(n, f"Brew {n}", areas[n % len(areas)], "What's missing?",
                    start + timedelta(days=3 * (n - 1) + (n - 1) // 2), 5, 2)
        for n in range(1, count + 1)
    )  # fmt: skip
    reflections = tuple(
        ReflectionRecord(b.number, b.date, False, {"missing": "time"}) for b in brews
    )
    return ExportData(brews, reflections, PROMPTS)


# ------------------------------------------------------------------ the collection note
def test_the_note_says_anonymous_consent_and_the_three_people_rule() -> None:
    assert MIN_PEOPLE_PER_CONSENT_GROUP == 3
    assert "anonymously" in COLLECTION_NOTE
    assert '"May we quote this, without your name?"' in COLLECTION_NOTE
    assert "at least three people in that brew said yes" in COLLECTION_NOTE


def test_the_markdown_report_ends_with_the_same_note_as_the_other_reports() -> None:
    md = to_markdown(
        ONE_BREW.brews, ONE_BREW.reflections, PROMPTS, title="T", generated_on=GENERATED,
        chart_filename=None,
    )  # fmt: skip
    assert md.endswith(f"## {COLLECTION_HEADING}\n\n{COLLECTION_NOTE}\n")
    # ... after the feedback section, as in the web page and Word report.
    assert md.index("## Feedback on the sessions") < md.index(f"## {COLLECTION_HEADING}")
    empty = to_markdown((), (), PROMPTS, title="T", generated_on=GENERATED, chart_filename=None)
    assert empty.endswith(f"{COLLECTION_NOTE}\n")

    doc = build_report(ONE_BREW.brews, ONE_BREW.reflections, PROMPTS, title="T",
                       generated_on=GENERATED)  # fmt: skip
    assert doc.blocks[-2:] == (Heading(2, COLLECTION_HEADING), Paragraph(COLLECTION_NOTE))
    regional = build_regional_report(region(12), PROMPTS, title="R", generated_on=GENERATED)
    assert regional.blocks[-2:] == doc.blocks[-2:]
    assert COLLECTION_NOTE.split(";")[0].replace('"', "&quot;") in to_html(doc, {})


# ------------------------------------------------------------------ the busy chart
def test_how_the_chart_groups_brews() -> None:
    assert chart_grouping(busy_server(MAX_BREWS_ON_CHART).brews) == "brew"
    assert chart_grouping(busy_server(MAX_BREWS_ON_CHART + 1).brews) == "week"
    assert chart_grouping(busy_server(5, ("Norfolk", "Essex")).brews) == "area"
    assert chart_grouping(busy_server(300, ("Norfolk", "Essex")).brews) == "area"
    # The same area written differently is still one area.
    assert chart_grouping(busy_server(40, ("Norfolk", " norfolk ")).brews) == "week"


def test_count_weeks_keeps_empty_weeks_and_adds_up() -> None:
    data = busy_server(40)
    weeks = count_weeks((b, 1) for b in data.brews)
    assert weeks[0].start == date(2024, 7, 1) and all(w.start.weekday() == 0 for w in weeks)
    assert sum(w.brews for w in weeks) == 40 and sum(w.people for w in weeks) == 200
    assert sum(w.reflections for w in weeks) == 40
    gap = count_weeks([(data.brews[0], 0), (data.brews[-1], 0)])
    assert len(gap) == len(weeks) and sum(w.brews for w in gap) == 2


def test_a_busy_server_s_web_and_word_report_chart_brews_per_week() -> None:
    data = busy_server(120)
    doc = build_report(data.brews, data.reflections, PROMPTS, title="T", generated_on=GENERATED)
    [spec] = doc.charts
    assert spec.kind == "weekly" and sum(w.brews for w in spec.weeks) == 120
    figure_at = next(i for i, b in enumerate(doc.blocks) if isinstance(b, Figure))
    figure, week_table, brew_table = doc.blocks[figure_at : figure_at + 3]
    assert isinstance(figure, Figure) and isinstance(week_table, Table)
    assert figure.alt == weekly_alt_text(spec.weeks)
    assert figure.alt.startswith("Bar chart of the number of brews in each week")
    assert "Every number is in the table that follows." in figure.alt  # 40+ weeks: summarised
    assert week_table.headers == ("Week starting", "Brews", "People", "Reflections")
    assert len(week_table.rows) == len(spec.weeks)
    assert week_table.rows[0] == ("1 July 2024", "2", "10", "2")
    # Every brew is still in the brew table, and still has its own section.
    assert isinstance(brew_table, Table) and len(brew_table.rows) == 120
    assert Heading(2, "Brew 120: Brew 120") in doc.blocks

    few = busy_server(10)
    doc = build_report(few.brews, few.reflections, PROMPTS, title="T", generated_on=GENERATED)
    assert doc.charts[0].kind == "grouped" and len(doc.charts[0].bars) == 10


def test_a_busy_server_s_markdown_report_and_its_picture_are_by_week() -> None:
    data = busy_server(45)
    files = dict(render_files(data, "markdown", "T", GENERATED))
    report = files["brew-report.md"].decode()
    weeks = count_weeks((b, 1) for b in data.brews)
    assert files["brew-report-chart.svg"] == draw_chart(
        data.brews, {b.number: 1 for b in data.brews}, "week"
    )
    assert b"Brews per week" in files["brew-report-chart.svg"]
    assert f"![{weekly_alt_text(weeks)}](brew-report-chart.svg)" in report
    table = report.split("| Week starting | Brews | People | Reflections |")[1]
    assert "| 1 July 2024 | 2 | 10 | 2 |" in table.split("| Brew | Area |")[0]
    # Two tables (header and rule lines each): a row per week, then a row per brew.
    assert report.count("\n| ") - 4 == len(weeks) + 45
    # A small server keeps a bar per brew.
    small = render_files(busy_server(3), "markdown", "T", GENERATED)[0][1].decode()
    assert "| Week starting |" not in small and "Brew 3: Brew 3: 5 participants" in small
