"""Brews over time: turn-prompt lateness with many rooms, memory over many brews, restart.

* **turn prompts** (40 and 160 rooms): every room is moved on together by ``/brew next``
  (Arrive, then Think, then the first turn), so all rooms' turn timers fall due at the same
  moments. The lateness of turn prompt *k* (k >= 2) is its arrival at the simulator minus the
  moment the timetable (read from the database) promised it. Nobody presses anything. The bot
  runs as ``brewhost run`` in a process of its own and the floor's bare discord.py client in
  another (:mod:`turns_apart`), the simulator and the measuring in this one, as on Discord;
  ``--in-process`` puts both on the simulator's loop (the earlier set-up).
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
                                [--rooms 40,160] [--profile DIR] [--in-process]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Metric, add_loop_option, percentile, post_prompt_wave, run_on_loop, wait_until

SPEED = 60.0
TURN_S = 120  # 2 s at SPEED
RESTART_TURN_S = 1200
MESSAGES = "/channels/{channel_id}/messages"
#: The turn benchmark's brew settings written to the bot process's ``[brew]`` section.
TURN_BREW = (
    "group_size",
    "arrive_seconds",
    "think_seconds",
    "turn_seconds",
    "nudge_seconds",
    "length_minutes",
)
#: What every engine of this process has sent to the database (statements, commits, ...).
ROUND_TRIPS: Counter[str] = Counter()


def _db(work: Path, tag: str) -> str:
    return f"sqlite+aiosqlite:///{work / f'{tag}-{time.monotonic_ns()}.db'}"


PROMPT_POSITION = re.compile(r"it is your turn to have your say \((\d+) of (\d+)\)")


class PostWatch:
    """Successful message posts, read from the simulator's REST log as they come.

    Each log entry is read once (the log is followed from its newest end), so waiting for posts
    does not rescan a growing log twenty times a second on the event loop the bot shares with
    the benchmark. An entry is appended when its request arrives (``at``) and gets its status
    when the answer is sent, so entries still in flight are looked at again on the next poll.
    """

    def __init__(self, sim: Any) -> None:
        self._log = sim.rest_log
        self._last = self._log[-1] if self._log else None
        self._pending: list[Any] = []
        #: (arrival on the simulator's clock, content) of each successful post, per channel.
        self.posts: dict[int, list[tuple[float, str]]] = {}

    def poll(self) -> dict[int, list[tuple[float, str]]]:
        new: list[Any] = []
        for call in reversed(self._log):
            if call is self._last:
                break
            new.append(call)
        if new:
            self._last = new[0]
        new.reverse()
        waiting: list[Any] = []
        for call in [*self._pending, *new]:
            if call.method != "POST" or call.route != MESSAGES:
                continue
            if call.status == 0:
                waiting.append(call)
            elif 200 <= call.status < 300:
                body = call.body if isinstance(call.body, dict) else {}
                channel = int(call.path.rstrip("/").split("/")[-2])
                self.posts.setdefault(channel, []).append((call.at, str(body.get("content", ""))))
        self._pending = waiting
        return self.posts

    def turn_prompts(self) -> dict[int, dict[int, float]]:
        """Arrival of each turn prompt, by channel and position (1-based); the first arrival
        of a position if it was ever posted twice (counted by :meth:`doubled`)."""
        out: dict[int, dict[int, float]] = {}
        for channel, posts in self.poll().items():
            for at, content in posts:
                found = PROMPT_POSITION.search(content)
                if found:
                    out.setdefault(channel, {}).setdefault(int(found.group(1)), at)
        return out

    def doubled(self) -> int:
        """Turn prompts posted more than once (same room, same position)."""
        extra = 0
        for posts in self.posts.values():
            positions = [m.group(1) for _, c in posts if (m := PROMPT_POSITION.search(c))]
            extra += len(positions) - len(set(positions))
        return extra


@dataclasses.dataclass
class TurnRun:
    """One run of the turn-prompt benchmark (times in ms)."""

    late: list[float]  # against the timetable, prompts 2..4 of every room (missing included)
    gap_late: list[float]  # prompt k's arrival - (prompt k-1's arrival + T), both posted
    missing: int  # prompts never posted (their lateness above is a lower bound)
    doubled: int
    statements_per_prompt: float
    commits_per_prompt: float


# --------------------------------------------------------------------------- turn lateness
async def turns_once(
    work: Path, rooms: int, profile: Path | None = None, *, apart: bool = True
) -> TurnRun:
    """One run; ``apart`` runs the bot as ``brewhost run`` in its own process
    (:mod:`turns_apart`), else on the simulator's own event loop."""
    from bench_open_rooms import seat_everyone
    from turns_apart import bot_apart

    from bot.config import BrewDefaults
    from bot.db.bench_sql import room_deadlines
    from bot.db.migrate import upgrade
    from bot.rehearsal.stage import open_stage
    from discordsim import GUILD_TEXT, RateLimitPolicy

    db_url = _db(work, f"turns{rooms}")
    db_path = Path(db_url.split(":///", 1)[1])
    await asyncio.to_thread(upgrade, db_url)
    brew = BrewDefaults(
        group_size=4,
        arrive_seconds=1800,  # the most a config file allows
        think_seconds=600,
        turn_seconds=TURN_S,
        nudge_seconds=20,
        length_minutes=120,
    )
    period = TURN_S / SPEED
    async with (
        open_stage(
            db_url,
            people=rooms * 4,
            brew=brew,
            speed=SPEED,
            rate_limits=RateLimitPolicy.off(),
            server="Bench Network",
            boot_within=60,
        ) as stage,
        contextlib.AsyncExitStack() as elsewhere,
    ):
        apart_bot = None
        if apart:
            settings = {k: getattr(brew, k) for k in TURN_BREW}
            apart_bot = await elsewhere.enter_async_context(
                bot_apart(stage, work, settings, SPEED, profile)
            )
        else:
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
        rec = await stage.command(world.facilitator, "brew next", within=10)  # Arrive -> Think
        await stage.final_text(rec, within=120)
        await asyncio.sleep(0.5)
        watch = PostWatch(sim)
        counts = ROUND_TRIPS.copy()
        if apart_bot is not None:
            apart_bot.begin()
            profiler = None
        else:
            profiler = _start_profile(profile)
        rec = await stage.command(world.facilitator, "brew next", within=10)  # Think -> turns
        # What the timetable promises each room, read from the database as soon as the room's
        # first turn is stored: prompt k (k >= 2) is due (k - 1) turns after the first turn
        # began, whether or not earlier prompts were late, so lateness that builds up from
        # turn to turn counts. (A room first seen in a later turn is measured from that turn's
        # start, which can only make it look less late.)
        offset = time.time() - sim.now()
        first_ends: dict[int, float] = {}
        reading_until = sim.now() + 60
        while len(first_ends) < len(texts):
            if sim.now() > reading_until:
                raise TimeoutError("some rooms were never seen taking turns")
            promised = await asyncio.to_thread(room_deadlines, db_path)
            for channel in texts:
                if channel in first_ends or channel not in promised:  # (not running yet)
                    continue
                phase, index, ends = promised[channel]
                if phase == "turns":
                    stamp = ends.replace(tzinfo=UTC).timestamp() - offset
                    first_ends[channel] = stamp - index * period
            await asyncio.sleep(0.05)
        await stage.final_text(rec, within=120)
        due = {c: {k: first_ends[c] + (k - 2) * period for k in (2, 3, 4)} for c in texts}
        # A prompt later than its turn plus the outbox's grace is dropped as stale, so nothing
        # can arrive after the last due time plus a turn plus that grace (and some margin).
        give_up = max(d[4] for d in due.values()) + period + 5.0 + 5.0

        def all_four() -> bool:
            prompts = watch.turn_prompts()
            return all(len(prompts.get(t, {}).keys() & {1, 2, 3, 4}) == 4 for t in texts)

        with contextlib.suppress(TimeoutError):  # missing prompts are counted below
            await wait_until(all_four, max(0.0, give_up - sim.now()), step=0.05)
        observed_until = sim.now()
        if apart_bot is not None:
            used = Counter(await apart_bot.counts())
            if profile is not None:
                print(f"  profile written to {profile}", flush=True)
        else:
            _stop_profile(profiler, profile)
            used = ROUND_TRIPS - counts
        prompts = watch.turn_prompts()
        doubled = watch.doubled()
    late: list[float] = []
    gap_late: list[float] = []
    missing = 0
    for channel in texts:
        arrived = prompts.get(channel, {})
        for k in (2, 3, 4):
            if k in arrived:
                late.append((arrived[k] - due[channel][k]) * 1000)
                if k - 1 in arrived:
                    gap_late.append((arrived[k] - arrived[k - 1] - period) * 1000)
            else:
                missing += 1
                late.append((observed_until - due[channel][k]) * 1000)  # at least this late
    posted = sum(len(p) for p in prompts.values()) or 1
    return TurnRun(
        late=late,
        gap_late=gap_late,
        missing=missing,
        doubled=doubled,
        statements_per_prompt=used["statements"] / posted,
        commits_per_prompt=used["sa_commit"] / posted,
    )


