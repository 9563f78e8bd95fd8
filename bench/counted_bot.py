"""``brewhost run`` that counts its database round trips and can profile itself on request.

    python bench/counted_bot.py run --config config.toml

is ``python -m bot run --config config.toml`` with :func:`bot.db.measure.count_round_trips`
on from the start. Used by the turn-prompt benchmark (``bench_brews.py --only turns``), which
runs the bot in a process of its own so that what it measures is the bot, not the simulator
sharing its loop:

* ``SIGUSR2`` starts a cProfile of the bot (when ``$BREWHOST_PROFILE_OUT`` is set) and sets
  the counters' zero;
* ``SIGUSR1`` writes the round trips since that zero as JSON to ``$BREWHOST_COUNTS_OUT`` and,
  when profiling, stops and writes the profile to ``$BREWHOST_PROFILE_OUT``.

The handlers run on the main thread between two bytecodes, the thread the event loop runs on,
so the profile covers the bot's loop.
"""

from __future__ import annotations

import cProfile
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
COUNTS: Counter[str] = Counter()
_zero: Counter[str] = Counter()
_profiler: cProfile.Profile | None = None


def _begin(signum: int, frame: FrameType | None) -> None:
    global _profiler, _zero
    _zero = COUNTS.copy()
    if os.environ.get("BREWHOST_PROFILE_OUT") and _profiler is None:
        _profiler = cProfile.Profile()
        _profiler.enable()


def _dump(signum: int, frame: FrameType | None) -> None:
    global _profiler
    if _profiler is not None:
        _profiler.disable()
        _profiler.dump_stats(os.environ["BREWHOST_PROFILE_OUT"])
        _profiler = None
    target = Path(os.environ["BREWHOST_COUNTS_OUT"])
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(dict(COUNTS - _zero)), encoding="utf-8")
    tmp.replace(target)  # the reader never sees half a file


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from bot.cli import main as brewhost
    from bot.db.measure import count_round_trips

    count_round_trips(COUNTS)
    signal.signal(signal.SIGUSR2, _begin)
    signal.signal(signal.SIGUSR1, _dump)
    return brewhost(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
