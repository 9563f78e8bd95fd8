"""Several processes migrating one empty PostgreSQL database at the same moment: the advisory
lock lets one migrate while the others wait, and every process succeeds."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

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
