"""Database helpers for the benchmarks (``bench/``), kept here because ``bot/db/`` is the only
place that builds or runs SQL.

* :func:`count_round_trips` counts what a process sends to the database, for "round trips per
  prompt". On PostgreSQL (asyncpg) it counts at SQLAlchemy's asyncpg adapter, where each call
  is exactly one round trip to the server: every statement executed, every statement prepared
  (a prepared-statement cache miss: asyncpg's Parse/Describe is a round trip of its own), every
  BEGIN actually sent (none in autocommit), every COMMIT and ROLLBACK actually sent (none when no
  transaction was started), every liveness ping (SQLAlchemy's own ``pool_pre_ping`` sends
  BEGIN, ``;`` and ROLLBACK: three; the idle check of :mod:`bot.db.session` one) and every
  new connection (counted as one, although the start-up handshake takes several). It also
  counts SQLAlchemy's own events beside them (``statements``, ``sa_begin``, ``sa_commit``,
  ``sa_rollback``, ``checkout``), which are not round trips of their own on asyncpg.
* :func:`recreate_database` gives each benchmark run a fresh PostgreSQL database.

Nothing in the bot itself calls these.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

#: The counter names that are round trips to PostgreSQL (see :func:`count_round_trips`).
ROUND_TRIP_KINDS = ("execute", "prepare", "begin", "end", "ping", "connect")


def count_round_trips(
    counts: Counter[str], by_statement: Counter[str] | None = None
) -> Callable[[], None]:
    """Count, in ``counts``, everything any engine of this process sends from now on; returns
    a function that stops counting (and puts everything back as it was).

    ``by_statement``, when given, also counts statements by their first words (the table and
    verb), to see where round trips go.
    """

    def bump(name: str) -> Callable[..., None]:
        def listener(*_: Any, **__: Any) -> None:
            counts[name] += 1

        return listener

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        counts["statements"] += 1
        if by_statement is not None:
            by_statement[_shape(sql)] += 1

    listeners: list[tuple[Any, str, Callable[..., None]]] = [
        (Engine, "before_cursor_execute", statement),
        (Engine, "begin", bump("sa_begin")),
        (Engine, "commit", bump("sa_commit")),
        (Engine, "rollback", bump("sa_rollback")),
        (Pool, "checkout", bump("checkout")),
        (Pool, "connect", bump("connect")),
    ]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    restore = _count_asyncpg(counts)

    def stop() -> None:
        for target, name, fn in listeners:
            event.remove(target, name, fn)
        restore()

    return stop


def _shape(sql: str) -> str:
    """``SELECT rooms``, ``UPDATE outbox``...: the verb and the first table a statement names."""
    verb = sql.split(None, 1)[0].upper() if sql.strip() else "?"
    found = _TABLE.search(sql)
    return f"{verb} {found.group(1).strip(chr(34))}" if found else verb


_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+(\"?\w+\"?)", re.IGNORECASE)


def _count_asyncpg(counts: Counter[str]) -> Callable[[], None]:
    """Wrap SQLAlchemy's asyncpg adapter so each real round trip is counted once; returns the
    function that unwraps it."""
    try:
        from sqlalchemy.dialects.postgresql import asyncpg as adapter
    except ImportError:  # asyncpg not installed: nothing to count
        return lambda: None
    conn_cls: Any = adapter.AsyncAdapt_asyncpg_connection
    cursor_cls: Any = adapter.AsyncAdapt_asyncpg_cursor
    patched: list[tuple[Any, str, Any]] = []

    def patch(cls: Any, name: str, wrapper: Any) -> None:
        patched.append((cls, name, cls.__dict__.get(name)))
        setattr(cls, name, wrapper)

    def counted(cls: Any, name: str, kind: Callable[[Any], str | None]) -> None:
        original = getattr(cls, name)

        async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            what = kind(self)
            if what is not None:
                counts[what] += 1
            return await original(self, *args, **kwargs)

        patch(cls, name, wrapper)

    def begin(conn: Any) -> str | None:
        return None if conn.isolation_level == "autocommit" else "begin"

    def ping(conn: Any) -> str | None:
        # BEGIN, ";" and ROLLBACK outside a transaction (see the adapter), else ";" alone.
        if conn._transaction is None and conn.isolation_level != "autocommit":
            counts["ping"] += 2
        return "ping"

    original_prepare = conn_cls._prepare

    async def prepare(self: Any, operation: str, invalidate_timestamp: Any) -> Any:
        cache = self._prepared_statement_cache
        cached = cache.get(operation) if cache is not None else None
        if cached is None or cached[2] <= invalidate_timestamp:
            counts["prepare"] += 1  # asyncpg prepares it: a round trip before the execute
        return await original_prepare(self, operation, invalidate_timestamp)

    original_run_async = conn_cls.run_async

    def run_async(self: Any, fn: Callable[[Any], Any]) -> Any:
        counts["ping"] += 1  # the idle check of bot.db.session: one statement on the driver
        return original_run_async(self, fn)

    patch(conn_cls, "_prepare", prepare)
    patch(conn_cls, "run_async", run_async)
    counted(conn_cls, "_start_transaction", begin)
    counted(conn_cls, "_call_and_discard", lambda _c: "end")
    counted(conn_cls, "_async_ping", ping)
    counted(cursor_cls, "_prepare_and_execute", lambda _c: "execute")
    counted(cursor_cls, "_executemany", lambda _c: "execute")

    def restore() -> None:
        for cls, name, original in reversed(patched):
            if original is None:
                delattr(cls, name)
            else:
                setattr(cls, name, original)

    return restore


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
