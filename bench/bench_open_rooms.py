"""Opening rooms for a big brew: REST calls and wall time against the floor.

Runs the real BrewBot against the local Discord simulator, puts ``--people`` members in the
main voice channel and times ``/brew start`` until its final "has started" reply. Reports:

* wall time from the command to the final reply; when the first and the last room's guide was
  posted; when the last member was moved; how fast the command was deferred (Discord allows 3 s);
* REST calls by kind (categories, channel creates, guide posts, other room messages, member
  moves, interaction callback and edits), with the 429s received and whether each was retried;
* the floor (issue 3: per group 2 channel creates + 1 guide post, one move per voice member, one
  category per 25 groups) and the calls made above it;
* the theoretical minimum wall time under the same rate-limit policy: the floor's requests
  replayed through the simulator's own ``RateLimiter`` on a virtual clock with zero latency,
  each sent the moment it is ready (categories, then channel creates, then the guide and the
  moves of a room as soon as its channels exist).

Run from the repository root::

    python bench/bench_open_rooms.py                        # 160 people, discord-like limits
    python bench/bench_open_rooms.py --rate-limits off --repeat 3
    python bench/bench_open_rooms.py --rate-limits both --repeat 3
    python bench/bench_open_rooms.py --time-scale 0.1       # every window 10x shorter (quick)
    python bench/bench_open_rooms.py --library-baseline --time-scale 0.1   # discord.py alone
    python bench/bench_open_rooms.py --time-scale 0.1 --self-join both      # links vs moves only

``--self-join on`` makes the simulated people follow the link in their room's guide (half of them
within ``--self-join-median`` seconds of its ping, scaled like the windows; see
:mod:`bot.rehearsal.self_join`); ``both`` runs each repetition without and with it. Either way
the report gives, per person, when they were first in their own room's voice channel (moved or
by themselves): the median must be at most half the move floor, and nobody later than the last
move without links.

With Discord-like limits a run for 160 people takes about two and a half minutes: the member-move
bucket (10 per 10 s per server) is the bottleneck. discord.py's own rate-limit queue drains a
bucket below its limit when many requests wait on it (``--library-baseline`` shows that with a
bare client), so Brew Host keeps only a few in its hands (``bot/shell/room_lanes.py``). The
report also counts moves that reached Discord after their person was already in their room (a
move wasted on someone who followed their link).
Exits non-zero if a room failed to open or did not get its guide first, a member was not moved,
a call outside the floor's kinds was made (a channel edit, say), a 429 was not retried, or the
defer missed Discord's 3-second deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import logging
import math
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import add_loop_option, run_on_loop

from bot.config import BrewDefaults
from bot.db.migrate import upgrade
from bot.rehearsal.self_join import SelfJoin
from bot.rehearsal.stage import Stage, open_stage
from discordsim import (
    GUILD_CATEGORY,
    GUILD_TEXT,
    GUILD_VOICE,
    DiscordSimulator,
    RateLimitPolicy,
    RestCall,
)
from discordsim.ratelimit import RateLimiter

GROUPS_PER_CATEGORY = 25
DEFER_DEADLINE_S = 3.0
GUIDE_MARK = "Welcome to your Over A Brew room"

CHANNELS = "/guilds/{guild_id}/channels"
MESSAGES = "/channels/{channel_id}/messages"
MEMBER = "/guilds/{guild_id}/members/{user_id}"
CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
ORIGINAL = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"

#: Row order of the REST table.
KINDS = (
    "categories",
    "channel creates",
    "guide posts",
    "member moves",
    "other room messages",
    "interaction callback",
    "interaction edits",
    "other",
)
FLOOR_KINDS = ("categories", "channel creates", "guide posts", "member moves")


# --------------------------------------------------------------------------- the world
async def seat_everyone(stage: Stage) -> None:
    """``/brew settings`` done, and every member and the facilitator in the Lounge, seen there
    by the bot. ``stage`` has the bot started."""
    sim, world, bot = stage.sim, stage.world, stage.bot
    assert bot is not None
    await stage.command(world.admin, "brew settings", **stage.settings_options())
    for member in [*world.people, world.facilitator]:
        await sim.set_voice(world.guild_id, member.id, world.lounge.id)

    def bot_sees_everyone() -> bool:
        channel = bot.get_channel(world.lounge.id)
        return channel is not None and len(channel.members) == len(world.people) + 1  # type: ignore[union-attr]

    await sim.wait_for(bot_sees_everyone, timeout=30)


# --------------------------------------------------------------------------- one run
@dataclass
class Run:
    mode: str
    people: int
    group_size: int
    rooms: int
    voice_members: int
    wall_s: float
    bot_reported_s: float | None
    defer_s: float
    first_guide_s: float
    last_guide_s: float
    last_move_s: float
    last_create_s: float
    progress_edits: int
    cpu_s: float
    #: (first, last) arrival of a successful call, seconds from the command, by kind.
    spans: dict[str, tuple[float, float]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)  # successful calls by kind
    limited: Counter[str] = field(default_factory=Counter)  # 429s by kind
    retried_ok: int = 0
    not_retried: int = 0
    rooms_failed: int = 0
    not_moved: int = 0
    #: Rooms whose first message was not the guide.
    guide_not_first: int = 0
    #: Seconds from the command until each person was first in their own room's voice channel.
    arrivals: list[float] = field(default_factory=list)
    #: People who followed their link before the bot moved them (the bot's own count).
    joined: int = 0
    self_join: bool = False
    #: Moves that reached Discord after their person was already in their own room.
    wasted_moves: int = 0

    @property
    def floor(self) -> dict[str, int]:
        return floor_calls(self.rooms, self.voice_members)


def floor_calls(rooms: int, voice_members: int) -> dict[str, int]:
    return {
        "categories": math.ceil(rooms / GROUPS_PER_CATEGORY),
        "channel creates": 2 * rooms,
        "guide posts": rooms,
        "member moves": voice_members,
    }


def _ok(call: RestCall) -> bool:
    return 200 <= call.status < 300


def classify(calls: Sequence[RestCall], room_text_ids: set[int]) -> list[tuple[RestCall, str]]:
    """Each call with its kind; the first successful post in a room's text channel is its guide."""
    guided: set[str] = set()
    out: list[tuple[RestCall, str]] = []
    for call in calls:
        body = call.body if isinstance(call.body, dict) else {}
        kind = "other"
        if call.method == "POST" and call.route == CHANNELS:
            kind = "categories" if body.get("type") == GUILD_CATEGORY else "channel creates"
        elif call.method == "POST" and call.route == MESSAGES:
            channel_id = int(call.path.rstrip("/").split("/")[-2])
            if channel_id in room_text_ids:
                if call.path not in guided:
                    kind = "guide posts"
                    if _ok(call):
                        guided.add(call.path)
                else:
                    kind = "other room messages"
        elif call.method == "PATCH" and call.route == MEMBER and "channel_id" in body:
            kind = "member moves"
        elif call.route == CALLBACK:
            kind = "interaction callback"
        elif call.route == ORIGINAL and call.method == "PATCH":
            kind = "interaction edits"
        out.append((call, kind))
    return out


