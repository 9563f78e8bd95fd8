"""Ground truth for grouping with keep-apart pairs, by exhaustive search (standard library only).

Shared by the grouping tests (``tests/core/test_grouping.py``) and the mixing benchmark
(``bench/bench_mixing.py``), which both check that the planner never refuses a split that exists.
"""

from __future__ import annotations

from collections.abc import Sequence


def brute_force_solvable(
    keys: Sequence[str], sizes: Sequence[int], apart: set[frozenset[str]]
) -> bool:
    """Ground truth: is there any split into rooms of ``sizes`` (any order)
    that keeps every ``apart`` pair in different rooms?  Exhaustive, with
    only the obviously safe symmetry cut (empty rooms of equal size are
    interchangeable)."""
    rooms: list[list[str]] = [[] for _ in sizes]

    def rec(i: int) -> bool:
        if i == len(keys):
            return True
        tried_empty: set[int] = set()
        for g, size in enumerate(sizes):
            if len(rooms[g]) >= size:
                continue
            if not rooms[g]:
                if size in tried_empty:
                    continue
                tried_empty.add(size)
            if any(frozenset((keys[i], o)) in apart for o in rooms[g]):
                continue
            rooms[g].append(keys[i])
            if rec(i + 1):
                return True
            rooms[g].pop()
        return False

    return rec(0)
