"""Reading brews and reflections for an export, as the pure core's records.

The same reads serve ``/brew export`` and ``brewhost export``. No record carries a user id;
reflections carry their date only.

Two ways to read:

* :func:`plan_export` then :func:`stream_brews`: the brews and per-brew counts first (one small
  aggregate query), then each brew with its reflections, a few brews per query and the rows in
  batches from a server-side cursor. Memory holds one batch of brews; the event loop gets a turn
  between batches. CSV, JSON and the Markdown report are written this way.
* :func:`load_export`: everything at once, for the reports that need it whole (web page, Word,
  the regional report).

Both read plain columns (no ORM objects) and apply :func:`bot.core.export_model.quotable`
per brew, which is all that rule looks at.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any, Literal

from sqlalchemy import Connection, Integer, NullPool, case, func, select
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.export import BrewSummary, ReflectionRecord
from bot.core.export_model import MIN_PEOPLE_PER_CONSENT_GROUP, ordered_brews, quotable
from bot.core.reflections import Prompt
from bot.db.models import Brew, GuildSettings, Reflection

__all__ = [
    "EXPORTED_STATUSES",
    "ExportData",
    "ExportFilter",
    "ExportPlan",
    "export_guild_ids",
    "load_export",
    "plan_export",
    "stream_brews",
    "stream_brews_sync",
    "sync_reader",
]

#: Brews that reached their rooms; open, cancelled and failed brews have nothing to report.
EXPORTED_STATUSES = ("running", "ended")


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


def _brews_query(flt: ExportFilter) -> Any:
    query = (
        select(Brew, GuildSettings.area_label)
        .outerjoin(GuildSettings, GuildSettings.guild_id == Brew.guild_id)
        .where(Brew.status.in_(EXPORTED_STATUSES), Brew.started_at.is_not(None))
    )
    if flt.guild_id is not None:
        query = query.where(Brew.guild_id == flt.guild_id)
    if flt.brew_number is not None:
        query = query.where(Brew.number == flt.brew_number)
    if flt.since is not None:
        query = query.where(Brew.started_at >= datetime.combine(flt.since, time(0), UTC))
    return query


async def export_guild_ids(session: AsyncSession, flt: ExportFilter) -> list[int]:
    """The servers with brews matching ``flt`` (brew numbers are only unique per server)."""
    inner = _brews_query(flt).subquery()
    return list(
        await session.scalars(select(inner.c.guild_id).distinct().order_by(inner.c.guild_id))
    )


#: Reflections asked for in one query (several small brews together, or one big brew).
QUERY_ROWS = 4000
#: Brews asked for in one query when the plan has no counts.
QUERY_BREWS = 20
#: Rows fetched from the cursor at a time; the event loop gets a turn between batches.
BATCH_ROWS = 500


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


async def plan_export(
    session: AsyncSession,
    flt: ExportFilter,
    prompts: Sequence[Prompt],
    tz: tzinfo = UTC,
    *,
    until: date | None = None,
    counts: bool = True,
) -> ExportPlan:
    """The brews for one server (pass ``flt.guild_id`` when several exist) and their counts.

    ``until`` keeps brews dated on or before it in ``tz``; whole brews are dropped, so each kept
    brew's quoting rule is unchanged. Counting reads every reflection row once more (consent
    is not in an index), so exports that need no totals up front (CSV, JSON) pass
    ``counts=False``.
    """
    brews_query = _brews_query(flt).with_only_columns(
        Brew.id,
        Brew.number,
        Brew.title,
        GuildSettings.area_label,
        Brew.question,
        Brew.started_at,
        Brew.participants,
        Brew.rooms_count,
    )
    ids: dict[int, int] = {}
    brews: list[BrewSummary] = []
    for brew_id, number, title, area, question, started, participants, rooms in (
        await session.execute(brews_query)
    ).all():
        day = started.astimezone(tz).date()
        if until is not None and day > until:
            continue
        ids[number] = brew_id
        brews.append(BrewSummary(number, title, area, question, day, participants, rooms))
    received: dict[int, int] = {}
    yes: dict[int, int] = {}
    if ids and counts:
        by_id = {brew_id: number for number, brew_id in ids.items()}
        per_brew = (
            select(
                Reflection.brew_id,
                func.count(),
                func.sum(case((Reflection.consent, 1), else_=0), type_=Integer),
            )
            .where(Reflection.brew_id.in_(list(by_id)))
            .group_by(Reflection.brew_id)
        )
        for brew_id, count, consented in (await session.execute(per_brew)).all():
            number = by_id[brew_id]
            received[number] = int(count)
            consented = int(consented or 0)
            yes[number] = consented if consented >= MIN_PEOPLE_PER_CONSENT_GROUP else 0
    return ExportPlan(tuple(ordered_brews(brews)), ids, received, yes, tuple(prompts), counts)


def _chunks(
    plan: ExportPlan, brews: Iterable[BrewSummary], rows: int
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


def _ordered(plan: ExportPlan, order: Literal["date", "number"]) -> Sequence[BrewSummary]:
    return plan.brews if order == "date" else sorted(plan.brews, key=lambda b: b.number)


def _reflections_query(brew_ids: Iterable[int]) -> Any:
    return select(
        Reflection.brew_id, Reflection.submitted_on, Reflection.consent, Reflection.answers
    ).where(Reflection.brew_id.in_(list(brew_ids)))


def _collect(
    rows: Iterable[Any], wanted: Mapping[int, int], found: dict[int, list[ReflectionRecord]]
) -> None:
    """Rows ``(brew id, date, consent, answers)`` as records, under their brew's number."""
    for brew_id, day, consent, answers in rows:
        number = wanted[brew_id]
        found[number].append(
            ReflectionRecord(
                number, day, bool(consent), {str(k): str(v) for k, v in (answers or {}).items()}
            )
        )


