"""Room sizes, and where text-only people may sit: the shape of a grouping before anyone is chosen.

Rules 1 and 3 of :mod:`bot.core.grouping` live here: how many rooms and how big
(:func:`group_sizes`), how many text-only places each room has (a :class:`Layout`, the ideal one
concentrating text-only people, then relaxed ones for when keep-apart pairs forbid it), and
seating everyone left once the keep-apart people have their seats (:func:`fill_rooms`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.core.grouping_model import GroupingError


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

    The rule (see :mod:`bot.core.grouping` for the plain-words version): open
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


def ideal_text_counts(sizes: Sequence[int], t: int) -> list[int]:
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
class Layout:
    """Capacities for one search: total places, text-only places and voice
    places per room.  ``exact`` layouts have text_cap + voice_cap == size."""

    sizes: list[int]
    text_cap: list[int]
    voice_cap: list[int]
    exact: bool = False


def exact_layout(sizes: list[int], counts: list[int]) -> Layout:
    return Layout(sizes, list(counts), [s - c for s, c in zip(sizes, counts, strict=True)], True)


def relaxed_layouts(sizes: list[int], t: int) -> Iterable[Layout]:
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
            yield Layout(
                sizes, [sizes[i] if i in chosen else 0 for i in range(k)], list(sizes), False
            )


def fill_rooms(
    layout: Layout,
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
