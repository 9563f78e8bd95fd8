"""The HTML report: self-contained, structured for assistive technology, hostile text inert."""

from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser

import pytest

from bot.core.export_document import COLLECTION_NOTE, build_report
from bot.core.export_html import to_html
from bot.core.export_regional import build_regional_report
from tests.reporting.datasets import (
    EMPTY,
    GENERATED,
    HOSTILE,
    HOSTILE_SET,
    ONE_BREW,
    PROMPTS,
    Dataset,
    flatten,
    region,
)

PNG = b"\x89PNG\r\n\x1a\nfake"


class Page(HTMLParser):
    """Tags (with attributes), headings and visible text of a page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[tuple[int, str]] = []
        self.text: list[str] = []
        self._heading: int | None = None
        self._buffer: list[str] = []
        self._in_style = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading, self._buffer = int(tag[1]), []
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append((self._heading, "".join(self._buffer)))
            self._heading = None
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            return
        self.text.append(data)
        if self._heading is not None:
            self._buffer.append(data)

    def all_text(self) -> str:
        # <br> between lines of one quote: join lines so multi-line answers can be found whole
        return "".join(self.text).replace("\n", " ")

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


def render(ds: Dataset) -> str:
    doc = build_report(
        ds.brews,
        ds.reflections,
        PROMPTS,
        title="Over A Brew in Norfolk: what we heard",
        generated_on=GENERATED,
        chart_by="brew",
    )
    return to_html(doc, {spec.key: PNG for spec in doc.charts})


def regional_html() -> str:
    doc = build_regional_report(
        region(), PROMPTS, title="Over A Brew in the Eastern region", generated_on=GENERATED
    )
    return to_html(doc, {spec.key: PNG for spec in doc.charts})


def check_structure(html: str) -> Page:
    page = Page(html)
    assert html.startswith("<!DOCTYPE html>")
    assert page.named("html")[0]["lang"] == "en-GB"
    assert len(page.named("main")) == 1
    assert page.named("meta")[1] == {
        "name": "viewport",
        "content": "width=device-width, initial-scale=1",
    }
    levels = [level for level, _ in page.headings]
    assert levels[0] == 1 and levels.count(1) == 1
    for before, after in itertools.pairwise(levels):
        assert after <= before + 1, f"heading level skipped: {before} -> {after}"
    # every table has a caption and header cells with a scope
    assert html.count("<table>") == html.count("<caption id=")
    for th in page.named("th"):
        assert th.get("scope") in {"col", "row"}
    # self-contained: no script, no link, every image inline with alt text
    assert not page.named("script") and not page.named("link") and not page.named("iframe")
    for img in page.named("img"):
        assert (img["src"] or "").startswith("data:image/png;base64,")
        assert img.get("alt") and len(img["alt"] or "") > 30
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    # printing and small screens
    assert "@page { size: A4;" in html and "break-inside: avoid" in html
    assert "@media (max-width: 40rem)" in html and "overflow-wrap: anywhere" in html
    assert COLLECTION_NOTE.split(".")[0] in page.all_text()
    assert "Generated on 1 October 2024." in page.all_text()
    return page


def test_empty_export_says_there_is_nothing_yet() -> None:
    page = check_structure(render(EMPTY))
    assert "There are no brews to report yet." in page.all_text()
    assert not page.named("img") and not page.named("table")
    assert "No feedback on the sessions was received." in page.all_text()


def test_one_brew_has_the_markdown_reports_content() -> None:
    page = check_structure(render(ONE_BREW))
    text = page.all_text()
    assert [h for _, h in page.headings] == [
        "Over A Brew in Norfolk: what we heard",
        "Brew 1: Co-production: what's missing?",
        "What we heard",
        "What's missing?",
        "What could be next?",
        "Feedback on the sessions",
        "How this was collected",
    ]
    assert "Across 1 brew, 6 people took part in 2 rooms and left 2 reflections." in text
    assert "The question for this brew: What is missing?" in text
    assert "Mixed spaces to listen. And to talk." in text  # line break kept as <br>
    assert "Mixed spaces to listen.<br>\nAnd to talk." in render(ONE_BREW)
    assert "Share learning across networks" in text
    assert "Great chat with people we haven't talked to before" in text
    assert "PRIVATE" not in text  # consent: the "no" reflection is counted, never shown
    assert "1 more reflection was shared privately." in text
    img = page.named("img")[0]
    assert img["alt"] == (
        "Bar chart comparing the number of participants and reflections for each "
        "brew, 1 brew in total. Brew 1: Co-production: what's missing?: "
        "6 participants, 2 reflections."
    )
    assert len(page.named("blockquote")) == 3  # missing, next, feedback


def test_hostile_text_is_plain_text() -> None:
    html = render(HOSTILE_SET)
    page = check_structure(html)
    text = page.all_text()
    for hostile in HOSTILE:
        assert hostile in text, hostile
    assert "<b>Title</b> **x** =1+1" in page.headings[1][1]
    assert "Question <script>q()</script> - list?" in text
    # no element or attribute came from anyone's words
    assert {t for t, _ in page.tags} <= {
        "html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "h4", "p",
        "ul", "li", "blockquote", "br", "figure", "img", "figcaption", "table", "caption",
        "thead", "tbody", "tr", "th", "td", "div",
    }  # fmt: skip
    assert all("onerror" not in attrs for _, attrs in page.tags)
    assert "PRIVATE" not in text
    assert "\x00" not in html and "\x1b" not in html and "\u202e" not in html
    assert "before[31mafter" in text  # control characters dropped, words kept


@pytest.mark.parametrize("ds", [flatten(region())], ids=["500 brews"])
def test_five_hundred_brews_single_report(ds: Dataset) -> None:
    page = check_structure(render(ds))
    assert sum(1 for level, _ in page.headings if level == 2) == 500 + 2
    # many bars: alt text summarises and points to the table that has every number
    assert "Every number is in the table that follows." in (page.named("img")[0]["alt"] or "")
    assert len(page.named("tr")) == 500 + 1


def test_regional_report_sections_tables_and_charts() -> None:
    page = check_structure(regional_html())
    h2 = [h for level, h in page.headings if level == 2]
    assert h2 == [
        "Summary by area",
        "Brews over time",
        "Bedfordshire",
        "Essex",
        "Hertfordshire",
        "Luton",
        "Milton Keynes",
        "Norfolk",
        "Feedback on the sessions",
        "How this was collected",
    ]
    assert len(page.named("img")) == 2
    captions = re.findall(r"<caption[^>]*>(.*?)</caption>", regional_html())
    assert captions[:2] == [
        "Brews, people and reflections by area",
        "Brews, people and reflections per week",
    ]
    assert "Brews in Norfolk" in captions