class Arrivals:
    """When each person is first in their own room's voice channel, however they got there.

    A room's voice channel is known by its name ("Room N"); who belongs where is read from the
    room's guide, which names its members (the people it pings)."""

    def __init__(self, stage: Stage) -> None:
        self.sim, self.guild_id = stage.sim, stage.world.guild_id
        self.people = {p.id for p in stage.world.people}
        self.first_in_room: dict[int, float] = {}
        self.t0 = self.sim.now()
        self.sim.state.listeners.append(self.look)

    def look(self) -> None:
        for person in self.people - set(self.first_in_room):
            channel_id = self.sim.voice_channel_of(self.guild_id, person)
            if channel_id is None:
                continue
            channel = self.sim.state.channels.get(channel_id)
            if channel is not None and channel.name.startswith("Room "):
                self.first_in_room[person] = self.sim.now() - self.t0

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.sim.state.listeners.remove(self.look)


async def run_once(
    mode: str,
    people: int,
    group_size: int,
    time_scale: float,
    db_dir: Path,
    self_join: SelfJoin | None = None,
) -> Run:
    policy = (
        RateLimitPolicy.discord_like(time_scale=time_scale)
        if mode == "discord"
        else RateLimitPolicy.off()
    )
    db_url = f"sqlite+aiosqlite:///{db_dir / f'bench-{mode}-{time.monotonic_ns()}.db'}"
    await asyncio.to_thread(upgrade, db_url)
    async with open_stage(
        db_url,
        people=people,
        brew=BrewDefaults(group_size=group_size),
        speed=1.0,
        rate_limits=policy,
        server="Bench Network",
        boot_within=60,
    ) as stage:
        await stage.start()
        await seat_everyone(stage)
        if self_join is not None:
            stage.click_links(self_join)
        return await _measure(stage, mode, people, group_size, self_join is not None)


