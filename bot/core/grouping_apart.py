"""Keep-apart pairs (rule 2, hard): seat the people named in them, or refuse and say why.

A complete backtracking search (:class:`KeepApartSearch`) over the constrained people only,
bounded by a work budget, tried first on the ideal text-only layout and then on relaxed ones
(:func:`seat_constrained`).  When no seating exists it shrinks the list to a minimal clashing
set so the facilitator sees the few pairs to look at; when the budget runs out it says "I
could not find a way", never "there is no way" (:class:`ApartConstraintError.proven`).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from bot.core.grouping_model import ApartConstraintError
from bot.core.grouping_rooms import Layout, relaxed_layouts

#: Default limit on the work the keep-apart search may do in one planning
#: call before it gives up honestly, counted in "one person checked against
#: one room" units (about half a microsecond each, so under a second at
#: worst).  Realistic keep-apart lists need a few hundred units.
DEFAULT_SEARCH_BUDGET = 1_000_000

#: At most this many fallback text-only layouts are tried (within what is
#: left of the search budget) before settling for the unconcentrated one.
_MAX_RELAXED_LAYOUTS = 50

#: At most this many pairs are tested when shrinking a clash to its core.
_MAX_CLASH_CHECKS = 60


class OutOfBudget(Exception):
    pass


class KeepApartSearch:
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
        layout: Layout,
        constrained: Sequence[int],
        apart_active: Sequence[frozenset[int]] | None = None,
        *,
        greedy: bool = True,
        cap: int | None = None,
    ) -> dict[int, int] | None:
        """Seat ``constrained`` people; return person -> room, or None if
        impossible.  Raises OutOfBudget when this run has used ``cap`` steps
        or the call's whole budget is used up."""
        self.nodes = 0
        limit = self.left if cap is None else min(cap, self.left)
        try:
            return self._run(layout, constrained, apart_active, greedy, limit)
        finally:
            self.left -= self.nodes

    def _run(
        self,
        layout: Layout,
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
                raise OutOfBudget
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
            raise OutOfBudget from None


def adjacency(n: int, pairs: Iterable[tuple[int, int]]) -> list[frozenset[int]]:
    adj: list[set[int]] = [set() for _ in range(n)]
    for i, j in pairs:
        adj[i].add(j)
        adj[j].add(i)
    return [frozenset(s) for s in adj]


def _pair_list(pairs: Iterable[tuple[str, str]]) -> str:
    items = [f"{a} & {b}" for a, b in pairs]
    return "; ".join(items)


def seat_constrained(
    searcher: KeepApartSearch,
    ideal: Layout,
    sizes: list[int],
    n_text: int,
    constrained: list[int],
    apart_pairs: list[tuple[int, int]],
    keys: Sequence[str],
) -> tuple[Layout, dict[int, int]]:
    """Find a layout and seats for the keep-apart people, or raise.

    Order of attempts: the ideal text-only layout (with at most half the
    search budget when there are text-only people, so that a hard case
    leaves room for the next step); then, only if that fails, whether *any*
    grouping keeps the pairs apart, raising if not; then progressively less
    concentrated text-only layouts, within what is left of the budget.
    """
    if not constrained:
        return ideal, {}
    anywhere = Layout(sizes, list(sizes), list(sizes), False)
    # With no text-only people the ideal layout *is* "anywhere".
    first_cap = searcher.left // 2 if n_text else None
    try:
        found = searcher.run(ideal, constrained, cap=first_cap)
        exhausted = False
    except OutOfBudget:
        found, exhausted = None, True
    if found is not None:
        return ideal, found
    fallback: dict[int, int] | None = None
    if n_text:
        try:
            fallback = searcher.run(anywhere, constrained)
            exhausted = False
        except OutOfBudget:
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
    for tried, layout in enumerate(relaxed_layouts(sizes, n_text)):
        if tried >= _MAX_RELAXED_LAYOUTS or searcher.left <= 0:
            break
        try:
            found = searcher.run(layout, constrained)
        except OutOfBudget:
            break
        if found is not None:
            return layout, found
    return anywhere, fallback


def _minimal_clash(
    searcher: KeepApartSearch,
    layout: Layout,
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
        adj = adjacency(n, trial)
        cons = sorted({i for p in trial for i in p})
        try:
            res = searcher.run(layout, cons, adj, greedy=False)
        except OutOfBudget:
            return keep, False
        if res is None:
            keep = trial
    return keep, minimal
