"""Reflections and exports end to end: the real BrewBot against the local Discord simulator.

A facilitator runs a real brew at high speed; one participant uses the "Leave a reflection"
button on their room's closing message, the others use ``/reflect`` after the brew has ended
(one replaces theirs), a non-participant is refused, a plain member cannot export, and the
organiser's CSV, JSON and Markdown exports arrive as attachments whose content is checked.

The harness (``brew_world``) is self-contained: the shared integration fixture may not exist
yet, and the anonymity audit reuses :func:`run_brew_with_reflections`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import SystemClock
from bot.config import BrewDefaults, Config, DatabaseConfig
from bot.core.content import load_content
from bot.db.models import Brew, Membership, Reflection
from bot.db.session import create_engine, session_factory
from bot.shell.app import BrewBot, Services
from bot.shell.endpoints import configure_endpoints, reset_endpoints
from bot.shell.reflections import close_reflection_windows
from bot.simulator import GUILD_TEXT, GUILD_VOICE, DiscordSimulator, Member, Message
from tests.shell.test_reflections_data import migrated

SPEED = 600.0
TIMEOUT = 20.0


@dataclass
class BrewWorld:
    sim: DiscordSimulator
    bot: BrewBot
    services: Services
    db_path: Path
    guild_id: int
    owner_id: int
    general_id: int
    people: dict[str, Member]
    stranger: Member


@pytest.fixture
async def brew_world(tmp_path: Path) -> AsyncIterator[BrewWorld]:
    db_path = tmp_path / "brewhost.db"
    url = f"sqlite+aiosqlite:///{db_path}"
    await migrated(url)
    engine = create_engine(url)
    config = replace(
        Config(),
        database=DatabaseConfig(url=url),
        # Rooms stay (tidied away) long enough after Close to press the button on its message.
        brew=replace(BrewDefaults(), cleanup_minutes=30),
    )
    services = Services(
        config=config,
        sessions=session_factory(engine),
        clock=SystemClock(SPEED),
        content=load_content(),
        seed=lambda: 7,
    )
    sim = DiscordSimulator()
    await sim.start()
    configure_endpoints(sim.api_base_url, sim.gateway_url)
    bot = BrewBot(services)
    task = asyncio.create_task(bot.start(sim.bot_token))
    try:
        guild = sim.create_guild("Norfolk Network")
        general = sim.create_channel(guild.id, "general", type=GUILD_TEXT)
        people = {
            name: sim.create_member(guild.id, name) for name in ("Alice", "Bob", "Carol", "Erin")
        }
        stranger = sim.create_member(guild.id, "Dave")
        await sim.wait_for(lambda: bot.is_ready() or task.done(), TIMEOUT)
        if task.done():
            task.result()
        await sim.wait_for(lambda: bot.get_guild(guild.id) is not None, TIMEOUT)
        yield BrewWorld(
            sim, bot, services, db_path, guild.id, guild.owner_id, general.id, people, stranger
        )
    finally:
        await bot.close()
        try:
            await asyncio.wait_for(task, 5)
        except Exception:  # noqa: BLE001 - shutting down
            pass
        await sim.close()
        reset_endpoints()
        await engine.dispose()


# ------------------------------------------------------------------ helpers
async def command(world: BrewWorld, user_id: int, name: str, **options: Any):
    rec = await world.sim.invoke_command(world.guild_id, world.general_id, user_id, name, **options)
    await rec.wait_response(timeout=TIMEOUT)
    return rec


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


async def submit_form(world: BrewWorld, user_id: int, rec: Any, answers: dict[str, str]):
    modal = rec.modal
    assert modal is not None, f"expected a form, got {texts(rec)}"
    assert len(modal["title"]) <= 45
    sub = await world.sim.submit_modal(user_id, rec, answers)
    await sub.wait_response(timeout=TIMEOUT)
    await settled(world, sub)
    return sub


async def reflect_via_command(world: BrewWorld, user_id: int, answers: dict[str, str]):
    rec = await command(world, user_id, "reflect")
    return await submit_form(world, user_id, rec, answers)


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
    """The owner (Manage Server) starts a brew for the four people with them in voice."""
    sim = world.sim
    lounge = sim.create_channel(world.guild_id, "Lounge", type=GUILD_VOICE)
    for member in (world.owner_id, *(m.id for m in world.people.values())):
        await sim.set_voice(world.guild_id, member, lounge.id)
    await sim.wait_for(
        lambda: (
            (g := world.bot.get_guild(world.guild_id)) is not None
            and len(getattr(g.get_channel(lounge.id), "members", [])) == 5
        ),
        TIMEOUT,
    )
    rec = await world.sim.invoke_command(
        world.guild_id,
        world.general_id,
        world.owner_id,
        "brew start",
        question="What's missing from co-production?",
        title="Co-production week",
        group_size=2,
        length=15,
    )
    await rec.wait_response(timeout=TIMEOUT)
    await sim.wait_for(
        lambda: (b := _sync_status(world)) in ("running", "ended", "failed"), TIMEOUT
    )
    brew = await brew_row(world)
    assert brew is not None and brew.status != "failed", texts(rec)
    return brew


def _sync_status(world: BrewWorld) -> str | None:
    # wait_for polls synchronously; peek at the database through a plain sqlite3 read.
    import sqlite3

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
    alice = world.people["Alice"]
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
                alice.id,
                rec,
                {"q:missing": "Carers' time, valued.", "q:feedback": "Good", "consent": "Yes"},
            )
            replies["Alice"] = texts(sub)
            break
    else:
        raise AssertionError("Alice's room has no reflect button")

    # The brew ends; the window stays open; the others use /reflect.
    await sim.wait_for(lambda: _sync_status(world) == "ended", 60)
    bob, carol = world.people["Bob"], world.people["Carol"]
    first = await reflect_via_command(world, bob.id, {"q:lasting": "First thought."})
    replies["Bob first"] = texts(first)
    second = await reflect_via_command(
        world, bob.id, {"q:lasting": "A better lasting thought.", "q:next": "Meet again."}
    )
    replies["Bob again"] = texts(second)
    carol_sub = await reflect_via_command(
        world, carol.id, {"q:next": "=SUM(A1:A9) more budget", "consent": "no thanks"}
    )
    replies["Carol"] = texts(carol_sub)
    ended = await brew_row(world)
    assert ended is not None
    return FlowResult(ended, alice, replies)


# ------------------------------------------------------------------ the test
async def test_reflections_and_exports_through_discord(brew_world: BrewWorld) -> None:
    world = brew_world
    content = world.services.content
    flow = await run_brew_with_reflections(world)
    saved = content.text("reflection.saved").split(".")[0]
    updated = content.text("reflection.replaced").split(".")[0]
    assert any(saved in t for t in flow.replies["Alice"])
    assert any(saved in t for t in flow.replies["Bob first"])
    assert any(updated in t for t in flow.replies["Bob again"])
    assert any(saved in t for t in flow.replies["Carol"])

    async with world.services.sessions() as session:
        members = set(await session.scalars(select(Membership.user_id)))
    assert {m.id for m in world.people.values()} == members

    # A non-participant: /reflect explains kindly, no form to fill in for nothing.
    refused = await command(world, world.stranger.id, "reflect")
    assert refused.modal is None
    assert refused.response is not None and refused.response.ephemeral
    assert texts(refused) == [content.text("reflection.no_brew")]

    # A form with every box empty is refused kindly (Discord itself enforces each box's limit).
    erin = world.people["Erin"]
    rec = await command(world, erin.id, "reflect")
    sub = await submit_form(world, erin.id, rec, {"q:missing": "   ", "consent": "yes"})
    assert any("All the boxes were empty" in t for t in texts(sub))

    # A plain member cannot export.
    denied = await command(world, world.stranger.id, "brew export", format="csv")
    await settled(world, denied)
    assert any("Only organisers" in t for t in texts(denied))
    assert not attachments(denied)

    # The organiser (Manage Server) gets each format as attachments.
    owner = world.owner_id
    csv_rec = await command(world, owner, "brew export", format="csv")
    await settled(world, csv_rec)
    [csv_file] = attachments(csv_rec)
    assert csv_rec.original_message is not None and csv_rec.original_message.ephemeral
    assert csv_file.filename == "brew-reflections.csv"
    assert csv_file.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(csv_file.data.decode("utf-8-sig"), newline="")))
    answers = {r[6]: r for r in rows[1:]}
    assert set(answers) == {
        "Carers' time, valued.",
        "Good",
        "A better lasting thought.",
        "Meet again.",
        "'=SUM(A1:A9) more budget",
    }
    assert answers["Carers' time, valued."][7] == "yes"
    assert answers["'=SUM(A1:A9) more budget"][7] == "no"
    assert all(r[1] == "Co-production week" for r in rows[1:])
    assert "First thought." not in csv_file.text

    json_rec = await command(world, owner, "brew export", format="json")
    await settled(world, json_rec)
    [json_file] = attachments(json_rec)
    document = json.loads(json_file.data)
    assert document["schema"] == "brew-host.reflections"
    assert len(document["reflections"]) == 3
    assert document["brews"][0]["participants"] == 4 and document["brews"][0]["rooms"] == 2

    md_rec = await command(world, owner, "brew export", format="markdown", brew=flow.brew.number)
    await settled(world, md_rec)
    files = {a.filename: a for a in attachments(md_rec)}
    assert set(files) == {"brew-report.md", "brew-report-chart.png"}
    report = files["brew-report.md"].text
    assert "(brew-report-chart.png)" in report
    assert "Carers' time, valued." in report  # consented
    assert "A better lasting thought." not in report and "more budget" not in report
    assert files["brew-report-chart.png"].data.startswith(b"\x89PNG")

    # Kind answers for a bad date and for nothing to export.
    bad = await command(world, owner, "brew export", since="last week")
    await settled(world, bad)
    assert any("year-month-day" in t for t in texts(bad))
    empty = await command(world, owner, "brew export", brew=99)
    await settled(world, empty)
    assert any("nothing to export" in t for t in texts(empty))

    # A form opened while the window was open but sent after it closed: not saved, and the
    # words come back so nothing typed is lost.
    rec = await command(world, erin.id, "reflect")
    async with world.services.sessions() as session:
        brew = await session.get(Brew, flow.brew.id)
        assert brew is not None
        brew.reflections_close_at = world.services.clock.now() - timedelta(seconds=1)
        await session.commit()
    assert await close_reflection_windows(world.services, world.services.clock.now()) == 1
    words = "We need transport to get to meetings."
    sub = await submit_form(world, erin.id, rec, {"q:next": words})
    said = await settled(world, sub, 2)
    assert said[0] == content.text("reflection.window_closed")
    assert words in said[1]
    async with world.services.sessions() as session:
        assert len(list(await session.scalars(select(Reflection)))) == 3

    assert not world.sim.failed_interactions
    assert not world.sim.late_interactions
