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
"""

from __future__ import annotations

import asyncio
import logging
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


def upgrade(database_url: str, revision: str = "head") -> UpgradeResult:
    """Bring the database to ``revision``. Runs its own event loop: call before the bot's."""
    return asyncio.run(_upgrade(database_url, revision))


def _is_postgres(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


async def _upgrade(database_url: str, revision: str) -> UpgradeResult:
    from bot.db.session import create_engine

    postgres = _is_postgres(database_url)
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            if postgres:
                await _acquire_migration_lock(conn)
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


async def _acquire_migration_lock(conn: AsyncConnection) -> None:
    """Take the migration lock, saying so when another process holds it (it is migrating)."""
    params = {"key": MIGRATION_LOCK_KEY}
    got = (await conn.execute(text("SELECT pg_try_advisory_lock(:key)"), params)).scalar()
    if not got:
        log.info("another Brew Host process is migrating the database; waiting for it")
        await conn.execute(text("SELECT pg_advisory_lock(:key)"), params)
    # Session-level lock: it outlives this transaction and is released explicitly (or when
    # the connection closes, should the process die).
    await conn.commit()


def _current(sync_conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(sync_conn).get_current_revision()


def downgrade(database_url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


def current_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
