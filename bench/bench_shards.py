"""Scale-out: 50, 100 and 200 servers, a brew of 12 people in each, all at once, across two
``brewhost run`` processes (shard 0 and shard 1 of 2) on one PostgreSQL database.

Each run creates a fresh database on 127.0.0.1:5432, starts the local Discord simulator with two
shards and rate limits off, builds the servers (admin, facilitator, roles, a hall, a lounge and
12 people), starts the two bot processes, runs ``/brew settings`` everywhere, puts everyone in the
lounge and then runs ``/brew start`` in every server at the same moment. During the brews,
in every room, someone who is not the speaker presses "I'm done" on the second turn prompt (the
bot says it is not their turn) and the speaker presses it on the third. It measures, between
the first ``/brew start`` and the last room's channels being tidied away:

* prompt lateness: for every deadline-driven step (a turn or phase ending on time, a nudge),
  the time the simulator received the step's first post minus the deadline the bot had
  scheduled (``phases.next_deadline`` of the room's state, i.e. ``rooms.phase_ends_at`` or the
  nudge before it), p50 / p99;
* interaction first answer p99: the simulator's own clock from INTERACTION_CREATE to the bot's
  first response, for the button presses (and separately for the ``/brew start`` commands);
* database round trips, per prompt and per brew-minute: every round trip to PostgreSQL (each
  statement executed, each statement prepared, each BEGIN, COMMIT and ROLLBACK actually sent,
  each liveness ping, each new connection), counted inside each bot process at SQLAlchemy's
  asyncpg adapter (:func:`bot.db.measure.count_round_trips`), both processes, divided by the
  bot's posts in room channels or by the brew-minutes run;
* CPU, per brew-minute and per prompt: utime + stime of both processes (``/proc/<pid>/stat``)
  divided by the brew-minutes run (brews x the brew's length in brew minutes) or the posts;
* prompts per room and posts dropped as stale (their moment passed while the bot was behind):
  whether the bot kept up, which decides whether two sizes' costs can be compared;
* peak memory per process: ``VmHWM`` from ``/proc/<pid>/status`` at the end.

The bot processes are real ``brewhost run`` (``bot.cli.main(["run", ...])``), started through
this file with ``--worker`` only so that the counters above can be installed first: listeners
on SQLAlchemy's ``Engine``/``Pool`` and its asyncpg adapter, a wrapper around
``bot.shell.outbox.is_stale`` that counts the posts dropped, and a wrapper around
``bot.core.phases.advance`` that notes (room, deadline, time applied) for each step that was
due. They dump what they counted to a
JSON file on SIGUSR1. The simulator runs in this process; its CPU is reported separately
("sim CPU") so the bot's cost is not mixed with the fake's.

Run from the repository root, in the project's virtual environment::

    python bench/bench_shards.py                   # 50, 100, 200 servers, 3 runs each
    python bench/bench_shards.py --quick           # 10 and 40 servers, once each
    python bench/bench_shards.py --servers 50,200 --repeat 1 --speed 30 --length 30

Exits non-zero when a brew did not finish, an interaction was answered late, a tick failed, or
the cost per brew at the largest size is more than 20 % above the smallest (CPU per
brew-minute, round trips per brew-minute, round trips per prompt), or the two cannot be
compared because a run fell behind (see ``bench/shards_report.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from shards_report import Result, as_json, report, run_line  # noqa: E402

PG_ADMIN_DSN = os.environ.get("BREWHOST_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
PEOPLE = 12
GROUP_SIZE = 4
MANAGE_GUILD = 1 << 5
STATS_ENV = "BREWHOST_BENCH_STATS"


# =========================================================================== inside a bot process
def worker_main(argv: Sequence[str]) -> int:
    """``brewhost <argv>`` with the counters installed (see the module docstring)."""
    install_probes(Path(os.environ[STATS_ENV]))
    from bot.cli import main

    return main(list(argv))


def install_probes(stats_path: Path) -> None:
    from bot.core import phases
    from bot.db.measure import count_round_trips
    from bot.shell import outbox

    counts: Counter[str] = Counter()
    by_statement: Counter[str] = Counter()
    due_steps: list[tuple[str, float, float]] = []

    count_round_trips(counts, by_statement)

    # Posts dropped unsent because their moment had passed (the process fell behind).
    original_stale = outbox.is_stale

    def is_stale(*args: Any) -> bool:
        stale = original_stale(*args)
        counts["stale_dropped"] += stale
        return stale

    outbox.is_stale = is_stale  # type: ignore[assignment]

    original = phases.advance
    silent = (phases.Recall, phases.Cleanup)  # steps that post nothing in the room

    def advance(state: Any, timing: Any, now: float, *rest: Any) -> Any:
        due = phases.next_deadline(state, timing)
        new_state, events = original(state, timing, now, *rest)
        if due is not None and due <= now and any(not isinstance(e, silent) for e in events):
            due_steps.append((state.order[0] if state.order else "", due, now))
        return new_state, events

    phases.advance = advance  # type: ignore[assignment]

    def dump(*_: Any) -> None:
        tmp = stats_path.with_suffix(".tmp")
        stats = {"counts": counts, "by_statement": by_statement, "due": due_steps}
        tmp.write_text(json.dumps({**stats, "at": time.time()}))
        tmp.replace(stats_path)

    signal.signal(signal.SIGUSR1, dump)


# =========================================================================== the bench side
def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass
class Server:
    guild_id: int
    admin: int
    facilitator: int
    facilitators: int
    organisers: int
    hall: int
    lounge: int
    people: list[int]


@dataclass
class RoomWatch:
    guild_id: int
    members: list[int] = field(default_factory=list)
    turns: int = 0
    posts: int = 0


@dataclass(frozen=True)
class Plan:
    """How each run is set up: brew speed and length, and the pool (0: the bot's default)."""

    speed: float
    length: int
    pool: int = 0

    @property
    def brew_wall_s(self) -> float:
        return self.length * 60 / self.speed


def write_config(
    path: Path, sim: Any, db_url: str, guild_ids: list[int], shard: int, plan: Plan
) -> None:
    """The bot's defaults except the brew's length and cleanup, the speed and, when
    ``plan.pool`` is given, the connection pool (that many connections, no overflow)."""
    pool = plan.pool
    pool_lines = f"pool_size = {pool}\nmax_overflow = 0\n" if pool else ""
    path.write_text(
        "[discord]\n"
        f"guild_ids = {guild_ids}\n"
        f'api_base_url = "{sim.api_base_url}"\n'
        f'gateway_url = "{sim.gateway_url}"\n'
        f"shard_id = {shard}\nshard_count = 2\n"
        "[database]\n"
        f'url = "{db_url}"\n'
        f"{pool_lines}"
        "[brew]\n"
        f"group_size = {GROUP_SIZE}\nlength_minutes = {plan.length}\ncleanup_minutes = 1\n"
        "[timing]\n"
        f"speed = {plan.speed}\n",
        encoding="utf-8",
    )


async def snapshot(procs: list[subprocess.Popen[bytes]], paths: list[Path]) -> list[dict[str, Any]]:
    """Ask each bot process for its counters and wait for the files."""
    before = [p.stat().st_mtime_ns if p.exists() else 0 for p in paths]
    for proc in procs:
        proc.send_signal(signal.SIGUSR1)
    for _ in range(200):
        if all(
            p.exists() and p.stat().st_mtime_ns != b for p, b in zip(paths, before, strict=True)
        ):
            break
        await asyncio.sleep(0.05)
    else:
        raise RuntimeError("a bot process did not write its counters")
    return [json.loads(p.read_text()) for p in paths]


def start_worker(config: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``brewhost run --config <config>`` with the counters, its output in a log beside it."""
    with config.with_suffix(".log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, __file__, "--worker", "run", "--config", str(config)],
            env=env,
            cwd=config.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def machine_load() -> str:
    """The 1, 5 and 15-minute load averages (2 cores here, shared with other work)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def read_log(path: Path) -> str:
    return path.read_text(errors="replace")


def keep_logs(src: Path, dest: Path) -> None:
    for log in src.glob("*.log"):
        (dest / log.name).write_bytes(log.read_bytes())


def round_trips(counts: dict[str, int]) -> int:
    """Round trips to PostgreSQL (see :func:`bot.db.measure.count_round_trips`)."""
    from bot.db.measure import ROUND_TRIP_KINDS

    return sum(counts.get(k, 0) for k in ROUND_TRIP_KINDS)


def delta(after: list[dict[str, Any]], before: list[dict[str, Any]], key: str) -> dict[str, int]:
    """What both processes counted under ``key`` between the two snapshots."""
    total: Counter[str] = Counter()
    for a, b in zip(after, before, strict=True):
        total.update(a[key])
        total.subtract(b[key])
    return {k: v for k, v in total.items() if v}


async def run_once(servers: int, plan: Plan, rep: int, workdir: Path) -> Result:
    from bot.db.brews import brew_status, room_by_channel
    from bot.db.measure import recreate_database
    from bot.db.session import create_engine, session_factory
    from discordsim import GUILD_TEXT, GUILD_VOICE, DiscordSimulator, RateLimitPolicy
    from discordsim.snowflake import snowflake_time

    db_name = f"bench_shards_{os.getpid()}_{servers}_{rep}"
    db_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db_name}"
    await recreate_database(PG_ADMIN_DSN, db_name)
    setup_started = time.monotonic()
    sim = DiscordSimulator(shards=2, rate_limits=RateLimitPolicy.off(), log_limit=1000)
    await sim.start()
    loop = asyncio.get_running_loop()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        world: list[Server] = []
        for n in range(servers):
            guild = sim.create_guild(f"Region {n + 1}", shard=(n % 2, 2))
            admins = sim.create_role(guild.id, "Admins", permissions=MANAGE_GUILD)
            world.append(
                Server(
                    guild_id=guild.id,
                    admin=sim.create_member(guild.id, "Ada Admin", roles=[admins.id]).id,
                    facilitators=(fac := sim.create_role(guild.id, "Facilitators")).id,
                    facilitator=sim.create_member(guild.id, "Fran", roles=[fac.id]).id,
                    organisers=sim.create_role(guild.id, "Organisers").id,
                    hall=sim.create_channel(guild.id, "brew-hall", type=GUILD_TEXT).id,
                    lounge=sim.create_channel(guild.id, "Lounge", type=GUILD_VOICE).id,
                    people=[
                        sim.create_member(guild.id, f"Person {i + 1}").id for i in range(PEOPLE)
                    ],
                )
            )
        ids = [s.guild_id for s in world]
        env = dict(os.environ, BREWHOST_TOKEN=sim.bot_token)
        stats = [workdir / f"stats-{servers}-{rep}-{shard}.json" for shard in (0, 1)]
        for shard in (0, 1):
            config = workdir / f"shard{shard}-{servers}-{rep}.toml"
            write_config(config, sim, db_url, ids, shard, plan)
            procs.append(start_worker(config, {**env, STATS_ENV: str(stats[shard])}))
        await sim.wait_for(lambda: all(sim.commands(g) for g in ids), timeout=180, interval=0.5)
        await sim.wait_for(lambda: len(sim.gateway.connected_sessions()) == 2, timeout=60)

        gate = asyncio.Semaphore(16)

        async def settings(s: Server) -> None:
            async with gate:
                rec = await sim.invoke_command(
                    s.guild_id, s.hall, s.admin, "brew settings",
                    facilitator_role=s.facilitators, organiser_role=s.organisers,
                    main_voice_channel=s.lounge, area=f"Region {s.guild_id}",
                )  # fmt: skip
                await rec.wait_response(timeout=30)

        await asyncio.gather(*(settings(s) for s in world))
        for s in world:
            for member in [*s.people, s.facilitator]:
                await sim.set_voice(s.guild_id, member, s.lounge)
        await asyncio.sleep(1.0)  # let both processes take in the voice states

        rooms: dict[int, RoomWatch] = {}
        prompts = [0]
        presses: list[Any] = []
        tasks: set[asyncio.Task[None]] = set()

        async def press(user: int, channel: int, message: Any) -> None:
            await asyncio.sleep(0.1)
            button = message.button("I'm done")
            if button is None:
                return
            rec = await sim.click_button(user, channel, message.id, button["custom_id"])
            presses.append(rec)

        def later(coro: Any) -> None:
            task = loop.create_task(coro)
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        def on_message(msg: Any) -> None:
            if msg.author_id != sim.bot_id or msg.ephemeral or msg.interaction_id:
                return
            channel = sim.state.channels.get(msg.channel_id)
            if channel is None or not (channel.name or "").startswith("room-"):
                return
            watch = rooms.get(msg.channel_id)
            if watch is None:  # the guide, which pings the room's members
                watch = rooms[msg.channel_id] = RoomWatch(msg.guild_id, list(msg.mentions))
            watch.posts += 1
            prompts[0] += 1
            if "it is your turn" in msg.content and msg.mentions:
                watch.turns += 1
                speaker = msg.mentions[0]
                if watch.turns == 2:
                    others = [m for m in watch.members if m != speaker]
                    if others:
                        later(press(others[0], msg.channel_id, msg))
                elif watch.turns == 3:
                    later(press(speaker, msg.channel_id, msg))

        sim.on_message(on_message)
        before = await snapshot(procs, stats)
        setup_s = time.monotonic() - setup_started
        cpu0 = [proc_cpu(p.pid) for p in procs]
        sim_cpu0 = time.process_time()
        t0 = time.monotonic()
        starts = await asyncio.gather(
            *(
                sim.invoke_command(
                    s.guild_id, s.hall, s.facilitator, "brew start", question="What's missing?"
                )
                for s in world
            )
        )
        expected_rooms = servers * math.ceil(PEOPLE / GROUP_SIZE)
        brew_wall = plan.brew_wall_s

        def all_done() -> bool:
            return len(rooms) >= expected_rooms and not any(
                cid in sim.state.channels for cid in rooms
            )

        # A plain poll: a sim.wait_for predicate would run on every simulator change.
        give_up = time.monotonic() + brew_wall * 2 + 60
        while not all_done() and time.monotonic() < give_up:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        if not all_done():
            print(
                f"  ! {servers} servers: only {len(rooms)} of {expected_rooms} rooms seen, "
                f"{sum(c in sim.state.channels for c in rooms)} not tidied away",
                flush=True,
            )
        await asyncio.sleep(1.0)  # the brews' last bookkeeping (status, categories)
        wall = time.monotonic() - t0
        after = await snapshot(procs, stats)
        cpu = sum(proc_cpu(p.pid) - c for p, c in zip(procs, cpu0, strict=True))
        hwm = [proc_hwm_mb(p.pid) for p in procs]
        sim_cpu = time.process_time() - sim_cpu0
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        load = machine_load()
        logs = [read_log(workdir / f"shard{shard}-{servers}-{rep}.log") for shard in (0, 1)]

        engine = create_engine(db_url)
        try:
            channel_of: dict[str, int] = {}
            async with session_factory(engine)() as session:
                for cid in rooms:
                    info = await room_by_channel(session, cid)
                    if info is not None and info.state.order:
                        channel_of[info.state.order[0]] = cid
                ended = 0
                for s in world:
                    ended += await brew_status(session, s.guild_id, 1) == "ended"
        finally:
            await engine.dispose()

        # Lateness: each due step's first post in its room, against the step's deadline.
        posts: dict[int, list[float]] = {}
        for cid in rooms:
            posts[cid] = [
                snowflake_time(m.id).timestamp()
                for m in sim.messages(cid, include_deleted=True, include_ephemeral=False)
                if m.author_id == sim.bot_id and not m.interaction_id
            ]
        lateness: list[float] = []
        lags: list[float] = []
        unmatched = 0
        for snap in after:
            for first, due, applied in snap["due"]:
                lags.append(applied - due)
                cid = channel_of.get(first, 0)
                floor = math.floor(applied * 1000) / 1000
                got = next((t for t in posts.get(cid, []) if t >= floor), None)
                if got is None or got - applied > 30:
                    unmatched += 1
                    continue
                lateness.append(got - due)
        # Counts are cumulative; the "due" list from before the brews started is empty.
        counted = delta(after, before, "counts")
        trips = round_trips(counted)
        statements = counted.get("statements", 0)
        press_lat = [r.latency for r in presses if r.latency is not None]
        start_lat = [r.latency for r in starts if r.latency is not None]
        return Result(
            servers=servers,
            length=plan.length,
            setup_s=setup_s,
            rooms=len(rooms),
            brews_ended=ended,
            prompts=prompts[0],
            late_p50_ms=1000 * percentile(lateness, 0.50),
            late_p99_ms=1000 * percentile(lateness, 0.99),
            tick_lag_p99_ms=1000 * percentile(lags, 0.99),
            steps_matched=len(lateness),
            steps_unmatched=unmatched,
            press_p99_ms=1000 * percentile(press_lat, 0.99),
            presses=len(press_lat),
            start_p99_ms=1000 * percentile(start_lat, 0.99),
            late_interactions=len(sim.failed_interactions),  # late ones included
            round_trips=trips,
            statements=statements,
            cpu_s=cpu,
            sim_cpu_s=sim_cpu,
            wall_s=wall,
            hwm_mb=hwm,
            load=load,
            stale_dropped=counted.get("stale_dropped", 0),
            kinds={k: v for k, v in counted.items() if k != "stale_dropped"},
            by_statement=delta(after, before, "by_statement"),
            pool_timeouts=sum(log.count("QueuePool limit") for log in logs),
            lost_ticks=sum(
                # Lost for good before main's timers retried (an unretrieved task exception,
                # then "background work 'room-N' failed"); since then retried with backoff.
                log.count("coro=<BrewRunner.tick() done")
                + log.count("background work 'room-")
                + log.count("failed; it will be tried again until it works")
                for log in logs
            ),
        )
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        await sim.close()
        await recreate_database(PG_ADMIN_DSN, db_name, drop_only=True)


def save_json(path: Path, results: list[Result]) -> None:
    path.write_text(json.dumps(as_json(results), indent=1), encoding="utf-8")


async def main(args: argparse.Namespace) -> int:
    sizes = [int(s) for s in args.servers.split(",")]
    plan = Plan(speed=args.speed, length=args.length, pool=args.pool_size)
    print(
        f"Scale-out: {sizes} servers x {PEOPLE} people, 2 processes, speed {plan.speed:g} "
        f"({plan.length}-minute brew = {plan.brew_wall_s:.0f} s), "
        f"{args.repeat} run(s) each. uptime: {uptime()}",
        flush=True,
    )
    results: list[Result] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-shards-") as tmp:
        # Sizes alternate within each repetition, so a change in the machine's load falls on
        # every size rather than on one.
        for rep in range(args.repeat):
            for size in sizes:
                r = await run_once(size, plan, rep, Path(tmp))
                print(run_line(rep, r), flush=True)
                results.append(r)
        if args.keep_logs:
            keep_logs(Path(tmp), Path(args.keep_logs))
    print(f"  {len(results)} runs in {(time.monotonic() - started) / 60:.1f} minutes")
    ok = report(results)
    if args.json:
        save_json(Path(args.json), results)
    return 0 if ok else 1


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--servers", default="50,100,200")
    parser.add_argument("--repeat", type=int, default=3)
    # Speed 15 and 20 minutes: a brew lasts 80 s, every room still gets its 16 posts, and 200
    # servers' deadlines (15 times denser than a real brew's) leave two shared cores able to
    # keep up; at speed 30 they fell behind and dropped posts, and a run that falls behind
    # says nothing about the cost per brew (see bench/shards_report.py).
    parser.add_argument(
        "--speed",
        type=float,
        default=15.0,
        help="brew speed (15: a two-minute turn lasts 8 s); higher packs the deadlines closer",
    )
    parser.add_argument(
        "--length",
        type=int,
        default=20,
        help="brew length in minutes (20 to 180; 20 still holds every phase and turn)",
    )
    parser.add_argument("--quick", action="store_true", help="10 and 40 servers, once each")
    parser.add_argument(
        "--pool-size",
        type=int,
        default=0,
        help="connections per process (no overflow); default: the bot's own (15, no overflow)",
    )
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the bot processes' logs here")
    parser.add_argument("--json", metavar="FILE", help="write every run's figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.servers, args.repeat = "10,40", 1
    if not 20 <= args.length <= 180:
        parser.error("--length must be 20 to 180 minutes")
    return args


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        sys.exit(worker_main(sys.argv[2:]))
    import logging

    logging.basicConfig(level=logging.ERROR)  # late answers are counted, not printed one by one
    sys.exit(asyncio.run(main(parse_args())))