async def bare_posts(rooms: int, waves: int = 3, *, apart: bool = True) -> list[float]:
    """The floor: a bare discord.py client (no Brew Host code) on the same simulator, limits
    off, sends one message shaped like a turn prompt (a ping, four buttons) to each of
    ``rooms`` channels at once, ``waves`` times, one turn apart. Returns each message's arrival
    at the simulator minus the moment its wave was due (ms): no timer, no database, only the
    sends, so no bot can post 160 prompts with less lateness than this in this set-up.
    ``apart`` runs the client in its own process (:mod:`turns_apart`), as the bot is."""
    if apart:
        from turns_apart import bare_posts_apart

        return await bare_posts_apart(rooms, TURN_S / SPEED, waves)
    import discord

    from discordsim import GUILD_TEXT, DiscordSimulator, RateLimitPolicy

    period = TURN_S / SPEED
    sim = DiscordSimulator(rate_limits=RateLimitPolicy.off())
    await sim.start()
    try:
        guild = sim.create_guild("Floor")
        channels = [
            sim.create_channel(guild.id, f"room-{i + 1}", type=GUILD_TEXT) for i in range(rooms)
        ]
        people = [sim.create_member(guild.id, f"P{i}") for i in range(rooms)]
        with sim.patch_discord():
            client = discord.Client(intents=discord.Intents(guilds=True), guild_ready_timeout=0.05)
            task = asyncio.create_task(client.start(sim.bot_token))
            await sim.wait_for(client.is_ready, 30)
            found = client.get_guild(guild.id)
            assert found is not None
            targets = [found.get_channel(c.id) for c in channels]

            late: list[float] = []
            watch = PostWatch(sim)
            due = sim.now() + 0.5
            # Wave 0 opens the client's connections and is not counted: the bot's turn
            # prompts go out on connections its earlier posts opened.
            for wave in range(-1, waves):
                await asyncio.sleep(max(0.0, due - sim.now()))
                await post_prompt_wave(targets, [p.id for p in people], wave)
                arrived = watch.turn_prompts()
                if wave >= 0:
                    late += [(a[wave + 2] - due) * 1000 for a in arrived.values() if wave + 2 in a]
                due += period
            await client.close()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return late
    finally:
        await sim.close()


