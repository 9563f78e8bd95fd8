"""Gateway shards: which client class runs, and which servers belong to this process.

Discord splits a bot's gateway connection into shards; shard ``i`` of ``n`` carries the servers
with ``(guild_id >> 22) % n == i``. Brew Host runs in one of three ways (``[discord]``):

* nothing set: one connection, every server (the usual case);
* ``shard_id`` + ``shard_count``: one shard in this process, others in other processes sharing a
  PostgreSQL database (each process looks after its own servers' brews);
* ``shards = "auto"``: discord.py's ``AutoShardedBot`` runs every shard in this one process,
  with the count Discord recommends (``GET /gateway/bot``) unless ``shard_count`` fixes it.

Slash commands synced per server are synced only by the process whose shard owns the server,
so starting a process never repeats the other processes' work; global commands are synced by
the process running shard 0. Which client class runs is chosen by
:func:`bot.shell.app.make_bot` (this module does not import the bot, so the bot can import it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import discord

log = logging.getLogger(__name__)


def guild_shard(guild_id: int, shard_count: int) -> int:
    """The shard that carries ``guild_id`` (Discord's documented formula)."""
    return (guild_id >> 22) % shard_count


def own_shards(client: discord.Client) -> tuple[frozenset[int] | None, int | None]:
    """(the shard ids this process runs, the shard count); None ids means every shard."""
    count = client.shard_count
    if isinstance(client, discord.AutoShardedClient):
        ids = client.shard_ids
        return (frozenset(ids) if ids is not None else None), count
    if client.shard_id is None or not count:
        return None, count
    return frozenset({client.shard_id}), count


def owned_guild_ids(client: discord.Client, guild_ids: Iterable[int]) -> tuple[int, ...]:
    """The servers of ``guild_ids`` whose shard runs in this process."""
    ids, count = own_shards(client)
    if ids is None or not count:
        return tuple(guild_ids)
    return tuple(g for g in guild_ids if guild_shard(g, count) in ids)


def syncs_global_commands(client: discord.Client) -> bool:
    """Only one process syncs global commands: the one running shard 0 (or every shard)."""
    ids, _ = own_shards(client)
    return ids is None or 0 in ids