async def _measure(
    stage: Stage, mode: str, people: int, group_size: int, self_join: bool = False
) -> Run:
    sim, world = stage.sim, stage.world
    start_index = len(sim.rest_log)
    cpu0 = time.process_time()
    arrivals = Arrivals(stage)
    t0 = arrivals.t0
    rec = await stage.command(
        world.facilitator,
        "brew start",
        within=DEFER_DEADLINE_S + 5,
        question="What's missing?",
        group_size=group_size,
    )

    def final() -> str | None:
        msg = rec.original_message
        return msg.content if msg is not None and "has started" in msg.content else None

    summary = await sim.wait_for(final, timeout=1800)
    cpu = time.process_time() - cpu0
    arrivals.look()
    arrivals.close()
    calls = list(sim.rest_log)[start_index:]

    done_at = next(
        c.at
        for c in calls
        if c.route == ORIGINAL
        and isinstance(c.body, dict)
        and "has started" in (c.body.get("content") or "")
    )
    texts = {
        c.id for c in sim.channels(world.guild_id, type=GUILD_TEXT) if c.name.startswith("room-")
    }
    rooms = len(texts)
    kinds = classify([c for c in calls if c.at <= done_at], texts)

    run = Run(
        mode=mode,
        people=people,
        group_size=group_size,
        rooms=rooms,
        voice_members=people,
        wall_s=done_at - t0,
        bot_reported_s=_reported_seconds(summary),
        defer_s=rec.latency or float("nan"),
        first_guide_s=min(c.at for c, k in kinds if k == "guide posts" and _ok(c)) - t0,
        last_guide_s=max(c.at for c, k in kinds if k == "guide posts" and _ok(c)) - t0,
        last_move_s=max((c.at for c, k in kinds if k == "member moves" and _ok(c)), default=t0)
        - t0,
        last_create_s=max(c.at for c, k in kinds if k == "channel creates" and _ok(c)) - t0,
        progress_edits=sum(
            1
            for c, k in kinds
            if k == "interaction edits"
            and "rooms ready" in str((c.body or {}).get("content", ""))
            and _ok(c)
        ),
        cpu_s=cpu,
        arrivals=sorted(arrivals.first_in_room.values()),
        joined=_joined(summary),
        self_join=self_join,
    )
    for call, kind in kinds:
        if call.status == 429:
            run.limited[kind] += 1
            if any(
                later.method == call.method and later.path == call.path and _ok(later)
                for later in calls
                if later.at >= call.at and later is not call
            ):
                run.retried_ok += 1
            else:
                run.not_retried += 1
        elif _ok(call):
            run.calls[kind] += 1
            first, last = run.spans.get(kind, (call.at - t0, call.at - t0))
            run.spans[kind] = (min(first, call.at - t0), max(last, call.at - t0))
    run.wasted_moves = sum(
        1
        for c, k in kinds
        if k == "member moves"
        and _ok(c)
        and arrivals.first_in_room.get(int(c.path.rsplit("/", 1)[-1]), math.inf) < c.at - t0
    )
    moved = {c.path.rsplit("/", 1)[-1] for c, k in kinds if k == "member moves" and _ok(c)}
    run.not_moved = people - len(moved) - run.joined
    run.not_moved = max(run.not_moved, people - len(run.arrivals))
    run.guide_not_first = sum(
        1
        for c, k in kinds
        if k == "guide posts" and _ok(c) and GUIDE_MARK not in str((c.body or {}).get("content"))
    )
    run.rooms_failed = sum(
        1
        for c in sim.channels(world.guild_id, type=GUILD_TEXT)
        if c.name.startswith("room-") and not sim.messages(c.id)
    )
    if "could not be opened" in summary:
        run.rooms_failed = max(run.rooms_failed, 1)
    return run


