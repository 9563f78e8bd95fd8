"""Interactions under load: how fast the first answer comes when many people press at once.

One brew of 200 people (50 rooms of 4) runs on the simulator with the real BrewBot:

* **room buttons**: when every room shows its first turn prompt, 100 presses go out at once, two
  per room in 50 rooms: the speaker presses "One more minute" and another person "Ask for help"
  (25 rooms), or the speaker "I'm done" and another person "Ask for help" (25 rooms).
* **200 at once**: at Close, people 1-100 press "Leave a reflection" and get their forms (this
  wave is reported as a supporting figure); then, at the same moment, those 100 submit their
  forms and people 101-200 press "Leave a reflection": 100 button presses + 100 submits.

The figure is the interaction's *first answer*: from the moment the simulator wrote the
INTERACTION_CREATE frame to the bot's gateway socket to the moment the bot's callback arrived
(``InteractionResponse.since_sent``). The simulator shares the bot's process and event loop, so
in a burst it builds all 100 (or 200) payloads before its gateway writer sends the first; on
Discord each is sent as it is made. The figure from the interaction's creation
(``InteractionResponse.latency``, what Discord's 3-second deadline checks) is reported beside it,
and the 3-second count uses it. Even from the frame, the simulator's own work (writing frames,
accepting connections, handling the callbacks) still runs on the bot's loop: the loop's time until
the last answer is split into the bot's, the simulator's and the garbage collector's
(:mod:`loop_owners`) so the bot's own share is visible.

The bench, the simulator and the bot run on the event loop ``brewhost run`` uses (uvloop where
installed; ``--loop asyncio|uvloop`` to compare both in one session). On uvloop the loop's time
cannot be split by owner, only the garbage collector's share is measured (:mod:`loop_owners`).

Rate limits are off here (Discord does not rate-limit the interaction callback, and opening 200
people's rooms under Discord-like limits alone takes over three minutes; see the opening-rooms
benchmark for those).

    python bench/bench_interactions.py [--repeat 3] [--loop asyncio|uvloop] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import re
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bot_process import stop_process
from common import (
    Metric,
    add_loop_option,
    current_loop,
    custom_id,
    messages_with,
    percentile,
    run_on_loop,
    wait_until,
)
from loop_owners import LoopAccount

MENTION = re.compile(r"<@!?(\d+)>")
VIEW_CHANNEL = 1024
PEOPLE = 200
BREW = dict(
    group_size=4,
    arrive_seconds=60,
    think_seconds=30,
    turn_seconds=120,
    nudge_seconds=20,
    length_minutes=14,
    still_seconds=60,
    min_reflect_seconds=60,
    close_seconds=60,
    cleanup_minutes=30,
)
SPEED = 30.0
ANSWERS = {
    "q:missing": "Time to do co-production properly.",
    "q:lasting": "That carers' voices matter.",
    "q:feedback": "Good",
    "consent": "Yes",
}


async def _latencies(recs: list[Any], within: float = 15.0) -> tuple[list[float], list[float]]:
    """First-answer latency of each record in ms, from its frame being sent and from its
    creation; an unanswered one counts as ``within``."""

    async def one(rec: Any) -> tuple[float, float]:
        try:
            resp = await rec.wait_response(timeout=within, allow_late=True)
        except TimeoutError:
            return within * 1000, within * 1000
        sent = resp.latency if resp.since_sent is None else resp.since_sent
        return float(sent) * 1000, float(resp.latency) * 1000

    both = await asyncio.gather(*(one(r) for r in recs))
    return [b[0] for b in both], [b[1] for b in both]


#: ``--profile FILE``: cProfile of the room-button wave, from the presses to the last answer.
PROFILE: Path | None = None


async def _wave(
    out: dict[str, list[float]], key: str, presses: list[Any], profile: bool = False
) -> list[Any]:
    """Send ``presses`` (coroutines) at once; record both latencies and whose loop time it was
    until the last answer (ms, under ``key:bot`` / ``key:sim`` / ``key:gc``). With ``profile``
    and ``--profile FILE``, cProfile runs from the presses to the last answer."""
    account = LoopAccount()
    at_last: dict[str, float] = {}
    profiler = None
    if profile and PROFILE is not None:
        import cProfile

        profiler = cProfile.Profile()
    account.install()
    try:
        if profiler is not None:
            profiler.enable()
        recs = list(await asyncio.gather(*presses))
        left = len(recs)

        def answered(_: object) -> None:
            nonlocal left
            left -= 1
            if left == 0:  # the loop's time up to the last answer, not the work after it
                at_last.update({o: account.ms(o) for o in ("bot", "sim", "gc", "gc2")})
                at_last["full_passes"] = account.full_passes
                if profiler is not None:
                    profiler.disable()
                    assert PROFILE is not None
                    profiler.dump_stats(PROFILE)

        for rec in recs:
            rec.response_future().add_done_callback(answered)
        out[key], out[f"{key}:created"] = await _latencies(recs)
    finally:
        account.uninstall()
    for owner in ("bot", "sim", "gc", "gc2"):
        out[f"{key}:{owner}"] = [at_last.get(owner, account.ms(owner))]
    out[f"{key}:full_passes"] = [at_last.get("full_passes", account.full_passes)]
    return recs


#: The bot in a process of its own (``--bot-process``): ``brewhost run`` on the config file in
#: argv[1]; argv[2] ``off`` runs it without :mod:`bot.shell.gc_policy`; argv[3] is the loop.
BOT_PROCESS = """
import sys
if sys.argv[2] == "off":
    from bot.shell import gc_policy
    gc_policy.attach = lambda bot, settings=None: None
    gc_policy.detach = lambda bot: None
