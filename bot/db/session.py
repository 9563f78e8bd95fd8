"""Engine and session factory, with the SQLite settings a long-running bot needs.

SQLite is the embedded default: WAL lets the export command read while the bot writes, a busy
timeout turns brief lock contention into a short wait instead of an error, and foreign keys make
``ON DELETE CASCADE`` real (SQLite leaves them off unless asked, per connection).

PostgreSQL gets a bounded connection pool (``[database] pool_size``, ``max_overflow``,
``pool_timeout``): with several processes on one server each holds up to
``pool_size + max_overflow`` connections, so processes x that sum must stay below the server's
``max_connections``. Connections are replaced after ``pool_recycle`` seconds, so a firewall or
proxy that drops old connections never hands the bot a dead one.

A dead connection (the server restarted, an idle connection cut) is found in two ways. A
connection that has sat unused in the pool for longer than ``pool_ping_idle`` seconds is
checked with one round trip (``SELECT 1``) before it is handed out, and replaced if the check fails
(``pool_pre_ping = false`` turns the check off). A connection used more recently is not
checked: under load every connection is back in use within a second, and SQLAlchemy's own
pre-ping (``BEGIN; ; ROLLBACK``, three round trips at every checkout) was the largest single
cost of a brew's prompts. If such a connection turns out to be dead, the request fails once,
SQLAlchemy recognises the disconnect and replaces every connection older than it, and the
failed work is tried again (room deadlines and outbox posts retry with backoff, see
:mod:`bot.shell.timers`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from bot.config import DatabaseConfig

#: How long a write waits for SQLite's one write lock before failing with "database is locked".
#: A transaction holds the lock from its first write to its commit, across event-loop turns, and
#: SQLite's busy handler is not first come, first served (it sleeps up to 100 ms between tries).
#: With 80 servers starting brews at the same moment on a busy loop, 5 s was not always enough
#: (a claim or a room's record failed now and then); 30 s was, in every run.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Deleted rows (a destroyed reflection key, purged reflections) are overwritten on disk,
    # not just unlinked, so nothing deleted can be read back from the file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def pool_options(database: DatabaseConfig | None = None) -> dict[str, Any]:
    """SQLAlchemy's pool arguments for ``database`` (the defaults when None). SQLAlchemy's own
    ``pool_pre_ping`` stays off: the idle check of :func:`ping_idle_connections` replaces it."""
    db = database or DatabaseConfig()
    return {
        "pool_size": db.pool_size,
        "max_overflow": db.max_overflow,
        "pool_timeout": db.pool_timeout,
        "pool_recycle": db.pool_recycle,
    }


def ping_idle_connections(engine: AsyncEngine, idle_after: float) -> None:
    """Check a pooled connection with one round trip before handing it out, if it has been
    idle for more than ``idle_after`` seconds (0: every time). A connection that fails the
    check is replaced (SQLAlchemy retries the checkout on ``DisconnectionError``)."""

    def checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since <= idle_after:
            return  # brand new, or in use a moment ago
        try:
            # ``run_async`` hands us the driver's own connection: one simple query, on its own
            # (no BEGIN / ROLLBACK around it, nothing to prepare).
            dbapi_connection.run_async(lambda conn: conn.execute("SELECT 1"))
        except Exception as exc:
            raise DisconnectionError(f"a pooled connection was dead: {exc}") from exc

    event.listen(engine.sync_engine.pool, "checkin", checked_in)
    event.listen(engine.sync_engine.pool, "checkout", checkout)


_IDLE_SINCE = "brewhost_idle_since"


def create_engine(url: str, database: DatabaseConfig | None = None, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url`` (sqlite+aiosqlite or postgresql+asyncpg).

    ``database`` carries the pool settings for PostgreSQL; explicit ``kwargs`` win over them
    (a ``poolclass`` such as NullPool drops them, since it takes no pool size).
    """
    db = database or DatabaseConfig()
    parsed = make_url(url)
    # Parameters (a reflection's words, a user id) never go into SQLAlchemy's log lines or
    # error messages, whatever logging level is set.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if "poolclass" not in kwargs:
        for key, value in pool_options(db).items():
            kwargs.setdefault(key, value)
    engine = create_async_engine(url, **kwargs)
    if db.pool_pre_ping and "poolclass" not in kwargs:
        ping_idle_connections(engine, db.pool_ping_idle)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after commit without another round trip.
    return async_sessionmaker(engine, expire_on_commit=False)


_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


@asynccontextmanager
async def reading(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for reads only, outside any transaction: no BEGIN before the first query and
    no ROLLBACK at the end, two round trips fewer on PostgreSQL. Each query sees what was
    committed when it ran (not one snapshot for the session), and nothing written in it is
    kept: use it only where that is all the caller needs."""
    async with sessions() as session:
        await session.connection(execution_options=_AUTOCOMMIT)
        yield session


@asynccontextmanager
async def one_statement(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for a write that is a single statement on PostgreSQL (such as
    :func:`bot.db.repo.outbox_done`), committed when the block ends. On PostgreSQL it runs in
    autocommit, the statement being atomic on its own: one round trip instead of BEGIN,
    statement, COMMIT. Elsewhere it is an ordinary transaction."""
    async with sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.connection(execution_options=_AUTOCOMMIT)
        yield session
        await session.commit()
