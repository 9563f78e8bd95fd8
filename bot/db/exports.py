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
per brew, which is all that rule looks at. From a SQLite file, CSV, JSON and the Markdown report
are read by :mod:`bot.db.exports_sqlite` instead: the same queries on plain ``sqlite3``, without
SQLAlchemy's per-row cost (``brewhost export``, and ``/brew export``'s child process).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any, Literal

from sqlalchemy import Integer, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.export_model import (
    MIN_PEOPLE_PER_CONSENT_GROUP,
    BrewSummary,
    ReflectionRecord,
    ordered_brews,
    quotable,
)
from bot.core.reflections import Prompt
from bot.db.export_records import (
    BATCH_ROWS,
    EXPORTED_STATUSES,
    QUERY_BREWS,
    QUERY_ROWS,
    ExportData,
    ExportFilter,
    ExportPlan,
    chunks,
    collect,
    ordered,
)
from bot.db.models import Brew, GuildSettings, Reflection

__all__ = [
    "BATCH_ROWS",
    "EXPORTED_STATUSES",
    "QUERY_BREWS",
    "QUERY_ROWS",
    "ExportData",
    "ExportFilter",
    "ExportPlan",
    "export_guild_ids",
    "load_export",
    "plan_export",
    "stream_brews",
]


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


def _reflections_query(brew_ids: Iterable[int]) -> Any:
    return select(
        Reflection.brew_id, Reflection.submitted_on, Reflection.consent, Reflection.answers
    ).where(Reflection.brew_id.in_(list(brew_ids)))


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
    for chunk in chunks(plan, ordered(plan, order), query_rows):
        wanted = {plan.brew_ids[b.number]: b.number for b in chunk}
        found: dict[int, list[ReflectionRecord]] = {b.number: [] for b in chunk}
        if not plan.counted or any(plan.received.get(b.number, 0) for b in chunk):
            query = _reflections_query(wanted).execution_options(yield_per=batch_rows)
            result = await session.stream(query)
            async for batch in result.partitions():
                collect(batch, wanted, found)
        for brew in chunk:
            yield brew, quotable(found.pop(brew.number))


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