from bot.cli import main
sys.exit(main(["run", "--config", sys.argv[1], "--loop", sys.argv[3]]))
"""


def _config_toml(stage: Any) -> str:
    """The stage's config (:func:`bot.rehearsal.stage.stage_config`) as a config file."""
    c = stage.config
    brew = "".join(f"{k} = {v}\n" for k, v in BREW.items())
    return (
        "[discord]\n"
        f"guild_ids = [{stage.world.guild_id}]\n"
        f'api_base_url = "{c.discord.api_base_url}"\n'
        f'gateway_url = "{c.discord.gateway_url}"\n'
        "[database]\n"
        f'url = "{c.database.url}"\n'
        f"[brew]\n{brew}"
        f"[timing]\nspeed = {SPEED}\n"
    )


@contextlib.asynccontextmanager
async def _bot_in_process(stage: Any, work: Path, gc_policy: str) -> AsyncIterator[None]:
    """``brewhost run`` against the stage's simulator in its own process, until the block
    ends; returns once its slash commands are registered."""
    import os

    config = work / f"bot-{time.monotonic_ns()}.toml"
    config.write_text(_config_toml(stage), encoding="utf-8")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        BOT_PROCESS,
        str(config),
        gc_policy,
        current_loop(),
        env=dict(os.environ, BREWHOST_TOKEN=stage.sim.bot_token),
        cwd=work,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        sim = stage.sim

        def ready() -> bool:
            synced = any(
                c.method == "PUT" and c.route.endswith("/commands") and 200 <= c.status < 300
                for c in sim.rest_log
            )
            return synced and bool(sim.connected)

        await sim.wait_for(ready, timeout=60)
        yield
    finally:
        await stop_process(proc)


async def _seat_everyone_elsewhere(stage: Any) -> None:
    """:func:`bench_open_rooms.seat_everyone` for a bot in another process: it cannot be asked
    what it sees, so the voice states get a moment to arrive (``/brew start`` then checks that
    all 200 were grouped)."""
    sim, world = stage.sim, stage.world
    await stage.command(world.admin, "brew settings", **stage.settings_options())
    for member in [*world.people, world.facilitator]:
        await sim.set_voice(world.guild_id, member.id, world.lounge.id)
    await asyncio.sleep(2.0)


async def one_run(db_dir: Path, bot_process: str | None = None) -> dict[str, list[float]]:
    """One brew; ``bot_process`` ``"on"``/``"off"`` runs the bot in its own process (with or
    without the gc policy) instead of on the simulator's loop."""
    from bench_open_rooms import seat_everyone

    from bot.config import BrewDefaults
    from bot.db.migrate import upgrade
    from bot.rehearsal.stage import open_stage
    from discordsim import RateLimitPolicy

    db_url = f"sqlite+aiosqlite:///{db_dir / f'inter-{time.monotonic_ns()}.db'}"
    await asyncio.to_thread(upgrade, db_url)
    out: dict[str, list[float]] = {}
    async with open_stage(
        db_url,
        people=PEOPLE,
        brew=BrewDefaults(**BREW),  # type: ignore[arg-type]
        speed=SPEED,
        rate_limits=RateLimitPolicy.off(),
        server="Bench Network",
        boot_within=60,
    ) as stage:
        async with contextlib.AsyncExitStack() as elsewhere:
            if bot_process is None:
                await stage.start()
                await seat_everyone(stage)
            else:
                await elsewhere.enter_async_context(_bot_in_process(stage, db_dir, bot_process))
                await _seat_everyone_elsewhere(stage)
            await _brew(stage, out)
            await asyncio.sleep(0.5)
    return out


