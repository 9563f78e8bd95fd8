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
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations, pairwise

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

#: Default number of improving-swap attempts.  Chosen so that 200 people are
#: planned in a few tens of milliseconds on a small machine (see
#: docs/BENCHMARKS.md); smaller brews finish much sooner.
DEFAULT_EFFORT = 6000

#: Default limit on the work the keep-apart search may do in one planning
#: call before it gives up honestly, counted in "one person checked against
#: one room" units (about half a microsecond each, so under a second at
#: worst).  Realistic keep-apart lists need a few hundred units.
DEFAULT_SEARCH_BUDGET = 1_000_000

#: The swap search stops after this many attempts in a row without a strict
#: improvement (per person, with a floor), whatever ``effort`` allows.
_STALL_PER_PERSON = 25
_MIN_STALL = 300
#: Patience of the shorter descents after each kick (see ``_improve``).
_KICK_STALL_PER_PERSON = 10
_MIN_KICK_STALL = 60
#: Kicks stop after this many in a row fail to find a better grouping
#: (at least this many, or one per person).
_MIN_KICK_PATIENCE = 30

#: At most this many fallback text-only layouts are tried (within what is
#: left of the search budget) before settling for the unconcentrated one.
_MAX_RELAXED_LAYOUTS = 50

#: At most this many pairs are tested when shrinking a clash to its core.
_MAX_CLASH_CHECKS = 60

#: How much a same-perspective pair in one room counts, compared with a pair
#: who met in the most recent brew (weight 1.0 from :func:`pair_weights`).
DEFAULT_PERSPECTIVE_WEIGHT = 0.5


@dataclass(frozen=True)
class Person:
    """Someone who has turned up for the brew.

    ``key`` is opaque to this module (the bot uses the Discord user id as a
    string); it only needs to be stable per person so that history and
    keep-apart lists can refer to them.
    """

    key: str
    text_only: bool = False
    perspective: str | None = None


@dataclass(frozen=True)
class Group:
    """One room.  ``turns_in_text`` is True when anyone in it is text-only, so
    the facilitator runs the turns by typing rather than speaking."""

    members: tuple[str, ...]
    turns_in_text: bool


class GroupingError(ValueError):
    """The brew cannot be grouped as asked.

    The message is written for a facilitator: plain, kind English that says
    what to try next.
    """


class ApartConstraintError(GroupingError):
    """The keep-apart (safeguarding) list cannot be honoured.

    ``pairs`` lists the keep-apart pairs (by key, each pair sorted) that clash.
    When ``proven`` is True, these pairs together certainly cannot all be
    honoured with these room sizes; when ``minimal`` is also True, dropping
    any one of them would make a grouping possible (so they are the pairs to
    look at).  When ``proven`` is False the search reached its limit;
    ``pairs`` is then every keep-apart pair among the people present, and a
    grouping may still exist.
    """

    def __init__(
        self,
        message: str,
        pairs: Sequence[tuple[str, str]],
        *,
        proven: bool,
        minimal: bool = False,
    ) -> None:
        super().__init__(message)
        self.pairs: tuple[tuple[str, str], ...] = tuple(pairs)
        self.proven = proven
        self.minimal = minimal


# --------------------------------------------------------------------------
# Sizes
# --------------------------------------------------------------------------


def _check_counts(n: int, group_size: int) -> None:
    if group_size < 2:
        raise GroupingError(
            f"A room needs at least two people, so a group size of {group_size} can't work. "
            "Please choose a group size of 2 or more."
        )
    if n < 2:
        who = "Nobody has" if n <= 0 else "Only one person has"
        raise GroupingError(
            f"{who} joined yet, and a brew needs at least two people to talk. "
            "It may be worth waiting a few minutes for others to arrive."
        )


