"""The kill harness: the real bot as a separate ``brewhost run`` process against a simulator in
this process, SIGKILLed at chosen moments of a brew's life and started again on the same database.

A :class:`Moment` is a condition on what the simulator has seen since the moment was armed (the
third room channel created, a turn prompt stored, the first clean-up delete...). It is checked in
the simulator's change listener, which runs inside the REST request that caused the change,
*before* the answer goes back to the bot: so "kill after the turn prompt is posted" kills the
process between Discord storing the post and the bot writing down that it was posted, the
window a restart must get right.

After the brew, :func:`audit` checks what people would notice: every room reached Close, every
member got exactly one turn prompt, nobody was left in a room channel, no channel was left
behind, every acknowledged reflection is stored. It returns figures for docs/RELIABILITY.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.rehearsal.stage import World, build_world
from discordsim import GUILD_TEXT, GUILD_VOICE, DiscordSimulator, RateLimitPolicy, RestCall

log = logging.getLogger(__name__)

#: At 20 a one-minute turn lasts 3 s and the 10-minute brew 30 s: a restart (2-5 s on a busy
#: machine) costs a turn or so, which the runner must catch up on without losing a prompt.
SPEED = 20.0
CHANNELS = "/guilds/{guild_id}/channels"
MESSAGES = "/channels/{channel_id}/messages"
MEMBER = "/guilds/{guild_id}/members/{user_id}"
CHANNEL = "/channels/{channel_id}"
PROMPT = re.compile(r"<@(\d+)>, it is your turn")


@dataclass(frozen=True)
class Moment:
    """When to kill: ``check`` looks at the simulator and the REST calls since arming."""

    name: str
    check: Callable[[DiscordSimulator, list[RestCall]], bool]


def calls(route: str, method: str, n: int) -> Callable[[DiscordSimulator, list[RestCall]], bool]:
    """At least ``n`` successful ``method route`` calls since arming."""

    def check(_sim: DiscordSimulator, since: list[RestCall]) -> bool:
        ok = [c for c in since if c.method == method and c.route == route and c.status < 300]
        return len(ok) >= n

    return check


def posted(text: str, n: int = 1) -> Callable[[DiscordSimulator, list[RestCall]], bool]:
    """At least ``n`` bot posts containing ``text`` stored since arming."""

    def check(sim: DiscordSimulator, since: list[RestCall]) -> bool:
        hits = 0
        for call in since:
            if call.method == "POST" and call.route == MESSAGES and call.status < 300:
                body = call.body if isinstance(call.body, dict) else {}
                hits += text in str(body.get("content", ""))
        return hits >= n

    return check


def modal_submitted(n: int = 1) -> Callable[[DiscordSimulator, list[RestCall]], bool]:
    """At least ``n`` reflection forms answered by the bot since arming (acknowledged)."""

    def check(sim: DiscordSimulator, since: list[RestCall]) -> bool:
        done = [
            c
            for c in since
            if c.route.startswith(("/webhooks/", "/interactions/"))
            and "reflection is" in json.dumps(c.body)
        ]
        return len(done) >= n

    return check


#: The twenty moments of the soak: five brews of four, each brew's in the order they happen
#: (a moment counts what happened since the previous kill's restart).
SOAK_BREWS: list[list[Moment]] = [
    [
        Moment("rooms opening: first channel made", calls(CHANNELS, "POST", 1)),
        Moment("think posted, before its note", posted("**Think**")),
        Moment("mid-turn nudge posted", posted("seconds left of your turn")),
        Moment("recall posted", posted("This brew has finished")),
    ],
    [
        Moment("rooms opening: third channel made", calls(CHANNELS, "POST", 3)),
        Moment("first turn prompt posted, before its note", posted("it is your turn")),
        Moment("reflect together posted", posted("**Reflect together**")),
        Moment("clean-up: first channel deleted", calls(CHANNEL, "DELETE", 1)),
    ],
    [
        Moment("rooms opening: fifth channel made", calls(CHANNELS, "POST", 5)),
        Moment("third turn prompt posted", posted("it is your turn", 3)),
        Moment("close posted, before its note", posted("**Close**")),
        Moment("clean-up: third channel deleted", calls(CHANNEL, "DELETE", 3)),
    ],
    [
        Moment("moving people into rooms", calls(MEMBER, "PATCH", 2)),
        Moment("fifth turn prompt posted", posted("it is your turn", 5)),
        Moment("second room's close posted", posted("**Close**", 2)),
        Moment("people moved back (recall)", calls(MEMBER, "PATCH", 2)),
    ],
    [
        Moment("welcome posted, before its note", posted("**Arrive")),
        Moment("second turn prompt posted", posted("it is your turn", 2)),
        Moment("a reflection acknowledged", modal_submitted(1)),
        Moment("clean-up: second channel deleted", calls(CHANNEL, "DELETE", 2)),
    ],
]
ALL_MOMENTS: list[Moment] = [m for brew in SOAK_BREWS for m in brew]


def write_config(path: Path, sim: DiscordSimulator, db_url: str, guild_id: int) -> Path:
    path.write_text(
        "[discord]\n"
        f"guild_ids = [{guild_id}]\n"
        f'api_base_url = "{sim.api_base_url}"\n'
        f'gateway_url = "{sim.gateway_url}"\n'
        "max_ratelimit_timeout = 10.0\n"
        "[database]\n"
        f'url = "{db_url}"\n'
        "[brew]\n"
        "group_size = 3\narrive_seconds = 60\nthink_seconds = 30\nturn_seconds = 60\n"
        "nudge_seconds = 20\nlength_minutes = 10\nstill_seconds = 60\n"
        "min_reflect_seconds = 60\nclose_seconds = 60\ncleanup_minutes = 1\n"
        "[timing]\n"
        f"speed = {SPEED}\n",
        encoding="utf-8",
    )
    return path


class BotProcess:
    """One ``brewhost run`` at a time, output to numbered files (a pipe could fill and block)."""

    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.config, self.env = config, env
        self.proc: asyncio.subprocess.Process | None = None
        self.runs = 0

    def _log(self, n: int) -> Path:
        return self.config.parent / f"run-{n}.log"

    async def start(self) -> None:
        self.runs += 1
        with self._log(self.runs).open("wb") as out:
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

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.returncode is None else None

    def output(self) -> str:
        return "".join(self._log(n).read_text(errors="replace") for n in range(1, self.runs + 1))

    async def wait_dead(self) -> None:
        if self.proc is not None:
            await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


@dataclass
class Figures:
    """What one run measured (summed over brews by the soak)."""

    kills_tried: int = 0
    kills_fired: int = 0
    brews: int = 0
    rooms: int = 0
    rooms_closed: int = 0
    members: int = 0
    prompts_lost: int = 0
    prompts_doubled: int = 0
    stranded: int = 0
    channels_leaked: int = 0
    reflections_acknowledged: int = 0
    reflections_missing: int = 0
    moments: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, other: Figures) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, int):
                setattr(self, name, value + getattr(other, name))
            else:
                value.extend(getattr(other, name))


class KillRig:
    """The simulator, a world, the database and the bot process; runs brews with kills."""

    def __init__(self, sim: DiscordSimulator, tmp: Path, people: int = 8) -> None:
        self.sim = sim
        self.world: World = build_world(sim, people)
        self.db_path = tmp / "brewhost.db"
        config = write_config(
            tmp / "config.toml", sim, f"sqlite+aiosqlite:///{self.db_path}", self.world.guild_id
        )
        self.bot = BotProcess(config, dict(os.environ, BREWHOST_TOKEN=sim.bot_token))
        self.acknowledged: dict[int, str] = {}
        self._brew_log_start = 0

    @classmethod
    def simulator(cls) -> DiscordSimulator:
        # No rate limits: the kill is exact anyway (it happens inside the simulator's handling
        # of the request that makes the moment), and the brews run faster on a shared machine.
        return DiscordSimulator(rate_limits=RateLimitPolicy.off(), log_limit=500_000)

    # ---------------------------------------------------------------- lifecycle
    async def boot(self) -> None:
        await self.bot.start()
        await self.sim.wait_for(lambda: self.sim.gateway.connected_sessions(), timeout=60)
        await self.sim.wait_for(lambda: self.sim.commands(self.world.guild_id), timeout=60)

    async def configure(self) -> None:
        world = self.world
        rec = await self.sim.invoke_command(
            world.guild_id,
            world.hall.id,
            world.admin.id,
            "brew settings",
            facilitator_role=world.facilitators.id,
            organiser_role=world.organisers.id,
            main_voice_channel=world.lounge.id,
        )
        await rec.wait_response(timeout=20)

    def arm(self, moment: Moment) -> asyncio.Future[bool]:
        """From now on, SIGKILL the bot the instant ``moment`` holds; the future says when."""
        start = len(self.sim.rest_log)
        fired: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def listener() -> None:
            if fired.done():
                return
            since = list(self.sim.rest_log)[start:]
            if moment.check(self.sim, since):
                pid = self.bot.pid
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)
                fired.set_result(True)

        self.sim.state.listeners.append(listener)

        def forget(_done: asyncio.Future[bool]) -> None:  # fired, or given up on
            if listener in self.sim.state.listeners:
                self.sim.state.listeners.remove(listener)

        fired.add_done_callback(forget)
        return fired

    async def kill_at(
        self, moment: Moment, timeout: float, fired: asyncio.Future[bool] | None = None
    ) -> bool:
        """Wait for ``moment`` (armed now unless ``fired`` was armed earlier) and the kill;
        False if it never came within ``timeout``."""
        fired = fired if fired is not None else self.arm(moment)
        try:
            await asyncio.wait_for(fired, timeout)
        except TimeoutError:
            return False
        await self.bot.wait_dead()
        log.info("killed at %s", moment.name)
        return True

    # ---------------------------------------------------------------- people
    async def start_brew(self, question: str) -> None:
        """Everyone into the Lounge, then /brew start (not awaited to the end: a kill may
        interrupt it)."""
        world = self.world
        for member in [*world.people, world.facilitator]:
            if self.sim.voice_channel_of(world.guild_id, member.id) != world.lounge.id:
                await self.sim.set_voice(world.guild_id, member.id, world.lounge.id)
        rec = await self.sim.invoke_command(
            world.guild_id, world.hall.id, world.facilitator.id, "brew start", question=question
        )
        with contextlib.suppress(Exception):
            await rec.wait_response(timeout=10)

    async def reflect(self, brew_id: int, user_id: int) -> None:
        """``user_id`` leaves a reflection with /reflect, trying again until it is acknowledged
        (a kill can swallow a try; only an acknowledged one is owed)."""
        text = f"Reflection of {user_id} on brew {brew_id}."
        for _ in range(40):
            try:
                rec = await self.sim.invoke_command(
                    self.world.guild_id, self.world.hall.id, user_id, "reflect"
                )
                await rec.wait_response(timeout=10)
                if rec.modal is None:
                    await asyncio.sleep(1)
                    continue
                sub = await self.sim.submit_modal(user_id, rec, {"q:lasting": text})
                await sub.wait_response(timeout=10)
                await self.sim.wait_for(
                    lambda s=sub: _said(s, "reflection is"),
                    timeout=10,  # type: ignore[misc]
                )
                self.acknowledged[user_id] = text
                return
            except Exception as exc:  # the bot may be down: try again in a moment
                log.info("reflection by %s not acknowledged yet: %r", user_id, exc)
                await asyncio.sleep(1)

    async def run_brew(
        self,
        moments: list[Moment],
        n: int,
        *,
        restart_delay: float = 0.5,
        ended_within: float = 120.0,
    ) -> Figures:
        """One brew with a kill at each of ``moments`` (in order), then the audit."""
        figures = Figures(kills_tried=len(moments))
        reflections: list[asyncio.Task[None]] = []
        self.acknowledged = {}
        self._brew_log_start = len(self.sim.rest_log)
        # The first moment is armed before the start: opening and the welcome come quickly.
        first = self.arm(moments[0]) if moments else None
        await self.start_brew(f"What's missing, round {n}?")
        brew_id = await self.sim.wait_for(lambda: self.brew_id(n), timeout=60)
        closing_watch = asyncio.create_task(self._reflect_at_close(brew_id, reflections))
        try:
            for i, moment in enumerate(moments):
                if await self.kill_at(moment, timeout=120, fired=first if i == 0 else None):
                    figures.kills_fired += 1
                    figures.moments.append(moment.name)
                else:
                    figures.problems.append(f"brew {brew_id}: moment never came: {moment.name}")
                await asyncio.sleep(restart_delay)
                if self.bot.pid is None:
                    await self.boot()
            try:
                await self.sim.wait_for(
                    lambda: self.brew_status(brew_id) == "ended", timeout=ended_within
                )
                # Rooms that never reached Close are the audit's to report, not a hang here.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(closing_watch), 10)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.gather(*reflections), 60)
            except TimeoutError:
                figures.problems.append(
                    f"brew {brew_id} did not end within {ended_within}s: status "
                    f"{self.brew_status(brew_id)}, rooms {self.rooms(brew_id)}"
                )
        finally:
            closing_watch.cancel()
            for task in reflections:
                task.cancel()
        figures.add(self.audit(brew_id))
        return figures

    async def _reflect_at_close(self, brew_id: int, tasks: list[asyncio.Task[None]]) -> None:
        """Once a room reaches Close, two of its members reflect ("reflections arrive")."""
        await self.sim.wait_for(lambda: self._close_posted(brew_id), timeout=600)
        for room in self.rooms(brew_id)[:2]:
            for uid in room["turn_order"][:1]:
                tasks.append(asyncio.create_task(self.reflect(brew_id, uid)))

    # ---------------------------------------------------------------- the database, read plainly
    def _query(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        if not self.db_path.exists():
            return []
        with contextlib.closing(sqlite3.connect(self.db_path, timeout=30)) as conn:
            try:
                return list(conn.execute(sql, args))
            except sqlite3.OperationalError:
                return []

    def brew_id(self, n: int) -> int | None:
        rows = self._query("SELECT id FROM brews ORDER BY id")
        return int(rows[n - 1][0]) if len(rows) >= n else None  # type: ignore[call-overload]

    def brew_status(self, brew_id: int) -> str | None:
        rows = self._query("SELECT status FROM brews WHERE id = ?", brew_id)
        return str(rows[0][0]) if rows else None

    def rooms(self, brew_id: int) -> list[dict[str, object]]:
        rows = self._query(
            "SELECT id, status, text_channel_id, voice_channel_id, turn_order FROM rooms "
            'WHERE brew_id = ? ORDER BY "index"',
            brew_id,
        )
        return [
            {
                "id": r[0],
                "status": r[1],
                "text": r[2],
                "voice": r[3],
                "turn_order": json.loads(str(r[4] or "[]")),
            }
            for r in rows
        ]

    def _close_posted(self, brew_id: int) -> bool:
        return any(
            isinstance(room["text"], int)
            and any("**Close**" in t for t in self._texts(room["text"]))
            for room in self.rooms(brew_id)
        )

    def _texts(self, channel_id: int) -> list[str]:
        return [
            m.content
            for m in self.sim.messages(channel_id, include_deleted=True, include_ephemeral=False)
            if m.author_id == self.sim.bot_id
        ]

    # ---------------------------------------------------------------- the audit
    def audit(self, brew_id: int) -> Figures:
        """What people would notice about brew ``brew_id``; every count but the totals must be 0."""
        sim, world = self.sim, self.world
        fig = Figures(brews=1)
        rooms = self.rooms(brew_id)
        fig.rooms = len(rooms)
        members = [uid for room in rooms for uid in room["turn_order"]]  # type: ignore[attr-defined]
        fig.members = len(members)
        everyone = {p.id for p in world.people}
        for uid in everyone - set(members):
            fig.stranded += 1
            fig.problems.append(f"brew {brew_id}: {uid} was in voice but in no room")
        for room in rooms:
            texts = self._texts(room["text"]) if isinstance(room["text"], int) else []
            heads = [t.split("\n")[0] for t in texts if t.startswith("**")]
            if "**Close**" in heads:
                fig.rooms_closed += 1
            else:
                fig.problems.append(f"brew {brew_id} room {room['id']} never closed: {heads}")
        # Turn prompts anywhere the bot posted during this brew's life (re-made rooms included).
        prompts: Counter[int] = Counter()
        for channel_id in self._room_channels_posted_to():
            for text in self._texts(channel_id):
                for match in PROMPT.finditer(text):
                    if int(match.group(1)) in members and self._in_brew(channel_id, rooms):
                        prompts[int(match.group(1))] += 1
        for uid in members:
            if prompts[uid] == 0:
                fig.prompts_lost += 1
                fig.problems.append(f"brew {brew_id}: {uid} never got a turn prompt")
            elif prompts[uid] > 1:
                fig.prompts_doubled += prompts[uid] - 1
                fig.problems.append(f"brew {brew_id}: {uid} got {prompts[uid]} turn prompts")
        for uid in everyone:
            where = sim.voice_channel_of(world.guild_id, uid)
            if where is not None and where != world.lounge.id:
                fig.stranded += 1
                fig.problems.append(f"brew {brew_id}: {uid} left in voice channel {where}")
        left = [
            c
            for c in sim.channels(world.guild_id)
            if c.type in (GUILD_TEXT, GUILD_VOICE) and c.id not in (world.hall.id, world.lounge.id)
        ]
        fig.channels_leaked = len(left)
        if left:
            fig.problems.append(f"brew {brew_id}: channels left behind: {[c.name for c in left]}")
        stored = " ".join(str(r[0]) for r in self._query("SELECT answers FROM reflections"))
        fig.reflections_acknowledged = len(self.acknowledged)
        for uid, text in self.acknowledged.items():
            if text not in stored:
                fig.reflections_missing += 1
                fig.problems.append(f"brew {brew_id}: acknowledged reflection of {uid} missing")
        return fig

    def _room_channels_posted_to(self) -> set[int]:
        ids = set()
        for call in list(self.sim.rest_log)[self._brew_log_start :]:
            if call.method == "POST" and call.route == MESSAGES and call.status < 300:
                ids.add(int(call.path.rstrip("/").split("/")[-2]))
        return ids

    def _in_brew(self, channel_id: int, rooms: list[dict[str, object]]) -> bool:
        """A channel belongs to this brew if a room of it has it, or if it is a room channel
        no brew in the database claims (a half-made room a restart replaced)."""
        if any(room["text"] == channel_id for room in rooms):
            return True
        claimed = {int(str(r[0])) for r in self._query("SELECT text_channel_id FROM rooms") if r[0]}
        return channel_id not in claimed and channel_id != self.world.hall.id


def _said(rec: object, text: str) -> bool:
    msgs = []
    original = getattr(rec, "original_message", None)
    if original is not None:
        msgs.append(original.content or "")
    response = getattr(rec, "response", None)
    if response is not None:
        msgs.append(response.content or "")
    msgs += [m.content or "" for m in getattr(rec, "followups", [])]
    return any(text in m for m in msgs)
