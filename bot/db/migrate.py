"""Apply Alembic migrations from code, so ``brewhost run`` and ``brewhost migrate`` need no
``alembic.ini`` in the working folder. The migration scripts ship inside the package
(``migrations``), which keeps a plain ``pip install`` able to upgrade a database.

Several processes may share one PostgreSQL database (one gateway shard each) and all run
``brewhost run``, which migrates first. Two of them starting at the same moment on an empty
database would both try ``CREATE TABLE alembic_version`` and one would die, so on PostgreSQL the
upgrade runs while holding a session-level advisory lock (``pg_advisory_lock``) on the same
connection that applies it: the first process migrates, the others wait, then find the database
already at head and do nothing. The lock goes with the connection, so a process killed while
migrating never leaves it held. SQLite serves one process and needs no lock.

The wait is bounded (``lock_wait``, five minutes unless told otherwise): a process that cannot
get the lock in that time stops with :class:`MigrationLockTimeout`, which says in plain words
that another process is migrating and what to do, rather than hanging for ever behind a stuck
session.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

# Alembic is imported inside the functions that use it: ``brewhost run`` on an up-to-date
# database never loads it (about 10 MiB of resident memory).

log = logging.getLogger(__name__)

#: The advisory lock key every Brew Host process uses for migrations (ASCII "BrewHost").
MIGRATION_LOCK_KEY = 0x4272_6577_486F_7374
#: How long a process waits for another one's migration before giving up (seconds).
MIGRATION_LOCK_WAIT_S = 300.0
#: How often a waiting process asks for the lock again (seconds).
LOCK_POLL_S = 0.5


#: What to type in psql to find and end a session stuck holding the lock.
_FIND_HOLDER = (
    "in psql, SELECT pid FROM pg_locks WHERE locktype = 'advisory'; shows it, "
    "and SELECT pg_terminate_backend(pid); ends it."
)


class MigrationLockTimeout(Exception):
    """Another process held the migration lock for longer than this one would wait."""

    def __init__(self, waited: float) -> None:
        self.waited = waited
        super().__init__(
            f"Another Brew Host process has been updating this database for more than "
            f"{waited:g} seconds, so this one stopped waiting and did not start. Nothing was "
            "changed. Let the other process finish, then start this one again (with "
            "`brewhost migrate --lock-wait SECONDS` to wait longer). If no other Brew Host "
            "process is running, a stuck database session is holding the lock: " + _FIND_HOLDER
        )


@dataclass(frozen=True)
class UpgradeResult:
    """The revision before and after an upgrade (None: an empty database)."""

    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config(database_url: str) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    import migrations

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    # '%' would be read as interpolation by configparser.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["configure_logging"] = False
    return cfg


def upgrade(
    database_url: str, revision: str = "head", *, lock_wait: float = MIGRATION_LOCK_WAIT_S
) -> UpgradeResult:
    """Bring the database to ``revision``. Runs its own event loop: call before the bot's.

    On PostgreSQL, waits at most ``lock_wait`` seconds for another process's migration, then
    raises :class:`MigrationLockTimeout`."""
    return asyncio.run(_upgrade(database_url, revision, lock_wait))


def _is_postgres(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


async def _upgrade(database_url: str, revision: str, lock_wait: float) -> UpgradeResult:
    from bot.db.session import create_engine

    postgres = _is_postgres(database_url)
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            if postgres:
                await _acquire_migration_lock(conn, lock_wait)
            try:
                result = await conn.run_sync(_run_upgrade, database_url, revision)
                await conn.commit()
            finally:
                if postgres:
                    await conn.rollback()
                    await conn.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
                    await conn.commit()
    finally:
        await engine.dispose()
    if result.changed:
        log.info("database migrated from %s to %s", result.before or "empty", result.after)
    return result


def _run_upgrade(sync_conn: Connection, database_url: str, revision: str) -> UpgradeResult:
    """Alembic on our connection (env.py uses ``attributes["connection"]`` when given)."""
    from alembic import command

    before = _current(sync_conn)
    sync_conn.commit()
    cfg = alembic_config(database_url)
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, revision)
    sync_conn.commit()
    return UpgradeResult(before, _current(sync_conn))


async def _acquire_migration_lock(conn: AsyncConnection, wait: float) -> None:
    """Take the migration lock, waiting at most ``wait`` seconds for a process that holds it
    (it is migrating), and saying so while waiting."""
    params = {"key": MIGRATION_LOCK_KEY}
    deadline = time.monotonic() + wait
    told = False
    while True:
        got = (await conn.execute(text("SELECT pg_try_advisory_lock(:key)"), params)).scalar()
        # Session-level lock: it outlives this transaction and is released explicitly (or when
        # the connection closes, should the process die).
        await conn.commit()
        if got:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise MigrationLockTimeout(wait)
        if not told:
            told = True
            log.info("another Brew Host process is migrating the database; waiting for it")
        await asyncio.sleep(min(LOCK_POLL_S, left))


def _current(sync_conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(sync_conn).get_current_revision()


def downgrade(database_url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


def current_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
