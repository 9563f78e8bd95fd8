"""The export formats as people meet them: :data:`EXPORT_FORMATS` and :data:`DOCUMENT_FORMATS`.

Apart from :mod:`bot.core.export` (which re-exports them) so that ``brewhost``'s options and
``/brew export``'s choices can list the formats without importing the exporters themselves: a
running bot loads those only when someone exports (idle memory, issue 12).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExportFormat:
    """One export format as people meet it."""

    key: str  #: ``--format`` value and slash-command choice value
    name: str  #: in "Here is your {name} export"
    choice: str  #: the slash-command choice people pick
    filename: str  #: default file name
    chart_beside: bool = False  #: Markdown only: its chart is a PNG next to it


#: Every format, in the order offered (the first is the default).
EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.key: f
    for f in (
        ExportFormat("markdown", "Markdown report", "Report (Markdown, with a chart)",
                     "brew-report.md", chart_beside=True),
        ExportFormat("html", "web page report", "Report as a web page (HTML)", "brew-report.html"),
        ExportFormat("docx", "Word report", "Report as a Word document (DOCX)", "brew-report.docx"),
        ExportFormat("csv", "CSV", "Spreadsheet (CSV)", "brew-reflections.csv"),
        ExportFormat("json", "JSON", "Data (JSON)", "brew-reflections.json"),
    )
}  # fmt: skip

#: Formats drawn from a :class:`bot.core.export_document.ReportDocument` (with embedded charts).
DOCUMENT_FORMATS = ("html", "docx")
