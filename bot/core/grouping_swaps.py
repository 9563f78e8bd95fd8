"""The optimiser: improve a grouping that already meets the hard rules by swapping people.

An iterated local search over swaps of two people of the same kind (text-only with text-only,
voice with voice), so room sizes and the text-only layout never change, and never a swap
that seats a keep-apart pair together.  It minimises the cost defined in
:mod:`bot.core.grouping_mixing`, kept incrementally so one swap is judged in constant time.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

#: Default number of improving-swap attempts.  Chosen so that 200 people are
#: planned in a few tens of milliseconds on a small machine (see
#: docs/BENCHMARKS.md); smaller brews finish much sooner.
DEFAULT_EFFORT = 6000

#: The swap search stops after this many attempts in a row without a strict
#: improvement (per person, with a floor), whatever ``effort`` allows.
_STALL_PER_PERSON = 25
_MIN_STALL = 300
#: Patience of the shorter descents after each kick (see ``improve_by_swaps``).
_KICK_STALL_PER_PERSON = 10
_MIN_KICK_STALL = 60
#: Kicks stop after this many in a row fail to find a better grouping
#: (at least this many, or one per person).
_MIN_KICK_PATIENCE = 30


def improve_by_swaps(
    rooms: list[list[int]],
    is_text: Sequence[bool],
    persp: Sequence[int],
    n_persp: int,
    weights: Sequence[dict[int, float]],
    apart: Sequence[frozenset[int]],
    rng: random.Random,
    effort: int,
    perspective_weight: float,
) -> None:
    """Improve ``rooms`` in place by swapping two people of the same kind
    (text-only with text-only, voice with voice) between rooms.

    This is an iterated local search.  A *descent* repeatedly picks a random
    person who currently has some cost (has met a roommate recently, or
    shares a perspective with one), samples a few people to swap with, and
    makes the best swap if it does not make things worse; accepting equal-cost
    swaps lets it drift across plateaus.  When a descent stops finding
    improvements, the best grouping so far is *kicked* with a couple of random
    swaps and descended again, which gets small brews out of local optima.
    ``effort`` bounds the total number of attempts; the search also stops as
    soon as the cost is zero or kicks keep failing.  Every choice comes from
    ``rng``, so it is deterministic under a seed.  Swaps that would seat a
    keep-apart pair together are never made.

    Why a table ``met[x][g]`` (total recent-meeting weight between ``x`` and
    the people in room ``g``): it makes judging a swap O(1) instead of a walk
    over both rooms, which is what keeps 200 people well under 100 ms.
    """
    n = len(is_text)
    k = len(rooms)
    if k < 2 or effort <= 0:
        return
    group_of = [0] * n
    pc = [[0] * max(n_persp, 1) for _ in range(k)]
    met = [[0.0] * k for _ in range(n)]
    # Sorted, so float sums never depend on dict insertion order.
    neighbours = [sorted(w.items()) for w in weights]

    def index_rooms() -> None:
        for g, r in enumerate(rooms):
            row = pc[g]
            for i in range(len(row)):
                row[i] = 0
            for x in r:
                group_of[x] = g
                if persp[x] >= 0:
                    row[persp[x]] += 1
        for x in range(n):
            mx = met[x]
            for g in range(k):
                mx[g] = 0.0
            for y, w in neighbours[x]:
                mx[group_of[y]] += w

    index_rooms()
    by_kind: dict[bool, list[int]] = {True: [], False: []}
    for x in range(n):
        by_kind[is_text[x]].append(x)
    # A kind whose members all share one room can never swap usefully.
    spread = {kind: len({group_of[y] for y in xs}) > 1 for kind, xs in by_kind.items()}
    movable = [x for x in range(n) if spread[is_text[x]]]
    if not movable:
        return
    pw = perspective_weight
    samples = 6
    eps = 1e-9

    def own_cost(x: int) -> float:
        """What ``x`` costs in its current room."""
        g = group_of[x]
        px = persp[x]
        return met[x][g] + (pw * (pc[g][px] - 1) if px >= 0 else 0.0)

    def swap_delta(a: int, b: int) -> float:
        """Change in total cost if ``a`` and ``b`` (in different rooms) swap."""
        ga, gb = group_of[a], group_of[b]
        ma, mb = met[a], met[b]
        d = ma[gb] - ma[ga] + mb[ga] - mb[gb] - 2.0 * weights[a].get(b, 0.0)
        pa, pb = persp[a], persp[b]
        if pa != pb:
            # a leaves ga and joins gb; b leaves gb and joins ga.
            if pa >= 0:
                d += pw * ((pc[gb][pa] - pc[ga][pa]) + 1)
            if pb >= 0:
                d += pw * ((pc[ga][pb] - pc[gb][pb]) + 1)
        return d

    def total_cost() -> float:
        return sum(own_cost(x) for x in range(n)) / 2

    def clashes(x: int, g: int, leaving: int) -> bool:
        ax = apart[x]
        return bool(ax) and any(y in ax and y != leaving for y in rooms[g])

    log: list[tuple[int, int]] = []  # swaps since the best grouping so far

    def swap(a: int, b: int) -> None:
        log.append((a, b))
        ga, gb = group_of[a], group_of[b]
        ra, rb = rooms[ga], rooms[gb]
        ra[ra.index(a)] = b
        rb[rb.index(b)] = a
        group_of[a], group_of[b] = gb, ga
        pa, pb = persp[a], persp[b]
        if pa >= 0:
            pc[ga][pa] -= 1
            pc[gb][pa] += 1
        if pb >= 0:
            pc[gb][pb] -= 1
            pc[ga][pb] += 1
        for y, w in neighbours[a]:
            my = met[y]
            my[ga] -= w
            my[gb] += w
        for y, w in neighbours[b]:
            my = met[y]
            my[gb] -= w
            my[ga] += w

    def undo() -> None:
        """Return to the best grouping so far: swapping the same two people
        again puts them back, so replay the log backwards."""
        steps = log[::-1]
        for a, b in steps:
            swap(a, b)
        log.clear()

    n_mov = len(movable)
    left = effort

    def descend(stall_limit: int) -> None:
        """Greedy swaps until ``stall_limit`` attempts in a row bring no
        strict improvement, or the effort runs out."""
        nonlocal left
        stalled = 0
        while left > 0 and stalled < stall_limit:
            left -= 1
            stalled += 1
            a = movable[rng.randrange(n_mov)]
            if own_cost(a) <= eps:
                continue
            ga = group_of[a]
            pool = by_kind[is_text[a]]
            best_b = -1
            best_d = eps  # accept only swaps that do not make things worse
            for _s in range(samples):
                b = pool[rng.randrange(len(pool))]
                gb = group_of[b]
                if gb == ga:
                    continue
                d = swap_delta(a, b)
                if d < best_d and not clashes(a, gb, b) and not clashes(b, ga, a):
                    best_b, best_d = b, d
            if best_b >= 0:
                if best_d < -eps:
                    stalled = 0
                swap(a, best_b)

    # First descent: long patience, this is where nearly all the gain is.
    descend(max(_MIN_STALL, _STALL_PER_PERSON * n))
    best_cost = total_cost()
    log.clear()
    kick_stall = max(_MIN_KICK_STALL, _KICK_STALL_PER_PERSON * n)
    fruitless = 0
    kick_patience = max(_MIN_KICK_PATIENCE, n)
    while left > 0 and best_cost > eps and fruitless < kick_patience:
        fruitless += 1
        # Kick: a few random swaps, whatever they cost.
        for _k in range(1 + rng.randrange(3)):
            for _try in range(10):
                a = movable[rng.randrange(n_mov)]
                pool = by_kind[is_text[a]]
                b = pool[rng.randrange(len(pool))]
                ga, gb = group_of[a], group_of[b]
                if ga != gb and not clashes(a, gb, b) and not clashes(b, ga, a):
                    swap(a, b)
                    break
        left -= 1
        descend(kick_stall)
        cost = total_cost()
        if cost < best_cost - eps:
            fruitless = 0
            best_cost = cost
            log.clear()
        else:
            undo()
