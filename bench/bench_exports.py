"""Exports of 100k reflections (500 brews over 6 areas, from ``datagen.py``).

Two benchmarks:

* ``brewhost export`` (CSV, JSON, Markdown), each a fresh process, timed, with its peak memory
  (``VmHWM``) read by the child itself as it exits. In the same run a
  plain sqlite3 + csv writer (``plain_csv.py``) writes the same CSV files; the benchmark checks
  they are byte-identical, then holds every format to 1.5 x the plain writer's time and 64 MiB.
* ``/brew export`` inside the running bot (simulator, real BrewBot), with the 500 brews moved
  into the simulated server: a probe task sleeps 10 ms in a loop and records how late it wakes
  (the event loop's stall) from the command until the file has arrived.

    python bench/bench_exports.py [--repeat 3] [--cache DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, LagProbe, Metric, add_loop_option, run_on_loop, wait_until
from datagen import ensure_database

FORMATS = ("csv", "json", "markdown")
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "brewhost-bench"


#: Runs a script or module and, on the way out, prints its own peak resident memory (VmHWM).
#: The peak is read inside the child because ``ru_maxrss`` from ``wait4`` would also count the
#: benchmark's own memory, inherited through ``fork`` before the child's ``exec``.
HWM_WRAPPER = """
import atexit, runpy, sys
def _peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("BENCH-PEAK-KB " + line.split()[1] + "\\n")
atexit.register(_peak)
kind, target = sys.argv[1], sys.argv[2]
sys.argv = [target, *sys.argv[3:]]
if kind == "module":
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    runpy.run_path(target, run_name="__main__")
"""


def timed_child(argv: list[str], cwd: Path) -> tuple[float, float, str]:
    """Run ``argv`` (``["module", name, *args]`` or ``["script", path, *args]``) in a fresh
    interpreter; returns (wall seconds, the child's own peak RSS in MiB, its output)."""
    began = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", HWM_WRAPPER, *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - began
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
        )
    peaks = [
        int(line.split()[1])
        for line in proc.stderr.splitlines()
        if line.startswith("BENCH-PEAK-KB")
    ]
    if not peaks:
        raise RuntimeError(f"{' '.join(argv)} did not report its peak memory:\n{proc.stderr}")
    return took, peaks[-1] / 1024, proc.stdout


def cli_once(db: Path, work: Path) -> dict[str, tuple[float, float]]:
    """One repetition: the plain writer, then each format; (seconds, MiB) by name."""
    config = work / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{db}"\n', encoding="utf-8")
    out: dict[str, tuple[float, float]] = {}
    plain_dir, ours_dir = work / "plain", work / "ours"
    for d in (plain_dir, ours_dir):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
    took, peak, _ = timed_child(
        ["script", str(ROOT / "bench" / "plain_csv.py"), str(db), str(plain_dir)], work
    )
    out["plain csv"] = (took, peak)
    for fmt in FORMATS:
        name = {"csv": "reflections.csv", "json": "reflections.json", "markdown": "report.md"}
        took, peak, _ = timed_child(
            [
                "module",
                "bot",
                "export",
                "--config",
                str(config),
                "--format",
                fmt,
                "--out",
                str(ours_dir / name[fmt]),
            ],
            ROOT,
        )
        out[fmt] = (took, peak)
    plain_files = sorted(plain_dir.glob("*.csv"))
    ours = sorted(ours_dir.glob("reflections-*.csv"))
    if [p.name for p in plain_files] != [p.name for p in ours] or any(
        a.read_bytes() != b.read_bytes() for a, b in zip(plain_files, ours, strict=True)
    ):
        raise RuntimeError("the plain writer's CSV differs from brewhost export's: not comparable")
    return out


# --------------------------------------------------------------------------- /brew export
def single_server_copy(db: Path, dest: Path, guild_id: int) -> None:
    """``db`` copied to ``dest`` with every brew moved into ``guild_id`` (numbered 1..N)."""
    from bot.db.bench_sql import move_brews_into_guild

    shutil.copyfile(db, dest)
    move_brews_into_guild(dest, guild_id)


