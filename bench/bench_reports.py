"""Benchmark: 100,000 reflections to each export format (time and peak memory).

Run from the repository root:

    python bench/bench_reports.py                 # 100,000 reflections, every format
    python bench/bench_reports.py --reflections 5000 --formats html docx   # quicker

Each format runs in its own fresh Python process, so the peak resident memory reported
(``ru_maxrss``) belongs to that format alone; the "inputs only" row is the same process with
the data built but nothing rendered, to read the rest against. Data: seeded, 10 reflections per
brew spread over six areas (one server each), three answers per reflection, 60 % consent to be
quoted, answers of about 60 to 200 characters. Single-server formats get all brews as one server
(numbers made unique); the regional formats get one server per area.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.export_model import BrewSummary, ReflectionRecord
from bot.core.export_regional import ServerExport
from bot.core.reflections import DEFAULT_PROMPTS

AREAS = ("Essex", "Hertfordshire", "Norfolk", "Milton Keynes", "Bedfordshire", "Luton")
FORMATS = ("none", "csv", "json", "markdown", "html", "docx", "regional-html", "regional-docx")
WORDS = (
    "time trust people voices listening care support together missing equity diversity "
    "budget patience carers lived experience decisions power system change co-production"
).split()


def build(reflections: int, seed: int = 2024) -> list[ServerExport]:
    rng = random.Random(seed)
    per_brew = 10
    brews_total = max(1, reflections // per_brew)
    servers = []
    made = 0
    for s, area in enumerate(AREAS):
        count = brews_total // len(AREAS) + (1 if s < brews_total % len(AREAS) else 0)
        brews, refl = [], []
        for n in range(1, count + 1):
            day = date(2024, 1, 1) + timedelta(days=rng.randrange(366))
            people = rng.randrange(8, 16)
            brews.append(BrewSummary(n, f"{area} brew {n}", area, "Co-production: what's missing?",
                                     day, people, people // 4))  # fmt: skip
            for _ in range(per_brew):
                if made >= reflections:
                    break
                made += 1
                answers = {
                    p.key: " ".join(rng.choice(WORDS) for _ in range(rng.randrange(8, 28)))
                    for p in DEFAULT_PROMPTS[:3]
                }
                refl.append(ReflectionRecord(n, day, rng.random() < 0.6, answers))
        servers.append(ServerExport(1000 + s, tuple(brews), tuple(refl)))
    return servers


def flatten(servers: list[ServerExport]) -> tuple[list[BrewSummary], list[ReflectionRecord]]:
    brews, refl = [], []
    for i, server in enumerate(servers):
        off = i * 100_000
        brews += [BrewSummary(b.number + off, b.title, b.area, b.question, b.date,
                              b.participants, b.rooms) for b in server.brews]  # fmt: skip
        refl += [ReflectionRecord(r.brew_number + off, r.date, r.consent, r.answers)
                 for r in server.reflections]  # fmt: skip
    return brews, refl


def run_one(fmt: str, reflections: int) -> dict[str, float]:
    servers = build(reflections)
    brews, refl = flatten(servers)
    prompts = DEFAULT_PROMPTS
    today = date(2025, 1, 10)
    started = time.perf_counter()
    size = 0
    if fmt == "csv":
        from bot.core.export import to_csv

        size = len(to_csv(brews, refl, prompts))
    elif fmt == "json":
        from bot.core.export import to_json

        size = len(to_json(brews, refl, prompts, generated_on=today))
    elif fmt == "markdown":
        from bot.core.export import reflections_per_brew, to_markdown
        from bot.export_files import draw_chart

        svg = draw_chart(tuple(brews), reflections_per_brew(refl), "area")
        size = len(to_markdown(brews, refl, prompts, title="Region", generated_on=today,
                               chart_filename="c.svg", chart_by="area")) + len(svg)  # fmt: skip
    elif fmt in ("html", "docx"):
        from bot.core.export_document import build_report
        from bot.reporting.render import render_document

        doc = build_report(
            brews, refl, prompts, title="Region", generated_on=today, chart_by="area"
        )
        size = len(render_document(doc, fmt))  # type: ignore[arg-type]
    elif fmt.startswith("regional-"):
        from bot.core.export_regional import build_regional_report
        from bot.reporting.render import render_document

        doc = build_regional_report(servers, prompts, title="Region", generated_on=today)
        size = len(render_document(doc, fmt.split("-")[1]))  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_mib": peak_kib / 1024, "bytes": size,
            "brews": len(brews), "reflections": len(refl)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reflections", type=int, default=100_000)
    parser.add_argument("--formats", nargs="*", default=list(FORMATS), choices=FORMATS)
    parser.add_argument("--one", choices=FORMATS, help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.reflections)))
        return 0
    print(f"Python {platform.python_version()}, {platform.system()} {platform.machine()}, "
          f"{args.reflections:,} reflections")  # fmt: skip
    print("| Format | Time (s) | Peak memory (MiB) | Output size (MB) |")
    print("| --- | ---: | ---: | ---: |")
    for fmt in args.formats:
        try:
            done = subprocess.run(
                [sys.executable, __file__, "--one", fmt, "--reflections", str(args.reflections)],
                capture_output=True, text=True, timeout=args.timeout, check=True,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            print(f"| {fmt} | over {args.timeout:.0f} | - | - |", flush=True)
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        label = "inputs only" if fmt == "none" else fmt
        print(f"| {label} | {r['seconds']:.2f} | {r['peak_mib']:.0f} | {r['bytes'] / 1e6:.1f} |",
              flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