async def _brew(stage: Any, out: dict[str, list[float]]) -> None:
    """Start the brew, then the two waves (see the module doc)."""
    from discordsim import GUILD_TEXT

    sim, world = stage.sim, stage.world
    rec = await stage.command(
        world.facilitator, "brew start", question="What's missing?", group_size=4
    )
    await stage.final_text(rec, within=120)
    rooms = [
        c.id for c in sim.channels(world.guild_id, type=GUILD_TEXT) if c.name.startswith("room-")
    ]
    if len(rooms) != PEOPLE // 4:
        raise RuntimeError(f"{len(rooms)} rooms opened, not {PEOPLE // 4}")
    members: dict[int, list[int]] = {
        room: [
            p.id
            for p in world.people
            if sim.permissions_for(world.guild_id, p.id, room) & VIEW_CHANNEL
        ]
        for room in rooms
    }

    # ---- room buttons: every room at its first turn prompt, then 100 presses at once
    prompts = await wait_until(
        lambda: (m := messages_with(sim, rooms, "bh:turn:done:")) and len(m) == len(rooms) and m,
        120,
        what="a turn prompt in every room",
    )
    helps = messages_with(sim, rooms, "bh:help:")
    presses = []
    kinds: list[str] = []
    for i, room in enumerate(rooms[:50]):
        prompt = prompts[room]
        found = MENTION.search(prompt.content)
        speaker = int(found.group(1)) if found else members[room][0]
        other = next(m for m in members[room] if m != speaker)
        own = ("bh:more:", "One more minute") if i % 2 == 0 else ("bh:turn:done:", "I'm done")
        presses.append((speaker, room, prompt, own[0]))
        kinds.append(own[1])
        helper_msg = helps.get(room, prompt)
        presses.append((other, room, helper_msg, "bh:help:"))
        kinds.append("Ask for help")
    await _wave(
        out,
        "room_buttons",
        [
            sim.click_button(user, room, msg.id, custom_id(msg, prefix))
            for user, room, msg, prefix in presses
        ],
        profile=True,
    )
    lat = out["room_buttons"]
    for kind in ("One more minute", "I'm done", "Ask for help"):
        out[f"room_buttons:{kind}"] = [v for v, k in zip(lat, kinds, strict=True) if k == kind]

    # ---- Close: forms for people 1-100, then 100 submits + 100 presses at once
    closes = await wait_until(
        lambda: (m := messages_with(sim, rooms, "bh:reflect:")) and len(m) == len(rooms) and m,
        180,
        what="the reflection button in every room",
    )
    room_of = {p: room for room, ps in members.items() for p in ps}
    first = [p.id for p in world.people[:100]]
    second = [p.id for p in world.people[100:]]

    def press_reflect(user: int) -> Any:
        msg = closes[room_of[user]]
        return sim.click_button(user, room_of[user], msg.id, custom_id(msg, "bh:reflect:"))

    forms = await _wave(out, "form_wave", [press_reflect(u) for u in first])
    await _wave(
        out,
        "wave_200",
        [
            *(sim.submit_modal(u, f, ANSWERS) for u, f in zip(first, forms, strict=True)),
            *(press_reflect(u) for u in second),
        ],
    )
    lat = out["wave_200"]
    out["wave_200:submit"] = lat[:100]
    out["wave_200:press"] = lat[100:]


#: Whose loop time is reported (:mod:`loop_owners`).
OWNERS = (
    ("bot", "the bot"),
    ("sim", "the simulator (Discord's side)"),
    ("gc", "garbage collection"),
    ("gc2", "of which full collections"),
    ("full_passes", "full collections (count)"),
)


def metrics_from(runs: list[dict[str, list[float]]]) -> list[Metric]:
    def per_run(key: str, fn: Any) -> list[float]:
        return [round(fn(r[key]), 1) for r in runs]

    return [m for m in _metrics(runs, per_run) if not all(math.isnan(v) for v in m.values)]


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.0f}"


