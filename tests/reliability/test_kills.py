"""Kills, the fast part: the real bot process SIGKILLed at three moments of one brew (rooms
opening, a turn prompt stored but not yet noted, clean-up), restarted on the same database each
time. The twenty-moment soak is ``bench/reliability_soak.py`` (and ``pytest -m soak``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from .killer import ALL_MOMENTS, SOAK_BREWS, Figures, KillRig

OPENING = "rooms opening: third channel made"
MID_TURN = "first turn prompt posted, before its note"
CLEAN_UP = "clean-up: first channel deleted"


async def run_kills(tmp_path: Path, names: list[str]) -> list[Figures]:
    """One brew on a fresh simulator and database, killed at each named moment in turn."""
    moments = [m for m in ALL_MOMENTS if m.name in names]
    await asyncio.to_thread(tmp_path.mkdir, parents=True, exist_ok=True)
    sim = KillRig.simulator()
    await sim.start()
    rig = KillRig(sim, tmp_path)
    try:
        await rig.boot()
        await rig.configure()
        figures = await rig.run_brew(moments, 1)
        output = rig.bot.output()
        assert "Traceback" not in output, output[-4000:]
    finally:
        await rig.bot.stop()
        await sim.close()
    return [figures]


async def test_a_kill_between_a_turn_prompt_and_its_note_loses_nothing(tmp_path: Path) -> None:
    (figures,) = await run_kills(tmp_path, [MID_TURN])
    assert figures.kills_fired == 1, figures
    assert not figures.problems, figures.problems
    assert figures.rooms_closed == figures.rooms >= 2
    assert figures.reflections_acknowledged >= 1


async def test_a_kill_during_clean_up_still_ends_the_brew(tmp_path: Path) -> None:
    (figures,) = await run_kills(tmp_path, [CLEAN_UP])
    assert figures.kills_fired == 1, figures
    assert not figures.problems, figures.problems


async def test_a_kill_while_rooms_open_strands_nobody(tmp_path: Path) -> None:
    (figures,) = await run_kills(tmp_path, [OPENING])
    assert figures.kills_fired == 1, figures
    assert not figures.problems, figures.problems


@pytest.mark.soak
async def test_twenty_kills_over_five_brews(tmp_path: Path) -> None:
    results: list[Figures] = []
    for n, brew in enumerate(SOAK_BREWS):
        results += await run_kills(tmp_path / str(n), [m.name for m in brew])
    problems = [p for f in results for p in f.problems]
    assert sum(f.kills_fired for f in results) == 20 and not problems, problems
