"""Reflections and exports end to end: the real BrewBot against the local Discord simulator.

A facilitator runs a real brew at high speed; one participant uses the "Leave a reflection"
button on their room's closing message, the others use ``/reflect`` after the brew has ended
(one replaces theirs), a non-participant is refused, a plain member cannot export, and the
organiser (by the organiser role set in ``/brew settings``) gets CSV, JSON and Markdown exports
as attachments whose content is checked. Built on the shared harness in ``conftest.py``; the
anonymity audit reuses :func:`run_brew_with_reflections` (both from ``reflection_flow.py``).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.db.models import Membership, Reflection

from .reflection_flow import (
    SPEED,
    TIMEOUT,
    BrewWorld,
    attachments,
    brew_row,
    brew_world_fixture,  # noqa: F401 - the brew_world fixture
    close_window_now,
    command,
    run_brew_with_reflections,
    settled,
    submit_form,
    texts,
)


@pytest.fixture
def speed() -> float:
    return SPEED


# ------------------------------------------------------------------ the test
async def test_reflections_and_exports_through_discord(
    brew_world: BrewWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = brew_world
    content = world.services.content
    assert world.h.bot is not None
    timers = world.h.bot.timers
    assert timers.interval("reflections-window-sweep") == timedelta(hours=1)
    assert timers.interval("privacy-retention") == timedelta(days=1)
    flow = await run_brew_with_reflections(world)
    saved = content.text("reflection.saved").split(".")[0]
    updated = content.text("reflection.replaced").split(".")[0]
    assert any(saved in t for t in flow.replies["Alice"])
    assert any(saved in t for t in flow.replies["Bob first"])
    assert any(updated in t for t in flow.replies["Bob again"])
    assert any(saved in t for t in flow.replies["Carol"])

    async with world.services.sessions() as session:
        members = set(await session.scalars(select(Membership.user_id)))
    assert {m.id for m in world.participants} == members

    # A non-participant: /reflect explains kindly, no form to fill in for nothing.
    refused = await command(world, world.stranger, "reflect")
    assert refused.modal is None
    assert refused.response is not None and refused.response.ephemeral
    assert texts(refused) == [content.text("reflection.no_brew")]

    # A form with every box empty is refused kindly (Discord itself enforces each box's limit).
    erin = world.participants[3]
    rec = await command(world, erin, "reflect")
    sub = await submit_form(world, erin, rec, {"q:missing": "   ", "consent": "yes"})
    assert any("All the boxes were empty" in t for t in texts(sub))

    # A plain member cannot export.
    denied = await command(world, world.stranger, "brew export", format="csv")
    await settled(world, denied)
    assert any("Only organisers" in t for t in texts(denied))
    assert not attachments(denied)

    # The organiser (by the organiser role set in /brew settings) gets each format attached.
    owner = world.world.organiser
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
    # One person of three said yes: in a brew where fewer than three agree to be quoted, every
    # answer is marked "no", or the "yes" rows would all be that one person's (issue 11).
    assert answers["Carers' time, valued."][7] == "no"
    assert answers["'=SUM(A1:A9) more budget"][7] == "no"
    assert all(r[1] == "Co-production week" and r[2] == "Norfolk" for r in rows[1:])
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
    assert set(files) == {"brew-report.md", "brew-report-chart.svg"}
    report = files["brew-report.md"].text
    assert report.startswith("# Over A Brew in Norfolk: what we heard")
    assert "(brew-report-chart.svg)" in report
    # Consented, but the only one in the brew to say yes: counted, not quoted (issue 11).
    assert "Carers' time, valued." not in report
    assert "A better lasting thought." not in report and "more budget" not in report
    assert files["brew-report-chart.svg"].data.startswith(b"<svg ")

    # Kind answers for a bad date and for nothing to export.
    bad = await command(world, owner, "brew export", since="last week")
    await settled(world, bad)
    assert any("year-month-day" in t for t in texts(bad))
    empty = await command(world, owner, "brew export", brew=99)
    await settled(world, empty)
    assert any("nothing to export" in t for t in texts(empty))

    # If looking up the member's brew is slow, /reflect opens the form for "your latest brew"
    # at once and everything is checked when it comes back.
    # (discord.py loads extensions without binding them to their package: patch the module.)
    monkeypatch.setattr(sys.modules["cogs.reflections"], "LOOKUP_BUDGET_S", 0)
    rec = await command(world, erin, "reflect")
    assert rec.modal is not None and rec.modal["custom_id"] == "bh:rf:latest"
    sub = await submit_form(world, erin, rec, {"q:lasting": "Glad I came."})
    assert any(saved in t for t in texts(sub))
    monkeypatch.undo()

    # A form opened while the window was open but sent after it closed: not saved, and the
    # words come back so nothing typed is lost.
    rec = await command(world, erin, "reflect")
    assert await close_window_now(world, flow.brew.id) == 1
    words = "We need transport to get to meetings."
    sub = await submit_form(world, erin, rec, {"q:next": words})
    said = await settled(world, sub, 2)
    assert said[0] == content.text("reflection.window_closed")
    assert words in said[1]
    async with world.services.sessions() as session:
        assert len(list(await session.scalars(select(Reflection)))) == 4

    # Deleting the brew: refused for a plain member; the organiser confirms with a button.
    denied = await command(world, world.stranger, "brew purge", brew=flow.brew.number)
    assert any("Only organisers" in t for t in texts(denied))
    ask = await command(world, owner, "brew purge", brew=flow.brew.number)
    question = ask.original_message
    assert question is not None and question.ephemeral
    assert "Delete brew 1 (Co-production week)" in question.content
    assert "4 reflections" in question.content
    cancel = await world.sim.click_button(
        owner.id, question.channel_id, question.id, question.button("Cancel")["custom_id"]
    )
    await cancel.wait_response(timeout=TIMEOUT)
    assert world.sim.message(question.id).content == content.text("export.purge_cancelled")
    assert await brew_row(world) is not None
    ask = await command(world, owner, "brew purge", brew=flow.brew.number)
    question = ask.original_message
    assert question is not None
    yes = question.button(content.button("confirm_purge"))["custom_id"]
    confirm = await world.sim.click_button(owner.id, question.channel_id, question.id, yes)
    await confirm.wait_response(timeout=TIMEOUT)
    assert world.sim.message(question.id).content == content.format(
        "export.purge_done", number=flow.brew.number
    )
    assert await brew_row(world) is None
    async with world.services.sessions() as session:
        assert list(await session.scalars(select(Reflection))) == []
        assert list(await session.scalars(select(Membership))) == []

    assert not world.sim.failed_interactions
    assert not world.sim.late_interactions
