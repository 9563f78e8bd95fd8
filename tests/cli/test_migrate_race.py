"""Several processes migrating one empty PostgreSQL database at the same moment: the advisory
lock lets one migrate while the others wait, and every process succeeds."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from bot.db.migrate import current_head

PROCESSES = 3


async def _versions(url: str) -> list[str]:
    from sqlalchemy import text

    from bot.db.session import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return list(
                (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars()
            )
    finally:
        await engine.dispose()


def test_processes_migrating_at_the_same_moment_all_succeed_once(
    postgres_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{postgres_url}"\n', encoding="utf-8")
    # Each process imports the bot first, then waits for a go file, so their migrations really
    # start together rather than as fast as each interpreter happens to load.
    go = tmp_path / "go"
    script = (
        "import sys, time, pathlib\n"
        "from bot.cli import main\n"
        f"go = pathlib.Path({str(go)!r})\n"
        "while not go.exists(): time.sleep(0.005)\n"
        f"sys.exit(main(['migrate', '--config', {str(config)!r}]))\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    try:
        import time

        time.sleep(2.0)  # let every interpreter reach the wait loop
        go.touch()
        outputs = [p.communicate(timeout=60)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    codes = [p.returncode for p in procs]
    assert codes == [0] * PROCESSES, outputs
    assert not any("Traceback" in out for out in outputs), outputs
    head = current_head()
    upgraded = [out for out in outputs if "upgraded from empty to" in out]
    assert len(upgraded) == 1, outputs
    assert f"to {head}." in upgraded[0]
    assert sum("The database is up to date." in out for out in outputs) == PROCESSES - 1
    assert asyncio.run(_versions(postgres_url)) == [head]


async def _hold_migration_lock(postgres_url: str) -> object:
    """Another session holding the migration lock (as a stuck or slow migration would)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    from bot.db.migrate import MIGRATION_LOCK_KEY

    url = make_url(postgres_url)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database=url.database
    )
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    return conn


def test_a_process_waits_a_bounded_time_for_another_migration_then_says_why(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    from bot.cli import EXIT_BUSY, main
    from bot.db.migrate import MigrationLockTimeout, upgrade

    loop = asyncio.new_event_loop()
    holder = loop.run_until_complete(_hold_migration_lock(postgres_url))
    try:
        started = time.monotonic()
        with pytest.raises(MigrationLockTimeout) as info:
            upgrade(postgres_url, lock_wait=1.0)
        waited = time.monotonic() - started
        assert 1.0 <= waited < 5.0
        assert "Another Brew Host process" in str(info.value)
        assert "Nothing was changed" in str(info.value)

        config = tmp_path / "config.toml"
        config.write_text(f'[database]\nurl = "{postgres_url}"\n', encoding="utf-8")
        code = main(["migrate", "--config", str(config), "--lock-wait", "0.5"])
        out = capsys.readouterr()
        assert code == EXIT_BUSY
        assert "Another Brew Host process has been updating this database" in out.err
        assert "Traceback" not in out.err + out.out
    finally:
        loop.run_until_complete(holder.close())  # type: ignore[attr-defined]
    # Nothing was changed while it waited; once the lock is free the migration runs.
    assert upgrade(postgres_url, lock_wait=1.0).after == current_head()
    loop.close()
