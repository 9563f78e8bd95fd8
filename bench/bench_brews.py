"""Brews over time: turn-prompt lateness with many rooms, memory over many brews, restart.

* **turn prompts** (40 and 160 rooms): every room is moved on together by ``/brew next``
  (Arrive, then Think, then the first turn), so all rooms' turn timers fall due at the same
  moments. A turn ends ``T`` seconds after it began; the lateness of turn prompt *k* (k >= 2) is
  its arrival at the simulator minus (prompt *k-1*'s arrival + ``T``): the timer's lateness plus
  the difference of two posts' REST times. Nobody presses anything.
* **memory over brews**: brews of 8 people (2 rooms) run back to back on one ``brewhost run``
  process of its own (the simulator stays in this one); its resident memory after the first
  brew and after the last, and the slope per 100 brews. ``--trace`` adds a run under
  ``tracemalloc`` that splits the bot's Python memory growth by package (bot, discord.py,
  SQLAlchemy...).
* **restart**: 50 servers each with a running brew of 2 rooms; the bot stops mid-turn, the turn
  deadlines pass while it is down, then a new bot starts on the same database. Measured from
  the start call (login, gateway, recovery) to the moment every room has posted again.

Rate limits are off (these measure the bot's own timing; see the opening-rooms benchmark for
Discord-like limits).

    python bench/bench_brews.py [--repeat 3] [--only turns|memory|restart] [--trace]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Metric, percentile, wait_until

SPEED = 60.0
TURN_S = 120  # 2 s at SPEED
RESTART_TURN_S = 1200
MESSAGES = "/channels/{channel_id}/messages"


def _db(work: Path, tag: str) -> str:
    return f"sqlite+aiosqlite:///{work / f'{tag}-{time.monotonic_ns()}.db'}"


def _turn_posts(sim: Any, since: int) -> dict[int, list[float]]:
    """Arrival times of successful turn-prompt posts per channel, from the REST log."""
    out: dict[int, list[float]] = {}
    for call in list(sim.rest_log)[since:]:
        if call.method != "POST" or call.route != MESSAGES or not 200 <= call.status < 300:
            continue
        body = call.body if isinstance(call.body, dict) else {}
        if "it is your turn" not in str(body.get("content", "")):
            continue
        channel = int(call.path.rstrip("/").split("/")[-2])
        out.setdefault(channel, []).append(call.at)
    return out


# --------------------------------------------------------------------------- turn lateness
async def turns_once(work: Path, rooms: int) -> list[float]:
    from bench_open_rooms import seat_everyone

    from bot.config import BrewDefaults
    from bot.db.migrate import upgrade
    from bot.rehearsal.stage import open_stage
    from discordsim import GUILD_TEXT, RateLimitPolicy

    db_url = _db(work, f"turns{rooms}")
    await asyncio.to_thread(upgrade, db_url)
    brew = BrewDefaults(
        group_size=4,
        arrive_seconds=3600,
        think_seconds=600,
        turn_seconds=TURN_S,
        nudge_seconds=20,
        length_minutes=120,
    )
    async with open_stage(
        db_url,
        people=rooms * 4,
        brew=brew,
        speed=SPEED,
        rate_limits=RateLimitPolicy.off(),
        server="Bench Network",
        boot_within=60,
    ) as stage:
        await stage.start()
        await seat_everyone(stage)
        sim, world = stage.sim, stage.world
        rec = await stage.command(world.facilitator, "brew start", question="What's missing?")
        await stage.final_text(rec, within=300)
        texts = [
            c.id
            for c in sim.channels(world.guild_id, type=GUILD_TEXT)
            if c.name.startswith("room-")
        ]
        assert len(texts) == rooms, (len(texts), rooms)
        await stage.command(world.facilitator, "brew next", within=10)  # Arrive -> Think
        await asyncio.sleep(0.5)
        since = len(sim.rest_log)
        await stage.command(world.facilitator, "brew next", within=10)  # Think -> first turn
        await wait_until(
            lambda: (p := _turn_posts(sim, since)) and all(len(p.get(t, [])) >= 4 for t in texts),
            120,
            what="four turn prompts in every room",
        )
        posts = _turn_posts(sim, since)
    period = TURN_S / SPEED
    late: list[float] = []
    for times in posts.values():
        times.sort()
        late += [(b - a - period) * 1000 for a, b in itertools.pairwise(times[:4])]
    return late


# --------------------------------------------------------------------------- memory
#: The brew of the memory benchmark, as a server admin would write it in config.toml. At
#: ``[timing] speed`` 200 a whole brew takes about 3 s and its rooms go 0.3 s after Close.
MEMORY_CONFIG = """
[brew]
group_size = 4
arrive_seconds = 30
think_seconds = 30
turn_seconds = 30
nudge_seconds = 10
length_minutes = 10
still_seconds = 30
min_reflect_seconds = 30
close_seconds = 30
cleanup_minutes = 1
[timing]
speed = 200
"""


@dataclasses.dataclass
class MemoryRun:
    """One run of brews back to back: the bot's RSS after each brew, and (traced) its Python
    memory by package after the first and the last brew."""

    rss: list[float]
    traced_first: dict[str, int] = dataclasses.field(default_factory=dict)
    traced_last: dict[str, int] = dataclasses.field(default_factory=dict)


async def memory_once(work: Path, brews: int, *, traced: bool = False) -> MemoryRun:
    """Brews of 8 people (2 rooms) one after another on one ``brewhost run`` process.

    The bot runs in a process of its own, started as an admin would (``bot_process``), so its
    resident memory is the bot's alone: the simulator, which keeps what it has seen, stays in
    this process. Each brew runs to the end and its rooms are tidied away before the bot's
    ``VmRSS`` is read (no ``gc.collect()``: the figure is what the server would see).
    """
    from bot_process import BotProcess, write_config

    from bot.db.migrate import upgrade
    from bot.rehearsal.stage import build_world
    from discordsim import GUILD_TEXT, DiscordSimulator, RateLimitPolicy

    db = work / f"memory-{time.monotonic_ns()}.db"
    await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{db}")
    run = MemoryRun(rss=[])
    sim = DiscordSimulator(rate_limits=RateLimitPolicy.off())
    await sim.start()
    try:
        world = build_world(sim, 8)
        config = write_config(
            work / f"memory-{time.monotonic_ns()}.toml", sim, [world.guild_id], db, MEMORY_CONFIG
        )
        bot = BotProcess(sim, config, traced=traced)
        await bot.start()
        try:
            # discord.py waits up to 2 s for the server's GUILD_CREATE before it is ready.
            await asyncio.sleep(2.5)

            async def command(user: Any, name: str, **options: Any) -> str:
                rec = await sim.invoke_command(
                    world.guild_id, world.hall.id, user.id, name, **options
                )

                def final() -> str:
                    texts = [m.content for m in rec.followups if m.content]
                    original = rec.original_message
                    if original is not None and original.content and not original.loading:
                        texts.insert(0, original.content)
                    text = texts[-1] if texts else ""
                    return "" if text.startswith("Opening rooms") else text

                result: str = await sim.wait_for(final, timeout=60)
                return result

            await command(
                world.admin,
                "brew settings",
                facilitator_role=world.facilitators.id,
                organiser_role=world.organisers.id,
                main_voice_channel=world.lounge.id,
            )

            def tidied() -> bool:
                return not any(
                    c.name.startswith("room-")
                    for c in sim.channels(world.guild_id, type=GUILD_TEXT)
                )

            for i in range(brews):
                for member in [*world.people, world.facilitator]:
                    await sim.set_voice(world.guild_id, member.id, world.lounge.id)
                await asyncio.sleep(0.2)
                text = await command(world.facilitator, "brew start", question=f"Brew {i}?")
                assert "has started" in text, text
                await asyncio.sleep(1.0)
                await wait_until(tidied, 120, what=f"brew {i + 1}'s rooms tidied away")
                await asyncio.sleep(0.5)
                run.rss.append(bot.rss())
                if traced and i in (0, brews - 1):
                    snapshot = await bot.traced_by_package()
                    if i == 0:
                        run.traced_first = snapshot
                    else:
                        run.traced_last = snapshot
        finally:
            await bot.stop()
    finally:
        await sim.close()
    return run


def growth_by_package(run: MemoryRun, brews: int) -> list[tuple[str, float]]:
    """Traced growth per 100 brews (MiB) from the first brew to the last, by package, largest
    first."""
    keys = set(run.traced_first) | set(run.traced_last)
    scale = 100 / (brews - 1) / 2**20
    rows = [(k, (run.traced_last.get(k, 0) - run.traced_first.get(k, 0)) * scale) for k in keys]
    return sorted(rows, key=lambda kv: -abs(kv[1]))


# --------------------------------------------------------------------------- restart
async def restart_once(work: Path, servers: int = 50) -> dict[str, float]:
    from bench_open_rooms import seat_everyone  # noqa: F401 - same world helpers

    from bot.config import BrewDefaults
    from bot.db.migrate import upgrade
    from bot.rehearsal.stage import Stage, build_world
    from discordsim import GUILD_TEXT, DiscordSimulator, RateLimitPolicy

    db_url = _db(work, "restart")
    await asyncio.to_thread(upgrade, db_url)
    # Turns of 20 s (at SPEED) so every room is mid-turn when the bot stops, and every
    # turn's deadline passes while it is down.
    brew = BrewDefaults(
        group_size=4,
        arrive_seconds=30,
        think_seconds=30,
        turn_seconds=RESTART_TURN_S,
        length_minutes=240,
    )
    sim = DiscordSimulator(rate_limits=RateLimitPolicy.off())
    await sim.start()
    try:
        worlds = [build_world(sim, 8, server=f"Server {i + 1}") for i in range(servers)]
        from bot.rehearsal.stage import stage_config

        config = stage_config(sim, worlds[0], db_url, brew=brew, speed=SPEED)
        config = dataclasses.replace(
            config,
            discord=dataclasses.replace(
                config.discord, guild_ids=tuple(w.guild_id for w in worlds)
            ),
        )
        stage = Stage(sim, worlds[0], config, boot_within=120)
        await stage.start()

        async def begin(world: Any) -> None:
            await stage.sim.invoke_command(
                world.guild_id,
                world.hall.id,
                world.admin.id,
                "brew settings",
                facilitator_role=world.facilitators.id,
                organiser_role=world.organisers.id,
                main_voice_channel=world.lounge.id,
            )
            for member in [*world.people, world.facilitator]:
                await sim.set_voice(world.guild_id, member.id, world.lounge.id)

        for world in worlds:
            await begin(world)
        await asyncio.sleep(1.0)
        # One server after another: 50 brews started at the same moment on one SQLite file
        # fail with "database is locked" (a finding of its own, not what this measures).
        for world in worlds:
            rec = await sim.invoke_command(
                world.guild_id,
                world.hall.id,
                world.facilitator.id,
                "brew start",
                question="What's missing?",
            )
            await stage.final_text(rec, within=120)
        rooms = [
            c.id
            for w in worlds
            for c in sim.channels(w.guild_id, type=GUILD_TEXT)
            if c.name.startswith("room-")
        ]
        # Everyone in a turn, then stop; the turn (2 s at this speed) ends while it is down.
        await wait_until(
            lambda: (p := _turn_posts(sim, 0)) and all(r in p for r in rooms),
            120,
            what="a turn in every room",
        )
        await stage.stop()
        await asyncio.sleep(RESTART_TURN_S / SPEED + 0.5)
        due = _due_rooms(db_url)
        since = len(sim.rest_log)
        t0 = sim.now()
        await stage.start()
        started = sim.now() - t0

        def posted() -> dict[int, float]:
            out: dict[int, float] = {}
            for call in list(sim.rest_log)[since:]:
                if call.method == "POST" and call.route == MESSAGES and 200 <= call.status < 300:
                    channel = int(call.path.rstrip("/").split("/")[-2])
                    out.setdefault(channel, call.at)
            return out

        await wait_until(
            lambda: all(r in posted() for r in due), 120, what="every due room caught up"
        )
        done = posted()
        firsts = [done[r] - t0 for r in due]
        await stage.stop()
        return {
            "ready": started,
            "first post": min(firsts),
            "all caught up": max(firsts),
            "rooms": float(len(rooms)),
            "due": float(len(due)),
        }
    finally:
        await sim.close()


def _due_rooms(db_url: str) -> set[int]:
    """Text channels of running rooms whose deadline has passed."""
    from datetime import UTC, datetime

    from bot.db.bench_sql import due_room_channels

    return due_room_channels(
        Path(db_url.split(":///", 1)[1]), datetime.now(UTC).replace(tzinfo=None)
    )


# --------------------------------------------------------------------------- metrics
async def run(
    repeat: int, only: str | None = None, brews: int = 11, trace: bool = False
) -> list[Metric]:
    metrics: list[Metric] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if only in (None, "turns"):
            for rooms in (40, 160):
                p99, p50, worst = [], [], []
                for i in range(repeat):
                    late = await turns_once(work, rooms)
                    p99.append(percentile(late, 99))
                    p50.append(percentile(late, 50))
                    worst.append(max(late))
                    print(
                        f"  turns {rooms} rooms run {i + 1}: p50 {p50[-1]:.0f} ms, p99 "
                        f"{p99[-1]:.0f} ms, max {worst[-1]:.0f} ms ({len(late)} prompts)",
                        flush=True,
                    )
                metrics += [
                    Metric(
                        "turn_prompts",
                        f"turn prompt lateness, {rooms} rooms at once: p99",
                        "ms",
                        p99,
                        ("<", 50) if rooms == 160 else None,
                    ),
                    Metric("turn_prompts", f"turn prompt lateness, {rooms} rooms: p50", "ms", p50),
                    Metric(
                        "turn_prompts", f"turn prompt lateness, {rooms} rooms: max", "ms", worst
                    ),
                ]
        if only in (None, "memory"):
            slopes, firsts, lasts, traced = [], [], [], []
            for i in range(repeat):
                rss = (await memory_once(work, brews)).rss
                slopes.append((rss[-1] - rss[0]) / (len(rss) - 1) * 100)
                firsts.append(rss[0])
                lasts.append(rss[-1])
                print(
                    f"  memory run {i + 1}: brewhost run RSS after each brew "
                    f"{' '.join(f'{v:.1f}' for v in rss)} MiB",
                    flush=True,
                )
                if trace:
                    # A second run under tracemalloc (slower, and its RSS is not the bot's).
                    rows = growth_by_package(await memory_once(work, brews, traced=True), brews)
                    traced.append(sum(v for _, v in rows))
                    print(
                        "    traced Python memory growth per 100 brews, by package: "
                        + ", ".join(f"{k} {v:+.2f}" for k, v in rows[:8] if abs(v) >= 0.005)
                        + " MiB",
                        flush=True,
                    )
            metrics += [
                Metric(
                    "memory",
                    f"memory growth after the first brew ({brews} brews), per 100 brews",
                    "MiB",
                    slopes,
                    ("<", 2),
                    note="brewhost run in its own process: (RSS after last - after first) "
                    "/ (brews - 1) x 100",
                ),
                Metric("memory", "brewhost run RSS after the first brew", "MiB", firsts),
                Metric("memory", f"brewhost run RSS after brew {brews}", "MiB", lasts),
            ]
            if trace:
                metrics.append(
                    Metric(
                        "memory",
                        "traced Python memory growth (tracemalloc), per 100 brews",
                        "MiB",
                        traced,
                    )
                )
        if only in (None, "restart"):
            caught, first, ready = [], [], []
            for i in range(repeat):
                res = await restart_once(work)
                caught.append(res["all caught up"])
                first.append(res["first post"])
                ready.append(res["ready"])
                print(
                    f"  restart run {i + 1}: ready {res['ready']:.2f} s, first post "
                    f"{res['first post']:.2f} s, all {res['due']:.0f} due rooms "
                    f"(of {res['rooms']:.0f}) "
                    f"{res['all caught up']:.2f} s",
                    flush=True,
                )
            metrics += [
                Metric(
                    "restart",
                    "restart, 50 brews x 2 rooms: all rooms caught up after start",
                    "s",
                    caught,
                    ("<", 1.5),
                ),
                Metric("restart", "restart: first room post after start", "s", first),
                Metric("restart", "restart: bot ready (commands synced) after start", "s", ready),
            ]
    return metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=("turns", "memory", "restart"))
    parser.add_argument("--brews", type=int, default=11)
    parser.add_argument(
        "--trace",
        action="store_true",
        help="memory: also run the bot under tracemalloc and print its growth by package",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here (for run_all)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    metrics = asyncio.run(run(args.repeat, args.only, args.brews, args.trace))
    if args.json:
        args.json.write_text(json.dumps([m.as_dict() for m in metrics]), encoding="utf-8")
    for m in metrics:
        print(f"{m.name:66} {m.lo:9.2f} {m.med:9.2f} {m.hi:9.2f} {m.unit} {m.target_text()}")
    return 0 if all(m.ok is not False for m in metrics) else 1


if __name__ == "__main__":
    sys.exit(main())
