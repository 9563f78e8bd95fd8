"""Per-room notes that are not part of the timetable: when the room last called for help."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Room


async def claim_help_call(
    session: AsyncSession, room_id: int, now: datetime, interval: timedelta
) -> bool:
    """Record a help call for the room if none was made within ``interval``; commits.

    One conditional UPDATE, so two presses at the same moment (a double-click, two people) make
    one call between them, on SQLite and PostgreSQL alike. The rule is the same as
    :func:`bot.core.help_calls.help_call_due`.
    """
    result = await session.execute(
        update(Room)
        .where(
            Room.id == room_id,
            or_(Room.help_called_at.is_(None), Room.help_called_at <= now - interval),
        )
        .values(help_called_at=now)
    )
    await session.commit()
    return bool(getattr(result, "rowcount", 0))
