"""The Word report parses back with python-docx: heading styles, real tables, quotes, alt text."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import docx
import pytest
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn

from bot.core.export_document import build_report
from bot.core.export_regional import build_regional_report
from bot.reporting.render import render_document
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


def report(ds: Dataset) -> bytes:
    doc = build_report(
        ds.brews,
        ds.reflections,
        PROMPTS,
        title="Over A Brew in Norfolk: what we heard",
        generated_on=GENERATED,
    )
    return render_document(doc, "docx")


def opened(data: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(data))


def headings(d: docx.document.Document) -> list[tuple[str, str]]:
    return [(p.style.name, p.text) for p in d.paragraphs if p.style.name.startswith("Heading")]


def alt_texts(d: docx.document.Document) -> list[str]:
    return [shape._inline.docPr.get("descr") for shape in d.inline_shapes]


def test_empty() -> None:
    d = opened(report(EMPTY))
    assert headings(d)[0] == ("Heading 1", "Over A Brew in Norfolk: what we heard")
    assert "There are no brews to report yet." in [p.text for p in d.paragraphs]
    assert not d.tables and not d.inline_shapes
    assert d.core_properties.title == "Over A Brew in Norfolk: what we heard"


def test_one_brew_structure() -> None:
    d = opened(report(ONE_BREW))
    assert headings(d) == [
        ("Heading 1", "Over A Brew in Norfolk: what we heard"),
        ("Heading 2", "Brew 1: Co-production: what's missing?"),
        ("Heading 3", "What we heard"),
        ("Heading 4", "What's missing?"),
        ("Heading 4", "What could be next?"),
        ("Heading 2", "Feedback on the sessions"),
        ("Heading 2", "How this was collected"),
    ]
    quotes = [p.text for p in d.paragraphs if p.style.name == "Quote"]
    assert quotes == [
        "Mixed spaces to listen.\nAnd to talk.",
        "Share learning across networks",
        "Great chat with people we haven't talked to before",
    ]
    assert all("PRIVATE" not in p.text for p in d.paragraphs)
    [table] = d.tables
    assert [c.text for c in table.rows[0].cells] == [
        "Brew",
        "Area",
        "Date",
        "People",
        "Rooms",
        "Reflections",
    ]
    assert [c.text for c in table.rows[1].cells] == [
        "1: Co-production: what's missing?",
        "Norfolk",
        "2 July 2024",
        "6",
        "2",
        "2",
    ]
    assert table.rows[1].cells[5].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert table.rows[1].cells[0].paragraphs[0].runs[0].bold  # the row's header cell
    assert not table.rows[1].cells[1].paragraphs[0].runs[0].bold
    tbl_pr = table._tbl.tblPr
    assert (
        tbl_pr.find(qn("w:tblCaption")).get(qn("w:val")) == "Brews, people, rooms and reflections"
    )
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert "Brews, people, rooms and reflections" in [
        p.text for p in d.paragraphs if p.style.name == "Caption"
    ]
    [alt] = alt_texts(d)
    assert alt.startswith("Bar chart comparing the number of participants and reflections")
    assert "6 participants, 2 reflections" in alt
    lang = (
        d.styles.element.find(qn("w:docDefaults"))
        .find(qn("w:rPrDefault"))
        .find(qn("w:rPr"))
        .find(qn("w:lang"))
    )
    assert lang.get(qn("w:val")) == "en-GB"


def test_hostile_text_is_plain_text() -> None:
    d = opened(report(HOSTILE_SET))
    quotes = [p.text for p in d.paragraphs if p.style.name == "Quote"]
    for hostile in HOSTILE:
        assert hostile in quotes
    assert "before[31mafter" in quotes
    assert "<b>PRIVATE</b>" not in quotes
    assert headings(d)[1][1].startswith("Brew 7: <b>Title</b> **x** =1+1 Co-production")
    assert all(
        p.runs == [] or all(r.bold in (None, False) for r in p.runs)
        for p in d.paragraphs
        if p.style.name == "Quote"
    )


def test_five_hundred_brews_regional() -> None:
    doc = build_regional_report(
        region(), PROMPTS, title="Over A Brew in the Eastern region", generated_on=GENERATED
    )
    d = opened(render_document(doc, "docx"))
    h2 = [t for s, t in headings(d) if s == "Heading 2"]
    assert h2[:3] == ["Summary by area", "Brews over time", "Bedfordshire"]
    assert len(d.tables) == 2 + 6
    assert len(d.tables[0].rows) == 6 + 2  # header, six areas, all areas
    assert [a[:40] for a in alt_texts(d)] == [
        "Bar chart comparing participants and ref",
        "Bar chart of the number of brews in each",
    ]


def test_five_hundred_brews_single_server() -> None:
    d = opened(report(flatten(region())))
    assert len(d.tables[0].rows) == 501
    assert sum(1 for s, _ in headings(d) if s == "Heading 2") == 502


def test_libreoffice_opens_and_converts_it(tmp_path: Path) -> None:
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip(
            "LibreOffice (soffice) is not installed; the document was checked by parsing it back"
        )
    source = tmp_path / "report.docx"
    source.write_bytes(report(ONE_BREW))
    subprocess.run(
        [office, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
        check=True,
        timeout=180,
        capture_output=True,
    )
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
