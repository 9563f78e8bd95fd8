"""JSON export and import of reflections; the schema is documented in :mod:`bot.core.export`.

Machine-readable and versioned so other tools (a region's analysis spreadsheet, a future
version of this bot) can rely on it. Bump :data:`JSON_SCHEMA_VERSION` on any change that could
break a reader (renaming or removing a field, changing a type); adding an optional field does not
need a bump, and readers must ignore fields they do not know.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from json.encoder import encode_basestring
from typing import Any, BinaryIO, NamedTuple

from bot.core.export_model import (
    BrewSummary,
    ReflectionRecord,
    index_brews,
    ordered_brews,
    ordered_reflections,
    prompt_columns,
)
from bot.core.reflections import Prompt

__all__ = [
    "JSON_SCHEMA_NAME",
    "JSON_SCHEMA_VERSION",
    "JsonStream",
    "ParsedExport",
    "from_json",
    "to_json",
]

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
        **_head(brews, prompts, generated_on),
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


def _head(
    brews: Sequence[BrewSummary], prompts: Sequence[Prompt], generated_on: date
) -> dict[str, Any]:
    """Everything in the document before ``"reflections"`` (small: one entry per brew)."""
    return {
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
    }


#: ``json.dumps(text, ensure_ascii=False)`` for a string, without building an encoder per call
#: (what ``dumps`` itself ends in for a ``str``; 560,000 calls in a 100k-reflection export).
_string: Callable[[str], str] = encode_basestring


class JsonStream:
    """:func:`to_json`'s bytes written to ``out`` one brew at a time.

    The head (schema, prompts, every brew) is small and written first; each reflection is then
    written as :func:`json.dumps` with ``indent=2`` would place it, four spaces deep, so the
    document stays valid, deterministic and byte-identical to :func:`to_json`'s. Call
    :meth:`add` for every brew **in brew-number order** (the order of ``"reflections"``), each
    with all of its reflections already passed through
    :func:`~bot.core.export_model.quotable`; then :meth:`close`. Sorting within one brew is
    enough: :func:`~bot.core.export_model.ordered_reflections` sorts by brew first, and answer
    keys no reflection of a brew carries compare equal for all of that brew's reflections.
    """

    def __init__(
        self,
        out: BinaryIO,
        brews: Sequence[BrewSummary],
        prompts: Sequence[Prompt],
        *,
        generated_on: date,
    ) -> None:
        self._text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
        self._prompts = prompts
        self._last: int | None = None
        self._first = True
        head = json.dumps(_head(brews, prompts, generated_on), ensure_ascii=False, indent=2)
        # The head ends "\n}"; the reflections list goes in its place.
        self._text.write(head[: -len("\n}")] + ',\n  "reflections": [')

    def add(self, brew: BrewSummary, reflections: Sequence[ReflectionRecord]) -> None:
        """Write one brew's reflections, sorted as :func:`to_json` sorts them."""
        if self._last is not None and brew.number <= self._last:
            raise ValueError("JsonStream.add: brews must come in increasing number order")
        self._last = brew.number
        if any(r.brew_number != brew.number for r in reflections):
            raise ValueError(f"A reflection passed with brew {brew.number} belongs to another")
        columns = prompt_columns(self._prompts, reflections)
        # Each key's start of line is the same for every reflection: encoded once per brew.
        keyed = [(c.key, f"        {_string(c.key)}: ") for c in columns]
        string = _string
        brew_number = str(brew.number)
        parts: list[str] = []
        for r in ordered_reflections(reflections, columns):
            get = r.answers.get
            answers = []
            for key, lead in keyed:
                text = get(key)
                if text and (text := text.strip()):
                    answers.append(lead + string(text))
            body = "{\n" + ",\n".join(answers) + "\n      }" if answers else "{}"
            parts.append(
                ("\n    {\n" if self._first else ",\n    {\n")
                + f'      "brew_number": {brew_number},\n'
                f'      "date": "{r.date.isoformat()}",\n'
                f'      "consent": {"true" if r.consent else "false"},\n'
                f'      "answers": {body}\n'
                "    }"
            )
            self._first = False
        self._text.write("".join(parts))

    def close(self) -> None:
        """End the document and flush; ``out`` stays open for the caller."""
        self._text.write("]\n}\n" if self._first else "\n  ]\n}\n")
        self._text.flush()
        self._text.detach()


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
