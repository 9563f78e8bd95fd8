"""APScheduler's asyncio scheduler and two triggers, without the modules Brew Host never uses.

Why. ``apscheduler.schedulers.base`` imports, at module level, ``apscheduler.executors.pool``
(its thread and *process* pool executors, which pull in ``multiprocessing`` and
``concurrent.futures.process``) and ``tzlocal`` (to find the machine's time zone). Brew Host
runs every job on the event loop (:class:`AsyncIOScheduler` has its own default executor) and
gives every scheduler and trigger ``timezone=UTC``, so neither is ever used; together they were
0.6 MiB of an idle ``brewhost run`` (docs/BENCHMARKS.md, issue 12, section 5).

How. While APScheduler's modules are first imported, the two are stand-ins in
``sys.modules`` whose names load the real module when they are *called* (so an executor or a
local time zone asked for after all still works), and the stand-ins are removed straight after:
a later ``import tzlocal`` or ``import apscheduler.executors.pool`` gets the real module.
``tests/cli/test_lazy_imports.py`` checks that a running bot loads neither.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any


def _deferred(module: str, name: str) -> Any:
    """A callable standing for ``module.name`` that imports ``module`` when first called."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


def _stand_ins() -> dict[str, types.ModuleType]:
    pool = types.ModuleType("apscheduler.executors.pool")
    pool.ThreadPoolExecutor = _deferred(  # type: ignore[attr-defined]
        "apscheduler.executors.pool", "ThreadPoolExecutor"
    )
    tzlocal = types.ModuleType("tzlocal")
    tzlocal.get_localzone = _deferred("tzlocal", "get_localzone")  # type: ignore[attr-defined]
    return {pool.__name__: pool, tzlocal.__name__: tzlocal}


def _import() -> tuple[type[Any], type[Any], type[Any]]:
    placed = {name: module for name, module in _stand_ins().items() if name not in sys.modules}
    sys.modules.update(placed)
    try:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from apscheduler.triggers.date import DateTrigger
        from apscheduler.triggers.interval import IntervalTrigger
    finally:
        for name, module in placed.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
    return AsyncIOScheduler, DateTrigger, IntervalTrigger


if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.date import DateTrigger
    from apscheduler.triggers.interval import IntervalTrigger
else:
    AsyncIOScheduler, DateTrigger, IntervalTrigger = _import()

__all__ = ["AsyncIOScheduler", "DateTrigger", "IntervalTrigger"]