def _start_profile(path: Path | None) -> Any:
    if path is None:
        return None
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    return profiler


def _stop_profile(profiler: Any, path: Path | None) -> None:
    if profiler is not None and path is not None:
        profiler.disable()
        profiler.dump_stats(str(path))
        print(f"  profile written to {path}", flush=True)


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
    from bot.rehearsal.stage import build_world, last_word
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
                result: str = await sim.wait_for(lambda: last_word(rec), timeout=60)
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
        before = PostWatch(sim)

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
        # Everyone in a turn, then stop; the turn (20 s at this speed) ends while it is down.
        await wait_until(
            lambda: (p := before.turn_prompts()) and all(r in p for r in rooms),
            120,
            what="a turn in every room",
        )
        await stage.stop()
        await asyncio.sleep(RESTART_TURN_S / SPEED + 0.5)
        due = _due_rooms(db_url)
        after = PostWatch(sim)
        t0 = sim.now()
        await stage.start()
        started = sim.now() - t0

        def posted() -> dict[int, float]:
            return {channel: posts[0][0] for channel, posts in after.poll().items()}

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
    repeat: int,
    only: str | None = None,
    brews: int = 11,
    sizes: tuple[int, ...] = (40, 160),
    profile_dir: Path | None = None,
    trace: bool = False,
    *,
    apart_turns: bool = True,
) -> list[Metric]:
    """``apart_turns``: the turn benchmark's bot and floor client each in a process of their
    own (the default), else on the simulator's loop."""
    metrics: list[Metric] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if only in (None, "turns"):
            if not ROUND_TRIPS:
                from bot.db.measure import count_round_trips

                count_round_trips(ROUND_TRIPS)
            for rooms in sizes:
                runs: list[TurnRun] = []
                for i in range(repeat):
                    profile = profile_dir / f"turns{rooms}-{i + 1}.prof" if profile_dir else None
                    run_ = await turns_once(work, rooms, profile, apart=apart_turns)
                    runs.append(run_)
                    print(
                        f"  turns {rooms} rooms run {i + 1}: late against the timetable p50 "
                        f"{percentile(run_.late, 50):.0f} ms, p99 {percentile(run_.late, 99):.0f}"
                        f" ms, max {max(run_.late):.0f} ms ({len(run_.late)} prompts, "
                        f"{run_.missing} never posted, {run_.doubled} twice); gap p99 "
                        f"{percentile(run_.gap_late, 99):.0f} ms; "
                        f"{run_.statements_per_prompt:.1f} statements and "
                        f"{run_.commits_per_prompt:.2f} commits per prompt",
                        flush=True,
                    )
                floors = [await bare_posts(rooms, apart=apart_turns) for _ in range(repeat)]
                print(
                    f"  floor, bare discord.py, {rooms} posts at once: p99 "
                    + ", ".join(f"{percentile(f, 99):.0f}" for f in floors)
                    + " ms",
                    flush=True,
                )
                metrics += [
                    Metric(
                        "turn_prompts",
                        f"turn prompt lateness, {rooms} rooms at once: p99",
                        "ms",
                        [percentile(r.late, 99) for r in runs],
                        ("<", 50) if rooms == 160 else None,
                        note="arrival - the moment the timetable promised; a prompt never "
                        "posted counts as at least as late as the end of the run",
                    ),
                    Metric(
                        "turn_prompts",
                        f"turn prompt lateness, {rooms} rooms: p50",
                        "ms",
                        [percentile(r.late, 50) for r in runs],
                    ),
                    Metric(
                        "turn_prompts",
                        f"turn prompt lateness, {rooms} rooms: max",
                        "ms",
                        [max(r.late) for r in runs],
                    ),
                    Metric(
                        "turn_prompts",
                        f"turn prompts never posted or posted twice, {rooms} rooms",
                        "count",
                        [float(r.missing + r.doubled) for r in runs],
                        ("<=", 0),
                        check="max",
                    ),
                    Metric(
                        "turn_prompts",
                        f"floor: bare discord.py, {rooms} prompt-like posts at once: p99",
                        "ms",
                        [percentile(f, 99) for f in floors],
                        note="arrival - the moment the wave was due; no timer, no database",
                    ),
                    Metric(
                        "turn_prompts",
                        f"gap late (prompt k - prompt k-1 - one turn), {rooms} rooms: p99",
                        "ms",
                        [percentile(r.gap_late, 99) for r in runs],
                        note="the earlier definition: hides lateness that builds up",
                    ),
                    Metric(
                        "turn_prompts",
                        f"database statements per turn prompt, {rooms} rooms",
                        "count",
                        [r.statements_per_prompt for r in runs],
                    ),
                    Metric(
                        "turn_prompts",
                        f"database commits per turn prompt, {rooms} rooms",
                        "count",
                        [r.commits_per_prompt for r in runs],
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
        "--rooms",
        type=lambda v: tuple(int(n) for n in v.split(",")),
        default=(40, 160),
        help="room counts for the turn prompts (default 40,160)",
    )
    parser.add_argument(
        "--profile", type=Path, help="write a cProfile of each turn-prompt run into this folder"
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="memory: also run the bot under tracemalloc and print its growth by package",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="turns: run the bot and the floor's bare client on the simulator's event loop "
        "(the earlier set-up) instead of each in a process of its own",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here (for run_all)")
    add_loop_option(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    metrics = run_on_loop(
        run(
            args.repeat,
            args.only,
            args.brews,
            args.rooms,
            args.profile,
            args.trace,
            apart_turns=not args.in_process,
        ),
        args.loop,
    )
    if args.json:
        args.json.write_text(json.dumps([m.as_dict() for m in metrics]), encoding="utf-8")
    for m in metrics:
        print(f"{m.name:66} {m.lo:9.2f} {m.med:9.2f} {m.hi:9.2f} {m.unit} {m.target_text()}")
    return 0 if all(m.ok is not False for m in metrics) else 1


if __name__ == "__main__":
    sys.exit(main())
