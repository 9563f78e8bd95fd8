"""``brewhost run`` as a server admin would start it: config file, token in the environment,
migrations, then the bot connects (here to the local simulator) and registers its commands;
and stopped as systemd stops it (SIGTERM): it says goodbye to the gateway and exits with 0."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from discordsim import DiscordSimulator


@pytest.mark.parametrize(
    ("runtime", "args", "loop"),
    [
        ("", [], "uvloop"),  # the default, where uvloop is installed
        ('[runtime]\nevent_loop = "asyncio"\n', [], "asyncio"),  # the config's escape hatch
    ],
    ids=["default-uvloop", "config-asyncio"],
)
async def test_brewhost_run_migrates_connects_and_never_logs_the_token(
    tmp_path: Path, runtime: str, args: list[str], loop: str
) -> None:
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    sim = DiscordSimulator()
    await sim.start()
    try:
        guild = sim.create_guild("Norfolk Network")
        config = tmp_path / "config.toml"
        config.write_text(
            "[discord]\n"
            f"guild_ids = [{guild.id}]\n"
            f'api_base_url = "{sim.api_base_url}"\n'
            f'gateway_url = "{sim.gateway_url}"\n'
            "[database]\n"
            f'url = "sqlite+aiosqlite:///{tmp_path / "brewhost.db"}"\n' + runtime,
            encoding="utf-8",
        )
        env = dict(os.environ, BREWHOST_TOKEN=sim.bot_token)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(config),
            *args,
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await sim.wait_for(lambda: sim.commands(guild.id), timeout=30)
            await sim.wait_for(lambda: sim.gateway.connected_sessions(), timeout=30)
        finally:
            proc.terminate()  # SIGTERM, as systemctl stop sends: an orderly stop
            output, _ = await asyncio.wait_for(proc.communicate(), 30)
        log = output.decode()
        assert proc.returncode == 0, log[-2000:]
        assert "SIGTERM: stopping Brew Host" in log
        await sim.wait_for(lambda: not sim.gateway.connected_sessions(), timeout=10)
        assert {c["name"] for c in sim.commands(guild.id)} == {"brew", "reflect"}
        assert "Running upgrade  -> 0001" in log
        assert (tmp_path / "brewhost.db").exists()
        assert sim.bot_token not in log
        assert "Traceback" not in log
        assert f"event loop: {loop} (" in log
    finally:
        await sim.close()


async def test_brewhost_run_loop_flag_wins_over_the_config(tmp_path: Path) -> None:
    """``brewhost run --loop asyncio`` runs the standard loop even when the config asks for
    uvloop (the bot connects on it and registers its commands)."""
    await test_brewhost_run_migrates_connects_and_never_logs_the_token(
        tmp_path, '[runtime]\nevent_loop = "uvloop"\n', ["--loop", "asyncio"], "asyncio"
    )
