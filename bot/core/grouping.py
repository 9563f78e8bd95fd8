"""Group planning for an Over A Brew: who sits with whom.

The first principle of Over A Brew is "mix with people who are not like you".
This module turns the list of people who turned up into small rooms, and it is
the one place where that principle is put into practice.  It is pure: standard
library only, no Discord, no database, so it can be tested exhaustively and
reused by the simulator.

What the planner guarantees, in order of importance
---------------------------------------------------

1. **Nobody is ever alone, and rooms are fair.**  Room sizes differ by at most
   one.  How awkward numbers are handled, in plain words:

       We open as many rooms as "people divided by the group size, rounded up".
       If that would leave anyone on their own, we open one room fewer, and
       keep doing so until every room has at least two people.  People are
       then shared out as evenly as possible, so the rooms differ by at most
       one person, and the bigger rooms come first.

   For example, with groups of 4: 9 people make rooms of 3, 3 and 3; 5 people
   make 3 + 2.  With groups of 3, 7 people make 3 + 2 + 2.  With groups of 2,
   3 people make a single room of 3 (never a pair and someone alone), and
   5 people make 3 + 2.  Two people always make one room of two.  A room can
   only end up bigger than the chosen group size when the group size is 2 and
   the number of people is odd: then one room has three.

2. **Keep-apart pairs are never put together.**  This is a safeguarding rule,
   so it is hard: if it cannot be honoured with the room sizes above, the
   planner refuses with :class:`ApartConstraintError` rather than bend it,
   naming the few pairs that clash (a minimal clashing set, so the
   facilitator knows where to look).  Room sizes are not bent either; a
   smaller group size gives more rooms and usually helps.

   The search is complete - it finds a way whenever one exists - unless it
   reaches its work limit (``search_budget``, under a second of work at
   worst).  Only people named in keep-apart pairs are searched over, so a
   realistic list of a handful of pairs is settled almost instantly.  The
   tests compare the planner with brute force on every keep-apart list for
   up to 5 people and on hundreds of random lists for 6 to 9 people, and the
   benchmark on 2,000 random lists for up to 12 people: it has never missed
   a grouping that exists.  The limit is only reached with about 15 or more
   people *and* a very dense list (a large share of all pairs kept apart);
   then the error says so honestly (``proven=False``: "I could not find a
   way", not "there is no way").

3. **People who join by text only sit together.**  When two or more people
   are text-only, they are concentrated into as few rooms as the sizes allow,
   and those rooms are filled with text-only people first, so that as few
   voice people as possible are asked to type.  The turns in such a room are
   typed (``Group.turns_in_text``).  A single text-only person joins one of
   the smallest voice rooms, and that room's turns are typed too.  A
   text-only person is *always* in a room whose turns are typed.  In the rare
   case that keep-apart pairs make the ideal concentration impossible, safety
   wins: the text-only people are concentrated as much as the keep-apart list
   allows instead.

4. **Mixing, as well as the numbers allow** (soft).  Among all groupings that
   meet 1-3, the planner prefers ones where people meet someone they have not
   met recently (``recent_pairs``, usually built by :func:`pair_weights`) and
   where each self-chosen perspective ("carer", "practitioner", ...) is spread
   across rooms as evenly as the counts allow.  It starts from a random
   grouping that meets 1-3 and improves it by swapping people between rooms
   (a text-only person only swaps with another text-only person, so sizes and
   the text-only layout never change, and a swap is never made if it would
   seat a keep-apart pair together).

5. **Repeatable.**  Everything random comes from the ``rng`` you pass in, and
   nothing depends on dict/set iteration order or on the order the people are
   listed in, so the same people, settings and seed always give the same
   rooms.  That makes a brew's grouping explainable after the fact.

The planner is split by rule, and this module is the one to import from:
:mod:`bot.core.grouping_model` (people, rooms, errors), :mod:`bot.core.grouping_rooms`
(rules 1 and 3: sizes and text-only layout), :mod:`bot.core.grouping_apart` (rule 2: the
keep-apart search), :mod:`bot.core.grouping_mixing` (rule 4's score and pair history) and
:mod:`bot.core.grouping_swaps` (rule 4's optimiser).  :func:`plan_groups` below puts them
together in the order of the rules.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from itertools import combinations, pairwise

from bot.core.grouping_apart import (
    DEFAULT_SEARCH_BUDGET,
    KeepApartSearch,
    adjacency,
    seat_constrained,
)
from bot.core.grouping_mixing import (
    DEFAULT_PERSPECTIVE_WEIGHT,
    mixing_cost,
    pair_weights,
    pairs_in,
)
from bot.core.grouping_model import ApartConstraintError, Group, GroupingError, Person
from bot.core.grouping_rooms import exact_layout, fill_rooms, group_sizes, ideal_text_counts
from bot.core.grouping_swaps import DEFAULT_EFFORT, improve_by_swaps

__all__ = [
    "DEFAULT_EFFORT",
    "DEFAULT_PERSPECTIVE_WEIGHT",
    "DEFAULT_SEARCH_BUDGET",
    "ApartConstraintError",
    "Group",
    "GroupingError",
    "Person",
    "group_sizes",
    "mixing_cost",
    "pair_weights",
    "pairs_in",
    "plan_groups",
]


def plan_groups(
    people: Sequence[Person],
    group_size: int,
    *,
    rng: random.Random,
    recent_pairs: Mapping[frozenset[str], float] | None = None,
    apart: Collection[frozenset[str]] = (),
    effort: int = DEFAULT_EFFORT,
    perspective_weight: float = DEFAULT_PERSPECTIVE_WEIGHT,
    search_budget: int = DEFAULT_SEARCH_BUDGET,
) -> list[Group]:
    """Split ``people`` into rooms of about ``group_size``.

    See the module docstring for the rules and their order of priority.

    ``recent_pairs`` maps a pair of keys to how much we would rather they did
    not share a room again (see :func:`pair_weights`); non-positive weights
    and pairs not present are ignored.  ``apart`` lists pairs who must never
    share a room; a set of more than two keys is read as "all of these apart
    from each other" (the safe reading), a set of fewer than two is ignored.
    ``effort`` bounds the number of improving-swap attempts; 0 gives a random
    grouping that still meets the hard rules.  ``perspective_weight`` is what
    one same-perspective pair in a room costs, against 1.0 for a pair who met
    at the last brew.  ``search_budget`` bounds the keep-apart search (see
    :data:`DEFAULT_SEARCH_BUDGET`).

    Raises :class:`GroupingError` for fewer than two people, a group size
    under two or a duplicated key, and :class:`ApartConstraintError` when the
    keep-apart list cannot be honoured.

    The result lists rooms biggest first; the order of members within a room
    carries no meaning.
    """
    n = len(people)
    sizes = group_sizes(n, group_size)
    if effort < 0:
        raise ValueError("effort must be >= 0")
    if perspective_weight < 0:
        raise ValueError("perspective_weight must be >= 0")

    # Canonical order: by key, so the result does not depend on list order.
    ordered = sorted(people, key=lambda p: p.key)
    keys = [p.key for p in ordered]
    for a, b in pairwise(keys):
        if a == b:
            raise GroupingError(
                f"Someone ({a}) appears twice in the list of people for this brew. "
                "Please remove the duplicate and try again."
            )
    index = {key: i for i, key in enumerate(keys)}
    is_text = [p.text_only for p in ordered]
    labels = sorted({p.perspective for p in ordered if p.perspective is not None})
    label_idx = {lab: i for i, lab in enumerate(labels)}
    persp = [label_idx[p.perspective] if p.perspective is not None else -1 for p in ordered]

    # Keep-apart pairs among the people present, as sorted index pairs.
    apart_idx: set[tuple[int, int]] = set()
    for group in apart:
        present = sorted(index[key] for key in group if key in index)
        for i, j in combinations(present, 2):
            apart_idx.add((i, j))
    apart_pairs = sorted(apart_idx)
    apart_sets = adjacency(n, apart_pairs)
    constrained = sorted({i for pair in apart_pairs for i in pair})

    weights: list[dict[int, float]] = [{} for _ in range(n)]
    if recent_pairs:
        for pair, w in recent_pairs.items():
            if len(pair) != 2 or not w > 0:
                continue
            a, b = sorted(pair)
            if a in index and b in index:
                ia, ib = index[a], index[b]
                weights[ia][ib] = float(w)
                weights[ib][ia] = float(w)

    # Seeded random starting point: shuffle people and room order.
    perm = list(range(n))
    rng.shuffle(perm)
    rank = {x: r for r, x in enumerate(perm)}
    constrained.sort(key=rank.__getitem__)
    order = list(range(len(sizes)))
    rng.shuffle(order)

    n_text = sum(is_text)
    ideal = exact_layout(sizes, ideal_text_counts(sizes, n_text))
    searcher = KeepApartSearch(is_text, apart_sets, order, search_budget, rng)
    layout, placed = seat_constrained(
        searcher, ideal, sizes, n_text, constrained, apart_pairs, keys
    )

    rooms = fill_rooms(layout, placed, perm, is_text, order)
    improve_by_swaps(
        rooms, is_text, persp, len(labels), weights, apart_sets, rng, effort, perspective_weight
    )

    # Present rooms biggest first, then in the (random) room order.
    pos = {g: i for i, g in enumerate(order)}
    result = []
    for g in sorted(range(len(rooms)), key=lambda g: (-len(rooms[g]), pos[g])):
        members = tuple(keys[x] for x in rooms[g])
        result.append(Group(members, any(is_text[x] for x in rooms[g])))
    return result
