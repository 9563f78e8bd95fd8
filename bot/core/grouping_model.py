"""The words group planning speaks: a person who turned up, a room, and the two refusals.

Kept apart from the planner so that every grouping module (sizes, mixing, keep-apart search,
swaps) can share them without importing the public planner, and the shell can name a
:class:`Group` without pulling in the search.  Re-exported by :mod:`bot.core.grouping`, which
is where callers import them from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


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
