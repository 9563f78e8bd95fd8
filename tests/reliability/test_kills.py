"""Kills, the fast part: the real bot process SIGKILLed at three moments of one brew (rooms
opening, a turn prompt stored but not yet noted, clean-up), restarted on the same database each
time. The twenty-moment soak is ``bench/reliability_soak.py`` (and ``pytest -m soak``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .killer import ALL_MOMENTS, KillRig

OPENING = "rooms opening: third channel made"
AFTER_OPENING = ["first turn prompt posted, before its note", "clean-up: first channel deleted"]


async def run_kills(tmp_path: Path, names: list[str], brews: int = 1) -> list[object]:
    moments = [m for m in ALL_MOMENTS if m.name in names]
    sim = KillRig.simulator()
    await sim.start()
    rig = KillRig(sim, tmp_path)
    results = []
    try:
        await rig.boot()
        await rig.configure()
        per = max(1, len(moments) // brews)
        for n in range(1, brews + 1):
            chunk = moments[(n - 1) * per : n * per] if n < brews else moments[(n - 1) * per :]
            results.append(await rig.run_brew(chunk, n))
        output = rig.bot.output()
        assert "Traceback" not in output, output[-4000:]
    finally:
        await rig.bot.stop()
        await sim.close()
    return results


async def test_kills_mid_turn_and_during_clean_up_lose_nothing(tmp_path: Path) -> None:
    (figures,) = await run_kills(tmp_path, AFTER_OPENING)
    assert figures.kills_fired == 2, figures  # type: ignore[attr-defined]
    assert not figures.problems, figures.problems  # type: ignore[attr-defined]
    assert figures.rooms_closed == figures.rooms >= 2  # type: ignore[attr-defined]
    assert figures.reflections_acknowledged >= 1  # type: ignore[attr-defined]


async def test_a_kill_while_rooms_open_strands_nobody(tmp_path: Path) -> None:
    (figures,) = await run_kills(tmp_path, [OPENING])
    assert figures.kills_fired == 1, figures  # type: ignore[attr-defined]
    assert not figures.problems, figures.problems  # type: ignore[attr-defined]


@pytest.mark.soak
async def test_twenty_kills_over_five_brews(tmp_path: Path) -> None:
    results = await run_kills(tmp_path, [m.name for m in ALL_MOMENTS], brews=5)
    problems = [p for f in results for p in f.problems]  # type: ignore[attr-defined]
    assert sum(f.kills_fired for f in results) == 20 and not problems, problems  # type: ignore[attr-defined]