async def stream_brews(
    session: AsyncSession,
    plan: ExportPlan,
    *,
    order: Literal["date", "number"] = "date",
    query_rows: int = QUERY_ROWS,
    batch_rows: int = BATCH_ROWS,
) -> AsyncIterator[tuple[BrewSummary, list[ReflectionRecord]]]:
    """Each brew of ``plan`` with its reflections (through :func:`quotable`), in date order
    (the CSV and the report) or number order (the JSON's ``"reflections"``).

    Rows come from a server-side cursor ``batch_rows`` at a time, so the event loop gets a turn
    between batches. Reflections come in storage order within a brew; the writers sort them.
    """
    for chunk in _chunks(plan, _ordered(plan, order), query_rows):
        wanted = {plan.brew_ids[b.number]: b.number for b in chunk}
        found: dict[int, list[ReflectionRecord]] = {b.number: [] for b in chunk}
        if not plan.counted or any(plan.received.get(b.number, 0) for b in chunk):
            query = _reflections_query(wanted).execution_options(yield_per=batch_rows)
            result = await session.stream(query)
            async for batch in result.partitions():
                _collect(batch, wanted, found)
        for brew in chunk:
            yield brew, quotable(found.pop(brew.number))


def stream_brews_sync(
    conn: Connection,
    plan: ExportPlan,
    *,
    order: Literal["date", "number"] = "date",
    query_rows: int = QUERY_ROWS,
) -> Iterator[tuple[BrewSummary, list[ReflectionRecord]]]:
    """:func:`stream_brews` on a blocking connection from :func:`sync_reader`, for a worker
    thread (or a command line) that reads and writes without an event loop in between."""
    for chunk in _chunks(plan, _ordered(plan, order), query_rows):
        wanted = {plan.brew_ids[b.number]: b.number for b in chunk}
        found: dict[int, list[ReflectionRecord]] = {b.number: [] for b in chunk}
        if not plan.counted or any(plan.received.get(b.number, 0) for b in chunk):
            _collect(conn.execute(_reflections_query(wanted)), wanted, found)
        for brew in chunk:
            yield brew, quotable(found.pop(brew.number))


@contextmanager
def sync_reader(url: str) -> Iterator[Connection | None]:
    """A blocking, read-only connection to the SQLite file behind ``url``, or ``None`` where
    there is none to open (PostgreSQL, whose driver here is async only; an in-memory database,
    which another connection would not see).

    An export reads 100,000 reflections; through the async driver every batch crosses to its
    thread and back, which costs about as much again as reading them. A plain connection in
    the export's own worker thread reads at SQLite's own speed and leaves the event loop alone.
    """
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        yield None
        return
    engine = create_sync_engine(parsed.set(drivername="sqlite"), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA query_only=ON")
            conn.exec_driver_sql("PRAGMA busy_timeout=5000")
            yield conn
    finally:
        engine.dispose()


async def load_export(
    session: AsyncSession,
    flt: ExportFilter,
    prompts: Sequence[Prompt],
    tz: tzinfo = UTC,
    *,
    until: date | None = None,
) -> ExportData:
    """Brews and reflections for one server (pass ``flt.guild_id`` when several exist), whole.

    Consent is shown only where it cannot tie one person's answers together (see quotable);
    applied here, per brew, so every format and every reader of ExportData gets it.
    """
    plan = await plan_export(session, flt, prompts, tz, until=until)
    reflections: list[ReflectionRecord] = []
    async for _brew, found in stream_brews(session, plan):
        reflections += found
    return ExportData(plan.brews, tuple(reflections), plan.prompts)
