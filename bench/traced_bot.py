"""``brewhost`` under ``tracemalloc``: where the bot's own Python memory is, by package.

    python bench/traced_bot.py run --config config.toml

is ``python -m bot run --config config.toml`` with ``tracemalloc`` on from the first import.
On ``SIGUSR1`` it collects garbage and writes the memory Python has allocated and not freed,
grouped by the package of the line that allocated it (``bot``, ``cogs``, ``discord``,
``sqlalchemy``, ``aiohttp``, ``stdlib:asyncio``...), as JSON to ``$BREWHOST_TRACE_OUT``.
Used by ``bench_brews.py --only memory --trace`` to say which code keeps what a brew left
behind; tracing slows the bot, so the resident-memory figures come from an untraced run.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import sysconfig
import tracemalloc
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
STDLIB = sysconfig.get_paths()["stdlib"]


def package_of(filename: str) -> str:
    """The package a source file belongs to, for grouping allocations."""
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    for top in ("bot", "cogs", "discordsim", "migrations"):
        if filename.startswith(str(ROOT / top) + "/"):
            return top
    if filename.startswith("<frozen importlib") or filename.startswith("<frozen zipimport"):
        return "imports"
    if filename.startswith(STDLIB + "/"):
        return "stdlib:" + filename[len(STDLIB) + 1 :].split("/", 1)[0].removesuffix(".py")
    return "other"


def by_package() -> dict[str, int]:
    """Bytes allocated and still held, by the package of the allocating line."""
    gc.collect()
    out: dict[str, int] = {}
    for stat in tracemalloc.take_snapshot().statistics("filename"):
        key = package_of(stat.traceback[0].filename)
        out[key] = out.get(key, 0) + stat.size
    return out


def _dump(signum: int, frame: FrameType | None) -> None:
    target = Path(os.environ["BREWHOST_TRACE_OUT"])
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(by_package()), encoding="utf-8")
    tmp.replace(target)  # the reader never sees half a file


def main() -> int:
    tracemalloc.start(1)
    signal.signal(signal.SIGUSR1, _dump)
    sys.path.insert(0, str(ROOT))
    from bot.cli import main as brewhost

    return brewhost(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
