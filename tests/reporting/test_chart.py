"""The report charts: one layout drawn as accessible SVG (Markdown, web page) and as PNG (Word)."""

from __future__ import annotations

import base64
import html
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.core.chart_layout import CHART_HEIGHT, layout_chart
from bot.core.chart_svg import chart_svg
from bot.core.export import BrewSummary, chart_alt_text
from bot.core.export_document import ChartSpec, Figure, build_report
from bot.core.export_model import ChartBar, WeekCount, chart_bars
from bot.export_files import draw_chart
from bot.reporting.chart import PNG_SCALE, chart_png
from bot.reporting.render import draw_charts, render_document
from tests.reporting.datasets import GENERATED, ONE_BREW, PROMPTS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"

BREWS = (
    BrewSummary(1, "The value of co-production", "Essex", "q", date(2024, 7, 1), 12, 3),
    BrewSummary(2, "Direct Payments $5 & 50% <b>", "Norfolk", "q", date(2024, 7, 3), 5, 1),
    BrewSummary(3, "Open brew", None, "q", date(2024, 7, 4), 4, 1),
    BrewSummary(4, "Essex again", "Essex", "q", date(2024, 7, 5), 7, 2),
)
PER_BREW = {1: 9, 2: 1, 4: 6}


def grouped(by: str = "brew") -> ChartSpec:
    return ChartSpec(
        "c", "grouped", f"Participants and reflections per {by}", by.capitalize(),
        bars=tuple(chart_bars(BREWS, PER_BREW, by=by)),  # type: ignore[arg-type]
    )  # fmt: skip


def weekly(count: int) -> ChartSpec:
    weeks = tuple(
        WeekCount(date(2024, 7, 1) + timedelta(weeks=i), i % 3, 10 * (i % 3), i)
        for i in range(count)
    )
    return ChartSpec("w", "weekly", "Brews per week", "Week starting", weeks=weeks)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def texts(svg: bytes) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")]


def test_svg_is_named_described_and_says_every_number_in_text() -> None:
    alt = chart_alt_text(BREWS, PER_BREW, by="brew")
    svg = draw_chart(BREWS, PER_BREW, "brew")
    root = ET.fromstring(svg)  # well-formed XML, user text escaped
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "chart-title chart-desc"
    assert root.find(f"{SVG}title").text == "Participants and reflections per brew"
    assert root.find(f"{SVG}desc").text == alt
    words = texts(svg)
    # Every bar's number is drawn as text, with the legend and axis titles in words.
    for brew in BREWS:
        assert str(brew.participants) in words
    for n in (9, 1, 0, 6):
        assert str(n) in words
    assert {"Participants", "Reflections", "Brew", "Number of people or reflections"} <= set(words)
    # The title's characters as typed (wrapped over lines under its bars), escaped in the XML.
    assert "Payments $5 & 50%" in words and "<b>" in words
    assert b"<b>" not in svg


def test_series_differ_by_hatching_as_well_as_colour() -> None:
    root = ET.fromstring(chart_svg(grouped(), "d"))
    patterns = {p.get("id"): p for p in root.iter(f"{SVG}pattern")}
    assert set(patterns) == {"fill-participants", "fill-reflections"}
    shapes = [ET.tostring(p)[-200:] for p in patterns.values()]
    assert shapes[0] != shapes[1]
    bars = [r for r in root.iter(f"{SVG}rect") if (r.get("fill") or "").startswith("url(")]
    assert len(bars) == 2 * 4 + 2  # two bars per brew, two legend swatches
    assert all(r.get("stroke") == "#000" for r in bars)


def test_same_numbers_same_bytes_and_no_metadata() -> None:
    assert chart_svg(grouped(), "d") == chart_svg(grouped(), "d")
    assert chart_png(grouped()) == chart_png(grouped())
    png = chart_png(grouped())
    assert b"tIME" not in png and b"Software" not in png


def test_size_fixed_height_width_grows_with_bars() -> None:
    few, many = layout_chart(grouped()), layout_chart(weekly(60))
    assert few.height == many.height == CHART_HEIGHT
    assert few.width == 800 and many.width > few.width and many.width <= 2400
    assert png_size(chart_png(grouped())) == (800 * PNG_SCALE, CHART_HEIGHT * PNG_SCALE)
    root = ET.fromstring(chart_svg(weekly(60), "d"))
    assert root.get("viewBox") == f"0 0 {many.width} {CHART_HEIGHT}"


