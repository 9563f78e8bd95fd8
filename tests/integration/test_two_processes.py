"""Scale out, proven: two ``brewhost run`` processes (shard 0 and shard 1 of 2) on one PostgreSQL
database and one simulated Discord with four servers, two per shard, a brew in each.

Both processes start at the same moment on an empty database (one migration, both succeed),
each registers commands only in its own servers, answers only its own servers, and when the
shard-1 process is SIGKILLed mid-brew and started again its brews finish with every prompt
once, while the shard-0 brews keep their pace. About 35-45 s on a quiet machine.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.db.models import Brew, Room
from discordsim import GUILD_TEXT, GUILD_VOICE, Channel, DiscordSimulator, Guild, Member, Role
from discordsim import guild_shard as shard_of
from discordsim.snowflake import snowflake_time

#: At 20, a one-minute turn lasts three seconds and the whole 12-minute brew 36, so the
#: killed process is back (start-up takes a few seconds) before its brews' turns are over.
#: Turns that fall due while it is down start afresh when it is back, and reflecting together
#: absorbs the delay (13.5 s of it on time): enough that a start-up slowed by a busy machine
#: (up to about 15 s) still leaves time to reflect before close.
SPEED = 20.0
LENGTH_MINUTES = 12
TURN_S = 60 / SPEED
MANAGE_GUILD = 1 << 5


@dataclass
class Server:
    guild: Guild
    admin: Member
    facilitator: Member
    facilitators: Role
    organisers: Role
    hall: Channel
    lounge: Channel
    people: list[Member]

    @property
    def shard(self) -> int:
        return shard_of(self.guild.id, 2)


def build_server(sim: DiscordSimulator, name: str, shard: int) -> Server:
    guild = sim.create_guild(name, shard=(shard, 2))
    admins = sim.create_role(guild.id, "Admins", permissions=MANAGE_GUILD)
    facilitators = sim.create_role(guild.id, "Facilitators")
    organisers = sim.create_role(guild.id, "Organisers")
    return Server(
        guild=guild,
        admin=sim.create_member(guild.id, "Ada Admin", roles=[admins.id]),
        facilitator=sim.create_member(guild.id, "Fran Facilitator", roles=[facilitators.id]),
        facilitators=facilitators,
        organisers=organisers,
        hall=sim.create_channel(guild.id, "brew-hall", type=GUILD_TEXT),
        lounge=sim.create_channel(guild.id, "Lounge", type=GUILD_VOICE),
        people=[sim.create_member(guild.id, f"Person {i + 1}") for i in range(4)],
    )


def write_config(
    path: Path, sim: DiscordSimulator, db_url: str, guild_ids: list[int], shard: int
) -> Path:
    path.write_text(
        "[discord]\n"
        f"guild_ids = {guild_ids}\n"
        f'api_base_url = "{sim.api_base_url}"\n'
        f'gateway_url = "{sim.gateway_url}"\n'
        "max_ratelimit_timeout = 10.0\n"
        f"shard_id = {shard}\nshard_count = 2\n"
        "[database]\n"
        f'url = "{db_url}"\n'
        "pool_size = 3\nmax_overflow = 2\n"
        "[brew]\n"
        "group_size = 4\narrive_seconds = 60\nthink_seconds = 30\nturn_seconds = 60\n"
        "nudge_seconds = 20\n"
        f"length_minutes = {LENGTH_MINUTES}\nstill_seconds = 60\n"
        "min_reflect_seconds = 60\nclose_seconds = 60\ncleanup_minutes = 1\n"
        "[timing]\n"
        f"speed = {SPEED}\n",
        encoding="utf-8",
    )
    return path


class Process:
    """One ``brewhost run`` with its output in a file (a pipe could fill and block it)."""

    def __init__(self, config: Path, log: Path, env: dict[str, str]) -> None:
        self.config, self.log, self.env = config, log, env
        self.proc: asyncio.subprocess.Process | None = None
        self.runs = 0

    async def start(self) -> None:
        self.runs += 1
        out = (self.log.parent / f"{self.log.stem}-{self.runs}.log").open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(self.config),
            env=self.env,
            cwd=self.config.parent,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
        out.close()

    def output(self) -> str:
        return "".join(
            (self.log.parent / f"{self.log.stem}-{n}.log").read_text(errors="replace")
            for n in range(1, self.runs + 1)
        )

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def answer(
    sim: DiscordSimulator, server: Server, user: Member, name: str, **options: Any
) -> str:
    """Run a command and return the bot's last word on it (followups included)."""
    rec = await sim.invoke_command(server.guild.id, server.hall.id, user.id, name, **options)
    await rec.wait_response(timeout=10)

    def latest() -> str | None:
        texts = [m.content for m in rec.followups]
        if rec.original_message is not None and rec.original_message.content:
            texts.insert(0, rec.original_message.content)
        return texts[-1] if texts else None

    await sim.wait_for(lambda: latest() and "Opening rooms" not in latest(), timeout=20)
    return latest() or ""


def room_channel(sim: DiscordSimulator, server: Server) -> Channel | None:
    rooms = [
        c for c in sim.channels(server.guild.id, type=GUILD_TEXT) if c.name.startswith("room-")
    ]
    return rooms[0] if rooms else None


def turn_prompt_times(sim: DiscordSimulator, channel_id: int) -> list[float]:
    return [
        snowflake_time(m.id).timestamp()
        for m in sim.messages(channel_id, include_deleted=True)
        if m.author_id == sim.bot_id and "it is your turn" in m.content
    ]


