"""The report as a Word document (``docx`` export format), made with python-docx.

Organisers edit reports before sending them to a board or a community, so this is a real,
editable document rather than a picture of one:

* headings use Word's own *Heading 1* to *Heading 4* styles, so the navigation pane works and
  *Insert > Table of contents* builds itself;
* tables are real tables (style *Table Grid*), with a *Caption* paragraph above, the caption also
  stored as the table's alternative-text title, and the header row marked to repeat on each page;
* charts are pictures with alternative text (``descr`` on the drawing), and a caption below;
* quotes use the built-in *Quote* style; line breaks inside a quote are kept;
* the document language is English (United Kingdom), so spelling and screen readers use it.

python-docx is imported inside :func:`to_docx`, like Pillow in :mod:`bot.reporting.chart`,
so the bot does not pay for it at start-up. All text comes from a
:class:`~bot.core.export_document.ReportDocument`, already free of control characters (which
Word's XML cannot hold); python-docx escapes the rest, so user text is always plain text.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from bot.core.export_document import (
    BulletList,
    Figure,
    Heading,
    Paragraph,
    Quotes,
    ReportDocument,
    Table,
)

__all__ = ["DOCX_LANGUAGE", "to_docx"]

DOCX_LANGUAGE = "en-GB"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
#: Width of a chart in the page: A4 less 2 x 2 cm margins is 17 cm.
_PICTURE_WIDTH_CM = 16.5


def _set_language(document: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rpr = document.styles.element.find(qn("w:docDefaults"))
    rpr = rpr.find(qn("w:rPrDefault")).find(qn("w:rPr")) if rpr is not None else None
    if rpr is None:  # pragma: no cover - python-docx's template always has defaults
        return
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), DOCX_LANGUAGE)


class _Writer:
    """Appends paragraphs straight before the body's section properties.

    python-docx's ``add_paragraph(style=name)`` looks the style up by name and finds the insertion
    point by scanning the whole body on every call, which is quadratic: a 100,000-reflection
    report took minutes. Style ids are resolved once here and each paragraph is appended in
    constant time; the XML is the same.
    """

    def __init__(self, document: Any) -> None:
        self.document = document
        self.body = document.element.body
        self.ids: dict[str, str] = {}
        # The section properties stay the body's last child; looking them up is a linear scan.
        self.sect = self.body.sectPr

    def style_id(self, name: str) -> str:
        if name not in self.ids:
            self.ids[name] = self.document.styles[name].style_id
        return self.ids[name]

    def paragraph(self, text: str = "", style: str | None = None) -> Any:
        """Append a paragraph of plain text (line breaks kept) in ``style``; built as XML
        directly, since python-docx's per-run helpers cost about a millisecond each."""
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.text.paragraph import Paragraph as DocxParagraph

        p = OxmlElement("w:p")
        if style:
            ppr = OxmlElement("w:pPr")
            pstyle = OxmlElement("w:pStyle")
            pstyle.set(qn("w:val"), self.style_id(style))
            ppr.append(pstyle)
            p.append(ppr)
        if text:
            lines = text.split("\n")
            for i, line in enumerate(lines):
                run = OxmlElement("w:r")
                t = OxmlElement("w:t")
                t.text = line
                t.set(_XML_SPACE, "preserve")
                run.append(t)
                if i < len(lines) - 1:
                    run.append(OxmlElement("w:br"))
                p.append(run)
        if self.sect is not None:
            self.sect.addprevious(p)
        else:  # pragma: no cover - python-docx's template always has one
            self.body.append(p)
        return DocxParagraph(p, self.document._body)


def _table(document: Any, writer: _Writer, table: Table) -> None:
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    caption = writer.paragraph(table.caption, "Caption")
    caption.paragraph_format.keep_with_next = True
    grid = document.add_table(rows=1 + len(table.rows), cols=len(table.headers))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.LEFT
    tbl_pr = grid._tbl.tblPr
    for tag, value in (("w:tblCaption", table.caption), ("w:tblDescription", table.caption)):
        element = OxmlElement(tag)
        element.set(qn("w:val"), value[:250])
        tbl_pr.append(element)
    trs = grid._tbl.tr_lst
    tr_pr = trs[0].get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    tr_pr.append(repeat)
    # Cells are filled as XML: python-docx's row.cells rebuilds the whole table's cell grid on
    # every call, which made a 10,000-row table take minutes.
    for tr, values, header in [(trs[0], table.headers, True)] + [
        (trs[i + 1], values, False) for i, values in enumerate(table.rows)
    ]:
        for i, (tc, value) in enumerate(zip(tr.tc_lst, values, strict=True)):
            p = tc.p_lst[0]
            if table.numeric[i]:
                ppr = OxmlElement("w:pPr")
                jc = OxmlElement("w:jc")
                jc.set(qn("w:val"), "right")
                ppr.append(jc)
                p.append(ppr)
            run = OxmlElement("w:r")
            if header or i == 0:
                rpr = OxmlElement("w:rPr")
                rpr.append(OxmlElement("w:b"))
                run.append(rpr)
            t = OxmlElement("w:t")
            t.text = value
            t.set(_XML_SPACE, "preserve")
            run.append(t)
            p.append(run)
    writer.paragraph()


def _figure(document: Any, writer: _Writer, figure: Figure, png: bytes | None) -> None:
    from docx.shared import Cm

    if png:
        document.add_picture(io.BytesIO(png), width=Cm(_PICTURE_WIDTH_CM))
        picture_paragraph = document.paragraphs[-1]
        picture_paragraph.paragraph_format.keep_with_next = True
        inline = document.inline_shapes[-1]._inline
        inline.docPr.set("descr", figure.alt)
        inline.docPr.set("title", figure.caption)
    else:
        writer.paragraph(figure.alt)
    writer.paragraph(figure.caption, "Caption")


def to_docx(doc: ReportDocument, images: Mapping[str, bytes]) -> bytes:
    """Render ``doc`` as .docx bytes; ``images`` maps chart keys to PNG bytes."""
    import docx
    from docx.shared import Cm

    document = docx.Document()
    _set_language(document)
    props = document.core_properties
    props.title = doc.title
    props.author = "Brew Host"
    props.language = DOCX_LANGUAGE
    props.comments = f"Generated on {doc.generated_on.isoformat()} by Brew Host."
    for section in document.sections:  # A4, 2 cm margins
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        section.left_margin = section.right_margin = Cm(2.0)
        section.top_margin = section.bottom_margin = Cm(2.0)

    writer = _Writer(document)
    for block in doc.blocks:
        if isinstance(block, Heading):
            writer.paragraph(block.text, f"Heading {min(max(block.level, 1), 9)}")
        elif isinstance(block, Paragraph):
            writer.paragraph(block.text)
        elif isinstance(block, BulletList):
            for item in block.items:
                writer.paragraph(item, "List Bullet")
        elif isinstance(block, Quotes):
            for item in block.items:
                writer.paragraph(item, "Quote")
        elif isinstance(block, Table):
            _table(document, writer, block)
        elif isinstance(block, Figure):
            _figure(document, writer, block, images.get(block.chart))
        else:  # pragma: no cover - every block type is handled above
            raise TypeError(f"Unknown block {type(block).__name__}")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