PG_ADMIN_DSN = os.environ.get("BREWHOST_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


async def in_bot_once(
    db: Path, work: Path, fmt: str, backend: str = "sqlite"
) -> tuple[float, float, int]:
    """``/brew export format:<fmt>`` on the big database (the SQLite file, or the same rows
    copied into a fresh PostgreSQL database): (max loop stall s, seconds to the file, probe
    samples)."""
    from bot.config import BrewDefaults
    from bot.db.bench_sql import copy_brews_to
    from bot.db.measure import recreate_database
    from bot.db.migrate import upgrade
    from bot.rehearsal.stage import open_stage
    from discordsim import RateLimitPolicy

    copy = work / f"inbot-{fmt}-{time.monotonic_ns()}.db"
    pg_name = f"bench_exports_{os.getpid()}"
    url = (
        f"sqlite+aiosqlite:///{copy}"
        if backend == "sqlite"
        else PG_ADMIN_DSN.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
        + f"/{pg_name}"
    )
    if backend != "sqlite":
        await recreate_database(PG_ADMIN_DSN, pg_name)
        await asyncio.to_thread(upgrade, url)
    try:
        return await _in_bot(db, copy, url, fmt, backend, open_stage, BrewDefaults,
                             RateLimitPolicy, copy_brews_to)  # fmt: skip
    finally:
        if backend != "sqlite":
            await recreate_database(PG_ADMIN_DSN, pg_name, drop_only=True)


async def _in_bot(
    db: Path, copy: Path, url: str, fmt: str, backend: str, open_stage: Any, defaults: Any,
    limits: Any, copy_brews_to: Any,
) -> tuple[float, float, int]:  # fmt: skip
    async with open_stage(
        url,
        people=4,
        brew=defaults(),
        speed=1.0,
        rate_limits=limits.off(),
        boot_within=60,
    ) as stage:
        if backend == "sqlite":
            await asyncio.to_thread(single_server_copy, db, copy, stage.world.guild_id)
        else:
            await copy_brews_to(db, url, stage.world.guild_id)
        await stage.start()
        world = stage.world
        await stage.command(world.admin, "brew settings", **stage.settings_options("Norfolk"))
        probe = LagProbe()
        probe.start()
        await asyncio.sleep(0.2)
        began = time.perf_counter()
        rec = await stage.command(world.organiser, "brew export", format=fmt, within=10)

        def delivered() -> bool:
            messages: list[Any] = [rec.original_message, *rec.followups]
            return any(m is not None and m.attachments for m in messages)

        await wait_until(delivered, 300, what="the export's file")
        took = time.perf_counter() - began
        await asyncio.sleep(0.1)
        await probe.stop()
        return probe.max_stall, took, len(probe.overshoots)


async def run(
    repeat: int,
    cache: Path,
    in_bot_formats: tuple[str, ...] = ("csv", "markdown"),
    backends: tuple[str, ...] = ("sqlite",),
    cli: bool = True,
) -> list[Metric]:
    db = await asyncio.to_thread(ensure_database, cache)
    runs: list[dict[str, tuple[float, float]]] = []
    cases = [(f, b) for b in backends for f in in_bot_formats]
    stalls: dict[tuple[str, str], list[tuple[float, float]]] = {c: [] for c in cases}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for i in range(repeat if cli else 0):
            res = await asyncio.to_thread(cli_once, db, work)
            runs.append(res)
            print(
                f"  export run {i + 1}: "
                + ", ".join(f"{k} {t:.1f}s {m:.0f}MiB" for k, (t, m) in res.items()),
                flush=True,
            )
        for i in range(repeat):
            for fmt, backend in cases:
                stall, took, _ = await in_bot_once(db, work, fmt, backend)
                stalls[fmt, backend].append((stall, took))
                print(
                    f"  /brew export {fmt} ({backend}) run {i + 1}: loop stalled up to "
                    f"{stall * 1000:.0f} ms, file after {took:.1f} s",
                    flush=True,
                )
    return _metrics(runs, stalls)


def _metrics(
    cli: list[dict[str, tuple[float, float]]],
    stalls: dict[tuple[str, str], list[tuple[float, float]]],
) -> list[Metric]:
    metrics = (
        []
        if not cli
        else [
            Metric(
                "cli_export",
                "plain sqlite3+csv writer: time",
                "s",
                [r["plain csv"][0] for r in cli],
            ),
            Metric(
                "cli_export",
                "plain sqlite3+csv writer: peak RSS",
                "MiB",
                [r["plain csv"][1] for r in cli],
            ),
        ]
    )
    for fmt in FORMATS if cli else ():
        metrics += [
            Metric("cli_export", f"brewhost export {fmt}: time", "s", [r[fmt][0] for r in cli]),
            Metric(
                "cli_export",
                f"brewhost export {fmt}: time / plain writer's",
                "x",
                [r[fmt][0] / r["plain csv"][0] for r in cli],
                ("<=", 1.5),
                note="ratio within each run",
            ),
            Metric(
                "cli_export",
                f"brewhost export {fmt}: peak RSS",
                "MiB",
                [r[fmt][1] for r in cli],
                ("<", 64),
                check="max",
            ),
        ]
    for (fmt, backend), found in stalls.items():
        where = "" if backend == "sqlite" else f" ({backend})"
        metrics += [
            Metric(
                "brew_export_lag",
                f"/brew export {fmt}{where}: longest event-loop stall",
                "ms",
                [s * 1000 for s, _ in found],
                ("<", 100),
                check="max",
                note="10 ms sleep probe, command to file delivered",
            ),
            Metric(
                "brew_export_lag",
                f"/brew export {fmt}{where}: file delivered after",
                "s",
                [t for _, t in found],
            ),
        ]
    return metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument(
        "--in-bot-formats", default="csv,markdown",
        help="comma-separated /brew export formats to time in the bot (csv,json,markdown,...)",
    )  # fmt: skip
    parser.add_argument(
        "--backends", default="sqlite",
        help="comma-separated databases for /brew export: sqlite, postgresql (at "
        "$BREWHOST_BENCH_PG, default postgresql://postgres@127.0.0.1:5432/test; a fresh "
        "database is made and dropped for each run)",
    )  # fmt: skip
    parser.add_argument("--no-cli", action="store_true", help="skip brewhost export")
    add_loop_option(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    backends = tuple(b for b in args.backends.split(",") if b)
    if unknown := set(backends) - set(BACKENDS):
        parser.error(f"--backends: unknown {sorted(unknown)}")
    metrics = run_on_loop(
        run(
            args.repeat,
            args.cache,
            tuple(f for f in args.in_bot_formats.split(",") if f),
            backends,
            cli=not args.no_cli,
        ),
        args.loop,
    )
    for m in metrics:
        print(f"{m.name:60} {m.lo:9.2f} {m.med:9.2f} {m.hi:9.2f} {m.unit} {m.target_text()}")
    return 0 if all(m.ok is not False for m in metrics) else 1


if __name__ == "__main__":
    sys.exit(main())


# --------------------------------------------------------------------------- Markdown scaling
def markdown_scaling(
    brews_steps: tuple[int, ...] = (125, 250, 500), per_brew: int = 200
) -> dict[int, float]:
    """Seconds for :func:`bot.core.export_markdown.to_markdown` alone (no database, no chart)
    on ``n`` brews of ``per_brew`` reflections each: linear in rows means 4x the brews takes
    about 4x the time (an O(brews x rows) scan would take 16x)."""
    import random
    from datetime import date, timedelta

    from datagen import AREAS, QUESTIONS, _answer

    from bot.core.content import load_content
    from bot.core.export_markdown import to_markdown
    from bot.core.export_model import BrewSummary, ReflectionRecord, quotable

    prompts = load_content(None).prompts
    out: dict[int, float] = {}
    for n in brews_steps:
        rng = random.Random(5)
        brews = [
            BrewSummary(
                i + 1,
                f"Brew {i + 1}",
                AREAS[i % 6],
                "What's missing?",
                date(2023, 1, 1) + timedelta(days=i),
                200,
                50,
            )
            for i in range(n)
        ]
        refl = [
            ReflectionRecord(
                b.number,
                b.date,
                rng.random() < 0.4,
                {k: _answer(rng, k) for k in QUESTIONS if rng.random() < 0.7},
            )
            for b in brews
            for _ in range(per_brew)
        ]
        refl = quotable(refl)
        began = time.perf_counter()
        to_markdown(
            brews,
            refl,
            prompts,
            title="Report",
            generated_on=date(2025, 1, 1),
            chart_filename=None,
            chart_by="area",
        )
        out[n] = time.perf_counter() - began
    return out


def markdown_metrics(repeat: int) -> list[Metric]:
    runs = [markdown_scaling() for _ in range(repeat)]
    return [
        Metric(
            "markdown_report",
            "Markdown report alone, 125 brews (25k reflections)",
            "s",
            [r[125] for r in runs],
        ),
        Metric(
            "markdown_report",
            "Markdown report alone, 500 brews (100k reflections)",
            "s",
            [r[500] for r in runs],
        ),
        Metric(
            "markdown_report",
            "Markdown report: time for 4x the brews and rows / time for 1x",
            "x",
            [r[500] / r[125] for r in runs],
            ("<", 6),
            note="linear ~4x (sorting adds a little); O(brews x rows) would be ~16x",
        ),
    ]
