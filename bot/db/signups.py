"""Who pressed Join on a sign-up card. User-linked rows: retention deletes them.

A sign-up changes only while its brew is open, and ``/brew start`` reads the sign-ups in the
same transaction that moves the brew on (:func:`bot.db.brews.claim_open_brew`). Both take the
brew's row first, with a conditional UPDATE: on PostgreSQL that is a row lock, on SQLite the
write lock. So a press lands either wholly before the start (and its person gets a room) or
after it (and is refused), never in between; and two presses by one person take turns, so a
double-click is two successes, not a duplicate row.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Brew, Signup

__all__ = [
    "PerspectiveResult",
    "SignupResult",
    "choose_perspective",
    "join",
    "leave",
    "perspectives_of",
    "signup_count",
]


@dataclass(frozen=True)
class SignupResult:
    """What a Join or Leave press did. ``changed`` is False when the brew was not open (then
    ``status`` says what it is: "starting", "running", "cancelled"... or None if it is gone)."""

    changed: bool
    status: str | None
    count: int


@dataclass(frozen=True)
class PerspectiveResult:
    """``saved`` the label (None: "rather not say"); ``joined`` False if they never joined."""

    saved: bool
    status: str | None
    joined: bool = True


async def signup_count(session: AsyncSession, brew_id: int) -> int:
    """How many people have joined this brew's sign-up card."""
    count = await session.scalar(
        select(func.count()).select_from(Signup).where(Signup.brew_id == brew_id)
    )
    return int(count or 0)


async def _hold_open(session: AsyncSession, brew_id: int) -> bool:
    """Take the brew's row if it is open (a no-op UPDATE, for its lock); False if not open."""
    result = await session.execute(
        update(Brew)
        .where(Brew.id == brew_id, Brew.status == "open")
        .values(status="open")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def _status(session: AsyncSession, brew_id: int) -> str | None:
    await session.rollback()
    return await session.scalar(select(Brew.status).where(Brew.id == brew_id))


async def _mine(session: AsyncSession, brew_id: int, user_id: int) -> Signup | None:
    return await session.scalar(
        select(Signup).where(Signup.brew_id == brew_id, Signup.user_id == user_id)
    )


async def join(session: AsyncSession, brew_id: int, user_id: int, text_only: bool) -> SignupResult:
    """Sign up (or switch between voice and text); joining twice is the same as once. Commits."""
    if not await _hold_open(session, brew_id):
        return SignupResult(False, await _status(session, brew_id), 0)
    signup = await _mine(session, brew_id, user_id)
    if signup is None:
        session.add(Signup(brew_id=brew_id, user_id=user_id, text_only=text_only))
    else:
        signup.text_only = text_only
    await session.flush()
    count = await signup_count(session, brew_id)
    await session.commit()
    return SignupResult(True, "open", count)


async def leave(session: AsyncSession, brew_id: int, user_id: int) -> SignupResult:
    """Take a sign-up back; leaving twice (or without joining) is the same as once. Commits."""
    if not await _hold_open(session, brew_id):
        return SignupResult(False, await _status(session, brew_id), 0)
    signup = await _mine(session, brew_id, user_id)
    if signup is not None:
        await session.delete(signup)
        await session.flush()
    count = await signup_count(session, brew_id)
    await session.commit()
    return SignupResult(True, "open", count)


async def perspectives_of(session: AsyncSession, brew_id: int) -> tuple[str | None, list[str]]:
    """The brew's status and the perspective labels its facilitator offered."""
    brew = await session.get(Brew, brew_id)
    if brew is None:
        return None, []
    return brew.status, list(brew.perspectives or ())


async def choose_perspective(
    session: AsyncSession, brew_id: int, user_id: int, choice: str
) -> PerspectiveResult:
    """Save the label at position ``choice`` ("none" or anything else: rather not say).
    Commits."""
    if not await _hold_open(session, brew_id):
        return PerspectiveResult(False, await _status(session, brew_id))
    signup = await _mine(session, brew_id, user_id)
    if signup is None:
        await session.rollback()
        return PerspectiveResult(False, "open", joined=False)
    labels = list(await session.scalar(select(Brew.perspectives).where(Brew.id == brew_id)) or ())
    label = None
    if choice.isdigit() and int(choice) < len(labels):
        label = labels[int(choice)]
    signup.perspective = label
    await session.commit()
    return PerspectiveResult(True, "open")
