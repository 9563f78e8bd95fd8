"""Rehearsals: the real BrewBot on the local Discord simulator (:mod:`discordsim`).

The only part of the ``bot`` package that imports the simulator. :mod:`.stage` boots the bot
on it (used by ``brewhost demo``, the integration tests and the benchmarks); the other modules
are the demo: :mod:`.demo` (entry point and run), :mod:`.people` (the cast), :mod:`.script`
(what they do), :mod:`.watcher` and :mod:`.transcript` (what is printed), :mod:`.checks`.
"""
