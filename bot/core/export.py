"""Exports of what was heard: CSV for spreadsheets, JSON for tools, reports for people
(Markdown, a web page, a Word document).

:data:`EXPORT_FORMATS` is the one list of formats: ``/brew export``, ``brewhost export`` and the
documentation read their names, labels and file names from it.

Pure functions returning ``bytes``/``str``; the caller decides where files go (see
:mod:`bot.core.uploads` for fitting them into Discord messages). The implementation lives in
``export_model`` (records, ordering, counts), ``export_csv``, ``export_json`` and
``export_markdown``; import from here.

Anonymity rules shared by every format: no user ids, no times of day (dates only), and nothing
ordered by submission time. Consent is recorded on every row for organisers; only the Markdown
report, which is meant to be shared, filters to consented quotes.

CSV columns (one row per non-empty answer; details in :mod:`bot.core.export_csv`)::

    Brew number, Brew title, Area, Brew question, Brew date, Prompt, Answer, Consent to quote

JSON schema ``brew-host.reflections``, version 1 (:data:`JSON_SCHEMA_VERSION`)::

    {
      "schema": "brew-host.reflections",      // constant, identifies the format
      "version": 1,                           // bumped on breaking changes only
      "generated_on": "2024-07-05",           // ISO date the export was made
      "prompts": [                            // the questions asked, in form order
        {"key": "missing", "label": "What's missing?", "long": true, "max_length": 1000}
      ],
      "brews": [                              // in date order, then number
        {"number": 3, "title": "...", "area": "Norfolk" | null, "question": "...",
         "date": "2024-07-02", "participants": 6, "rooms": 2}
      ],
      "reflections": [                        // by brew, date, then content; never by time
        {"brew_number": 3, "date": "2024-07-02", "consent": true,
         "answers": {"missing": "...", "feedback": "..."}}   // prompt key -> text; empty
      ]                                                      // answers left out
    }

Encoding is UTF-8 without BOM, non-ASCII characters kept as is. Readers must ignore unknown
fields; answer keys may include prompts no longer in ``prompts`` (relabelled content files).
:func:`from_json` reads the format back and refuses other schemas or versions.
"""

from __future__ import annotations

from bot.core.export_csv import CSV_COLUMNS, FORMULA_TRIGGERS, neutralise_formula, to_csv
from bot.core.export_formats import DOCUMENT_FORMATS, EXPORT_FORMATS, ExportFormat
from bot.core.export_json import (
    JSON_SCHEMA_NAME,
    JSON_SCHEMA_VERSION,
    ParsedExport,
    from_json,
    to_json,
)
from bot.core.export_markdown import escape_markdown, escape_markdown_inline, to_markdown
from bot.core.export_model import (
    NO_AREA,
    BrewSummary,
    ChartBar,
    ReflectionRecord,
    chart_alt_text,
    chart_bars,
    reflections_per_brew,
)

__all__ = [
    "CSV_COLUMNS",
    "DOCUMENT_FORMATS",
    "EXPORT_FORMATS",
    "FORMULA_TRIGGERS",
    "JSON_SCHEMA_NAME",
    "JSON_SCHEMA_VERSION",
    "NO_AREA",
    "BrewSummary",
    "ChartBar",
    "ExportFormat",
    "ParsedExport",
    "ReflectionRecord",
    "chart_alt_text",
    "chart_bars",
    "escape_markdown",
    "escape_markdown_inline",
    "from_json",
    "neutralise_formula",
    "reflections_per_brew",
    "to_csv",
    "to_json",
    "to_markdown",
]
