"""Idle ``brewhost run``: resident memory of the real process once it is connected and ready.

Starts ``python -m bot run`` exactly as a server admin would (config file, token in the
environment; as in ``tests/cli/test_run.py``) against the local Discord simulator, waits until
its slash commands are registered, lets it settle for a second and reads ``VmRSS`` from
``/proc/<pid>/status``. Two starts per repetition: on a fresh database (the first start also
migrates it) and again on the now up-to-date database (every later start). As comparisons, the
RSS of a bare ``python -c "import discord"`` and of a bare discord.py client connected to the
same simulator.

    python bench/bench_idle.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, Metric, rss_mib

BARE_CLIENT = """
import asyncio, os, sys, discord
from bot.shell.endpoints import configure_endpoints
configure_endpoints(sys.argv[1], sys.argv[2])
client = discord.Client(intents=discord.Intents.default())
@client.event
async def on_ready():
    print("READY", flush=True)
client.run(os.environ["BREWHOST_TOKEN"], log_handler=None)
"""


def _command_syncs(sim: object) -> int:
    """Successful slash-command registrations the simulator has seen (one per start)."""
    return sum(
        1
        for c in sim.rest_log  # type: ignore[attr-defined]
        if c.method == "PUT" and c.route.endswith("/commands") and 200 <= c.status < 300
    )


async def _settled_rss(proc: asyncio.subprocess.Process, settle: float) -> float:
    await asyncio.sleep(settle)
    return rss_mib(proc.pid)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def one_run(work: Path, settle: float = 1.0) -> dict[str, float]:
    from discordsim import DiscordSimulator

    out: dict[str, float] = {}
    sim = DiscordSimulator()
    await sim.start()
    try:
        guild = sim.create_guild("Norfolk Network")
        db = work / f"idle-{os.getpid()}-{asyncio.get_running_loop().time():.0f}.db"
        config = work / "config.toml"
        config.write_text(
            "[discord]\n"
            f"guild_ids = [{guild.id}]\n"
            f'api_base_url = "{sim.api_base_url}"\n'
            f'gateway_url = "{sim.gateway_url}"\n'
            "[database]\n"
            f'url = "sqlite+aiosqlite:///{db}"\n',
            encoding="utf-8",
        )
        env = dict(os.environ, BREWHOST_TOKEN=sim.bot_token)
        for label in ("first start (migrates)", "later start"):
            synced = _command_syncs(sim)
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                "--config",
                str(config),
                env=env,
                cwd=work,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                # Ready: this process has connected and registered its slash commands.
                await sim.wait_for(lambda s=synced: _command_syncs(sim) > s, timeout=60)
                out[label] = await _settled_rss(proc, settle)
            finally:
                await _stop(proc)
            # let the simulator forget the session before the next start
            await asyncio.sleep(0.3)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            BARE_CLIENT,
            sim.api_base_url,
            sim.gateway_url,
            env=env,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            if b"READY" not in line:
                raise RuntimeError("the bare discord.py client did not connect")
            out["bare discord.py client, connected"] = await _settled_rss(proc, settle)
        finally:
            await _stop(proc)
    finally:
        await sim.close()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys, time, discord; print('x', flush=True); time.sleep(30)",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        await proc.stdout.readline()
        out["python + import discord"] = rss_mib(proc.pid)
    finally:
        await _stop(proc)
    return out


async def run(repeat: int) -> list[Metric]:
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            res = await one_run(Path(tmp))
            runs.append(res)
            print(
                f"  idle run {i + 1}: " + ", ".join(f"{k} {v:.1f} MiB" for k, v in res.items()),
                flush=True,
            )
    return [
        Metric(
            "idle",
            "idle brewhost run RSS (up-to-date database)",
            "MiB",
            [r["later start"] for r in runs],
            ("<", 60),
            check="max",
            note="VmRSS 1 s after commands registered",
        ),
        Metric(
            "idle",
            "idle brewhost run RSS (first start, migrates)",
            "MiB",
            [r["first start (migrates)"] for r in runs],
        ),
        Metric(
            "idle",
            "comparison: bare discord.py client, connected",
            "MiB",
            [r["bare discord.py client, connected"] for r in runs],
        ),
        Metric(
            "idle",
            "comparison: python + import discord",
            "MiB",
            [r["python + import discord"] for r in runs],
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    metrics = asyncio.run(run(args.repeat))
    for m in metrics:
        print(f"{m.name:60} {m.lo:9.1f} {m.med:9.1f} {m.hi:9.1f} {m.unit} {m.target_text()}")
    return 0 if all(m.ok is not False for m in metrics) else 1


if __name__ == "__main__":
    sys.exit(main())
