"""Reflections in the database: who may reflect on which brew, and saving by receipt.

A reflection row carries the brew, the answers, the consent and the date, nothing else. The
receipt beside it is ``HMAC(per-brew secret, user id)`` (:func:`bot.core.anonymity.receipt`):
it lets the same person replace their reflection while the window is open, and it is computed
here, inside the transaction, so the user id never reaches a row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.anonymity import receipt
from bot.db.models import Brew, Membership, Reflection, ReflectionReceipt, Room

__all__ = ["Participation", "Stored", "brew_in_guild", "latest_participation", "store_reflection"]


@dataclass(frozen=True)
class Participation:
    """What decides whether a member may reflect on a brew they were in."""

    brew_id: int
    brew_status: str
    ended_at: datetime | None
    closes_at: datetime | None
    has_secret: bool
    room_phase: str | None
    room_status: str | None


@dataclass(frozen=True)
class Stored:
    """A reflection was saved: ``replaced`` if it took the place of the person's earlier one."""

    replaced: bool
    closes_at: datetime | None


def _participation_query(user_id: int) -> Any:
    return (
        select(
            Membership.brew_id,
            Brew.status,
            Brew.ended_at,
            Brew.reflections_close_at,
            Brew.reflection_secret.is_not(None),
            Room.phase,
            Room.status,
        )
        .join(Brew, Membership.brew_id == Brew.id)
        .join(Room, Membership.room_id == Room.id)
        .where(Membership.user_id == user_id)
    )


async def latest_participation(
    session: AsyncSession, guild_id: int, user_id: int, brew_id: int | None = None
) -> Participation | None:
    """One indexed query: the member's most recent brew in this server (or that brew)."""
    query = _participation_query(user_id).where(Brew.guild_id == guild_id)
    if brew_id is not None:
        query = query.where(Membership.brew_id == brew_id)
    row = (await session.execute(query.order_by(Membership.id.desc()).limit(1))).first()
    if row is None:
        return None
    found_id, status, ended, closes, has_secret, phase, room_status = row
    return Participation(found_id, status, ended, closes, bool(has_secret), phase, room_status)


async def brew_in_guild(session: AsyncSession, brew_id: int, guild_id: int) -> bool:
    """Whether the brew still exists in this server (it may have been deleted since)."""
    found = await session.scalar(select(Brew.guild_id).where(Brew.id == brew_id))
    return found is not None and found == guild_id


async def store_reflection(
    session: AsyncSession,
    brew_id: int,
    *,
    user_id: int,
    answers: Mapping[str, str],
    consent: bool,
    day: date,
) -> Stored:
    """Replace the reflection this person's receipt points at, or insert a new reflection and
    receipt; commits. The brew must still hold its secret (the window is open).

    Raises :class:`sqlalchemy.exc.IntegrityError` if the same person's other submission
    inserted the receipt first; trying again then replaces that reflection.
    """
    brew = await session.get(Brew, brew_id)
    assert brew is not None and brew.reflection_secret is not None
    key = receipt(brew.reflection_secret, user_id)
    closes_at = brew.reflections_close_at
    existing = await session.get(ReflectionReceipt, (brew_id, key))
    reflection = (
        await session.get(Reflection, existing.reflection_id) if existing is not None else None
    )
    if reflection is not None:
        reflection.answers = dict(answers)
        reflection.consent = consent
        reflection.submitted_on = day
        replaced = True
    else:
        if existing is not None:  # a receipt without its reflection: start afresh
            await session.delete(existing)
            await session.flush()
        reflection = Reflection(
            brew_id=brew_id, submitted_on=day, consent=consent, answers=dict(answers)
        )
        session.add(reflection)
        await session.flush()
        session.add(ReflectionReceipt(brew_id=brew_id, receipt=key, reflection_id=reflection.id))
        replaced = False
    await session.commit()
    return Stored(replaced, closes_at)
