"""Keep the garbage collector's full passes short, so a burst of presses is never stalled by one.

CPython's oldest-generation collection walks every tracked object. Right after start-up most of
them are the imported modules, classes and functions of discord.py, SQLAlchemy and aiohttp
(about 130,000 objects), which live as long as the process; a full pass over them stalled the
event loop for 100-300 ms under load, and the allocations of 100 presses at once were enough to
trigger one in the middle of the burst (measured in ``bench/bench_interactions.py``, see
docs/BENCHMARKS.md, issue 12). :func:`settle_heap` moves everything alive at that moment into
the permanent generation (:func:`gc.freeze`), which the collector never walks again; objects made
afterwards are collected as before.

It runs once per process, when the bot is first ready (the imports are done and the caches are
filled): a young-generation collection first, so fresh garbage is not frozen with the rest. The
cost is a one-off: the few cyclic leftovers of start-up that are still in the old generation are
kept rather than freed.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

_settled = False


def settle_heap() -> bool:
    """Freeze what is alive now; True the first time in this process, False after."""
    global _settled
    if _settled:
        return False
    _settled = True
    gc.collect(1)
    gc.freeze()
    log.debug("froze %d long-lived objects out of full collections", gc.get_freeze_count())
    return True
