"""The report as one self-contained, accessible web page (``html`` export format).

One file to email, attach or put on an intranet: the styles are inline and each chart is an
image inside the page as a ``data:`` URI (SVG from :mod:`bot.core.chart_svg`; PNG is accepted
too), so opening it makes no network request (a Content Security Policy in the page says so to
the browser too).

Accessibility (checked with axe-core, WCAG 2.2 AA, in a real browser by the tests):

* ``lang="en-GB"``, a ``<main>`` landmark, one ``<h1>`` and headings that never skip a level, so
  screen-reader users can list and jump between areas, brews and questions;
* tables have a ``<caption>`` (which also names the scrollable region around them),
  ``<th scope="col">`` headers and a ``<th scope="row">`` first cell;
* each chart's ``alt`` text says what it shows, with its numbers, and the same numbers follow in
  a table, so nothing depends on seeing the image;
* text reflows: relative units, ``max-width`` images, long words wrap (``overflow-wrap``), no
  fixed widths, so it reads at 200 % zoom and on a phone without sideways scrolling;
* dark text on white, well above 4.5:1 contrast; meaning is never in colour alone;
* a print stylesheet: A4 pages, and tables, figures and quotes kept whole where they fit.

Safety: every string is escaped with :func:`html.escape` (quotes too), so text a person typed,
whether Markdown, HTML, a script, a spreadsheet formula or a very long word, shows as those
exact characters and wraps. Line breaks inside a quote are kept with ``<br>``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from html import escape

from bot.core.chart_svg import SVG_MEDIA_TYPE
from bot.core.export_document import (
    BulletList,
    Figure,
    Heading,
    Paragraph,
    Quotes,
    ReportDocument,
    Table,
)

__all__ = ["HTML_CSS", "to_html"]

HTML_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body {
  margin: 0; background: #ffffff; color: #1b1b1b;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  font-size: 1.0625rem; line-height: 1.55;
}
main { max-width: 50rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1, h2, h3, h4 { line-height: 1.25; margin: 1.6em 0 0.5em; }
h1 { font-size: 2rem; margin-top: 0.5em; }
h2 { font-size: 1.55rem; border-bottom: 0.15rem solid #1b1b1b; padding-bottom: 0.15em; }
h3 { font-size: 1.25rem; }
h4 { font-size: 1.1rem; }
h1, h2, h3, h4, p, li, blockquote, caption, figcaption, tbody th, tbody td {
  overflow-wrap: anywhere; word-break: normal;
}
/* Column headers and numbers never break inside a word: only people's words may. */
thead th, td.num { overflow-wrap: normal; }
.generated { color: #3d3d3d; }
figure { margin: 1.25rem 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #767676; }
figcaption { font-style: italic; margin-top: 0.35rem; }
.table-wrap { overflow-x: auto; margin: 1rem 0 1.5rem; }
.table-wrap:focus-visible { outline: 0.2rem solid #1b1b1b; outline-offset: 0.15rem; }
table { border-collapse: collapse; width: 100%; }
caption { caption-side: top; text-align: left; font-weight: 700; padding: 0.25rem 0; }
th, td {
  border: 1px solid #595959; padding: 0.35rem 0.5rem; text-align: left; vertical-align: top;
}
thead th { background: #e9e9e9; }
tbody th { font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
blockquote {
  margin: 0.75rem 0; padding: 0.5rem 1rem; background: #f3f3f3;
  border-left: 0.35rem solid #1b1b1b;
}
blockquote p { margin: 0; }
.note { border: 1px solid #595959; padding: 0.5rem 1rem; }
@media (max-width: 40rem) {
  body { font-size: 1rem; }
  main { padding: 0.5rem 0.75rem 2rem; }
  h1 { font-size: 1.6rem; }
  h2 { font-size: 1.35rem; }
  table { font-size: 0.875rem; }
  th, td { padding: 0.25rem 0.25rem; }
}
@media print {
  @page { size: A4; margin: 18mm 16mm; }
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  table, figure, blockquote, tr { break-inside: avoid; }
  h2, h3, h4, caption { break-after: avoid; }
  thead { display: table-header-group; }
  .table-wrap { overflow: visible; }
  figure img { max-height: 120mm; width: auto; }
}
""".strip()

