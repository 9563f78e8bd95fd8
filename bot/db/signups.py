"""Who pressed Join on a sign-up card. User-linked rows: retention deletes them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Signup

__all__ = ["signup_count"]


async def signup_count(session: AsyncSession, brew_id: int) -> int:
    """How many people have joined this brew's sign-up card."""
    count = await session.scalar(
        select(func.count()).select_from(Signup).where(Signup.brew_id == brew_id)
    )
    return int(count or 0)
