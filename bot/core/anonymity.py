"""Keyed receipts: remember *that* someone acted without remembering *who* they are.

Threat model
------------
Reflections are promised to be anonymous. The people we protect against are: anyone who later
reads the database or a backup (an organiser, a host, a volunteer admin, someone who obtains a
copy), and anyone who sees an export. We do not protect against a live, compromised bot process,
which sees the Discord user id of every interaction as it happens.

To stop double submissions (and let someone replace their own reflection while the window is
open) we still need to answer "has this person already submitted for this brew?". So each brew
gets a random per-brew secret (:func:`new_secret`), kept only while the reflection window is
open, and the bot stores a *receipt*, ``HMAC-SHA256(secret, user id)``, instead of the user id.
While the secret exists only the bot, holding both the secret and a live interaction's user id,
can recompute a receipt; a plain unkeyed hash would not do, because Discord ids are guessable
and anyone with the database could hash every member's id and compare.

When the window closes the receipts are deleted and the secret destroyed (set to NULL, not just
forgotten in memory). From then on no row links a person to a reflection: even a leftover
receipt in a backup is a random-looking string nobody can recompute. Reflections carry only the
brew and the **date** they were written, never the time of day, so they cannot be matched to
"who clicked Submit at 14:07" in Discord's audit log, our own logs or people's memories; row ids
are random and exports never keep submission order (see ``bot.core.export``). The residual
risk is content itself (a distinctive phrase in a group of four); consent to quote and the
Markdown report's consented-only rule address that, not cryptography.

:func:`pair_key` uses the same idea for matching: remembering "these two have met" (to mix
people who are not alike) or "keep these two apart" without storing pairs of user ids. Use a
long-lived, per-server secret for that, since the memory must outlast one brew; destroying it
forgets every pair at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import UTC, date, datetime, tzinfo

__all__ = [
    "SECRET_BYTES",
    "new_secret",
    "pair_key",
    "pair_keys",
    "receipt",
    "receipt_matches",
    "submitted_on",
]

#: 256-bit secrets, the HMAC-SHA256 block-size sweet spot; shorter ones are refused.
SECRET_BYTES = 32
_MIN_SECRET_BYTES = 16


def new_secret() -> bytes:
    """Return a fresh random secret for one brew (receipts) or one server (pair keys)."""
    return secrets.token_bytes(SECRET_BYTES)


def _check(secret: bytes, *user_ids: int) -> None:
    if not isinstance(secret, bytes | bytearray) or len(secret) < _MIN_SECRET_BYTES:
        raise ValueError(f"secret must be at least {_MIN_SECRET_BYTES} random bytes")
    for user_id in user_ids:
        # bool is an int subclass; True would silently become user 1.
        if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id < 0:
            raise ValueError("user ids must be non-negative integers")


def _mac(secret: bytes, message: str) -> str:
    return hmac.new(bytes(secret), message.encode("ascii"), hashlib.sha256).hexdigest()


def receipt(secret: bytes, user_id: int) -> str:
    """The keyed hash (64 hex characters) proving ``user_id`` has submitted for this brew.

    Stable for the same secret and user, unrelated across secrets, so receipts from different
    brews cannot be joined to follow one person around. The ``receipt:`` prefix separates it
    from :func:`pair_key` values made with the same secret.
    """
    _check(secret, user_id)
    return _mac(secret, f"receipt:{user_id}")


def receipt_matches(secret: bytes, user_id: int, stored: str) -> bool:
    """Compare in constant time, so timing does not leak how much of a receipt matched."""
    return hmac.compare_digest(receipt(secret, user_id), stored)


def pair_key(secret: bytes, a: int, b: int) -> str:
    """An order-independent keyed hash of two different user ids (64 hex characters).

    ``pair_key(s, a, b) == pair_key(s, b, a)``, so "who met whom" can be checked from either
    side without storing either id.
    """
    _check(secret, a, b)
    if a == b:
        raise ValueError("a pair needs two different people")
    low, high = sorted((a, b))
    return _mac(secret, f"pair:{low}:{high}")


def pair_keys(secret: bytes, user_ids: Iterable[int]) -> dict[str, tuple[int, int]]:
    """:func:`pair_key` of every pair of ``user_ids`` (each pair once, low id first), by key.

    The same keys as calling :func:`pair_key` pair by pair, made about twice as fast: the HMAC
    is keyed once and copied for each pair. For 160 people that is 12,720 keys, computed when a
    brew starts, so it matters.
    """
    ids = sorted(set(user_ids))
    _check(secret, *ids)
    keyed = hmac.new(bytes(secret), digestmod=hashlib.sha256)
    out: dict[str, tuple[int, int]] = {}
    for i, low in enumerate(ids):
        prefix = f"pair:{low}:".encode("ascii")
        for high in ids[i + 1 :]:
            mac = keyed.copy()
            mac.update(prefix + str(high).encode("ascii"))
            out[mac.hexdigest()] = (low, high)
    return out


def submitted_on(now: datetime, tz: tzinfo = UTC) -> date:
    """The date to store with a reflection: the calendar date in ``tz``, never the time of day.

    Pass the community's time zone (e.g. ``ZoneInfo("Europe/London")``) so an evening reflection
    is not dated tomorrow.
    """
    if now.tzinfo is None:
        raise ValueError("use a timezone-aware datetime")
    return now.astimezone(tz).date()