def group_sizes(n: int, group_size: int) -> list[int]:
    """Room sizes for ``n`` people aiming at ``group_size`` per room.

    The rule (see the module docstring for the plain-words version): open
    ``ceil(n / group_size)`` rooms, but never so many that a room would have
    fewer than two people; share people out so that sizes differ by at most
    one, biggest rooms first.

    >>> group_sizes(7, 3)
    [3, 2, 2]
    >>> group_sizes(5, 4)
    [3, 2]
    >>> group_sizes(3, 2)
    [3]
    """
    _check_counts(n, group_size)
    rooms = min(math.ceil(n / group_size), n // 2)
    base, extra = divmod(n, rooms)
    return [base + 1] * extra + [base] * (rooms - extra)


# --------------------------------------------------------------------------
# History helpers
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# Text-only layout
# --------------------------------------------------------------------------


def _ideal_text_counts(sizes: Sequence[int], t: int) -> list[int]:
    """How many text-only people each room should get, ideally.

    ``sizes`` is biggest-first (as from :func:`group_sizes`).  We use the
    fewest rooms that can hold all ``t`` text-only people, and among those the
    choice with the smallest total capacity, so the fewest voice people end up
    typing.  Rooms are filled with text-only people first; the one room with
    spare places is a big one if any (so its text-only people have the most
    company).  A single text-only person goes to a smallest room.
    """
    k = len(sizes)
    counts = [0] * k
    if t == 0:
        return counts
    small = min(sizes)
    big_idx = [i for i, s in enumerate(sizes) if s > small]
    small_idx = [i for i, s in enumerate(sizes) if s == small]
    kb, ks = len(big_idx), len(small_idx)
    for m in range(1, k + 1):
        if sum(sizes[:m]) >= t:  # sizes are biggest-first
            break
    a = max(0, m - ks, t - m * small)
    chosen = big_idx[:a] + small_idx[: m - a]
    assert a <= kb
    for i in chosen:
        counts[i] = sizes[i]
    slack = sum(sizes[i] for i in chosen) - t
    counts[chosen[0]] -= slack
    assert counts[chosen[0]] >= 1
    return counts


@dataclass
class _Layout:
    """Capacities for one search: total places, text-only places and voice
    places per room.  ``exact`` layouts have text_cap + voice_cap == size."""

    sizes: list[int]
    text_cap: list[int]
    voice_cap: list[int]
    exact: bool = False


def _exact_layout(sizes: list[int], counts: list[int]) -> _Layout:
    return _Layout(sizes, list(counts), [s - c for s, c in zip(sizes, counts, strict=True)], True)


def _relaxed_layouts(sizes: list[int], t: int) -> Iterable[_Layout]:
    """Fallback layouts, most concentrated first: text-only people may sit
    anywhere within a chosen set of rooms.  Ends with "any room"."""
    k = len(sizes)
    small = min(sizes)
    big_idx = [i for i, s in enumerate(sizes) if s > small]
    small_idx = [i for i, s in enumerate(sizes) if s == small]
    kb, ks = len(big_idx), len(small_idx)
    for m in range(1, k + 1):
        for a in range(max(0, m - ks), min(kb, m) + 1):  # capacity ascending
            chosen = set(big_idx[:a] + small_idx[: m - a])
            if sum(sizes[i] for i in chosen) < t:
                continue
            yield _Layout(
                sizes, [sizes[i] if i in chosen else 0 for i in range(k)], list(sizes), False
            )


# --------------------------------------------------------------------------
# Keep-apart search (complete backtracking over constrained people only)
# --------------------------------------------------------------------------


class _OutOfBudget(Exception):
    pass


class _Searcher:
    """Backtracking search that seats the people named in keep-apart pairs.

    Why only them: anyone not in a keep-apart pair can sit anywhere, so once
    the constrained people are seated (respecting room capacities for their
    kind), everyone else simply fills the remaining places.  This keeps the
    search tiny in practice.  It picks the person with the fewest possible
    rooms first and treats empty rooms with identical capacities as
    interchangeable, which keeps it complete while cutting symmetric work.
    """

    def __init__(
        self,
        is_text: Sequence[bool],
        apart: Sequence[frozenset[int]],
        order: Sequence[int],
        budget: int,
        rng: random.Random,
    ) -> None:
        self.is_text = is_text
        self.apart = apart
        self.order = list(order)
        self.left = budget  # steps left for the whole planning call
        self.rng = rng
        self.nodes = 0

    def run(
        self,
        layout: _Layout,
        constrained: Sequence[int],
        apart_active: Sequence[frozenset[int]] | None = None,
        *,
        greedy: bool = True,
        cap: int | None = None,
    ) -> dict[int, int] | None:
        """Seat ``constrained`` people; return person -> room, or None if
        impossible.  Raises _OutOfBudget when this run has used ``cap`` steps
        or the call's whole budget is used up."""
        self.nodes = 0
        limit = self.left if cap is None else min(cap, self.left)
        try:
            return self._run(layout, constrained, apart_active, greedy, limit)
        finally:
            self.left -= self.nodes

    def _run(
        self,
        layout: _Layout,
        constrained: Sequence[int],
        apart_active: Sequence[frozenset[int]] | None,
        greedy: bool,
        limit: int,
    ) -> dict[int, int] | None:
        apart = self.apart if apart_active is None else apart_active
        is_text = self.is_text
        k = len(layout.sizes)
        sizes, tcap, vcap = layout.sizes, layout.text_cap, layout.voice_cap
        n_text_total = sum(1 for x in is_text if x)
        n_voice_total = len(is_text) - n_text_total
        cnt = [0] * k
        ctext = [0] * k
        cvoice = [0] * k
        seated: list[list[int]] = [[] for _ in range(k)]
        placed: dict[int, int] = {}
        unplaced = list(constrained)
        text_left = [n_text_total]
        voice_left = [n_voice_total]

        def room_fits(x: int, g: int) -> bool:
            if cnt[g] >= sizes[g]:
                return False
            if is_text[x]:
                if ctext[g] >= tcap[g]:
                    return False
            elif cvoice[g] >= vcap[g]:
                return False
            ax = apart[x]
            return not any(y in ax for y in seated[g])

        def capacity_ok() -> bool:
            tfree = vfree = 0
            for g in range(k):
                room = sizes[g] - cnt[g]
                tfree += min(tcap[g] - ctext[g], room)
                vfree += min(vcap[g] - cvoice[g], room)
            return text_left[0] <= tfree and voice_left[0] <= vfree

        def seat(x: int, g: int) -> None:
            placed[x] = g
            seated[g].append(x)
            cnt[g] += 1
            if is_text[x]:
                ctext[g] += 1
                text_left[0] -= 1
            else:
                cvoice[g] += 1
                voice_left[0] -= 1

        def unseat(x: int) -> None:
            g = placed.pop(x)
            seated[g].remove(x)
            cnt[g] -= 1
            if is_text[x]:
                ctext[g] -= 1
                text_left[0] += 1
            else:
                cvoice[g] -= 1
                voice_left[0] += 1

        n_free_text = n_text_total - sum(1 for x in constrained if is_text[x])
        n_free_voice = n_voice_total - sum(1 for x in constrained if not is_text[x])

        def rooms_fillable(fits: dict[int, list[int]]) -> bool:
            """Can every room still be filled?  A room's remaining places must
            come from unplaced constrained people who still fit it, or from
            the unconstrained people of a kind it has room for.  (In an exact
            layout the text and voice places must each be filled.)  This is
            what prunes dense, hopeless keep-apart lists quickly."""
            sup_t = [0] * k
            sup_v = [0] * k
            for x, gs in fits.items():
                sup = sup_t if is_text[x] else sup_v
                for g in gs:
                    sup[g] += 1
            for g in range(k):
                need = sizes[g] - cnt[g]
                if not need:
                    continue
                t_room = tcap[g] - ctext[g]
                v_room = vcap[g] - cvoice[g]
                avail = sup_t[g] + sup_v[g]
                avail += n_free_text if t_room > 0 else 0
                avail += n_free_voice if v_room > 0 else 0
                if avail < need:
                    return False
                if layout.exact and (
                    t_room > sup_t[g] + n_free_text or v_room > sup_v[g] + n_free_voice
                ):
                    return False
            return True

        def rec() -> bool:
            # Count work, not just steps: each step checks every unseated
            # person against every room, so the budget bounds time.
            self.nodes += 1 + len(unplaced) * k
            if self.nodes > limit:
                raise _OutOfBudget
            if not capacity_ok():
                return False
            if not unplaced:
                return True
            fits = {x: [g for g in self.order if room_fits(x, g)] for x in unplaced}
            if not rooms_fillable(fits):
                return False
            best_i = min(range(len(unplaced)), key=lambda i: len(fits[unplaced[i]]))
            x = unplaced.pop(best_i)
            seen: set[tuple[int, int, int]] = set()
            for g in fits[x]:
                if cnt[g] == 0:  # empty rooms with equal capacities are interchangeable
                    sig = (sizes[g], tcap[g], vcap[g])
                    if sig in seen:
                        continue
                    seen.add(sig)
                seat(x, g)
                if rec():
                    return True
                unseat(x)
            unplaced.insert(best_i, x)
            return False

        # Quick greedy pass first (most-constrained people first, a random
        # fitting room each); with the short keep-apart lists seen in
        # practice it nearly always succeeds, and costs O(people x rooms)
        # where the full search costs that per step.
        if greedy:
            rng = self.rng
            first = sorted(unplaced, key=lambda x: -len(apart[x]))
            for x in first:
                fits = [g for g in self.order if room_fits(x, g)]
                if not fits:
                    break
                seat(x, fits[rng.randrange(len(fits))])
                if not capacity_ok():
                    break
            else:
                return dict(placed)
            for x in first:
                if x in placed:
                    unseat(x)
        try:
            return dict(placed) if rec() else None
        except RecursionError:  # thousands of constrained people: give up honestly
            raise _OutOfBudget from None


def _fill(
    layout: _Layout,
    placed: Mapping[int, int],
    people: Sequence[int],
    is_text: Sequence[bool],
    order: Sequence[int],
) -> list[list[int]]:
    """Seat everyone not yet seated.  Text-only people fill rooms in ``order``
    one room at a time (concentrating them); voice people fill what is left."""
    k = len(layout.sizes)
    rooms: list[list[int]] = [[] for _ in range(k)]
    ctext = [0] * k
    cvoice = [0] * k
    for x in people:
        if x in placed:
            g = placed[x]
            rooms[g].append(x)
            if is_text[x]:
                ctext[g] += 1
            else:
                cvoice[g] += 1
    for want_text in (True, False):
        cap = layout.text_cap if want_text else layout.voice_cap
        cur = ctext if want_text else cvoice
        slots = [
            g for g in order for _ in range(min(cap[g] - cur[g], layout.sizes[g] - len(rooms[g])))
        ]
        free = [x for x in people if x not in placed and is_text[x] == want_text]
        assert len(slots) >= len(free)
        for x, g in zip(free, slots, strict=False):
            rooms[g].append(x)
    assert all(len(r) == s for r, s in zip(rooms, layout.sizes, strict=True))
    return rooms


# --------------------------------------------------------------------------
# Mixing cost and local search
# --------------------------------------------------------------------------


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


def _improve(
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


# --------------------------------------------------------------------------
# The planner
# --------------------------------------------------------------------------


def _pair_list(pairs: Iterable[tuple[str, str]]) -> str:
    items = [f"{a} & {b}" for a, b in pairs]
    return "; ".join(items)


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
    apart_sets = _adjacency(n, apart_pairs)
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
    ideal = _exact_layout(sizes, _ideal_text_counts(sizes, n_text))
    searcher = _Searcher(is_text, apart_sets, order, search_budget, rng)
    layout, placed = _seat_constrained(
        searcher, ideal, sizes, n_text, constrained, apart_pairs, keys
    )

    rooms = _fill(layout, placed, perm, is_text, order)
    _improve(
        rooms, is_text, persp, len(labels), weights, apart_sets, rng, effort, perspective_weight
    )

    # Present rooms biggest first, then in the (random) room order.
    pos = {g: i for i, g in enumerate(order)}
    result = []
    for g in sorted(range(len(rooms)), key=lambda g: (-len(rooms[g]), pos[g])):
        members = tuple(keys[x] for x in rooms[g])
        result.append(Group(members, any(is_text[x] for x in rooms[g])))
    return result


def _adjacency(n: int, pairs: Iterable[tuple[int, int]]) -> list[frozenset[int]]:
    adj: list[set[int]] = [set() for _ in range(n)]
    for i, j in pairs:
        adj[i].add(j)
        adj[j].add(i)
    return [frozenset(s) for s in adj]


def _seat_constrained(
    searcher: _Searcher,
    ideal: _Layout,
    sizes: list[int],
    n_text: int,
    constrained: list[int],
    apart_pairs: list[tuple[int, int]],
    keys: Sequence[str],
) -> tuple[_Layout, dict[int, int]]:
    """Find a layout and seats for the keep-apart people, or raise.

    Order of attempts: the ideal text-only layout (with at most half the
    search budget when there are text-only people, so that a hard case
    leaves room for the next step); then, only if that fails, whether *any*
    grouping keeps the pairs apart, raising if not; then progressively less
    concentrated text-only layouts, within what is left of the budget.
    """
    if not constrained:
        return ideal, {}
    anywhere = _Layout(sizes, list(sizes), list(sizes), False)
    # With no text-only people the ideal layout *is* "anywhere".
    first_cap = searcher.left // 2 if n_text else None
    try:
        found = searcher.run(ideal, constrained, cap=first_cap)
        exhausted = False
    except _OutOfBudget:
        found, exhausted = None, True
    if found is not None:
        return ideal, found
    fallback: dict[int, int] | None = None
    if n_text:
        try:
            fallback = searcher.run(anywhere, constrained)
            exhausted = False
        except _OutOfBudget:
            exhausted = True
    if exhausted:
        pairs = [(keys[i], keys[j]) for i, j in apart_pairs]
        raise ApartConstraintError(
            "I couldn't find a way to seat everyone so that all the keep-apart pairs "
            f"are in different rooms ({len(sizes)} rooms for {len(keys)} people). "
            "It may still be possible, but the list is too tangled for me to be sure. "
            f"Keep-apart pairs involved: {_pair_list(pairs)}. Trying a smaller group "
            "size, or checking whether every pair is still needed, usually helps.",
            pairs,
            proven=False,
        )
    if fallback is None:
        clash, minimal = _minimal_clash(searcher, anywhere, apart_pairs, len(keys))
        pairs = [(keys[i], keys[j]) for i, j in clash]
        sizes_txt = " + ".join(str(s) for s in sizes)
        raise ApartConstraintError(
            f"There's no way to split {len(keys)} people into rooms of {sizes_txt} "
            "while keeping these keep-apart pairs in different rooms: "
            f"{_pair_list(pairs)}. Nobody has done anything wrong - the numbers just "
            "don't work today. A smaller group size (more rooms) or a one-off change "
            "to who joins usually makes it possible.",
            pairs,
            proven=True,
            minimal=minimal,
        )
    for tried, layout in enumerate(_relaxed_layouts(sizes, n_text)):
        if tried >= _MAX_RELAXED_LAYOUTS or searcher.left <= 0:
            break
        try:
            found = searcher.run(layout, constrained)
        except _OutOfBudget:
            break
        if found is not None:
            return layout, found
    return anywhere, fallback


def _minimal_clash(
    searcher: _Searcher,
    layout: _Layout,
    apart_pairs: list[tuple[int, int]],
    n: int,
) -> tuple[list[tuple[int, int]], bool]:
    """Shrink the keep-apart list to a minimal set that still cannot be met,
    so the facilitator sees the few pairs that actually clash, not the whole
    list.  Drops each pair in turn and leaves it out if the rest is still
    impossible, so the set returned is always a proven clash.  Returns the set
    and whether it is known to be minimal (it is not if the search budget or
    the cap on checks ran out first)."""
    keep = list(apart_pairs)
    minimal = len(apart_pairs) <= _MAX_CLASH_CHECKS
    for pair in list(apart_pairs)[:_MAX_CLASH_CHECKS]:
        trial = [p for p in keep if p != pair]
        adj = _adjacency(n, trial)
        cons = sorted({i for p in trial for i in p})
        try:
            res = searcher.run(layout, cons, adj, greedy=False)
        except _OutOfBudget:
            return keep, False
        if res is None:
            keep = trial
    return keep, minimal
