"""Database helpers for the benchmarks (``bench/``), kept here because ``bot/db/`` is the only
place that builds or runs SQL.

* :func:`count_round_trips` counts what a process sends to the database, for "round trips per
  prompt": every statement, every BEGIN, COMMIT and ROLLBACK, and each pool checkout (with
  ``pool_pre_ping`` on, the default, a checkout costs one ping round trip).
* :func:`recreate_database` gives each benchmark run a fresh PostgreSQL database.

Nothing in the bot itself calls these.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

#: The counter names :func:`count_round_trips` fills in.
ROUND_TRIP_KINDS = ("statements", "begin", "commit", "rollback", "checkout")


def count_round_trips(counts: Counter[str]) -> None:
    """Count, in ``counts``, everything any engine of this process sends from now on."""

    def bump(name: str) -> Any:
        def listener(*_: Any, **__: Any) -> None:
            counts[name] += 1

        return listener

    event.listen(Engine, "before_cursor_execute", bump("statements"))
    event.listen(Engine, "begin", bump("begin"))
    event.listen(Engine, "commit", bump("commit"))
    event.listen(Engine, "rollback", bump("rollback"))
    event.listen(Pool, "checkout", bump("checkout"))


async def recreate_database(admin_dsn: str, name: str, *, drop_only: bool = False) -> None:
    """Drop the PostgreSQL database ``name`` (closing its connections) and, unless
    ``drop_only``, create it empty. ``admin_dsn`` is a plain ``postgresql://`` address of
    another database on the same server."""
    import asyncpg

    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain database name: {name!r}")
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
