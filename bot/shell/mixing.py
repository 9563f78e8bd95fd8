"""What grouping needs to mix people well, read from hashed history (issue: mixing).

Who met whom, and who must be kept apart, are stored only as keyed hashes of pairs of user ids
with a per-server secret. To use them, the bot hashes every pair of today's participants and
looks those hashes up: nothing in the database can be read back as a list of people.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from itertools import combinations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.anonymity import new_secret, pair_key
from bot.core.grouping import Group, pair_weights, pairs_in
from bot.db import repo
from bot.db.models import Brew, KeepApart, PairHistory


async def server_secret(session: AsyncSession, guild_id: int) -> bytes:
    settings = await repo.settings_for(session, guild_id)
    if not settings.pair_secret:
        settings.pair_secret = new_secret()
    return settings.pair_secret


def _keys(secret: bytes, user_ids: Sequence[int]) -> dict[str, frozenset[str]]:
    return {
        pair_key(secret, a, b): frozenset((str(a), str(b)))
        for a, b in combinations(sorted(set(user_ids)), 2)
    }


async def mixing_inputs(
    session: AsyncSession, guild_id: int, user_ids: Sequence[int], remember_brews: int
) -> tuple[dict[frozenset[str], float], list[frozenset[str]]]:
    """Recent-meeting weights and keep-apart pairs among ``user_ids``."""
    secret = await server_secret(session, guild_id)
    by_key = _keys(secret, user_ids)
    history: list[set[frozenset[str]]] = []
    if remember_brews > 0:
        recent = list(
            await session.scalars(
                select(PairHistory.brew_id)
                .where(PairHistory.guild_id == guild_id)
                .distinct()
                .order_by(PairHistory.brew_id.desc())
                .limit(remember_brews)
            )
        )
        if recent:
            rows = await session.execute(
                select(PairHistory.brew_id, PairHistory.pair_key).where(
                    PairHistory.brew_id.in_(recent)
                )
            )
            met: dict[int, set[frozenset[str]]] = {b: set() for b in recent}
            for brew_id, key in rows:
                if key in by_key:
                    met[brew_id].add(by_key[key])
            history = [met[b] for b in recent]
    apart_rows = await session.scalars(
        select(KeepApart.pair_key).where(KeepApart.guild_id == guild_id)
    )
    apart = [by_key[k] for k in apart_rows if k in by_key]
    return pair_weights(history), apart


async def remember_pairs(
    session: AsyncSession, brew: Brew, groups: Sequence[Group], today: date, remember_brews: int
) -> None:
    """Note who shared a room (hashed), and forget brews older than the last ``remember_brews``."""
    if remember_brews <= 0:
        return
    secret = await server_secret(session, brew.guild_id)
    for pair in pairs_in(groups):
        a, b = sorted(int(k) for k in pair)
        session.add(
            PairHistory(
                guild_id=brew.guild_id,
                brew_id=brew.id,
                pair_key=pair_key(secret, a, b),
                met_on=today,
            )
        )
    await session.flush()
    keep = list(
        await session.scalars(
            select(PairHistory.brew_id)
            .where(PairHistory.guild_id == brew.guild_id)
            .distinct()
            .order_by(PairHistory.brew_id.desc())
            .limit(remember_brews)
        )
    )
    await session.execute(
        delete(PairHistory).where(
            PairHistory.guild_id == brew.guild_id, PairHistory.brew_id.not_in(keep)
        )
    )


async def set_apart(session: AsyncSession, guild_id: int, a: int, b: int) -> bool:
    """Mark two people as never to share a room. False if they were already marked."""
    secret = await server_secret(session, guild_id)
    key = pair_key(secret, a, b)
    if await session.get(KeepApart, (guild_id, key)) is not None:
        return False
    session.add(KeepApart(guild_id=guild_id, pair_key=key))
    return True


async def clear_apart(
    session: AsyncSession, guild_id: int, a: int | None = None, b: int | None = None
) -> int:
    """Forget one keep-apart pair, or every pair for the server when no members are given."""
    query = delete(KeepApart).where(KeepApart.guild_id == guild_id)
    if a is not None and b is not None:
        secret = await server_secret(session, guild_id)
        query = query.where(KeepApart.pair_key == pair_key(secret, a, b))
    result = await session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)
