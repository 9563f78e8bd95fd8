"""What grouping needs to mix people well, read from hashed history (issue: mixing).

Who met whom, and who must be kept apart, are stored only as keyed hashes of pairs of user ids
with a per-server secret. To use them, the bot hashes every pair of today's participants and
looks those hashes up (:mod:`bot.db.pair_history`): nothing in the database can be read back
as a list of people.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.anonymity import pair_key, pair_keys
from bot.core.grouping import Group, pair_weights, pairs_in
from bot.db import pair_history

if TYPE_CHECKING:
    from bot.services import Services


async def mixing_inputs(
    session: AsyncSession, guild_id: int, user_ids: Sequence[int], remember_brews: int
) -> tuple[dict[frozenset[str], float], list[frozenset[str]]]:
    """Recent-meeting weights and keep-apart pairs among ``user_ids``. Every pair of them is
    hashed (12,720 pairs for 160 people) only when there is something to look up."""
    recent = await pair_history.recent_meetings(session, guild_id, remember_brews)
    apart_keys = await pair_history.apart_keys(session, guild_id)
    if not recent and not apart_keys:
        return {}, []
    secret = await pair_history.server_secret(session, guild_id)
    by_key = {
        key: frozenset((str(a), str(b))) for key, (a, b) in pair_keys(secret, user_ids).items()
    }
    history = [{by_key[k] for k in keys if k in by_key} for _, keys in recent]
    apart = [by_key[k] for k in apart_keys if k in by_key]
    return pair_weights(history), apart


async def remember_pairs(
    session: AsyncSession,
    guild_id: int,
    brew_id: int,
    groups: Sequence[Group],
    today: date,
    remember_brews: int,
) -> None:
    """Note who shared a room (hashed), and forget brews older than the last ``remember_brews``."""
    if remember_brews <= 0:
        return
    secret = await pair_history.server_secret(session, guild_id)
    keys = []
    for pair in pairs_in(groups):
        a, b = sorted(int(k) for k in pair)
        keys.append(pair_key(secret, a, b))
    await pair_history.remember(session, guild_id, brew_id, keys, today)
    await pair_history.forget_all_but_recent(session, guild_id, remember_brews)


async def set_apart(services: Services, guild_id: int, a: int, b: int) -> bool:
    """Mark two people as never to share a room. False if they were already marked."""
    async with services.sessions() as session:
        secret = await pair_history.server_secret(session, guild_id)
        added = await pair_history.add_apart(session, guild_id, pair_key(secret, a, b))
        await session.commit()
    return added


async def clear_apart(
    services: Services, guild_id: int, a: int | None = None, b: int | None = None
) -> int:
    """Forget one keep-apart pair, or every pair for the server when no members are given."""
    async with services.sessions() as session:
        key = None
        if a is not None and b is not None:
            secret = await pair_history.server_secret(session, guild_id)
            key = pair_key(secret, a, b)
        removed = await pair_history.remove_apart(session, guild_id, key)
        await session.commit()
    return removed
