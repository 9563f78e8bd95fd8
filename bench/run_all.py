"""Every benchmark of issue 12, side by side with its comparison, in one command.

    python bench/run_all.py            # 3 repetitions each, full scale (about 35-45 minutes)
    python bench/run_all.py --quick    # 1 repetition, opening rooms at 0.1x windows (~8 min)
    python bench/run_all.py --only exports,idle
    python bench/run_all.py --only interactions --loop asyncio   # the standard loop

Everything runs on the loop ``brewhost run`` picks (uvloop where installed) unless ``--loop``
says otherwise; bots and comparisons in processes of their own are started on the same loop.

Prints one table (min / median / max over the repetitions, the target and whether it was met)
and writes the figures to a JSON file (``--out``, default ``bench/results/latest.json``), with
the machine's load before and after. Exits 1 when a target is missed or a benchmark failed.

Benchmarks (``--only`` names): ``interactions`` (200 at once; 100 room-button presses),
``exports`` (``brewhost export`` against a plain sqlite3 + csv writer; ``/brew export`` with a
loop-lag probe), ``markdown`` (the report's scaling in rows), ``turns`` (turn-prompt lateness at
40 and 160 rooms, the bot and the floor's bare client each in a process of their own),
``idle`` (``brewhost run`` RSS), ``memory`` (memory over brews),
``restart`` (50 brews x 2 rooms), ``open_rooms`` (160 people, Discord-like limits, against the
rate-limit floor). All run the real BrewBot against the same local Discord simulator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, Metric, add_loop_option, current_loop, machine_load, run_on_loop

ALL = (
    "interactions",
    "exports",
    "markdown",
    "turns",
    "idle",
    "memory",
    "restart",
    "open_rooms",
)


async def open_rooms(repeat: int, time_scale: float) -> list[Metric]:
    """160 people under Discord-like limits (``bench_open_rooms.run_once``), against the floor
    replayed through the simulator's own rate limiter, and a bare discord.py client's moves."""
    from bench_open_rooms import SIZES, library_baseline, room_sizes, run_once, theoretical_minimum

    from discordsim import RateLimitPolicy

    people, group = 160, 4
    SIZES[people] = room_sizes(people, group)
    floor = theoretical_minimum(RateLimitPolicy.discord_like(time_scale=time_scale), SIZES[people])
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            run = await run_once("discord", people, group, time_scale, Path(tmp))
            problems = run.rooms_failed + run.not_moved + run.not_retried + run.guide_not_first
            print(
                f"  open rooms run {i + 1} (x{time_scale:g}): final reply {run.wall_s:.2f} s "
                f"(floor {floor.wall_s:.2f} s), first guide {run.first_guide_s:.2f} s"
                + (f", {problems} problems" if problems else ""),
                flush=True,
            )
            runs.append((run, problems))
    bare = []
    for _ in range(repeat):
        bare.append(await library_baseline(people, group, time_scale, 0.0))
    scale = f" (windows x{time_scale:g})" if time_scale != 1 else ""
    return [
        Metric(
            "open_rooms",
            f"opening rooms for 160: final reply / move floor{scale}",
            "x",
            [r.wall_s / floor.wall_s for r, _ in runs],
            ("<=", 1.02),
            note=f"floor {floor.wall_s:.1f} s: the floor's calls replayed through the simulator's "
            "limiter",
        ),
        Metric(
            "open_rooms",
            f"opening rooms for 160: final reply{scale}",
            "s",
            [r.wall_s for r, _ in runs],
        ),
        Metric(
            "open_rooms",
            f"opening rooms: first room's guide{scale}",
            "s",
            [r.first_guide_s for r, _ in runs],
            ("<", 1.0),
        ),
        Metric(
            "open_rooms",
            "opening rooms: failed rooms, unmoved people, unretried 429s",
            "count",
            [float(p) for _, p in runs],
            ("<=", 0),
            check="max",
        ),
        Metric(
            "open_rooms",
            f"comparison: bare discord.py, the 160 moves alone, all at once{scale}",
            "s",
            bare,
        ),
    ]


def plan(args: argparse.Namespace) -> dict[str, Callable[[], Awaitable[list[Metric]]]]:
    repeat = 1 if args.quick else args.repeat
    scale = args.open_scale if args.open_scale is not None else (0.1 if args.quick else 1.0)

    async def interactions() -> list[Metric]:
        import bench_interactions

        return await bench_interactions.run(repeat)

    async def exports() -> list[Metric]:
        import bench_exports

        return await bench_exports.run(repeat, args.cache)

    async def markdown() -> list[Metric]:
        import bench_exports

        return await asyncio.to_thread(bench_exports.markdown_metrics, repeat)

    async def turns() -> list[Metric]:
        import bench_brews

        return await bench_brews.run(repeat, "turns")

    async def idle() -> list[Metric]:
        import bench_idle

        return await bench_idle.run(repeat)

    async def memory() -> list[Metric]:
        # Each repetition in a fresh process: in this one, memory freed by the benchmarks
        # before (100k-reflection exports, 640 people) would be reused and hide any growth.
        brews = 6 if args.quick else 11
        merged: list[Metric] = []
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "memory.json"
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    str(ROOT / "bench" / "bench_brews.py"),
                    "--only",
                    "memory",
                    "--repeat",
                    "1",
                    "--brews",
                    str(brews),
                    "--json",
                    str(out),
                    "--loop",
                    current_loop(),
                )
                await proc.wait()
                if not out.exists():
                    raise RuntimeError(f"the memory benchmark exited {proc.returncode}")
                found = [Metric.from_dict(d) for d in json.loads(out.read_text("utf-8"))]
            if not merged:
                merged = found
            else:
                for into, more in zip(merged, found, strict=True):
                    into.values += more.values
        return merged

    async def restart() -> list[Metric]:
        import bench_brews

        return await bench_brews.run(repeat, "restart")

    async def rooms() -> list[Metric]:
        return await open_rooms(repeat, scale)

    table = {
        "interactions": interactions,
        "exports": exports,
        "markdown": markdown,
        "turns": turns,
        "idle": idle,
        "memory": memory,
        "restart": restart,
        "open_rooms": rooms,
    }
    return {name: table[name] for name in args.only}


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.2f}"


def print_table(metrics: list[Metric], failures: dict[str, str]) -> None:
    width = max((len(m.name) for m in metrics), default=20)
    print(f"\n{'figure':{width}}  {'min':>8} {'median':>8} {'max':>8}  {'unit':5}  target")
    print("-" * (width + 60))
    for m in metrics:
        verdict = {True: "met", False: "MISSED", None: ""}[m.ok]
        print(
            f"{m.name:{width}}  {_fmt(m.lo):>8} {_fmt(m.med):>8} {_fmt(m.hi):>8}  {m.unit:5}  "
            f"{m.target_text()} {verdict}".rstrip()
        )
    for name, error in failures.items():
        print(f"{name}: FAILED to run: {error.splitlines()[-1] if error else ''}")


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


async def main(args: argparse.Namespace) -> int:
    load_before = machine_load()
    began = time.time()
    metrics: list[Metric] = []
    failures: dict[str, str] = {}
    timings: dict[str, float] = {}
    for name, bench in plan(args).items():
        print(f"== {name} ({machine_load()})", flush=True)
        started = time.perf_counter()
        try:
            metrics += await bench()
        except Exception:  # a broken benchmark is reported, and the others still run
            failures[name] = traceback.format_exc()
            print(failures[name], file=sys.stderr, flush=True)
        timings[name] = time.perf_counter() - started
    load_after = machine_load()
    print_table(metrics, failures)
    print(f"\nMachine: {load_before} before, {load_after} after; {time.time() - began:.0f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "quick": args.quick,
                "repetitions": 1 if args.quick else args.repeat,
                "commit": _commit(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "event_loop": current_loop(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(began)),
                "load_before": load_before,
                "load_after": load_after,
                "seconds_per_benchmark": timings,
                "metrics": [m.as_dict() for m in metrics],
                "failed": failures,
                "missed": [m.name for m in metrics if m.ok is False],
            },
            indent=2,
            default=lambda v: None if isinstance(v, float) and math.isnan(v) else str(v),
        ),
        encoding="utf-8",
    )
    print(f"Figures written to {args.out}")
    missed = [m for m in metrics if m.ok is False]
    if missed or failures:
        print(f"{len(missed)} target(s) missed, {len(failures)} benchmark(s) failed.")
        return 1
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 repetition, shorter runs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--only",
        type=lambda s: [n.strip() for n in s.split(",") if n.strip()],
        default=list(ALL),
        help=f"comma-separated subset of: {', '.join(ALL)}",
    )
    parser.add_argument(
        "--open-scale",
        type=float,
        default=None,
        help="rate-limit windows x this for opening rooms (default 1, or 0.1 with --quick)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "brewhost-bench",
        help="where the generated 100k-reflection database is kept between runs",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    add_loop_option(parser)
    args = parser.parse_args(argv)
    unknown = [n for n in args.only if n not in ALL]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ALL)}")
    return args


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    args = parse_args()
    sys.exit(run_on_loop(main(args), args.loop))
