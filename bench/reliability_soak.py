"""The reliability soak: the real bot process SIGKILLed at twenty moments spread over five brews
(rooms opening, moves, welcome and think posts, turn prompts stored but not yet noted, a nudge,
reflect together, close, a reflection acknowledged, recall, clean-up), restarted on the same
SQLite database each time, every brew audited. Prints the figures docs/RELIABILITY.md quotes.

    .venv/bin/python bench/reliability_soak.py            # about 5 minutes on a quiet machine
    .venv/bin/python -m pytest -m soak tests/reliability  # the same as a test

Exit status 0 only if every kill fired and nothing was lost, doubled, stranded or leaked.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.killer import SOAK_BREWS, Figures, KillRig

#: Kills fired in brews whose audit found nothing wrong.
SURVIVED: list[int] = []


async def soak(tmp: Path) -> Figures:
    sim = KillRig.simulator()
    await sim.start()
    rig = KillRig(sim, tmp)
    total = Figures()
    try:
        await rig.boot()
        await rig.configure()
        for n, moments in enumerate(SOAK_BREWS, start=1):
            figures = await rig.run_brew(moments, n)
            print(
                f"brew {n}: {figures.kills_fired}/{figures.kills_tried} kills, "
                f"{len(figures.problems)} problems",
                flush=True,
            )
            for problem in figures.problems:
                print("   ", problem, flush=True)
            total.add(figures)
            if not figures.problems:
                SURVIVED.append(figures.kills_fired)
        if "Traceback" in rig.bot.output():
            total.problems.append("a traceback in the bot's output")
    finally:
        await rig.bot.stop()
        await sim.close()
    return total


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="brewhost-soak-") as tmp:
        total = asyncio.run(soak(Path(tmp)))
    print(f"\ncommit {commit}")
    print(
        f"kills survived: {sum(SURVIVED)} of {total.kills_tried} tried "
        f"({total.kills_fired} fired; moments: {', '.join(total.moments)})"
    )
    print(
        f"brews: {total.brews}, rooms: {total.rooms}, rooms that reached Close: "
        f"{total.rooms_closed}, members: {total.members}"
    )
    print(f"prompts lost: {total.prompts_lost}, prompts doubled: {total.prompts_doubled}")
    print(f"people stranded: {total.stranded}, channels leaked: {total.channels_leaked}")
    print(
        f"reflections acknowledged: {total.reflections_acknowledged}, "
        f"missing: {total.reflections_missing}"
    )
    ok = total.kills_fired == total.kills_tried and not total.problems
    print("PASS" if ok else f"FAIL ({len(total.problems)} problems)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