def _metrics(runs: list[dict[str, list[float]]], per_run: Any) -> list[Metric]:
    """Every figure (the loop split reads NaN on uvloop: :func:`metrics_from` drops it)."""

    p99 = lambda v: percentile(v, 99)  # noqa: E731
    p50 = lambda v: percentile(v, 50)  # noqa: E731
    first = lambda v: v[0]  # noqa: E731
    return [
        Metric(
            "interactions",
            "200 at once (100 presses + 100 submits): first answer p99",
            "ms",
            per_run("wave_200", p99),
            ("<", 250),
            note="callback arrival minus the interaction's frame written to the bot's socket",
        ),
        Metric(
            "interactions",
            "200 at once: p99 from creation (simulator builds all 200 first)",
            "ms",
            per_run("wave_200:created", p99),
        ),
        Metric("interactions", "200 at once: first answer p50", "ms", per_run("wave_200", p50)),
        Metric("interactions", "200 at once: first answer max", "ms", per_run("wave_200", max)),
        Metric(
            "interactions",
            "200 at once: answered after Discord's 3 s",
            "count",
            [float(sum(v >= 3000 for v in r["wave_200:created"])) for r in runs],
            ("<=", 0),
            check="max",
        ),
        Metric("interactions", "200 at once: submits p99", "ms", per_run("wave_200:submit", p99)),
        Metric(
            "interactions",
            "200 at once: 'Leave a reflection' presses p99",
            "ms",
            per_run("wave_200:press", p99),
        ),
        Metric(
            "interactions",
            "100 'Leave a reflection' at once (forms): p99",
            "ms",
            per_run("form_wave", p99),
        ),
        *(
            Metric(
                "interactions",
                f"200 at once: loop time until the last answer, {who}",
                "count" if owner == "full_passes" else "ms",
                per_run(f"wave_200:{owner}", first),
            )
            for owner, who in OWNERS
        ),
        Metric(
            "room_buttons",
            "100 room-button presses at once: first answer p50",
            "ms",
            per_run("room_buttons", p50),
            ("<=", 50),
            note="One more minute / I'm done / Ask for help, from the frame; answered first",
        ),
        Metric(
            "room_buttons",
            "100 room-button presses: p50 from creation (simulator builds all 100 first)",
            "ms",
            per_run("room_buttons:created", p50),
        ),
        Metric(
            "room_buttons",
            "100 room-button presses: first answer p99",
            "ms",
            per_run("room_buttons", p99),
        ),
        *(
            Metric("room_buttons", f"'{kind}': p50", "ms", per_run(f"room_buttons:{kind}", p50))
            for kind in ("One more minute", "I'm done", "Ask for help")
        ),
        *(
            Metric(
                "room_buttons",
                f"100 room-button presses: loop time until the last answer, {who}",
                "count" if owner == "full_passes" else "ms",
                per_run(f"room_buttons:{owner}", first),
            )
            for owner, who in OWNERS
        ),
    ]


async def run(repeat: int, bot_process: str | None = None) -> list[Metric]:
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            result = await one_run(Path(tmp), bot_process)
            print(
                f"  interactions run {i + 1}: 200-wave p99 "
                f"{percentile(result['wave_200'], 99):.0f} ms, room buttons p50 "
                f"{statistics.median(result['room_buttons']):.0f} ms "
                f"({statistics.median(result['room_buttons:created']):.0f} from creation; "
                f"loop until the last answer: bot {_ms(result['room_buttons:bot'][0])}, "
                f"simulator {_ms(result['room_buttons:sim'][0])}, "
                f"gc {result['room_buttons:gc'][0]:.0f} ms, "
                f"{result['room_buttons:full_passes'][0]:.0f} full); 200-wave: "
                f"bot {_ms(result['wave_200:bot'][0])}, sim {_ms(result['wave_200:sim'][0])}, "
                f"gc {result['wave_200:gc'][0]:.0f} ms, "
                f"{result['wave_200:full_passes'][0]:.0f} full",
                flush=True,
            )
            runs.append(result)
    return metrics_from(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--gc-policy",
        choices=("on", "off"),
        default="on",
        help="off: the bot without bot/shell/gc_policy.py (CPython's default collector), "
        "for an A/B comparison",
    )
    parser.add_argument(
        "--bot-process",
        action="store_true",
        help="run the bot as `brewhost run` in its own process, as on Discord, where the "
        "server is elsewhere (the loop split then covers the simulator's process only)",
    )
    parser.add_argument(
        "--answer-gate",
        choices=("on", "off"),
        default="on",
        help="off: follow-up work does not wait for other presses' first answers "
        "(bot/shell/answer_first.py), for an A/B comparison",
    )
    add_loop_option(parser)
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="cProfile the room-button wave (presses to the last answer; the last run's) "
        "into FILE (read it with python -m pstats FILE)",
    )
    args = parser.parse_args()
    global PROFILE
    PROFILE = args.profile
    logging.basicConfig(level=logging.ERROR)
    if args.gc_policy == "off" and not args.bot_process:
        from bot.shell import gc_policy

        gc_policy.attach = lambda bot, settings=None: None  # type: ignore[assignment,misc]
        gc_policy.detach = lambda bot: None  # type: ignore[assignment]
    if args.answer_gate == "off":
        from bot.shell.answer_first import AnswerGate

        async def no_wait(self: AnswerGate) -> None:
            return None

        AnswerGate.then = no_wait  # type: ignore[method-assign]
    metrics = run_on_loop(run(args.repeat, args.gc_policy if args.bot_process else None), args.loop)
    for m in metrics:
        print(f"{m.name:70} {m.lo:9.1f} {m.med:9.1f} {m.hi:9.1f} {m.unit} {m.target_text()}")
    return 0 if all(m.ok is not False for m in metrics) else 1


if __name__ == "__main__":
    sys.exit(main())
