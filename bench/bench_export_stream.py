"""Streamed exports of 100k reflections: ``brewhost export`` time and memory, and event-loop lag.

Two measurements, each repeated (``--repeat``, default 3) and shown as min / median / max:

* ``brewhost export --format csv|json|markdown`` on the whole database (one file per server),
  each a fresh process; its peak resident memory (``VmHWM``) is read by the child itself as it
  exits, so the benchmark's own memory is not counted. In the same run, the plain sqlite3 + csv
  writer (``bench/plain_csv.py``, from helper ``perf``) writes the CSV files; they are checked
  byte-identical, and every format is held to 1.5 x the plain writer's median time and 64 MiB.
* The export path of ``/brew export`` (:func:`bot.export_files.stream_export` with
  ``offload=True``, as :mod:`bot.shell.organiser` calls it) with a probe task on the same loop
  sleeping 10 ms and recording how late it wakes: the largest stall, against 100 ms. Both the
  SQLite-file path (a blocking connection in a worker thread) and the async-session path (what
  PostgreSQL uses) are measured.

    python bench/bench_export_stream.py --db /tmp/big.db [--repeat 3]

Without ``--db`` the database is ``bench/datagen.py``'s (500 brews, 100k reflections, 6 servers).
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import filecmp
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FORMATS = ("csv", "json", "markdown")
TIME_FACTOR = 1.5
MEMORY_MIB = 64
STALL_MS = 100

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


def timed_child(argv: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, the child's own peak RSS in MiB) of ``argv`` in a fresh interpreter."""
    began = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", HWM_WRAPPER, *argv], cwd=cwd, capture_output=True, text=True
    )
    took = time.perf_counter() - began
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    peak = [int(x.split()[1]) for x in proc.stderr.splitlines() if x.startswith("BENCH-PEAK-KB")]
    return took, peak[-1] / 1024


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def bench_cli(db: Path, plain: Path, repeat: int, work: Path) -> bool:
    config = work / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{db}"\n', encoding="utf-8")
    times: dict[str, list[float]] = {k: [] for k in ("plain", *FORMATS)}
    peaks: dict[str, list[float]] = {k: [] for k in ("plain", *FORMATS)}
    for _ in range(repeat):
        out = work / "plain"
        out.mkdir(exist_ok=True)
        t, m = timed_child(["script", str(plain), str(db), str(out)], work)
        times["plain"].append(t)
        peaks["plain"].append(m)
        for fmt in FORMATS:
            target = work / fmt
            target.mkdir(exist_ok=True)
            argv = ["module", "bot", "export", "--config", str(config), "--format", fmt]
            t, m = timed_child([*argv, "--out", str(target / f"reflections.{fmt}")], work)
            times[fmt].append(t)
            peaks[fmt].append(m)
        for made in sorted((work / "plain").glob("*.csv")):
            ours = work / "csv" / made.name
            if not filecmp.cmp(made, ours, shallow=False):
                raise SystemExit(f"{ours} differs from the plain writer's {made}")
    limit = statistics.median(times["plain"]) * TIME_FACTOR
    ok = True
    print(f"brewhost export, {repeat} runs (min / median / max); CSV byte-identical to plain")
    print("| Writer | Time (s) | Peak memory (MiB) | Target |")
    print("| --- | ---: | ---: | --- |")
    for key in ("plain", *FORMATS):
        met = key == "plain" or (
            statistics.median(times[key]) <= limit and max(peaks[key]) < MEMORY_MIB
        )
        ok &= met
        target = "baseline" if key == "plain" else f"<= {limit:.2f} s, < {MEMORY_MIB} MiB"
        verdict = "" if key == "plain" else (" met" if met else " MISSED")
        print(
            f"| {key} | {spread(times[key])} | {spread(peaks[key], '{:.0f}')} | {target}{verdict} |"
        )
    return ok


async def _probe_export(db: Path, fmt: str, sync_file: bool) -> tuple[float, float]:
    """(largest loop stall in ms, export seconds) for one export on this loop."""
    from bot.core.content import load_content
    from bot.db.exports import ExportFilter, export_guild_ids, plan_export
    from bot.db.session import create_engine, session_factory
    from bot.export_files import stream_export

    url = f"sqlite+aiosqlite:///{db}"
    engine = create_engine(url)
    content = load_content(None)
    worst = 0.0
    running = True

    async def probe() -> None:
        nonlocal worst
        loop = asyncio.get_running_loop()
        while running:
            before = loop.time()
            await asyncio.sleep(0.010)
            worst = max(worst, loop.time() - before - 0.010)

    task = asyncio.create_task(probe())
    await asyncio.sleep(0.05)
    began = time.perf_counter()
    try:
        async with session_factory(engine)() as session:
            for guild in await export_guild_ids(session, ExportFilter()):
                plan = await plan_export(
                    session, ExportFilter(guild), content.prompts, counts=fmt == "markdown"
                )
                with tempfile.TemporaryFile() as fh:
                    await stream_export(
                        session, plan, fmt, fh, content,  # type: ignore[arg-type]
                        generated_on=plan.brews[-1].date, offload=True,
                        database_url=url if sync_file else None,
                    )  # fmt: skip
    finally:
        took = time.perf_counter() - began
        running = False
        await task
        await engine.dispose()
    return worst * 1000, took


def bench_loop(db: Path, repeat: int) -> bool:
    ok = True
    print()
    print(f"/brew export's path with a 10 ms probe on the loop, {repeat} runs (min / median / max)")
    print("| Format | Reading | Largest stall (ms) | Export (s) | Target |")
    print("| --- | --- | ---: | ---: | --- |")
    for fmt in FORMATS:
        for sync_file in (True, False):
            stalls, took = [], []
            for _ in range(repeat):
                stall, seconds = asyncio.run(_probe_export(db, fmt, sync_file))
                stalls.append(stall)
                took.append(seconds)
            met = max(stalls) < STALL_MS
            ok &= met
            how = "own SQLite connection" if sync_file else "async session (PostgreSQL's way)"
            print(
                f"| {fmt} | {how} | {spread(stalls, '{:.0f}')} | {spread(took)} | "
                f"< {STALL_MS} ms {'met' if met else 'MISSED'} |",
                flush=True,
            )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="an existing database (default: datagen's)")
    parser.add_argument("--plain", type=Path, default=ROOT / "bench" / "plain_csv.py")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-loop", action="store_true")
    args = parser.parse_args(argv)
    db = args.db
    if db is None:
        sys.path.insert(0, str(ROOT / "bench"))
        from datagen import ensure_database  # type: ignore[import-not-found]

        db = ensure_database(Path(tempfile.gettempdir()) / "brewhost-bench")
    with tempfile.TemporaryDirectory() as work:
        ok = bench_cli(db.resolve(), args.plain.resolve(), args.repeat, Path(work))
    if not args.skip_loop:
        ok &= bench_loop(db.resolve(), args.repeat)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
