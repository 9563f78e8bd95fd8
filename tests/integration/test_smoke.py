"""Real discord.py connects to the simulator, syncs /brew, and answers a command."""

from __future__ import annotations

from .conftest import Harness


async def test_bot_connects_syncs_commands_and_answers(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    names = {c["name"] for c in sim.commands(world.guild.id)}
    assert {"brew", "reflect"} <= names
    brew = next(c for c in sim.commands(world.guild.id) if c["name"] == "brew")
    subcommands = {o["name"] for o in brew["options"]}
    start = next(o for o in brew["options"] if o["name"] == "start")
    described = {o["name"]: o["description"] for o in start["options"]}
    assert described["group_size"] == "People per room (2 to 8)"
    assert described["include_me"].startswith("Put yourself in a room too")
    assert {
        "open",
        "start",
        "pause",
        "resume",
        "extend",
        "next",
        "broadcast",
        "status",
        "end",
        "settings",
    } <= subcommands

    # A plain member is refused kindly, privately, and told who can do it.
    rec = await harness.command(world.people[0], "brew status")
    response = await rec.wait_response()
    assert response.ephemeral
    assert "Only facilitators" in response.content and "facilitator role" in response.content
    # A facilitator with no brew running is told how to start one.
    rec = await harness.command(world.facilitator, "brew status")
    assert "Start one with /brew start" in (await rec.wait_response()).content
    assert not sim.late_interactions
