"""``brewhost run`` as its own process against the benchmark's simulator.

What a server admin starts: ``python -m bot run --config config.toml`` with the token in the
environment (as in ``tests/cli/test_run.py``). Measuring the bot in a process of its own keeps
the simulator's memory (every message and channel it has seen) out of the bot's figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from common import ROOT, current_loop, rss_mib

TRACED = ROOT / "bench" / "traced_bot.py"


def command_syncs(sim: Any) -> int:
    """Successful slash-command registrations the simulator has seen (one per start)."""
    return sum(
        1
        for c in sim.rest_log
        if c.method == "PUT" and c.route.endswith("/commands") and 200 <= c.status < 300
    )


def write_config(
    path: Path, sim: Any, guild_ids: list[int], db_path: Path, extra: str = ""
) -> Path:
    """A config file pointing the bot at ``sim`` and a SQLite file; ``extra`` is more TOML
    (a ``[brew]`` or ``[timing]`` section, say)."""
    path.write_text(
        "[discord]\n"
        f"guild_ids = {guild_ids}\n"
        f'api_base_url = "{sim.api_base_url}"\n'
        f'gateway_url = "{sim.gateway_url}"\n'
        "[database]\n"
        f'url = "sqlite+aiosqlite:///{db_path}"\n' + extra,
        encoding="utf-8",
    )
    return path


async def stop_process(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM (an orderly stop), then SIGKILL if it has not ended after 10 s."""
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


class BotProcess:
    """One ``brewhost run`` process, on the same event loop as the bench that starts it
    (``--loop``); ``traced`` runs it under :mod:`traced_bot`, ``script`` under another wrapper
    of ``bot.cli.main`` (such as :mod:`counted_bot`), with ``env`` added to its environment."""

    def __init__(
        self,
        sim: Any,
        config: Path,
        *,
        traced: bool = False,
        script: Path | None = None,
        env: dict[str, str] | None = None,
        log: Path | None = None,
    ) -> None:
        self.sim = sim
        self.config = config
        self.traced = traced
        self.script = TRACED if traced else script
        self.extra_env = env or {}
        #: Where its stdout and stderr go (nowhere by default).
        self.log = log
        self.trace_out = config.with_name(f"trace-{os.getpid()}.json")
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, within: float = 60) -> None:
        """Start it and wait until it has registered its slash commands (in ``setup_hook``,
        before it connects) and connected to the gateway."""
        synced = command_syncs(self.sim)
        entry = [str(self.script)] if self.script else ["-m", "bot"]
        env = dict(
            os.environ,
            BREWHOST_TOKEN=self.sim.bot_token,
            BREWHOST_TRACE_OUT=str(self.trace_out),
            **self.extra_env,
        )
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *entry,
            "run",
            "--config",
            str(self.config),
            "--loop",
            current_loop(),
            env=env,
            cwd=self.config.parent,
            stdout=log.open("ab") if (log := self.log) else asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.STDOUT if self.log else asyncio.subprocess.DEVNULL,
        )
        try:
            await self.sim.wait_for(lambda: command_syncs(self.sim) > synced, timeout=within)
            await self.sim.wait_for(lambda: self.sim.connected, timeout=within)
        except BaseException:
            await self.stop()
            raise

    @property
    def pid(self) -> int:
        assert self.proc is not None, "start() it first"
        return self.proc.pid

    def rss(self) -> float:
        """Its resident memory now (VmRSS), in MiB."""
        if self.proc is None or self.proc.returncode is not None:
            raise RuntimeError("brewhost run is not running")
        return rss_mib(self.pid)

    async def traced_by_package(self, within: float = 60) -> dict[str, int]:
        """With ``traced``: Python memory held now, by package (see :mod:`traced_bot`)."""
        assert self.traced, "start it with traced=True"
        self.trace_out.unlink(missing_ok=True)
        os.kill(self.pid, signal.SIGUSR1)
        deadline = asyncio.get_running_loop().time() + within
        while not self.trace_out.exists():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the traced bot wrote no snapshot")
            await asyncio.sleep(0.05)
        data: dict[str, int] = json.loads(self.trace_out.read_text("utf-8"))
        return data

    async def stop(self) -> None:
        if self.proc is not None:
            await stop_process(self.proc)