def test_every_label_fits_inside_the_picture() -> None:
    long = ChartSpec(
        "c", "grouped", "Participants and reflections per brew", "Brew",
        bars=tuple(ChartBar(f"Brew {i}: " + "long title " * 8, 200, 180, 1) for i in range(30)),
    )  # fmt: skip
    for spec in (grouped(), grouped("area"), long, weekly(5), weekly(60)):
        layout = layout_chart(spec)
        for label in layout.labels:
            assert 0 <= label.x <= layout.width and 0 <= label.y <= layout.height, label
        for bar in layout.bars:
            assert bar.x >= 0 and bar.x + bar.width <= layout.width and bar.height >= 0
        if spec is long:  # the first slanted label reaches left of its bar, not off the page
            first = next(lb for lb in layout.labels if lb.angle == -30)
            reach = len(first.text) * first.size * 0.56 * 0.866
            assert first.x - reach >= 0


def test_weekly_numbers_on_bars_only_when_few() -> None:
    def on_bars(spec: ChartSpec) -> list[str]:
        layout = layout_chart(spec)
        base = max(b.y + b.height for b in layout.bars)
        left = min(b.x for b in layout.bars)
        return [lb.text for lb in layout.labels if lb.y < base and lb.x > left and not lb.bold]

    assert on_bars(weekly(6)) == ["0", "1", "2", "0", "1", "2"]
    assert on_bars(weekly(60)) == []  # too narrow to read: the table has every number
    few = texts(chart_svg(weekly(6), "d"))
    assert "1 Jul" in few and "2024" in few


def test_empty_charts_say_so() -> None:
    empty = ChartSpec("c", "grouped", "Participants and reflections per brew", "Brew")
    assert "No brews to show yet" in texts(chart_svg(empty, "d"))
    assert "No brews to show yet" in texts(chart_svg(weekly(0), "d"))
    assert png_size(chart_png(empty))[1] == CHART_HEIGHT * PNG_SCALE


def test_bad_grouping_refused() -> None:
    with pytest.raises(ValueError):
        chart_bars(BREWS, PER_BREW, by="room")  # type: ignore[arg-type]


def test_alt_text_mentions_every_number() -> None:
    text = chart_alt_text(BREWS, PER_BREW, by="brew")
    for brew in BREWS:
        assert f"Brew {brew.number}: {brew.title}: {brew.participants} participants, " in text
    for n in (9, 1, 0, 6):
        assert f"{n} reflection" in text
    area = chart_alt_text(BREWS, PER_BREW, by="area")
    assert "Essex (2 brews): 19 participants, 15 reflections." in area
    assert "Norfolk (1 brew): 5 participants, 1 reflection." in area
    assert "No area given (1 brew): 4 participants, 0 reflections." in area


def test_no_plotting_library_and_pillow_only_for_word() -> None:
    code = (
        "import sys, bot.reporting, bot.export_files, bot.core.chart_svg; "
        "print(sorted(m for m in ('matplotlib', 'PIL') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "[]"


def test_the_web_page_s_chart_is_an_svg_image_with_the_figure_s_alt_text() -> None:
    doc = build_report(
        ONE_BREW.brews, ONE_BREW.reflections, PROMPTS, title="T", generated_on=GENERATED
    )
    page = render_document(doc, "html").decode("utf-8")
    figure = next(b for b in doc.blocks if isinstance(b, Figure))
    found = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]*)">', page)
    assert found is not None and html.unescape(found.group(2)) == figure.alt
    svg = base64.b64decode(found.group(1))
    assert ET.fromstring(svg).find(f"{SVG}desc").text == figure.alt


def test_the_word_report_s_chart_is_a_png_picture() -> None:
    doc = build_report(
        ONE_BREW.brews, ONE_BREW.reflections, PROMPTS, title="T", generated_on=GENERATED
    )
    [spec] = doc.charts
    assert draw_charts(doc, "docx") == {spec.key: chart_png(spec)}
