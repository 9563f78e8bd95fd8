"""The C heap of a long-running ``brewhost run``: one malloc arena, free pages given back.

Why. Measured on ``bench/bench_brews.py --only memory`` (docs/BENCHMARKS.md, issue 12): part of
what the bot's resident memory gained over its first brews was glibc's allocator, not anything
the bot kept:

* **Arenas per thread.** glibc gives each new thread that allocates its own arena (up to 8 per
  core), so every aiosqlite connection thread filled an arena of its own up to that thread's
  high-water mark, with free chunks scattered across all of them (free space inside the heap
  grew from 1.4 to 2.5 MiB over ten brews; with one arena it stays at 0.3-0.8 MiB). The bot's
  threads are few and mostly wait on SQLite, and since glibc 2.26 each thread has a small
  cache of its own that needs no lock, so sharing one arena is cheap (see the benchmarks).
* **Free pages kept.** glibc returns free memory to the system only from the top of the main
  heap; :func:`trim` (``malloc_trim(0)``) also gives back whole free pages in the middle. It
  runs after the idle full garbage collection (:mod:`bot.shell.gc_policy`), when what that
  pass freed is free.

Both are best effort: on another C library (musl, macOS) they do nothing.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from typing import Any

log = logging.getLogger(__name__)

#: ``mallopt`` parameter number of ``M_ARENA_MAX`` in glibc's ``malloc.h``.
M_ARENA_MAX = -8

_libc: Any = None


def _glibc() -> Any:
    """glibc's handle, or None when the process does not run on glibc."""
    global _libc
    if _libc is None:
        _libc = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL("libc.so.6")  # no find_library: it runs ldconfig
                libc.gnu_get_libc_version  # only glibc has it  # noqa: B018
                libc.malloc_trim  # noqa: B018
                libc.mallopt  # noqa: B018
                _libc = libc
            except (OSError, AttributeError):
                log.debug("not glibc: the heap is left to the C library's defaults")
    return _libc or None


def one_arena() -> bool:
    """Make every thread allocate from the main arena. Call it before any thread starts (the
    start of ``brewhost run``): arenas already made stay in use. True if it took effect."""
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(M_ARENA_MAX, 1) == 1)


def trim() -> bool:
    """Give whole free pages of the C heap back to the system. True if any went back."""
    libc = _glibc()
    return bool(libc is not None and libc.malloc_trim(0) == 1)
