"""Many servers starting brews in the same instant, on the one SQLite file (issue 12).

One process serves every server, and SQLite takes one writer at a time. With 80 starts
at once, some used to wait longer than the busy timeout for the write lock and failed with
"database is locked" (the facilitator saw "something went wrong"). Every start must open its
rooms: a start plans without holding a connection, and a write waits up to 30 s for the lock.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from sqlalchemy import func, select

from bot.config import BrewDefaults
from bot.db.migrate import upgrade
from bot.db.models import Brew, Room
from bot.db.session import create_engine, session_factory
from bot.rehearsal.stage import Stage, build_world, settings_options, stage_config
from discordsim import DiscordSimulator, RateLimitPolicy

SERVERS = 80


async def test_eighty_servers_start_brews_in_the_same_instant(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'brewhost.db'}"
    await asyncio.to_thread(upgrade, db_url)
    sim = DiscordSimulator(rate_limits=RateLimitPolicy.off())
    await sim.start()
    worlds = [build_world(sim, 8, server=f"Server {i + 1}") for i in range(SERVERS)]
    config = stage_config(sim, worlds[0], db_url, brew=BrewDefaults(group_size=4), speed=10)
    config = dataclasses.replace(
        config,
        discord=dataclasses.replace(config.discord, guild_ids=tuple(w.guild_id for w in worlds)),
    )
    stage = Stage(sim, worlds[0], config, boot_within=60)
    try:
        await stage.start()
        for world in worlds:
            settings = await sim.invoke_command(
                world.guild_id,
                world.hall.id,
                world.admin.id,
                "brew settings",
                **settings_options(world),
            )
            await stage.final_text(settings, within=30)
            for member in [*world.people, world.facilitator]:
                await sim.set_voice(world.guild_id, member.id, world.lounge.id)
        records = await asyncio.gather(
            *(
                sim.invoke_command(
                    w.guild_id,
                    w.hall.id,
                    w.facilitator.id,
                    "brew start",
                    question="What's missing?",
                )
                for w in worlds
            )
        )
        answers = await asyncio.gather(*(stage.final_text(r, within=90) for r in records))
        refused = [a for a in answers if "rooms are open" not in a]
        assert not refused, refused[:3]
    finally:
        await stage.stop()
        await sim.close()
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as session:
            brews = await session.scalar(select(func.count()).select_from(Brew))
            rooms = await session.scalar(select(func.count()).select_from(Room))
    finally:
        await engine.dispose()
    assert (brews, rooms) == (SERVERS, 2 * SERVERS)