def _joined(summary: str) -> int:
    """The bot's count of people who joined their room by themselves (0 if it gave none)."""
    for line in summary.splitlines():
        if "joined their room by themselves" in line:
            return int(line.split(" ", 1)[0])
    return 0


def _reported_seconds(summary: str) -> float | None:
    marker = "(in "
    if marker not in summary:
        return None
    try:
        return float(summary.split(marker, 1)[1].split(" ", 1)[0])
    except ValueError:
        return None


# --------------------------------------------------------------------------- theory
@dataclass
class Theory:
    last_create_s: float
    first_guide_s: float
    last_guide_s: float
    last_move_s: float

    @property
    def wall_s(self) -> float:
        return max(self.last_create_s, self.last_guide_s, self.last_move_s)


def theoretical_minimum(policy: RateLimitPolicy, room_sizes: Sequence[int]) -> Theory:
    """The floor's requests through the simulator's own limiter, on a virtual clock.

    Zero latency and perfect knowledge: every request goes out the instant it is ready and its
    bucket allows it. Order: the categories, then each room's voice and text channel (room by
    room, as the bot queues them), then the room's guide as soon as its text channel exists and
    its moves as soon as its voice channel exists. Guild and channel ids only select buckets.
    """
    now = [0.0]
    limiter = RateLimiter(policy, clock=lambda: now[0])
    guild = {"guild_id": "1"}
    rooms = len(room_sizes)
    parts = math.ceil(rooms / GROUPS_PER_CATEGORY)
    heap: list[tuple[float, int, tuple[Any, ...]]] = []
    seq = 0

    def push(at: float, item: tuple[Any, ...]) -> None:
        nonlocal seq
        heapq.heappush(heap, (at, seq, item))
        seq += 1

    for part in range(parts):
        push(0.0, ("category", part))
    done: dict[tuple[Any, ...], float] = {}
    categories_left = parts
    while heap:
        at, _, item = heapq.heappop(heap)
        now[0] = at
        kind = item[0]
        if kind in ("category", "voice", "text"):
            decision = limiter.check("POST", CHANNELS, guild, ("name", "type"))
        elif kind == "guide":
            decision = limiter.check("POST", MESSAGES, {"channel_id": f"t{item[1]}"}, ("content",))
        else:  # move
            decision = limiter.check(
                "PATCH", MEMBER, {**guild, "user_id": f"{item[1]}.{item[2]}"}, ("channel_id",)
            )
        if not decision.allowed:
            push(at + max(decision.retry_after, 1e-6), item)
            continue
        done[item] = at
        if kind == "category":
            categories_left -= 1
            if categories_left == 0:  # the bot creates every category before any room
                for room in range(rooms):
                    push(at, ("voice", room))
                    push(at, ("text", room))
        elif kind == "text":
            push(at, ("guide", item[1]))
        elif kind == "voice":
            for member in range(room_sizes[item[1]]):
                push(at, ("move", item[1], member))
    guides = [t for k, t in done.items() if k[0] == "guide"]
    return Theory(
        last_create_s=max(t for k, t in done.items() if k[0] in ("voice", "text")),
        first_guide_s=min(guides),
        last_guide_s=max(guides),
        last_move_s=max((t for k, t in done.items() if k[0] == "move"), default=0.0),
    )


def room_sizes(people: int, group_size: int) -> list[int]:
    from bot.core.grouping import group_sizes

    return list(group_sizes(people, group_size))


# --------------------------------------------------------------------------- report
def _med(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.2f}"


