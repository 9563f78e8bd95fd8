"""Idle ``brewhost run``: resident memory of the real process once it is connected and ready.

Starts ``python -m bot run`` exactly as a server admin would (config file, token in the
environment; as in ``tests/cli/test_run.py``) against the local Discord simulator, waits until
its slash commands are registered, lets it settle for a second and reads ``VmRSS`` from
``/proc/<pid>/status``. Two starts per repetition: on a fresh database (the first start also
migrates it) and again on the now up-to-date database (every later start).

As comparisons, in the same run: ``python -c "import discord"``; a bare discord.py client
connected to the same simulator; and the floor of the stack Brew Host is built on, which no bot
on it can go below: python with discord.py and SQLAlchemy's asyncio ORM and its aiosqlite driver
imported, and the same stack *running* (a bare discord.py client connected, plus an async
engine that has run a query on the bot's database).

Everything runs on the event loop ``brewhost run`` picks (uvloop where installed; ``--loop
asyncio|uvloop`` to compare): the bot is started with that ``--loop``, the bare client and the
running floor run on the same loop, and with uvloop the imported floor imports it too.

    python bench/bench_idle.py [--repeat 3] [--loop asyncio|uvloop]
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

from bot_process import BotProcess, stop_process, write_config
from common import ROOT, Metric, add_loop_option, current_loop, rss_mib, run_on_loop

FLOOR_IMPORTED = "floor imported: python + discord.py + SQLAlchemy asyncio ORM + aiosqlite"
FLOOR_RUNNING = "floor running: bare client connected + async engine queried"

#: The libraries every start of Brew Host imports, whatever the bot does with them.
STACK = (
    "discord",
    "sqlalchemy.ext.asyncio",
    "sqlalchemy.orm",
    "sqlalchemy.dialects.sqlite.aiosqlite",
    "aiosqlite",
)

#: A bare client runs as ``client.run`` would, on the loop named in the last argument.
RUN_ON_LOOP = """
from bot import event_loop
async def _main():
    async with client:
        await client.start(os.environ["BREWHOST_TOKEN"])
event_loop.run(_main(), event_loop.choose(sys.argv[-1]))
"""

BARE_CLIENT = (
    """
import asyncio, os, sys, discord
from bot.shell.endpoints import configure_endpoints
configure_endpoints(sys.argv[1], sys.argv[2])
client = discord.Client(intents=discord.Intents.default())
@client.event
async def on_ready():
    print("READY", flush=True)
"""
    + RUN_ON_LOOP
)

#: The stack running: a bare client connected, and an async engine that has run one query on
#: the bot's database (argv[3]), with nothing of Brew Host's own.
BARE_STACK = (
    """
import asyncio, os, sys, discord
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
import sqlalchemy.orm
from bot.shell.endpoints import configure_endpoints
configure_endpoints(sys.argv[1], sys.argv[2])
client = discord.Client(intents=discord.Intents.default())
@client.event
async def on_ready():
    engine = create_async_engine(sys.argv[3])
    async with engine.connect() as conn:
        await conn.execute(text("SELECT count(*) FROM sqlite_master"))
    client.engine = engine
    print("READY", flush=True)
"""
    + RUN_ON_LOOP
)


async def _ready_rss(script: str, *args: str, env: dict[str, str], settle: float) -> float:
    """RSS of ``python -c script args`` once it has printed READY and ``settle`` seconds
    passed."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        if b"READY" not in line:
            raise RuntimeError(f"the comparison process did not get ready: {script[:40]!r}")
        await asyncio.sleep(settle)
        return rss_mib(proc.pid)
    finally:
        await stop_process(proc)


async def one_run(work: Path, settle: float = 1.0) -> dict[str, float]:
    from discordsim import DiscordSimulator

    out: dict[str, float] = {}
    loop = current_loop()
    sim = DiscordSimulator()
    await sim.start()
    try:
        guild = sim.create_guild("Norfolk Network")
        db = work / f"idle-{os.getpid()}-{asyncio.get_running_loop().time():.0f}.db"
        config = write_config(work / "config.toml", sim, [guild.id], db)
        env = dict(os.environ, BREWHOST_TOKEN=sim.bot_token)
        for label in ("first start (migrates)", "later start"):
            bot = BotProcess(sim, config)
            await bot.start()
            try:
                # Ready: this process has connected and registered its slash commands.
                await asyncio.sleep(settle)
                out[label] = bot.rss()
            finally:
                await bot.stop()
            # let the simulator forget the session before the next start
            await asyncio.sleep(0.3)
        urls = (sim.api_base_url, sim.gateway_url)
        out["bare discord.py client, connected"] = await _ready_rss(
            BARE_CLIENT, *urls, loop, env=env, settle=settle
        )
        await asyncio.sleep(0.3)
        out[FLOOR_RUNNING] = await _ready_rss(
            BARE_STACK, *urls, f"sqlite+aiosqlite:///{db}", loop, env=env, settle=settle
        )
    finally:
        await sim.close()
    stack = (*STACK, "uvloop") if loop == "uvloop" else STACK
    imports = "import " + ", ".join(stack) + "; print('READY', flush=True); import time"
    out[FLOOR_IMPORTED] = await _ready_rss(
        imports + "; time.sleep(60)", env=dict(os.environ), settle=0.2
    )
    out["python + import discord"] = await _ready_rss(
        "import discord; print('READY', flush=True); import time; time.sleep(60)",
        env=dict(os.environ),
        settle=0.2,
    )
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
        Metric(
            "idle",
            "floor: python + discord.py + SQLAlchemy asyncio ORM + aiosqlite, imported",
            "MiB",
            [r[FLOOR_IMPORTED] for r in runs],
            note="the libraries alone; no bot on this stack can be smaller",
        ),
        Metric(
            "idle",
            FLOOR_RUNNING,
            "MiB",
            [r[FLOOR_RUNNING] for r in runs],
        ),
        Metric(
            "idle",
            "brewhost run above the running floor (up-to-date database)",
            "MiB",
            [r["later start"] - r[FLOOR_RUNNING] for r in runs],
            note="Brew Host's own code and state",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    add_loop_option(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    metrics = run_on_loop(run(args.repeat), args.loop)
    for m in metrics:
        print(f"{m.name:60} {m.lo:9.1f} {m.med:9.1f} {m.hi:9.1f} {m.unit} {m.target_text()}")
    return 0 if all(m.ok is not False for m in metrics) else 1


if __name__ == "__main__":
    sys.exit(main())
