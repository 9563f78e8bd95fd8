"""What an export covers, as plain records: shared by the SQLAlchemy reads
(:mod:`bot.db.exports`) and the plain ``sqlite3`` ones (:mod:`bot.db.exports_sqlite`).

Nothing here imports SQLAlchemy, so ``brewhost export`` of a SQLite file loads neither it nor
the models (about 0.3 s and 35 MiB of a run that the plain writer finishes in 2 s, issue 12).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from bot.core.export_model import BrewSummary, ReflectionRecord
from bot.core.reflections import Prompt

__all__ = [
    "BATCH_ROWS",
    "EXPORTED_STATUSES",
    "QUERY_BREWS",
    "QUERY_ROWS",
    "ExportData",
    "ExportFilter",
    "ExportPlan",
    "chunks",
    "collect",
    "ordered",
]

#: Brews that reached their rooms; open, cancelled and failed brews have nothing to report.
EXPORTED_STATUSES = ("running", "ended")
#: Reflections asked for in one query (several small brews together, or one big brew).
QUERY_ROWS = 4000
#: Brews asked for in one query when the plan has no counts.
QUERY_BREWS = 20
#: Rows fetched from the cursor at a time; the event loop gets a turn between batches.
BATCH_ROWS = 500


@dataclass(frozen=True)
class ExportFilter:
    guild_id: int | None = None
    brew_number: int | None = None
    since: date | None = None


@dataclass(frozen=True)
class ExportData:
    brews: tuple[BrewSummary, ...]
    reflections: tuple[ReflectionRecord, ...]
    prompts: tuple[Prompt, ...] = field(default=())

    @property
    def areas(self) -> set[str]:
        return {b.area.strip() for b in self.brews if b.area and b.area.strip()}


@dataclass(frozen=True)
class ExportPlan:
    """What an export covers, before any reflection is read: the brews (in date order, then
    number), their database ids, and how many reflections each has and may be quoted."""

    brews: tuple[BrewSummary, ...]
    brew_ids: Mapping[int, int]
    received: Mapping[int, int]
    quotable_yes: Mapping[int, int]
    prompts: tuple[Prompt, ...] = field(default=())
    #: False when the counts were not asked for (``received`` and ``quotable_yes`` empty).
    counted: bool = True

    @property
    def reflections(self) -> int:
        return sum(self.received.values())

    @property
    def consented(self) -> int:
        """Reflections that exports show as quotable (after :func:`quotable`'s rule)."""
        return sum(self.quotable_yes.values())

    @property
    def areas(self) -> set[str]:
        return {b.area.strip() for b in self.brews if b.area and b.area.strip()}


def chunks(
    plan: ExportPlan, brews: Iterable[BrewSummary], rows: int = QUERY_ROWS
) -> Iterable[list[BrewSummary]]:
    """Consecutive brews grouped so one query asks for about ``rows`` reflections (or
    :data:`QUERY_BREWS` brews when they were not counted)."""
    chunk: list[BrewSummary] = []
    size = 0
    for brew in brews:
        count = plan.received.get(brew.number, 0) if plan.counted else rows // QUERY_BREWS
        if chunk and size + count > rows:
            yield chunk
            chunk, size = [], 0
        chunk.append(brew)
        size += count
    if chunk:
        yield chunk


def ordered(plan: ExportPlan, order: Literal["date", "number"]) -> Sequence[BrewSummary]:
    """The plan's brews in date order (the CSV and the report) or number order (the JSON)."""
    return plan.brews if order == "date" else sorted(plan.brews, key=lambda b: b.number)


def collect(
    rows: Iterable[Any], wanted: Mapping[int, int], found: dict[int, list[ReflectionRecord]]
) -> None:
    """Rows ``(brew id, date, consent, answers)`` as records, under their brew's number."""
    record = ReflectionRecord
    for brew_id, day, consent, answers in rows:
        number = wanted[brew_id]
        found[number].append(
            record(number, day, bool(consent), {str(k): str(v) for k, v in (answers or {}).items()})
        )
