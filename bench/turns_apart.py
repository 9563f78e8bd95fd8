"""The turn-prompt benchmark with the bot, and the bare client of the floor, in processes of
their own (``bench_brews.py --only turns``, the default; ``--in-process`` for the old set-up).

On Discord the bot does not share its process with the server: in one process the simulator's
work (parsing 160 posts, keeping every message, its garbage) lands on the bot's event loop and
in its collector's pauses, and the figure is the sum of both. Here:

* the simulator and the measuring (the REST log, the timetable read from the database) stay in
  the benchmark's process;
* the bot is ``brewhost run`` (:mod:`counted_bot`, which also counts its round trips and can
  profile itself) on a config file, as a server admin starts it;
* the floor is a bare discord.py client (no Brew Host code) in a process of its own, run by
  this file's ``__main__``: it connects, then sends one prompt-like message (a ping, four
  buttons) to each channel at once, a warm-up wave and then ``waves`` more, one turn apart,
  and prints the moments the waves were due. Both processes read the same clock
  (``CLOCK_MONOTONIC``, system-wide on Linux; the simulator's clock is ``time.monotonic()``),
  so arrival at the simulator minus the moment due is the lateness, as for the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, current_loop, post_prompt_wave

COUNTED = ROOT / "bench" / "counted_bot.py"
SELF = Path(__file__).resolve()


class BotApart:
    """``brewhost run`` (:mod:`counted_bot`) against the stage's simulator."""

    def __init__(self, proc: Any, counts_out: Path) -> None:
        self.proc = proc
        self.counts_out = counts_out

    def begin(self) -> None:
        """Zero its round-trip counters (and start its profile, if one was asked for)."""
        os.kill(self.proc.pid, signal.SIGUSR2)

    async def counts(self, within: float = 30) -> dict[str, int]:
        """Its round trips since :meth:`begin` (and its profile written, if asked for)."""
        self.counts_out.unlink(missing_ok=True)
        os.kill(self.proc.pid, signal.SIGUSR1)
        deadline = time.monotonic() + within
        while not self.counts_out.exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the bot process wrote no counters")
            await asyncio.sleep(0.05)
        data: dict[str, int] = json.loads(self.counts_out.read_text("utf-8"))
        return data


@contextlib.asynccontextmanager
async def bot_apart(
    stage: Any, work: Path, brew: dict[str, int], speed: float, profile: Path | None
) -> AsyncIterator[BotApart]:
    """The bot in its own process on ``stage``'s simulator and database, with ``brew`` as its
    ``[brew]`` settings, until the block ends; it has the server and everyone in the Lounge
    (``/brew settings`` done) when the block begins."""
    from bot_process import BotProcess, write_config

    sim, world = stage.sim, stage.world
    tag = time.monotonic_ns()
    extra = "[brew]\n" + "".join(f"{k} = {v}\n" for k, v in brew.items())
    extra += f"[timing]\nspeed = {speed}\n"
    db_path = Path(stage.db_url.split(":///", 1)[1])
    config = write_config(work / f"turns-{tag}.toml", sim, [world.guild_id], db_path, extra)
    counts_out = work / f"counts-{tag}.json"
    env = {"BREWHOST_COUNTS_OUT": str(counts_out)}
    if profile is not None:
        env["BREWHOST_PROFILE_OUT"] = str(profile)
    bot = BotProcess(sim, config, script=COUNTED, env=env, log=work / f"bot-{tag}.log")
    await bot.start()
    try:
        # discord.py waits up to 2 s for the server's GUILD_CREATE before it is ready; the
        # bot cannot be asked what it sees, so the voice states get a moment to arrive
        # (``/brew start`` then checks that everyone was grouped).
        await asyncio.sleep(2.5)
        await stage.command(world.admin, "brew settings", **stage.settings_options())
        for member in [*world.people, world.facilitator]:
            await sim.set_voice(world.guild_id, member.id, world.lounge.id)
        await asyncio.sleep(2.0)
        assert bot.proc is not None
        yield BotApart(bot.proc, counts_out)
    finally:
        await bot.stop()


async def bare_posts_apart(rooms: int, period: float, waves: int = 3) -> list[float]:
    """The floor with the bare client in its own process: each message's arrival at the
    simulator minus the moment its wave was due (ms), waves after the warm-up only."""
    from bench_brews import PostWatch

    from discordsim import GUILD_TEXT, DiscordSimulator, RateLimitPolicy

    sim = DiscordSimulator(rate_limits=RateLimitPolicy.off())
    await sim.start()
    try:
        assert abs(sim.now() - time.monotonic()) < 0.001, "the simulator's clock was moved"
        guild = sim.create_guild("Floor")
        channels = [
            sim.create_channel(guild.id, f"room-{i + 1}", type=GUILD_TEXT).id for i in range(rooms)
        ]
        people = [sim.create_member(guild.id, f"P{i}").id for i in range(rooms)]
        watch = PostWatch(sim)
        args = {
            "api": sim.api_base_url,
            "gateway": sim.gateway_url,
            "guild": guild.id,
            "channels": channels,
            "people": people,
            "period": period,
            "waves": waves,
            "loop": current_loop(),  # the floor runs on the bench's (and the bot's) loop
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SELF),
            json.dumps(args),
            env=dict(os.environ, BREWHOST_TOKEN=sim.bot_token),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 120 + waves * period)
        if proc.returncode != 0:
            raise RuntimeError(f"the bare client exited {proc.returncode}")
        due: list[float] = json.loads(out.decode().strip().splitlines()[-1])
        arrived = watch.turn_prompts()
        late: list[float] = []
        for wave in range(waves):
            moment = due[wave + 1]
            late += [(a[wave + 2] - moment) * 1000 for a in arrived.values() if wave + 2 in a]
        return late
    finally:
        await sim.close()


# --------------------------------------------------------------------------- the bare client
async def _bare_client(args: dict[str, Any]) -> list[float]:
    """In the floor's own process: connect, send the waves, return the moments they were due
    (the warm-up wave's first)."""
    import discord
    import discord.gateway
    import discord.http
    import yarl

    discord.http.Route.BASE = args["api"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(args["gateway"])
    client = discord.Client(intents=discord.Intents(guilds=True), guild_ready_timeout=0.05)
    await client.login(os.environ["BREWHOST_TOKEN"])
    task = asyncio.create_task(client.connect())
    async with asyncio.timeout(30):
        await client.wait_until_ready()
    found = client.get_guild(args["guild"])
    assert found is not None
    targets = [found.get_channel(c) for c in args["channels"]]
    people: list[int] = args["people"]

    moments: list[float] = []
    due = time.monotonic() + 0.5
    # Wave 0 opens the client's connections and is not counted: the bot's turn prompts go
    # out on connections its earlier posts opened.
    for wave in range(-1, args["waves"]):
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        moments.append(due)
        await post_prompt_wave(targets, people, wave)
        due += args["period"]
    await client.close()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return moments


if __name__ == "__main__":
    from bot import event_loop

    floor = json.loads(sys.argv[1])
    loop = event_loop.choose(floor.get("loop", "auto"))
    print(json.dumps(event_loop.run(_bare_client(floor), loop)), flush=True)
