"""Print a results file of ``run_all.py`` as Markdown tables, one per benchmark (for the docs).

python bench/results_table.py bench/results/full.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


def render(data: dict) -> str:
    lines = [
        f"Commit {data['commit']}, Python {data['python']}, {data['repetitions']} repetition(s); "
        f"machine {data['load_before']} before, {data['load_after']} after.",
    ]
    by_bench: dict[str, list[dict]] = {}
    for metric in data["metrics"]:
        by_bench.setdefault(metric["bench"], []).append(metric)
    for bench, metrics in by_bench.items():
        lines += [
            "",
            f"`{bench}`",
            "",
            "| figure | min | median | max | target | |",
            "|---|---:|---:|---:|---|---|",
        ]
        for m in metrics:
            target = ""
            if m["target"]:
                which = "worst run" if m["check"] == "max" else "median"
                target = f"{which} {m['target'][0]} {m['target'][1]:g} {m['unit']}"
            verdict = {True: "met", False: "**missed**", None: ""}[m["ok"]]
            lines.append(
                f"| {m['name']} ({m['unit']}) | {_num(m['min'])} | {_num(m['median'])} | "
                f"{_num(m['max'])} | {target} | {verdict} |"
            )
    if data.get("failed"):
        lines += ["", "Failed to run: " + ", ".join(data["failed"])]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))))
