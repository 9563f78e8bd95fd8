"""Who met whom and who is kept apart, as keyed hashes of pairs (never as people).

The hashing itself is :func:`bot.core.anonymity.pair_key` with the per-server secret kept in
``guild_settings.pair_secret``; this module stores and finds those hashes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Select, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.anonymity import new_secret
from bot.db.models import KeepApart, PairHistory
from bot.db.repo import settings_for

__all__ = [
    "add_apart",
    "apart_keys",
    "forget_all_but_recent",
    "recent_meetings",
    "remember",
    "remove_apart",
    "server_secret",
]


async def server_secret(session: AsyncSession, guild_id: int) -> bytes:
    """The server's pair-hashing secret, made on first use (saved with the session's commit)."""
    settings = await settings_for(session, guild_id)
    if not settings.pair_secret:
        settings.pair_secret = new_secret()
    return settings.pair_secret


def _recent_brew_ids(guild_id: int, brews: int) -> Select[int]:
    """The server's last ``brews`` brew ids with pair history, as a subquery.

    A subquery, not a list of ids bound into the statement: an ``IN`` list of n ids is a
    different SQL text for every n, so while a server's history filled up to ``brews`` brews
    (``[mixing] remember_brews``, 10 by default) each brew brought two new statements, and
    SQLite's driver kept each one prepared in every pooled connection (~5-9 KiB each): the
    bot's memory grew for the first ten or so brews (docs/BENCHMARKS.md, issue 12). With the
    subquery the text never changes, and each call is one round trip instead of two."""
    return (
        select(PairHistory.brew_id)
        .where(PairHistory.guild_id == guild_id)
        .distinct()
        .order_by(PairHistory.brew_id.desc())
        .limit(brews)
    )


async def recent_meetings(
    session: AsyncSession, guild_id: int, brews: int
) -> list[tuple[int, set[str]]]:
    """``(brew id, pair hashes)`` for the server's last ``brews`` brews, newest first."""
    if brews <= 0:
        return []
    recent = _recent_brew_ids(guild_id, brews).scalar_subquery()
    rows = await session.execute(
        select(PairHistory.brew_id, PairHistory.pair_key).where(PairHistory.brew_id.in_(recent))
    )
    met: dict[int, set[str]] = {}
    for brew_id, key in rows:
        met.setdefault(brew_id, set()).add(key)
    return sorted(met.items(), reverse=True)


async def apart_keys(session: AsyncSession, guild_id: int) -> list[str]:
    """Every keep-apart pair hash of the server."""
    return list(
        await session.scalars(select(KeepApart.pair_key).where(KeepApart.guild_id == guild_id))
    )


async def remember(
    session: AsyncSession, guild_id: int, brew_id: int, keys: Iterable[str], met_on: date
) -> None:
    """Note that the pairs hashed as ``keys`` shared a room in this brew (not committed). One
    statement for all of them (240 pairs for 160 people in fours), not one INSERT each."""
    rows = [
        {"guild_id": guild_id, "brew_id": brew_id, "pair_key": key, "met_on": met_on}
        for key in keys
    ]
    if rows:
        await session.execute(insert(PairHistory), rows)


async def forget_all_but_recent(session: AsyncSession, guild_id: int, brews: int) -> None:
    """Delete the server's pair history except its last ``brews`` brews (not committed)."""
    keep = _recent_brew_ids(guild_id, brews).scalar_subquery()
    await session.execute(
        delete(PairHistory).where(
            PairHistory.guild_id == guild_id, PairHistory.brew_id.not_in(keep)
        )
    )


async def add_apart(session: AsyncSession, guild_id: int, key: str) -> bool:
    """Store a keep-apart pair hash; False if it was already there (not committed)."""
    if await session.get(KeepApart, (guild_id, key)) is not None:
        return False
    session.add(KeepApart(guild_id=guild_id, pair_key=key))
    return True


async def remove_apart(session: AsyncSession, guild_id: int, key: str | None = None) -> int:
    """Delete one keep-apart pair hash, or all of the server's when ``key`` is None; returns
    how many went (not committed)."""
    query = delete(KeepApart).where(KeepApart.guild_id == guild_id)
    if key is not None:
        query = query.where(KeepApart.pair_key == key)
    result = await session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)