async def db_rooms(db_url: str) -> tuple[list[Brew], list[Room]]:
    from bot.db.session import create_engine, session_factory

    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as session:
            brews = list(await session.scalars(select(Brew)))
            rooms = list(await session.scalars(select(Room)))
    finally:
        await engine.dispose()
    return brews, rooms


async def test_two_shard_processes_share_one_database(postgres_url: str, tmp_path: Path) -> None:
    sim = DiscordSimulator(shards=2)
    await sim.start()
    procs: list[Process] = []
    try:
        servers = [build_server(sim, f"Region {n}", n % 2) for n in range(4)]
        ids = [s.guild.id for s in servers]
        env = dict(os.environ, BREWHOST_TOKEN=sim.bot_token)
        for shard in (0, 1):
            config = write_config(tmp_path / f"shard{shard}.toml", sim, postgres_url, ids, shard)
            procs.append(Process(config, tmp_path / f"shard{shard}", env))

        # Both at the same moment, on an empty database.
        await asyncio.gather(*(p.start() for p in procs))
        await sim.wait_for(lambda: all(sim.commands(g) for g in ids), timeout=40)
        await sim.wait_for(lambda: len(sim.gateway.connected_sessions()) == 2, timeout=20)
        assert sorted(s.shard for s in sim.gateway.connected_sessions()) == [(0, 2), (1, 2)]
        assert not sim.commands()  # no global sync; each server synced by its own shard
        # Commands are synced in the background while the gateway connects: wait for each
        # process to have said so for as many servers as it owns, then check which they are.
        owned = {shard: sorted(s.guild.id for s in servers if s.shard == shard) for shard in (0, 1)}
        await sim.wait_for(
            lambda: all(
                len(re.findall(r"to server (\d+)", p.output())) >= len(owned[shard])
                for shard, p in enumerate(procs)
            ),
            timeout=20,
        )
        logs = [p.output() for p in procs]
        assert sum("Running upgrade  -> 0001" in log for log in logs) == 1, logs
        for shard, log in enumerate(logs):
            assert sorted(int(g) for g in re.findall(r"to server (\d+)", log)) == owned[shard]

        for server in servers:
            said = await answer(
                sim,
                server,
                server.admin,
                "brew settings",
                facilitator_role=server.facilitators.id,
                organiser_role=server.organisers.id,
                main_voice_channel=server.lounge.id,
                area=server.guild.name,
            )
            assert "Facilitator role: <@&" in said
            for member in [*server.people, server.facilitator]:
                await sim.set_voice(server.guild.id, member.id, server.lounge.id)
        starts = await asyncio.gather(
            *(
                answer(sim, s, s.facilitator, "brew start", question="What's missing?")
                for s in servers
            )
        )
        assert all("1 room is open" in said for said in starts), starts
        rooms = {s.guild.id: room_channel(sim, s) for s in servers}
        assert all(rooms.values())

        # Kill shard 1 when its brews are in their second turn; restart it a moment later.
        victims = [s for s in servers if s.shard == 1]
        survivors = [s for s in servers if s.shard == 0]

        def second_turn() -> bool:
            return all(
                any("(2 of 4)" in m.content for m in sim.messages(rooms[s.guild.id].id))  # type: ignore[union-attr]
                for s in victims
            )

        await sim.wait_for(second_turn, timeout=30)
        await procs[1].kill()
        killed_at = asyncio.get_running_loop().time()
        await asyncio.sleep(TURN_S)  # deadlines fall due while shard 1 is down
        await procs[1].start()
        await sim.wait_for(lambda: len(sim.gateway.connected_sessions()) == 2, timeout=20)
        back_after = asyncio.get_running_loop().time() - killed_at
        await sim.wait_for(lambda: all(room_channel(sim, s) is None for s in servers), timeout=60)
        assert asyncio.get_running_loop().time() - killed_at < 60

        # Channels go first, then the brew is marked ended.
        for _ in range(100):
            brews, db_room_list = await db_rooms(postgres_url)
            if all(b.status == "ended" for b in brews):
                break
            await asyncio.sleep(0.1)
        assert len(brews) == 4 and all(b.status == "ended" for b in brews)
        for room in db_room_list:
            texts = [
                m.content
                for m in sim.messages(room.text_channel_id or 0, include_deleted=True)
                if m.author_id == sim.bot_id
            ]
            speakers = [
                int(re.search(r"<@(\d+)>", t).group(1))  # type: ignore[union-attr]
                for t in texts
                if "it is your turn" in t
            ]
            assert speakers == room.turn_order, (speakers, room.turn_order)
            duplicates = {t: n for t, n in Counter(texts).items() if n > 1}
            assert not duplicates
            heads = [t.split("\n")[0] for t in texts if t.startswith("**")]
            assert heads[-1] == "**Close**" and heads.count("**Reflect together**") == 1, (
                shard_of({b.id: b.guild_id for b in brews}[room.brew_id], 2),
                heads,
                texts,
            )

        # The surviving shard's brews never paused: turns followed each other at the pace of
        # one turn, with a margin for a busy machine, all through the other process's outage.
        for server in survivors:
            times = turn_prompt_times(sim, rooms[server.guild.id].id)  # type: ignore[union-attr]
            gaps = [b - a for a, b in itertools.pairwise(times)]
            assert len(times) == 4 and max(gaps) < TURN_S + 2.0, (gaps, back_after)
        restarted = procs[1].output()
        assert "recovered" in restarted and "Traceback" not in "".join(p.output() for p in procs)
    finally:
        for proc in procs:
            await proc.stop()
        await sim.close()
