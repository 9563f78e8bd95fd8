"""Engine and session factory, with the SQLite settings a long-running bot needs.

SQLite is the embedded default: WAL lets the export command read while the bot writes, a busy
timeout turns brief lock contention into a short wait instead of an error, and foreign keys make
``ON DELETE CASCADE`` real (SQLite leaves them off unless asked, per connection).

PostgreSQL gets a bounded connection pool (``[database] pool_size``, ``max_overflow``,
``pool_timeout``, ``pool_pre_ping``): with several processes on one server each holds up to
``pool_size + max_overflow`` connections, so processes x that sum must stay below the server's
``max_connections``. Pre-ping checks a pooled connection before use, so a database restart costs
one reconnect instead of a failed deadline; connections are recycled after half an hour so a
firewall or proxy that drops idle connections never hands the bot a dead one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.config import DatabaseConfig

SQLITE_BUSY_TIMEOUT_MS = 5000


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


#: Seconds after which a pooled PostgreSQL connection is replaced.
POOL_RECYCLE_S = 1800


def pool_options(database: DatabaseConfig | None = None) -> dict[str, Any]:
    """The PostgreSQL pool settings of ``database`` (the defaults when None)."""
    db = database or DatabaseConfig()
    return {
        "pool_size": db.pool_size,
        "max_overflow": db.max_overflow,
        "pool_timeout": db.pool_timeout,
        "pool_pre_ping": db.pool_pre_ping,
        "pool_recycle": POOL_RECYCLE_S,
    }


def create_engine(url: str, database: DatabaseConfig | None = None, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url`` (sqlite+aiosqlite or postgresql+asyncpg).

    ``database`` carries the pool settings for PostgreSQL; explicit ``kwargs`` win over them
    (a ``poolclass`` such as NullPool drops them, since it takes no pool size).
    """
    parsed = make_url(url)
    # Parameters (a reflection's words, a user id) never go into SQLAlchemy's log lines or
    # error messages, whatever logging level is set.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if "poolclass" in kwargs:
        kwargs.setdefault("pool_pre_ping", (database or DatabaseConfig()).pool_pre_ping)
    else:
        for key, value in pool_options(database).items():
            kwargs.setdefault(key, value)
    return create_async_engine(url, **kwargs)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after commit without another round trip.
    return async_sessionmaker(engine, expire_on_commit=False)
