"""Reading brews and reflections for an export, as the pure core's records.

The same reads serve ``/brew export`` and ``brewhost export``. No record carries a user id;
reflections carry their date only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.export import BrewSummary, ReflectionRecord
from bot.core.export_model import quotable
from bot.core.reflections import Prompt
from bot.db.models import Brew, GuildSettings, Reflection

__all__ = ["EXPORTED_STATUSES", "ExportData", "ExportFilter", "export_guild_ids", "load_export"]

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


async def load_export(
    session: AsyncSession, flt: ExportFilter, prompts: Sequence[Prompt], tz: tzinfo = UTC
) -> ExportData:
    """Brews and reflections for one server (pass ``flt.guild_id`` when several exist)."""
    rows = (await session.execute(_brews_query(flt).order_by(Brew.started_at, Brew.number))).all()
    numbers: dict[int, int] = {}
    brews: list[BrewSummary] = []
    for brew, area in rows:
        assert brew.started_at is not None
        numbers[brew.id] = brew.number
        brews.append(
            BrewSummary(
                number=brew.number,
                title=brew.title,
                area=area,
                question=brew.question,
                date=brew.started_at.astimezone(tz).date(),
                participants=brew.participants,
                rooms=brew.rooms_count,
            )
        )
    reflections: list[ReflectionRecord] = []
    if numbers:
        found = await session.scalars(
            select(Reflection).where(Reflection.brew_id.in_(list(numbers)))
        )
        reflections = [
            ReflectionRecord(
                brew_number=numbers[r.brew_id],
                date=r.submitted_on,
                consent=bool(r.consent),
                answers={str(k): str(v) for k, v in (r.answers or {}).items()},
            )
            for r in found
        ]
    # Consent is shown only where it cannot tie one person's answers together (see quotable);
    # applied here, per server, so every format and every reader of ExportData gets it.
    return ExportData(tuple(brews), tuple(quotable(reflections)), tuple(prompts))
