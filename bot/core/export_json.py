"""JSON export and import of reflections; the schema is documented in :mod:`bot.core.export`.

Machine-readable and versioned so other tools (a region's analysis spreadsheet, a future
version of this bot) can rely on it. Bump :data:`JSON_SCHEMA_VERSION` on any change that could
break a reader (renaming or removing a field, changing a type); adding an optional field does not
need a bump, and readers must ignore fields they do not know.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, NamedTuple

from bot.core.export_model import (
    BrewSummary,
    ReflectionRecord,
    index_brews,
    ordered_brews,
    ordered_reflections,
    prompt_columns,
)
from bot.core.reflections import Prompt

__all__ = ["JSON_SCHEMA_NAME", "JSON_SCHEMA_VERSION", "ParsedExport", "from_json", "to_json"]

JSON_SCHEMA_NAME = "brew-host.reflections"
JSON_SCHEMA_VERSION = 1


def to_json(
    brews: Sequence[BrewSummary],
    reflections: Sequence[ReflectionRecord],
    prompts: Sequence[Prompt],
    *,
    generated_on: date,
) -> bytes:
    """Serialise to UTF-8 JSON bytes (no BOM, 2-space indent, trailing newline).

    Deterministic: the same input gives the same bytes, so exports can be compared. Reflections
    are ordered by brew, date and content, never by submission order. Answers that are empty
    after trimming are left out.
    """
    index_brews(brews, reflections)
    columns = prompt_columns(prompts, reflections)
    keys = [c.key for c in columns]
    document: dict[str, Any] = {
        "schema": JSON_SCHEMA_NAME,
        "version": JSON_SCHEMA_VERSION,
        "generated_on": generated_on.isoformat(),
        "prompts": [
            {"key": p.key, "label": p.label, "long": p.long, "max_length": p.max_length}
            for p in prompts
        ],
        "brews": [
            {
                "number": b.number,
                "title": b.title,
                "area": b.area,
                "question": b.question,
                "date": b.date.isoformat(),
                "participants": b.participants,
                "rooms": b.rooms,
            }
            for b in ordered_brews(brews)
        ],
        "reflections": [
            {
                "brew_number": r.brew_number,
                "date": r.date.isoformat(),
                "consent": r.consent,
                "answers": {
                    k: r.answers[k].strip()
                    for k in keys
                    if k in r.answers and r.answers[k] and r.answers[k].strip()
                },
            }
            for r in ordered_reflections(reflections, columns)
        ],
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


class ParsedExport(NamedTuple):
    """What :func:`from_json` recovers from a file written by :func:`to_json`."""

    generated_on: date
    prompts: list[Prompt]
    brews: list[BrewSummary]
    reflections: list[ReflectionRecord]


def from_json(data: bytes | str) -> ParsedExport:
    """Read a version-1 export back (e.g. to merge regions or re-render a report).

    Raises ``ValueError`` for another schema or a newer version, rather than misreading it.
    """
    doc = json.loads(data)
    if not isinstance(doc, Mapping) or doc.get("schema") != JSON_SCHEMA_NAME:
        raise ValueError(f"This is not a {JSON_SCHEMA_NAME} export")
    version = doc.get("version")
    if version != JSON_SCHEMA_VERSION:
        raise ValueError(
            f"Export schema version {version!r} is not supported "
            f"(this program reads version {JSON_SCHEMA_VERSION})"
        )
    try:
        return ParsedExport(
            generated_on=date.fromisoformat(doc["generated_on"]),
            prompts=[
                Prompt(
                    key=p["key"],
                    label=p["label"],
                    long=bool(p.get("long", True)),
                    max_length=int(p.get("max_length", 1000)),
                )
                for p in doc.get("prompts", [])
            ],
            brews=[
                BrewSummary(
                    number=int(b["number"]),
                    title=str(b["title"]),
                    area=None if b.get("area") is None else str(b["area"]),
                    question=str(b["question"]),
                    date=date.fromisoformat(b["date"]),
                    participants=int(b["participants"]),
                    rooms=int(b["rooms"]),
                )
                for b in doc["brews"]
            ],
            reflections=[
                ReflectionRecord(
                    brew_number=int(r["brew_number"]),
                    date=date.fromisoformat(r["date"]),
                    consent=r["consent"] is True,
                    answers={str(k): str(v) for k, v in r["answers"].items()},
                )
                for r in doc["reflections"]
            ],
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"The export is missing or has a malformed field: {exc}") from exc