def _span(values: Sequence[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def report(runs: list[Run], time_scale: float) -> bool:
    ok = True
    by_mode: dict[tuple[str, bool], list[Run]] = {}
    for run in runs:
        by_mode.setdefault((run.mode, run.self_join), []).append(run)
    for (mode, clicked), group in by_mode.items():
        first = group[0]
        scale = f", windows x{time_scale:g}" if mode == "discord" and time_scale != 1 else ""
        links = ", people follow their links" if clicked else ""
        print(
            f"\n== {first.people} people in groups of {first.group_size}: {first.rooms} rooms, "
            f"rate limits {mode}{scale}{links}, {len(group)} run(s) =="
        )
        theory = (
            theoretical_minimum(
                RateLimitPolicy.discord_like(time_scale=time_scale), SIZES[first.people]
            )
            if mode == "discord"
            else None
        )
        print("\nTimes in seconds from /brew start (median, and range over runs):")
        rows = [
            ("first room's guide posted", [r.first_guide_s for r in group], "first_guide_s"),
            ("last channel created", [r.last_create_s for r in group], "last_create_s"),
            ("last room's guide posted", [r.last_guide_s for r in group], "last_guide_s"),
            ("last member moved", [r.last_move_s for r in group], "last_move_s"),
            ("final 'has started' reply", [r.wall_s for r in group], "wall_s"),
        ]
        print(f"  {'':36} {'measured':>22} {'theoretical min':>16}")
        for label, values, attr in rows:
            th = f"{getattr(theory, attr):.2f}" if theory and attr else "-"
            print(f"  {label:36} {_span(values):>22} {th:>16}")
        if theory:
            ratio = statistics.median(r.wall_s for r in group) / theory.wall_s
            print(f"  measured / theoretical wall time: {ratio:.2f}")
        ok = _report_arrivals(group, theory, by_mode.get((mode, False)) if clicked else None) and ok
        defer_ms = [r.defer_s * 1000 for r in group]
        print(
            f"  defer answered in {_span(defer_ms)} ms (Discord's deadline: "
            f"{DEFER_DEADLINE_S * 1000:.0f} ms)"
        )
        print(
            f"  bot's own figure in its reply: {_span([r.bot_reported_s or 0 for r in group])}; "
            f"CPU (bot + simulator, one process): {_span([r.cpu_s for r in group])}; "
            f"progress edits: {_span([float(r.progress_edits) for r in group])}"
        )
        print("\nREST calls during opening (successful calls, per run; 429s separately):")
        print(f"  {'kind':24} {'calls':>7} {'floor':>7} {'over':>6} {'429s':>6}")
        floor = first.floor
        for kind in KINDS:
            counts = [r.calls[kind] for r in group]
            limited = [r.limited[kind] for r in group]
            fl = floor.get(kind)
            over = f"{max(counts) - fl:+d}" if fl is not None else ""
            print(
                f"  {kind:24} {max(counts):>7} {fl if fl is not None else '':>7} {over:>6} "
                f"{max(limited):>6}"
            )
        total_floor = sum(floor.values())
        floor_calls_made = max(sum(r.calls[k] for k in FLOOR_KINDS) for r in group)
        print(
            f"  {'floor total':24} {floor_calls_made:>7} {total_floor:>7} "
            f"{floor_calls_made - total_floor:>+6d} "
            f"{max(sum(r.limited.values()) for r in group):>6}"
        )
        every = [float(sum(r.calls.values()) + sum(r.limited.values())) for r in group]
        print(
            f"  all calls (incl. 429s): {_span(every)}; "
            f"429s retried: {sum(r.retried_ok for r in group)}, "
            f"not retried: {sum(r.not_retried for r in group)}"
        )
        if mode == "discord":
            policy = RateLimitPolicy.discord_like(time_scale=time_scale)
            print("\nThroughput of the server-wide buckets (median over runs):")
            print(f"  {'kind':24} {'first s':>8} {'last s':>8} {'per s':>7} {'limit per s':>12}")
            for kind, (method, route) in BUCKETS.items():
                spans = [r.spans[kind] for r in group if kind in r.spans]
                if not spans:
                    continue
                first_s = statistics.median(a for a, _ in spans)
                last_s = statistics.median(b for _, b in spans)
                count = statistics.median(r.calls[kind] for r in group)
                rate = (count - 1) / (last_s - first_s) if last_s > first_s else float("inf")
                print(
                    f"  {kind:24} {first_s:>8.2f} {last_s:>8.2f} {rate:>7.2f} "
                    f"{_limit_per_s(policy, method, route):>12}"
                )
        for run in group:
            problems = []
            if run.rooms_failed:
                problems.append(f"{run.rooms_failed} rooms failed")
            if run.not_moved:
                problems.append(f"{run.not_moved} people not moved")
            if run.guide_not_first:
                problems.append(f"{run.guide_not_first} rooms did not get the guide first")
            if run.calls["other"]:
                problems.append(f"{run.calls['other']} unexpected calls (channel edits?)")
            if run.not_retried:
                problems.append(f"{run.not_retried} 429s not retried")
            if run.defer_s >= DEFER_DEADLINE_S:
                problems.append(f"defer took {run.defer_s:.2f}s")
            if problems:
                ok = False
                print("  PROBLEM: " + "; ".join(problems))
    return ok


def _report_arrivals(group: list[Run], theory: Theory | None, without: list[Run] | None) -> bool:
    """When people were in their rooms; with links, checked against the move floor (median at
    most half of it) and against the same opening without links (nobody later)."""
    medians = [statistics.median(r.arrivals) for r in group if r.arrivals]
    lasts = [max(r.arrivals) for r in group if r.arrivals]
    if not medians:
        return True
    floor = f", move floor {theory.last_move_s:.2f}" if theory else ""
    print(
        f"  person in their room: median {_span(medians)} s, last {_span(lasts)} s{floor}; "
        f"joined by themselves {_span([float(r.joined) for r in group])}; moves wasted on "
        f"people already in their room {_span([float(r.wasted_moves) for r in group])}"
    )
    ok = True
    if group[0].self_join and theory:
        half = theory.last_move_s / 2
        if statistics.median(medians) > half:
            print(f"  MISSED: median person in their room after half the move floor ({half:.2f})")
            ok = False
        if without:
            today = max(max(r.arrivals) for r in without if r.arrivals)
            if max(lasts) > today:
                print(f"  MISSED: someone was in their room later than without links ({today:.2f})")
                ok = False
    return ok


SIZES: dict[int, list[int]] = {}

BUCKETS = {
    "channel creates": ("POST", CHANNELS),
    "member moves": ("PATCH", MEMBER),
}


def _limit_per_s(policy: RateLimitPolicy, method: str, route: str) -> str:
    for rule in policy.routes:
        if rule.matches(method, route) and not rule.body_keys:
            return f"{rule.limit / rule.window:.2f}"
    return "-"


# --------------------------------------------------------------------------- library baseline
async def library_baseline(
    people: int, group_size: int, time_scale: float, stagger: float
) -> float:
    """Moves alone, from a bare discord.py client (no Brew Host code): ``people`` members
    moved into rooms of ``group_size``, one room's moves issued every ``stagger`` seconds (as
    rooms become ready while their channels are created), or all at once with ``stagger=0``.
    Returns the seconds from the first move issued to the last one answered."""
    import discord

    sim = DiscordSimulator(rate_limits=RateLimitPolicy.discord_like(time_scale=time_scale))
    await sim.start()
    try:
        guild = sim.create_guild("Baseline")
        lounge = sim.create_channel(guild.id, "Lounge", type=GUILD_VOICE)
        rooms = math.ceil(people / group_size)
        targets = [
            sim.create_channel(guild.id, f"Room {i + 1}", type=GUILD_VOICE) for i in range(rooms)
        ]
        members = [sim.create_member(guild.id, f"P{i}") for i in range(people)]
        for member in members:
            await sim.set_voice(guild.id, member.id, lounge.id)
        with sim.patch_discord():
            client = discord.Client(
                intents=discord.Intents.default(),
                guild_ready_timeout=0.05,
                max_ratelimit_timeout=30,
            )
            task = asyncio.create_task(client.start(sim.bot_token))
            await sim.wait_for(client.is_ready, 30)
            g = client.get_guild(guild.id)
            assert g is not None

            async def room(i: int) -> None:
                await asyncio.sleep(stagger * i)
                channel = g.get_channel(targets[i].id)
                batch = members[i * group_size : (i + 1) * group_size]
                await asyncio.gather(*(g.get_member(m.id).move_to(channel) for m in batch))  # type: ignore[union-attr, arg-type]

            started = time.monotonic()
            await asyncio.gather(*(room(i) for i in range(rooms)))
            took = time.monotonic() - started
            await client.close()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return took
    finally:
        await sim.close()


async def main(args: argparse.Namespace) -> int:
    if args.library_baseline:
        window = 10 * args.time_scale
        floor_s = (math.ceil(args.people / 10) - 1) * window
        # Rooms become ready as their channels are created: 5 creates per 5 s = 2.5 rooms.
        stagger = 2.0 * args.time_scale
        together = await library_baseline(args.people, args.group_size, args.time_scale, 0.0)
        spread = await library_baseline(args.people, args.group_size, args.time_scale, stagger)
        print(
            f"Bare discord.py client, {args.people} member moves, discord-like limits "
            f"x{args.time_scale:g} (10 per {window:g} s; minimum {floor_s:.2f} s):\n"
            f"  all issued at once:            {together:.2f} s\n"
            f"  one room's moves every {stagger:.2f} s: {spread:.2f} s"
        )
        return 0
    modes = ["discord", "off"] if args.rate_limits == "both" else [args.rate_limits]
    SIZES[args.people] = room_sizes(args.people, args.group_size)
    rooms = len(SIZES[args.people])
    floor = floor_calls(rooms, args.people)
    print(
        f"Opening rooms: {args.people} people in voice, group size {args.group_size} -> "
        f"{rooms} rooms. Floor: {floor['channel creates']} channel creates + "
        f"{floor['guide posts']} guide posts + {floor['member moves']} moves + "
        f"{floor['categories']} categories = {sum(floor.values())} calls, plus the defer and "
        "the interaction edits."
    )
    if "discord" in modes:
        theory = theoretical_minimum(
            RateLimitPolicy.discord_like(time_scale=args.time_scale), SIZES[args.people]
        )
        print(
            f"Theoretical minimum with discord-like limits (x{args.time_scale:g}): "
            f"{theory.wall_s:.2f}s (last create {theory.last_create_s:.2f}s, last guide "
            f"{theory.last_guide_s:.2f}s, last move {theory.last_move_s:.2f}s)"
        )
    runs: list[Run] = []
    clicking = {"off": [False], "on": [True], "both": [False, True]}[args.self_join]
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            for i in range(args.repeat):
                for clicked in clicking:
                    plan = (
                        SelfJoin(
                            median_s=args.self_join_median * args.time_scale,
                            share=args.self_join_share,
                            seed=i + 1,
                        )
                        if clicked
                        else None
                    )
                    run = await run_once(
                        mode, args.people, args.group_size, args.time_scale, Path(tmp), plan
                    )
                    print(
                        f"  run {i + 1} ({mode}{', links' if clicked else ''}): "
                        f"{run.wall_s:.2f}s to the final reply, "
                        f"{sum(run.calls.values())} calls, {sum(run.limited.values())} 429s, "
                        "median person in their room "
                        f"{statistics.median(run.arrivals or [0]):.2f}s",
                        flush=True,
                    )
                    runs.append(run)
    return 0 if report(runs, args.time_scale) else 1


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=160)
    parser.add_argument("--group-size", type=int, default=4)
    parser.add_argument("--rate-limits", choices=("discord", "off", "both"), default="discord")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--self-join",
        choices=("off", "on", "both"),
        default="off",
        help="simulated people follow the link in their room's guide (both: each run twice)",
    )
    parser.add_argument(
        "--self-join-median",
        type=float,
        default=10.0,
        help="half the people click their link within this many seconds (scaled by --time-scale)",
    )
    parser.add_argument(
        "--self-join-share",
        type=float,
        default=1.0,
        help="share of people who ever click their link (the rest are moved)",
    )
    parser.add_argument(
        "--library-baseline",
        action="store_true",
        help="time the moves alone from a bare discord.py client (no Brew Host code)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiply every discord-like window by this (counts unchanged); <1 for quick runs",
    )
    add_loop_option(parser)
    return parser.parse_args(argv)


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    args = parse_args()
    sys.exit(run_on_loop(main(args), args.loop))
