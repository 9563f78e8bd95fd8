"""Snowflake generation that looks like Discord's.

Discord ids are 64-bit integers: milliseconds since the Discord epoch (2015-01-01) shifted left
by 22 bits, then 5 bits of worker id, 5 bits of process id and a 12-bit increment. discord.py
derives ``created_at`` from them and uses their age for some rate-limit decisions (message
deletes), so the simulator hands out real-looking, strictly increasing snowflakes rather than
small counters.
"""

from __future__ import annotations

import datetime
import time

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeGenerator:
    """Produce strictly increasing snowflakes whose timestamps follow the wall clock.

    When several ids are needed within one millisecond the increment field is used; when that
    overflows, the timestamp is nudged forward by one millisecond so ids never repeat or go back.
    """

    def __init__(self, worker_id: int = 1, process_id: int = 0) -> None:
        self._worker = worker_id & 0x1F
        self._process = process_id & 0x1F
        self._last_ms = 0
        self._increment = 0

    def next(self) -> int:
        """Return a fresh snowflake."""
        now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        if now_ms > self._last_ms:
            self._last_ms = now_ms
            self._increment = 0
        else:
            self._increment += 1
            if self._increment >= 4096:
                self._last_ms += 1
                self._increment = 0
        return (
            (self._last_ms << 22) | (self._worker << 17) | (self._process << 12) | self._increment
        )

    def next_on_shard(self, shard_id: int, shard_count: int) -> int:
        """Return a fresh snowflake that gateway shard ``shard_id`` of ``shard_count`` owns.

        Discord routes a guild to shard ``(guild_id >> 22) % shard_count``, i.e. by the
        millisecond its id was made in. Ids made in one burst share a millisecond and so a shard;
        tests that need guilds on given shards move the timestamp on to the next one that fits.
        """
        if shard_count < 1 or not 0 <= shard_id < shard_count:
            raise ValueError(f"shard {shard_id} is not one of 0..{shard_count - 1}")
        candidate = self.next()
        ms = candidate >> 22
        step = (shard_id - ms) % shard_count
        if step:
            self._last_ms = ms + step
            self._increment = 0
            candidate = (self._last_ms << 22) | (self._worker << 17) | (self._process << 12)
        return candidate


def snowflake_time(snowflake: int) -> datetime.datetime:
    """Return the UTC creation time encoded in ``snowflake``."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)


def iso(dt: datetime.datetime | None) -> str | None:
    """Format a datetime the way Discord does in JSON (ISO 8601 with offset)."""
    if dt is None:
        return None
    return dt.astimezone(datetime.UTC).isoformat()
