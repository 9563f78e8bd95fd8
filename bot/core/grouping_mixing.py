"""The mixing score and the pair history it is judged against (rule 4, soft).

:func:`pair_weights` turns who met whom in past brews into weights, recent meetings weighing
most; :func:`mixing_cost` is the number the planner makes small (repeat meetings plus
same-perspective pairs in a room); :func:`pairs_in` is what a finished grouping adds to the
history.  The swap search in :mod:`bot.core.grouping_swaps` keeps the same cost incrementally
(it never calls :func:`mixing_cost`, which is for tests and the benchmark to judge its results).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from itertools import combinations

from bot.core.grouping_model import Group, Person

#: How much a same-perspective pair in one room counts, compared with a pair
#: who met in the most recent brew (weight 1.0 from :func:`pair_weights`).
DEFAULT_PERSPECTIVE_WEIGHT = 0.5


def pairs_in(groups: Sequence[Group]) -> set[frozenset[str]]:
    """Every pair of people who share a room in ``groups``."""
    return {frozenset(p) for g in groups for p in combinations(g.members, 2) if p[0] != p[1]}


def pair_weights(
    history: Sequence[Collection[frozenset[str]]],
    *,
    decay: float = 0.8,
    window: int | None = None,
) -> dict[frozenset[str], float]:
    """Turn meeting history into ``recent_pairs`` weights for :func:`plan_groups`.

    ``history[0]`` is the set of pairs who met in the most recent brew,
    ``history[1]`` the one before, and so on.  A meeting ``i`` brews ago adds
    ``decay ** i`` to the pair's weight, so a pair who met last time weighs
    1.0, and pairs who have met again and again weigh more.  Why decay rather
    than a flat count: meeting someone again after a long gap is fine and even
    welcome; meeting the same person every week is what makes a group feel
    cliquey.  ``window`` limits how many past brews are looked at.

    Pairs that are not exactly two distinct keys are ignored.
    """
    if not 0.0 < decay <= 1.0:
        raise ValueError("decay must be in (0, 1]")
    if window is not None and window < 0:
        raise ValueError("window must be >= 0")
    brews = history if window is None else history[:window]
    out: dict[frozenset[str], float] = {}
    for age, met in enumerate(brews):
        w = decay**age
        for pair in set(met):
            if len(pair) == 2:
                out[pair] = out.get(pair, 0.0) + w
    return out


def mixing_cost(
    groups: Sequence[Group],
    people: Sequence[Person],
    recent_pairs: Mapping[frozenset[str], float] | None = None,
    *,
    perspective_weight: float = DEFAULT_PERSPECTIVE_WEIGHT,
) -> float:
    """The quantity :func:`plan_groups` tries to make small (lower is better).

    Sum of ``recent_pairs`` weights over pairs sharing a room, plus
    ``perspective_weight`` for every pair of people with the same perspective
    in the same room.  Counting same-perspective *pairs* is what spreads a
    perspective evenly: it is smallest exactly when each room has as few of a
    perspective as the counts force.  Exposed for tests and the benchmark.
    """
    persp = {p.key: p.perspective for p in people}
    total = 0.0
    for g in groups:
        for a, b in combinations(g.members, 2):
            if recent_pairs:
                total += max(0.0, recent_pairs.get(frozenset((a, b)), 0.0))
            pa = persp.get(a)
            if pa is not None and pa == persp.get(b):
                total += perspective_weight
    return total