# No scripts, no network: images only from inside the page, styles only inline.
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _text(value: str) -> str:
    """Escape one string, turning its line breaks into ``<br>``."""
    return "<br>\n".join(escape(line) for line in value.split("\n"))


def _table(table: Table, number: int) -> list[str]:
    def cell(i: int, value: str, *, head: bool) -> str:
        cls = ' class="num"' if table.numeric[i] else ""
        if head:
            return f'<th scope="col"{cls}>{escape(value)}</th>'
        if i == 0:
            return f'<th scope="row"{cls}>{escape(value)}</th>'
        return f"<td{cls}>{escape(value)}</td>"

    # A data table may need two dimensions (a WCAG reflow exception): on a narrow screen it
    # scrolls inside its own labelled, keyboard-focusable region, never the whole page.
    out = [
        f'<div class="table-wrap" role="region" aria-labelledby="table-{number}" tabindex="0">',
        "<table>",
        f'<caption id="table-{number}">{escape(table.caption)}</caption>',
        "<thead><tr>"
        + "".join(cell(i, h, head=True) for i, h in enumerate(table.headers))
        + "</tr></thead>",
        "<tbody>",
    ]
    out += [
        "<tr>" + "".join(cell(i, v, head=False) for i, v in enumerate(row)) + "</tr>"
        for row in table.rows
    ]
    out += ["</tbody>", "</table>", "</div>"]
    return out


def _media_type(image: bytes) -> str:
    return "image/png" if image.startswith(b"\x89PNG") else SVG_MEDIA_TYPE


def to_html(doc: ReportDocument, images: Mapping[str, bytes]) -> str:
    """Render ``doc``; ``images`` maps each figure's chart key to its SVG (or PNG) bytes (a
    figure whose chart is missing is shown as its alt text, so the words are never lost)."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en-GB">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="generator" content="Brew Host">',
        f"<title>{escape(doc.title)}</title>",
        f"<style>\n{HTML_CSS}\n</style>",
        "</head>",
        "<body>",
        "<main>",
    ]
    first_paragraph = True
    tables = 0
    for block in doc.blocks:
        if isinstance(block, Heading):
            level = min(max(block.level, 1), 6)
            out.append(f"<h{level}>{escape(block.text)}</h{level}>")
        elif isinstance(block, Paragraph):
            cls = ' class="generated"' if first_paragraph else ""
            first_paragraph = False
            out.append(f"<p{cls}>{_text(block.text)}</p>")
        elif isinstance(block, BulletList):
            out.append("<ul>")
            out += [f"<li>{_text(item)}</li>" for item in block.items]
            out.append("</ul>")
        elif isinstance(block, Quotes):
            out += [f"<blockquote><p>{_text(item)}</p></blockquote>" for item in block.items]
        elif isinstance(block, Table):
            tables += 1
            out += _table(block, tables)
        elif isinstance(block, Figure):
            image = images.get(block.chart)
            out.append("<figure>")
            if image:
                data = base64.b64encode(image).decode("ascii")
                out.append(
                    f'<img src="data:{_media_type(image)};base64,{data}" alt="{escape(block.alt)}">'
                )
            else:
                out.append(f"<p>{escape(block.alt)}</p>")
            out.append(f"<figcaption>{escape(block.caption)}</figcaption>")
            out.append("</figure>")
        else:  # pragma: no cover - every block type is handled above
            raise TypeError(f"Unknown block {type(block).__name__}")
    out += ["</main>", "</body>", "</html>", ""]
    return "\n".join(out)
