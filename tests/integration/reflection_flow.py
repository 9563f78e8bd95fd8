"""A brew with reflections, played through Discord: shared by the reflections flow test and
the anonymity audit.

A facilitator starts a real brew at high speed for four people; at Close one presses "Leave a
reflection", and after the brew two others use ``/reflect`` (one replaces theirs). Built on the
shared harness in ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.db.models import Brew
from bot.shell.reflections import close_reflection_windows
from discordsim import GUILD_TEXT, DiscordSimulator, Member, Message

from .conftest import FAST_BREW, Harness, World

SPEED = 600.0
TIMEOUT = 20.0


@dataclass
class BrewWorld:
    """The harness plus who plays which part in these tests."""

    h: Harness
    participants: list[Member]
    stranger: Member

    @property
    def sim(self) -> DiscordSimulator:
        return self.h.sim

    @property
    def world(self) -> World:
        return self.h.world

    @property
    def guild_id(self) -> int:
        return self.h.world.guild.id

    @property
    def services(self) -> Any:
        assert self.h.bot is not None
        return self.h.bot.services

    @property
    def db_path(self) -> Path:
        database = make_url(self.h.db_url).database
        assert database is not None
        return Path(database)


@pytest.fixture(name="brew_world")
async def brew_world_fixture(
    sim: DiscordSimulator, world: World, db_url: str, speed: float
) -> AsyncIterator[BrewWorld]:
    h = Harness(sim, world, db_url, speed)
    # Rooms wait to be tidied away long enough after Close to press the button on its message.
    h.config = replace(h.config, brew=replace(FAST_BREW, cleanup_minutes=30))
    await h.start()
    await h.configure()
    try:
        yield BrewWorld(h, participants=world.people[:4], stranger=world.people[-1])
    finally:
        await h.stop()


# ------------------------------------------------------------------ helpers
async def command(world: BrewWorld, user: Member, name: str, **options: Any) -> Any:
    return await world.h.command(user, name, **options)


def texts(rec: Any) -> list[str]:
    """Everything the person saw in answer to an interaction, in order."""
    out = []
    if rec.original_message is not None and rec.original_message.content:
        out.append(rec.original_message.content)
    elif rec.response is not None and rec.response.content:
        out.append(rec.response.content)
    out += [m.content for m in rec.followups if m.content]
    return out


async def settled(world: BrewWorld, rec: Any, count: int = 1) -> list[str]:
    """Wait until ``count`` answers arrived (a deferred answer's first followup replaces the
    "thinking" message, so it shows up as the original message)."""
    await world.sim.wait_for(lambda: len(texts(rec)) >= count, TIMEOUT)
    await asyncio.sleep(0.05)
    return texts(rec)


def attachments(rec: Any) -> list[Any]:
    messages = ([rec.original_message] if rec.original_message is not None else []) + list(
        rec.followups
    )
    return [a for m in messages for a in m.attachments]


async def submit_form(world: BrewWorld, user: Member, rec: Any, answers: dict[str, str]) -> Any:
    modal = rec.modal
    assert modal is not None, f"expected a form, got {texts(rec)}"
    assert len(modal["title"]) <= 45
    sub = await world.sim.submit_modal(user.id, rec, answers)
    await sub.wait_response(timeout=TIMEOUT)
    await settled(world, sub)
    return sub


async def reflect_via_command(world: BrewWorld, user: Member, answers: dict[str, str]) -> Any:
    rec = await command(world, user, "reflect")
    return await submit_form(world, user, rec, answers)


def reflect_buttons(world: BrewWorld) -> list[tuple[int, Message]]:
    found = []
    for channel in world.sim.channels(world.guild_id, type=GUILD_TEXT):
        for message in world.sim.messages(channel.id, include_ephemeral=False):
            if any(c.startswith("bh:reflect:") for c in message.custom_ids()):
                found.append((channel.id, message))
    return found


async def brew_row(world: BrewWorld) -> Brew | None:
    async with world.services.sessions() as session:
        return await session.scalar(select(Brew).where(Brew.guild_id == world.guild_id))


async def run_brew(world: BrewWorld) -> Brew:
    """The facilitator starts a brew for the four people with them in voice: two rooms."""
    h = world.h
    await h.put_in_voice([*world.participants, world.world.facilitator])
    rec = await command(
        world,
        world.world.facilitator,
        "brew start",
        question="What's missing from co-production?",
        title="Co-production week",
        group_size=2,
    )
    summary = await h.final_text(rec)
    assert "has started" in summary, summary
    brew = await brew_row(world)
    assert brew is not None and brew.status in ("running", "ended"), summary
    return brew


async def close_window_now(world: BrewWorld, brew_id: int) -> int:
    """Move the brew's reflection window to have closed a second ago and run the sweep, as the
    hourly job would; returns how many windows the sweep closed."""
    async with world.services.sessions() as session:
        brew = await session.get(Brew, brew_id)
        assert brew is not None
        brew.reflections_close_at = world.services.clock.now() - timedelta(seconds=1)
        await session.commit()
    return await close_reflection_windows(world.services, world.services.clock.now())


def _sync_status(world: BrewWorld) -> str | None:
    # wait_for polls synchronously; peek at the database through a plain sqlite3 read.
    with sqlite3.connect(world.db_path) as conn:
        row = conn.execute("SELECT status FROM brews").fetchone()
    return row[0] if row else None


@dataclass
class FlowResult:
    brew: Brew
    button_user: Member
    replies: dict[str, list[str]]


async def run_brew_with_reflections(world: BrewWorld) -> FlowResult:
    """A brew ends; three participants reflect (one by button, one replaces theirs)."""
    sim = world.sim
    brew = await run_brew(world)
    replies: dict[str, list[str]] = {}

    # Close: each room's closing message carries the button. Alice presses hers.
    await sim.wait_for(lambda: len(reflect_buttons(world)) >= 2, TIMEOUT)
    alice = world.participants[0]
    for channel_id, message in reflect_buttons(world):
        perms = sim.permissions_for(world.guild_id, alice.id, channel_id)
        if perms & 1024:  # VIEW_CHANNEL: this is Alice's room
            custom_id = next(c for c in message.custom_ids() if c.startswith("bh:reflect:"))
            assert custom_id == f"bh:reflect:{brew.id}"
            rec = await sim.click_button(alice.id, channel_id, message.id, custom_id)
            resp = await rec.wait_response(timeout=TIMEOUT)
            assert resp.latency is not None and resp.latency < 3
            sub = await submit_form(
                world,
                alice,
                rec,
                {"q:missing": "Carers' time, valued.", "q:feedback": "Good", "consent": "Yes"},
            )
            replies["Alice"] = texts(sub)
            break
    else:
        raise AssertionError("Alice's room has no reflect button")

    # The brew ends; the window stays open; the others use /reflect.
    await sim.wait_for(lambda: _sync_status(world) == "ended", 60)
    bob, carol = world.participants[1], world.participants[2]
    first = await reflect_via_command(world, bob, {"q:lasting": "First thought."})
    replies["Bob first"] = texts(first)
    second = await reflect_via_command(
        world, bob, {"q:lasting": "A better lasting thought.", "q:next": "Meet again."}
    )
    replies["Bob again"] = texts(second)
    carol_sub = await reflect_via_command(
        world, carol, {"q:next": "=SUM(A1:A9) more budget", "consent": "no thanks"}
    )
    replies["Carol"] = texts(carol_sub)
    ended = await brew_row(world)
    assert ended is not None
    return FlowResult(ended, alice, replies)
