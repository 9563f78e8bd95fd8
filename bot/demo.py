"""``brewhost demo``: a whole brew on a simulated Discord, on this computer, with no account.

It starts the package's local Discord simulator (:mod:`discordsim`, 127.0.0.1 only) and the
real :class:`~bot.shell.app.BrewBot` against it, with a temporary database, then plays every part
a person would:

* a server admin runs ``/brew settings``; most people sit in the Lounge voice channel;
* the facilitator runs ``/brew open``, people taking part by text press *Join (text only)* on the
  sign-up card, and the facilitator runs ``/brew start``;
* in each room people take their turns when the bot names them (text-only people type first),
  one person passes, one asks for help (the facilitator drops in), one asks for one more minute;
  the facilitator checks ``/brew status`` now and then;
* at Close people press *Leave a reflection* and fill in the form (some agree to be quoted), one
  uses ``/reflect`` after the brew; then an organiser runs ``/brew export`` and the report, chart
  and spreadsheet are written to ``--out``.

Everything the people do is decided by ``--seed`` (see :mod:`bot.demo_people`); only timings
vary between runs. The transcript is printed as it happens: what each room's text channel
shows, who was moved where, what the facilitator was told privately. At the end the demo checks
the brew (every phase in every room, every person's turn exactly once, one pass, the help
request, no errors, no late answers to a button, the report) and exits 0, or 1 with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.config import BrewDefaults
from bot.demo_people import FACILITATOR_HELLO, HELPED_REPLY, Part, cast

if TYPE_CHECKING:
    from bot.core.content import Content
    from bot.shell.app import BrewBot
    from discordsim import Channel, DiscordSimulator, InteractionRecord, Member, Message

QUESTION = "Co-production: what's missing?"
TITLE = "Co-production week"
AREA = "Norfolk"
BROADCAST = "No need to fill the silence. Take your time, and thank you for being here."
SERVER = "Norfolk Network"
MANAGE_GUILD = 1 << 5
#: The real defaults (a 30-minute brew), except that rooms are tidied away one minute after they
#: close rather than ten.
DEMO_BREW = replace(BrewDefaults(), cleanup_minutes=1)
MAX_PEOPLE = 60
WIDTH = 100
PLACE_WIDTH = 12
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE = re.compile(r"<@&(\d+)>")
_CHANNEL = re.compile(r"<#(\d+)>")
_STAMP = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


class DemoFailed(Exception):
    """The brew did not go as it should; the message is the one-line reason."""


# ---------------------------------------------------------------------------------- entry point
def run_demo(args: argparse.Namespace) -> int:
    """``brewhost demo``: 0 when the whole brew went as it should, 1 (with the reason) if not,
    2 for options that cannot work, 130 when interrupted with Ctrl-C."""
    problem = check_options(args)
    if problem:
        print(f"brewhost demo: {problem}", file=sys.stderr)
        return EXIT_USAGE
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"brewhost demo: cannot write to {out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with contextlib.ExitStack() as stack:
            if args.db:
                url = args.db if "://" in args.db else _sqlite_url(Path(args.db))
            else:
                folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="brewhost-demo-"))
                url = _sqlite_url(Path(folder) / "demo.db")
            from bot.db.migrate import upgrade

            try:
                upgrade(url)  # runs its own event loop: before ours
            except Exception as exc:
                reason = str(exc).split("\n")[0]
                print(f"brewhost demo failed: the database at {url}: {reason}", file=sys.stderr)
                return EXIT_FAILED
            demo = Demo(args, url, out, sys.stdout)
            return asyncio.run(demo.run())
    except KeyboardInterrupt:
        print("\nbrewhost demo: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


def check_options(args: argparse.Namespace) -> str | None:
    if not 2 <= args.people <= MAX_PEOPLE:
        return f"--people must be from 2 to {MAX_PEOPLE}"
    if not 0 <= args.text_only <= args.people:
        return "--text-only must be from 0 to the number of people"
    if not 1 <= args.speed <= 2000:
        return "--speed must be from 1 to 2000"
    return None


def _sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path.resolve()}"


# ---------------------------------------------------------------------------------- transcript
class Transcript:
    """Timestamped, wrapped lines: ``[mm:ss.s] place        text``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def stamp(self) -> str:
        tenths = int(self.elapsed() * 10)
        return f"[{tenths // 600:02d}:{tenths % 600 // 10:02d}.{tenths % 10}]"

    def say(self, place: str, text: str) -> None:
        prefix = f"{self.stamp()} {place:<{PLACE_WIDTH}} "
        indent = " " * len(prefix)
        out: list[str] = []
        for i, paragraph in enumerate(text.split("\n")):
            wrapped = textwrap.wrap(
                paragraph,
                WIDTH - len(prefix),
                break_long_words=False,
                break_on_hyphens=False,
            ) or [""]
            for j, line in enumerate(wrapped):
                out.append((prefix if i == 0 and j == 0 else indent) + line)
        self.emit("\n".join(line.rstrip() for line in out))

    def plain(self, text: str = "") -> None:
        self.emit(text)

    def emit(self, text: str) -> None:
        print(text, file=self.stream, flush=True)


class ErrorLog(logging.Handler):
    """Keeps every ERROR record (from the bot, discord.py, the scheduler or the simulator) and
    shows warnings from the bot itself in the transcript."""

    def __init__(self, transcript: Transcript) -> None:
        super().__init__(logging.WARNING)
        self.transcript = transcript
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage().split("\n")[0]
        except Exception:  # a broken log call must not break the demo
            message = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message += f" ({type(exc).__name__}: {exc})"
        if record.levelno >= logging.ERROR:
            self.errors.append(f"{record.name}: {message}")
            self.transcript.say("log", f"ERROR {record.name}: {message}")
        elif record.name.startswith(("bot", "cogs")):
            self.transcript.say("log", f"warning {record.name}: {message}")


# ---------------------------------------------------------------------------------- the demo
@dataclass
class Person:
    part: Part
    member: Member

    @property
    def id(self) -> int:
        return self.member.id

    @property
    def name(self) -> str:
        return self.part.name


@dataclass
class RoomLog:
    """What one room's text channel showed, in order (bot posts only)."""

    channel_id: int
    name: str
    members: list[int] = field(default_factory=list)
    posts: list[Message] = field(default_factory=list)


@dataclass
class Stats:
    reflections_saved: int = 0
    reflections_expected: int = 0
    files: list[Path] = field(default_factory=list)
    brew_number: int | None = None


class Demo:
    def __init__(self, args: argparse.Namespace, db_url: str, out: Path, stream: TextIO) -> None:
        self.args = args
        self.speed = float(args.speed)
        self.seed = int(args.seed)
        self.db_url = db_url
        self.out = out
        self.parts = cast(args.people, args.text_only, self.seed)
        self.transcript = Transcript(stream)
        self.errors = ErrorLog(self.transcript)
        self.failures: list[str] = []
        self.stats = Stats()
        self.tasks: set[asyncio.Task[None]] = set()
        self.rooms: dict[int, RoomLog] = {}
        self.people: dict[int, Person] = {}
        self.names: dict[int, str] = {}
        self.channel_names: dict[int, str] = {}
        self.sim_epoch = time.time()
        self.reflected: set[int] = set()
        self.asked_status = False
        # Set in run():
        self.sim: DiscordSimulator
        self.bot: BrewBot
        self.content: Content

    # ------------------------------------------------------------------ timing helpers
    async def pause(self, brew_seconds: float) -> None:
        """Wait ``brew_seconds`` of brew time (at speed 60, a minute is a second)."""
        await asyncio.sleep(brew_seconds / self.speed)

    def spawn(self, what: str, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(self._guard(what, coro))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _guard(self, what: str, coro: Awaitable[None]) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.fail(f"{what}: {type(exc).__name__}: {exc}")

    def fail(self, reason: str) -> None:
        first = reason.split("\n")[0]
        self.failures.append(first)
        self.transcript.say("demo", f"PROBLEM: {first}")

    # ------------------------------------------------------------------ the run
    async def run(self) -> int:
        from discordsim import DiscordSimulator, RateLimitPolicy

        root = logging.getLogger()
        saved_handlers, saved_level = root.handlers[:], root.level
        root.handlers[:] = [self.errors]
        root.setLevel(logging.WARNING)
        # Discord's rate limits, run at the brew's speed like everything else: the bot meets
        # them as often per brew minute as in a real brew. (Unscaled, five posts per five real
        # seconds would be five per five brew *minutes* at speed 60, and a room's posts would
        # queue for whole turns.)
        limits = RateLimitPolicy.discord_like(time_scale=1.0 / self.speed)
        sim = DiscordSimulator(rate_limits=limits)
        self.sim = sim
        await sim.start()
        watcher: asyncio.Task[None] | None = None
        engine: Any = None
        bot: BrewBot | None = None
        connection: asyncio.Task[None] | None = None
        # discord.py must point at the simulator until the bot has closed, so nothing it sends
        # while stopping can ever reach discord.com.
        patched = contextlib.ExitStack()
        patched.enter_context(sim.patch_discord())
        try:
            self.world = self.build_world()
            self.header()
            bot, engine = await self.start_bot()
            connection = asyncio.ensure_future(bot.connect())
            async with asyncio.timeout(20):
                await bot.wait_until_ready()
                await sim.wait_for(lambda: sim.commands(self.world.guild_id), timeout=20)
            self.bot = bot
            self.watch = Watcher(self)
            watcher = asyncio.ensure_future(self.watch.run())
            await self.play()
            self.watch.scan()
            self.check()
        except DemoFailed as exc:
            self.fail(str(exc))
        except TimeoutError as exc:
            self.fail(f"timed out: {exc}" if str(exc) else "timed out waiting for the bot")
        except Exception as exc:  # the demo's own fault: still stop cleanly and say why
            self.fail(f"the demo itself failed: {type(exc).__name__}: {exc}")
        finally:
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            if watcher is not None:
                self.watch.stop()
                await asyncio.gather(watcher, return_exceptions=True)
            if bot is not None:
                await bot.close()
            if connection is not None:
                await asyncio.gather(connection, return_exceptions=True)
            if engine is not None:
                await engine.dispose()
            await sim.close()
            patched.close()
            root.handlers[:] = saved_handlers
            root.setLevel(saved_level)
        return self.finish()

    def build_world(self) -> World:
        from discordsim import GUILD_TEXT, GUILD_VOICE

        sim = self.sim
        guild = sim.create_guild(SERVER)
        admins = sim.create_role(guild.id, "Admins", permissions=MANAGE_GUILD)
        facilitators = sim.create_role(guild.id, "Facilitators")
        organisers = sim.create_role(guild.id, "Organisers")
        admin = sim.create_member(guild.id, "Ada (server admin)", roles=[admins.id])
        facilitator = sim.create_member(guild.id, "Fran (facilitator)", roles=[facilitators.id])
        organiser = sim.create_member(guild.id, "Olu (organiser)", roles=[organisers.id])
        hall = sim.create_channel(guild.id, "brew-hall", type=GUILD_TEXT)
        lounge = sim.create_channel(guild.id, "Lounge", type=GUILD_VOICE)
        for part in self.parts:
            member = sim.create_member(guild.id, part.name)
            self.people[member.id] = Person(part, member)
        for user in (admin, facilitator, organiser, *(p.member for p in self.people.values())):
            self.names[user.id] = user.user.name
        self.names[sim.bot_id] = "Brew Host"
        for role in (admins, facilitators, organisers):
            self.names[role.id] = role.name
        for channel in (hall, lounge):
            self.channel_names[channel.id] = channel.name or str(channel.id)
        return World(guild.id, admin, facilitator, organiser, facilitators.id, hall, lounge)

    def header(self) -> None:
        people, text_only = self.args.people, self.args.text_only
        t = self.transcript
        t.plain("Brew Host demo: a whole brew on a simulated Discord (127.0.0.1, no account).")
        t.plain(
            f"Server {SERVER!r}: {people} people ({text_only} taking part by text only), "
            "Fran facilitates, Olu organises, Ada is the server admin."
        )
        minutes = self.speed / 60
        per_second = "a minute" if minutes == 1 else f"{minutes:g} minutes"
        t.plain(
            f"A {self.bot_length()}-minute brew at {self.speed:g} times normal speed: one second "
            f"here is {per_second} of a real brew (Discord's rate limits are sped up too)."
        )
        t.plain(f"Seed {self.seed}; database: {self._db_label()}.")
        t.plain(
            "Times in [brackets] are real seconds since the start; times in messages are on "
            "the brew's clock."
        )
        t.plain()

    def bot_length(self) -> int:
        return DEMO_BREW.length_minutes

    def _db_label(self) -> str:
        return self.args.db if self.args.db else "temporary"

    async def start_bot(self) -> tuple[BrewBot, Any]:
        from bot.clock import SystemClock
        from bot.config import Config, DatabaseConfig, DiscordConfig, TimingConfig
        from bot.core.content import load_content
        from bot.db.session import create_engine, session_factory
        from bot.shell.app import BrewBot, Services

        sim = self.sim
        config = Config(
            discord=DiscordConfig(
                token=sim.bot_token,
                guild_ids=(self.world.guild_id,),
                api_base_url=sim.api_base_url,
                gateway_url=sim.gateway_url,
                max_ratelimit_timeout=20.0,
            ),
            database=DatabaseConfig(url=self.db_url),
            brew=DEMO_BREW,
            timing=TimingConfig(speed=self.speed),
        )
        engine = create_engine(self.db_url)
        self.content = load_content()
        seed = self.seed
        services = Services(
            config=config,
            sessions=session_factory(engine),
            clock=SystemClock(self.speed),
            content=self.content,
            seed=lambda: seed,
        )
        bot = BrewBot(services, guild_ready_timeout=0.05)
        await bot.login(sim.bot_token)
        return bot, engine

    # ------------------------------------------------------------------ the story
    async def play(self) -> None:
        world, t = self.world, self.transcript
        await self.command(
            world.admin,
            "brew settings",
            facilitator_role=world.facilitators_role,
            organiser_role=self.role_id("Organisers"),
            main_voice_channel=world.lounge.id,
            area=AREA,
        )
        voice = [p for p in self.people.values() if not p.part.text_only]
        t.say("Lounge", f"{self.names[world.facilitator.id]} joins the Lounge voice channel.")
        await self.join_voice(world.facilitator.id)
        for person in voice:
            await self.join_voice(person.id)
        if voice:
            t.say("Lounge", f"{_names([p.name for p in voice])} join the Lounge voice channel.")
        await self.pause(5)

        rec = await self.command(world.facilitator, "brew open", question=QUESTION, title=TITLE)
        card = rec.original_message
        if card is None:
            raise DemoFailed("/brew open posted no sign-up card")
        join_text = self.content.button("join_text")
        for person in (p for p in self.people.values() if p.part.text_only):
            await self.pause(10)
            await self.press(person.id, card, join_text)
        await self.pause(10)

        rec = await self.command(world.facilitator, "brew start")
        started = await self.final_text(rec, within=60)
        found = re.search(r"Brew (\d+) has started", started)
        if found is None:
            raise DemoFailed(f"/brew start did not start the brew: {started}")
        self.stats.brew_number = int(found.group(1))

        await self.wait_until_brew_over()
        await self.wait_for_tasks()
        for person in self.people.values():
            if person.part.reflects == "command":
                await self.pause(30)
                await self.reflect_by_command(person)
        await self.wait_for_tasks()
        await self.export()

    def role_id(self, name: str) -> int:
        guild = self.sim.guild(self.world.guild_id)
        return next(r.id for r in guild.roles.values() if r.name == name)

    async def join_voice(self, user_id: int) -> None:
        self.watch.expect_voice(user_id, self.world.lounge.id)
        await self.sim.set_voice(self.world.guild_id, user_id, self.world.lounge.id)

    async def command(
        self, user: Member, name: str, channel: Channel | None = None, **options: Any
    ) -> InteractionRecord:
        channel = channel or self.world.hall
        shown = " ".join(f"{k}:{self._option_text(v)}" for k, v in options.items())
        said = f"{self.names[user.id]} runs /{name}" + (f" {shown}" if shown else "")
        self.transcript.say(self.place(channel.id), said)
        rec = await self.sim.invoke_command(
            self.world.guild_id, channel.id, user.id, name, **options
        )
        await rec.wait_response(timeout=10)
        return rec

    def _option_text(self, value: Any) -> str:
        if isinstance(value, int) and value in self.names:
            return f"@{self.names[value]}"
        if isinstance(value, int) and value in self.channel_names:
            return self.channel_names[value]
        return str(value)

    async def final_text(self, rec: InteractionRecord, within: float) -> str:
        """The bot's last word on ``rec`` once it stops saying "Opening rooms"."""

        def latest() -> str:
            texts = [m.content for m in rec.followups if m.content]
            original = rec.original_message
            if original is not None and original.content and not original.loading:
                texts.insert(0, original.content)
            text = texts[-1] if texts else ""
            return "" if text.startswith("Opening rooms") else text

        return await self.sim.wait_for(latest, timeout=within)

    async def press(self, user_id: int, message: Message, label: str) -> InteractionRecord:
        """``user_id`` presses the button labelled ``label`` under ``message``."""
        custom_id = message.button(label)["custom_id"]
        self.transcript.say(
            self.place(message.channel_id), f'{self.names[user_id]} presses "{label}"'
        )
        rec = await self.sim.click_button(user_id, message.channel_id, message.id, custom_id)
        await rec.wait_response(timeout=10)
        return rec

    async def type_in(self, user_id: int, channel_id: int, text: str) -> None:
        await self.sim.send_message(channel_id, user_id, text)

    async def wait_until_brew_over(self) -> None:
        """Every room closed and tidied away, and the brew marked ended."""
        budget = self.bot.config.brew.length_minutes * 60 / self.speed * 3 + 60
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline:
            if self.rooms and not self.watch.open_rooms() and await self.brew_status() == "ended":
                return
            await asyncio.sleep(0.05)
        raise DemoFailed(f"the brew had not ended after {budget:.0f} seconds")

    async def brew_status(self) -> str | None:
        from sqlalchemy import select

        from bot.db.models import Brew

        async with self.bot.services.sessions() as session:
            return await session.scalar(
                select(Brew.status).where(
                    Brew.guild_id == self.world.guild_id, Brew.number == self.stats.brew_number
                )
            )

    async def wait_for_tasks(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    # ------------------------------------------------------------------ people's parts
    def on_room_post(self, room: RoomLog, message: Message) -> None:
        """A bot message appeared in a room: whoever it concerns reacts, as a person would."""
        text = message.content
        heading = _heading(text)
        phases = self.content.phases
        if any(c.startswith("bh:turn:done:") for c in message.custom_ids()):
            found = _MENTION.search(text)
            person = self.people.get(int(found.group(1))) if found else None
            if person is not None:
                self.spawn(f"{person.name}'s turn", self.take_turn(person, message))
        elif heading == phases["think"].name:
            for person in self.room_people(room):
                if person.part.asks_for_help:
                    self.spawn(f"{person.name}'s help request", self.ask_for_help(person, message))
        elif heading == phases["reflect"].name:
            if not self.asked_status:  # the first room to finish its turns: how are the others?
                self.asked_status = True
                self.spawn("the facilitator's check", self.check_in(delay=20))
            for person in self.room_people(room):
                if person.part.typed_reflection:
                    self.spawn(f"{person.name} typing", self.chat(person, room, 30))
        elif heading == phases["close"].name:
            for person in self.room_people(room):
                if person.part.reflects == "button":
                    self.spawn(
                        f"{person.name}'s reflection", self.reflect_by_button(person, message)
                    )

    def on_hall_post(self, message: Message) -> None:
        if "would like a facilitator" in message.content:
            found = _CHANNEL.search(message.content)
            if found and int(found.group(1)) in self.rooms:
                room = self.rooms[int(found.group(1))]
                self.spawn("the facilitator's visit", self.visit(room))

    def room_people(self, room: RoomLog) -> list[Person]:
        return [self.people[m] for m in room.members if m in self.people]

    async def take_turn(self, person: Person, prompt: Message) -> None:
        part = person.part
        labels = self.content.button
        if part.passes:
            await self.pause(8)
            await self.press(person.id, prompt, labels("pass"))
            return
        spoken = 0.0
        if part.typed_turn:
            await self.pause(20)
            spoken += 20
            await self.type_in(person.id, prompt.channel_id, part.typed_turn)
        if part.more_time:
            await self.pause(70 - spoken)
            spoken = 70
            await self.press(person.id, prompt, labels("more_time"))
            await self.pause(70)
        await self.pause(max(5.0, part.speak - spoken))
        await self.press(person.id, prompt, labels("done"))

    async def ask_for_help(self, person: Person, think: Message) -> None:
        await self.pause(15)
        await self.press(person.id, think, self.content.button("help"))

    async def visit(self, room: RoomLog) -> None:
        facilitator = self.world.facilitator
        await self.pause(10)
        name = self.names[facilitator.id].split(" ")[0]
        await self.type_in(
            facilitator.id, room.channel_id, FACILITATOR_HELLO.format(facilitator=name)
        )
        for person in self.room_people(room):
            if person.part.asks_for_help:
                await self.pause(10)
                await self.type_in(
                    person.id, room.channel_id, HELPED_REPLY.format(facilitator=name)
                )

    async def chat(self, person: Person, room: RoomLog, after: float) -> None:
        await self.pause(after)
        if person.part.typed_reflection and room.channel_id in self.watch.channels:
            await self.type_in(person.id, room.channel_id, person.part.typed_reflection)

    async def check_in(self, delay: float) -> None:
        """The facilitator looks at how every room is doing, and later sends a word to all."""
        await self.pause(delay)
        await self.command(self.world.facilitator, "brew status")
        await self.pause(300)
        if self.watch.open_rooms():
            await self.command(self.world.facilitator, "brew broadcast", message=BROADCAST)

    async def reflect_by_button(self, person: Person, close: Message) -> None:
        from discordsim import SimulatorError

        await self.pause(person.part.reflect_after)
        try:
            rec = await self.press(person.id, close, self.content.button("reflect"))
        except SimulatorError:  # the room was tidied away first: /reflect works as well
            await self.reflect_by_command(person)
            return
        await self.fill_in(person, rec)

    async def reflect_by_command(self, person: Person) -> None:
        rec = await self.command(person.member, "reflect")
        await self.fill_in(person, rec)

    async def fill_in(self, person: Person, rec: InteractionRecord) -> None:
        if rec.modal is None:
            raise DemoFailed(f"{person.name} got no reflection form")
        part = person.part
        values = {f"q:{key}": answer for key, answer in part.answers.items()}
        values["consent"] = part.consent
        await self.pause(20)
        quoted = "may be quoted" if part.quotable else "not to be quoted"
        self.transcript.say(
            self.place(rec.channel_id),
            f"{person.name} sends the reflection form ({_count(len(part.answers), 'answer')}, "
            f"{quoted})",
        )
        self.stats.reflections_expected += 1
        sub = await self.sim.submit_modal(person.id, rec, values)
        await sub.wait_response(timeout=10)
        saved = self.content.text("reflection.saved").split(",")[0]

        def answered() -> bool:
            texts = [m.content for m in sub.followups]
            if sub.original_message is not None:
                texts.append(sub.original_message.content)
            return any(saved in t for t in texts)

        try:
            await self.sim.wait_for(answered, timeout=10)
        except TimeoutError:
            raise DemoFailed(f"{person.name}'s reflection was not saved") from None
        self.stats.reflections_saved += 1
        self.reflected.add(person.id)

    # ------------------------------------------------------------------ the organiser
    async def export(self) -> None:
        number = self.stats.brew_number
        organiser = self.world.organiser
        for fmt in ("markdown", "csv"):
            rec = await self.command(organiser, "brew export", format=fmt, brew=number)

            def files(rec: InteractionRecord = rec) -> list[Any]:
                messages = [rec.original_message, *rec.followups]
                return [a for m in messages if m is not None for a in m.attachments]

            try:
                attachments = await self.sim.wait_for(files, timeout=30)
            except TimeoutError:
                raise DemoFailed(f"/brew export format:{fmt} sent no file") from None
            for attachment in attachments:
                path = self.out / attachment.filename
                path.write_bytes(attachment.data)
                self.stats.files.append(path)

    # ------------------------------------------------------------------ checking
    def check(self) -> None:
        """Everything a brew must do; each miss is a failure with its reason."""
        phases = [self.content.phases[p].name for p in self.PHASE_KEYS]
        if not self.rooms:
            self.fail("no rooms were opened")
        passes = 0
        for room in self.rooms.values():
            headings = [_heading(m.content) for m in room.posts[1:]]
            seen = [h for h in headings if h in phases]
            if seen != phases:
                missing = [p for p in phases if p not in seen]
                self.fail(
                    f"#{room.name}: phases {', '.join(missing) or 'out of order'} "
                    f"{'missing' if missing else ''}".strip()
                )
            turns = [
                int(found.group(1))
                for m in room.posts
                if any(c.startswith("bh:turn:done:") for c in m.custom_ids())
                and (found := _MENTION.search(m.content))
            ]
            for member in room.members:
                count = turns.count(member)
                if count != 1:
                    self.fail(
                        f"#{room.name}: {self.names.get(member, member)} had "
                        f"{'no turn prompt' if count == 0 else f'{count} turn prompts'}"
                    )
            passes += sum("passed." in m.content for m in room.posts)
        if passes != 1:
            self.fail(f"expected exactly one pass, saw {passes}")
        if not any("would like a facilitator" in m.content for m in self.watch.hall_posts):
            self.fail("the help request did not reach the facilitators")
        extended = self.content.text("turns.extended").split("}")[1].split(".")[0]
        if not any(extended in m.content for r in self.rooms.values() for m in r.posts):
            self.fail("nobody got one more minute")
        if self.stats.reflections_saved != self.stats.reflections_expected:
            self.fail(
                f"{self.stats.reflections_saved} of {self.stats.reflections_expected} "
                "reflections were saved"
            )
        report = next((f for f in self.stats.files if f.suffix == ".md"), None)
        chart = next((f for f in self.stats.files if f.suffix == ".png"), None)
        if report is None or not report.read_text(encoding="utf-8").startswith("# "):
            self.fail("no Markdown report was written")
        if chart is None or not chart.read_bytes().startswith(b"\x89PNG"):
            self.fail("no chart was written")

    PHASE_KEYS = ("arrive", "think", "turns", "reflect", "still", "close")

    def finish(self) -> int:
        sim, t = self.sim, self.transcript
        interactions = sim.interactions
        latencies = sorted(r.latency for r in interactions if r.latency is not None)
        late = len(sim.late_interactions)
        failed = len(sim.failed_interactions)
        # The causes first: an error in the bot explains a missing phase, not the other way.
        causes = [f"the bot logged an error: {error}" for error in self.errors.errors]
        if late:
            causes.append(f"{late} interactions were answered too late")
        elif failed:
            causes.append(f"{failed} interactions failed")
        self.failures[:0] = causes
        rest = list(sim.rest_log)
        throttled = sum(1 for c in rest if c.status == 429)
        posts = [m for r in self.rooms.values() for m in r.posts]
        prompts = sum(
            1 for m in posts if any(c.startswith("bh:turn:done:") for c in m.custom_ids())
        )
        t.plain()
        t.plain(f"Summary ({t.elapsed():.1f} s)")
        t.plain(
            f"- Rooms: {len(self.rooms)}; people: {self.args.people} "
            f"({self.args.text_only} by text only)"
        )
        t.plain(f"- Messages posted in the rooms: {len(posts)}, of which {prompts} turn prompts")
        t.plain(
            f"- Reflections saved: {self.stats.reflections_saved} "
            f"({sum(1 for p in self.people.values() if p.id in self.reflected and p.part.quotable)}"
            " may be quoted)"
        )
        t.plain(f"- REST calls: {len(rest)}, of which {throttled} rate limited (429)")
        if latencies:
            t.plain(
                f"- Interactions: {len(interactions)}; first answer in "
                f"{statistics.median(latencies) * 1000:.0f} ms median, "
                f"{latencies[-1] * 1000:.0f} ms at most (Discord allows 3 s)"
            )
        t.plain(f"- Late interactions: {late}")
        for path in self.stats.files:
            t.plain(f"- Wrote {path}")
        if self.failures:
            t.plain(f"Problems: {len(self.failures)}")
            for failure in self.failures:
                t.plain(f"- {failure}")
            print(f"brewhost demo failed: {self.failures[0]}", file=sys.stderr)
            return EXIT_FAILED
        t.plain("The brew went as it should.")
        return 0

    # ------------------------------------------------------------------ rendering
    def place(self, channel_id: int) -> str:
        name = self.channel_names.get(channel_id)
        if name is not None:
            return name if self.watch_is_voice(channel_id) else f"#{name}"
        channel = self.sim.state.channels.get(channel_id)
        if channel is not None and channel.recipient_id is not None:
            return f"DM {self.names.get(channel.recipient_id, '?').split(' ')[0]}"
        return str(channel_id)

    def watch_is_voice(self, channel_id: int) -> bool:
        channel = self.sim.state.channels.get(channel_id)
        return bool(channel is not None and channel.is_voice)

    def render(self, text: str, at: float) -> str:
        """Message text as a person would see it: names, channel names and times in words."""
        text = _MENTION.sub(lambda m: self.names.get(int(m.group(1)), "someone"), text)
        text = _ROLE.sub(lambda m: "@" + self.names.get(int(m.group(1)), "role"), text)
        text = _CHANNEL.sub(
            lambda m: "#" + self.channel_names.get(int(m.group(1)), "deleted-channel"), text
        )
        text = _STAMP.sub(lambda m: self._stamp(int(m.group(1)), m.group(2) or "f", at), text)
        return _BOLD.sub(r"\1", text)

    def _stamp(self, unix: int, style: str, at: float) -> str:
        # Discord timestamps are whole real seconds; +0.5 is the best guess at the moment meant.
        real = unix + 0.5
        if style == "R":
            return _relative((real - at) * self.speed)
        brew_time = datetime.fromtimestamp(self.sim_epoch + (real - self.sim_epoch) * self.speed)
        if style in ("t", "T"):
            return brew_time.strftime("%H:%M")
        # Dates (the reflection window) are real days, not brew time.
        when = datetime.fromtimestamp(unix)
        return f"{when.day} {when:%B %Y} at {when:%H:%M}"


@dataclass
class World:
    guild_id: int
    admin: Member
    facilitator: Member
    organiser: Member
    facilitators_role: int
    hall: Channel
    lounge: Channel


# ---------------------------------------------------------------------------------- watching
class Watcher:
    """Prints what changes in the simulated server and tells the people what concerns them.

    It wakes on every change in the simulator's state (and at least every 0.1 s) and looks only
    at what is new: message lists by length, interaction answers that may still be edited,
    channels and who is in which voice channel.
    """

    def __init__(self, demo: Demo) -> None:
        self.demo = demo
        self.sim = demo.sim
        self.guild_id = demo.world.guild_id
        self.wake = asyncio.Event()
        self.stopped = False
        self.seen: dict[int, int] = {}
        self.editable: dict[int, str] = {}
        self.channels: dict[int, Channel] = {c.id: c for c in self.sim.channels(self.guild_id)}
        self.voice: dict[int, int | None] = {}
        self.expected: dict[int, int | None] = {}
        self.hall_posts: list[Message] = []
        self.guide_shown = False
        for user_id in self._tracked():
            self.voice[user_id] = self.sim.voice_channel_of(self.guild_id, user_id)
        self.sim.state.listeners.append(self.wake.set)

    def _tracked(self) -> list[int]:
        return [self.demo.world.facilitator.id, *self.demo.people]

    def expect_voice(self, user_id: int, channel_id: int | None) -> None:
        """The next change for ``user_id`` is their own doing (not a move by the bot)."""
        self.expected[user_id] = channel_id

    def open_rooms(self) -> list[int]:
        return [cid for cid in self.demo.rooms if cid in self.channels]

    async def run(self) -> None:
        try:
            while not self.stopped:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.1):
                        await self.wake.wait()
                self.wake.clear()
                self.scan()
        finally:
            with contextlib.suppress(ValueError):
                self.sim.state.listeners.remove(self.wake.set)

    def stop(self) -> None:
        self.stopped = True
        self.wake.set()

    def scan(self) -> None:
        self._channels_created()
        self._messages()
        self._edits()
        self._voice()
        self._channels_deleted()

    # -------------------------------------------------------------- channels
    def _channels_created(self) -> None:
        from discordsim import GUILD_CATEGORY, GUILD_TEXT

        demo = self.demo
        fresh = [c for c in self.sim.channels(self.guild_id) if c.id not in self.channels]
        for channel in fresh:
            self.channels[channel.id] = channel
            demo.channel_names[channel.id] = channel.name or str(channel.id)
        if not fresh:
            return
        named = []
        for channel in fresh:
            if channel.type == GUILD_CATEGORY:
                named.append(f"category {channel.name!r}")
            elif channel.type == GUILD_TEXT:
                named.append(f"#{channel.name}")
                if (channel.name or "").startswith("room-"):
                    demo.rooms[channel.id] = RoomLog(channel.id, channel.name or "")
            else:
                named.append(f"voice {channel.name!r}")
        demo.transcript.say("server", f"Brew Host creates {', '.join(named)}")

    def _channels_deleted(self) -> None:
        current = {c.id for c in self.sim.channels(self.guild_id)}
        gone = [c for cid, c in self.channels.items() if cid not in current]
        for channel in gone:
            del self.channels[channel.id]
        if gone:
            names = [
                f"#{c.name}" if not c.is_voice and not c.is_category else repr(c.name) for c in gone
            ]
            self.demo.transcript.say("server", f"Brew Host deletes {', '.join(names)}")

    # -------------------------------------------------------------- messages
    def _messages(self) -> None:
        state = self.sim.state
        fresh: list[int] = []
        for channel_id, ids in list(state.channel_messages.items()):
            count = self.seen.get(channel_id, 0)
            if len(ids) > count:
                fresh.extend(ids[count:])
                self.seen[channel_id] = len(ids)
        for message_id in sorted(fresh):
            message = state.messages[message_id]
            if message.interaction_id is not None or message.loading:
                self.editable[message.id] = ""
                if message.loading or not message.content:
                    continue
                self.editable[message.id] = message.content
            self._show(message)
            self._react(message)

    def _edits(self) -> None:
        state = self.sim.state
        for message_id, shown in list(self.editable.items()):
            message = state.messages.get(message_id)
            if message is None or message.loading or message.deleted:
                continue
            if message.content and message.content != shown:
                self.editable[message_id] = message.content
                before = set(shown.split("\n"))
                changed = [line for line in message.content.split("\n") if line not in before]
                self._show(message, "\n".join(changed), edited=bool(shown))
            elif message.attachments and shown == "":
                self.editable[message_id] = message.content or "(files)"
                self._show(message)

    def _show(self, message: Message, text: str | None = None, *, edited: bool = False) -> None:
        demo = self.demo
        at = message.created_at.timestamp()
        body = demo.render(message.content if text is None else text, at)
        author = demo.names.get(message.author_id, "someone")
        notes = []
        if message.ephemeral:
            viewer = demo.names.get(message.visible_to or 0, "them").split(" ")[0]
            notes.append(f"only {viewer} sees")
        if edited:
            notes.append("updated")
        if notes:
            author += f" ({', '.join(notes)})"
        room = demo.rooms.get(message.channel_id)
        guide = demo.content.text("guide.heading")
        if room is not None and message.content.startswith(f"**{guide}"):
            members = [int(i) for i in _MENTION.findall(message.content)]
            room.members = members
            if self.guide_shown:  # once in full is enough
                names = _names([demo.names.get(m, "someone") for m in members])
                body = f"(the same guide as above) In this room: {names}."
            self.guide_shown = True
        if message.attachments:
            files = ", ".join(f"{a.filename} ({_size(a.size)})" for a in message.attachments)
            body += f"\n[attached: {files}]"
        demo.transcript.say(demo.place(message.channel_id), f"{author}: {body}")

    def _react(self, message: Message) -> None:
        demo = self.demo
        if message.author_id != self.sim.bot_id or message.ephemeral:
            return
        room = demo.rooms.get(message.channel_id)
        if room is not None:
            room.posts.append(message)
            demo.on_room_post(room, message)
        elif message.channel_id == demo.world.hall.id:
            self.hall_posts.append(message)
            demo.on_hall_post(message)

    # -------------------------------------------------------------- voice
    def _voice(self) -> None:
        demo = self.demo
        moved: dict[tuple[int | None, int | None], list[str]] = {}
        joined: list[int] = []
        for user_id in self._tracked():
            now = self.sim.voice_channel_of(self.guild_id, user_id)
            if now == self.voice.get(user_id):
                continue
            before = self.voice.get(user_id)
            self.voice[user_id] = now
            if user_id in self.expected and self.expected[user_id] == now:
                del self.expected[user_id]
                joined.append(user_id)  # their own doing, already told
                continue
            moved.setdefault((before, now), []).append(demo.names[user_id])
        for (before, now), names in moved.items():
            if now is None:
                where = demo.channel_names.get(before or 0, "voice")
                verb = "is" if len(names) == 1 else "are"
                text = f"{_names(names)} {verb} disconnected from {where!r}"
            else:
                target = demo.channel_names.get(now, "?")
                text = f"Brew Host moves {_names(names)} to {target!r}"
            demo.transcript.say("voice", text)


# ---------------------------------------------------------------------------------- helpers
def _heading(text: str) -> str:
    first = text.split("\n", 1)[0]
    found = _BOLD.fullmatch(first)
    return found.group(1) if found else ""


def _names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _size(size: int) -> str:
    return f"{size} bytes" if size < 1024 else f"{size / 1024:.1f} kB"


def _relative(seconds: float) -> str:
    """A duration in brew seconds as Discord words it: "in 2 minutes", "5 minutes ago"."""
    minutes = round(abs(seconds) / 60)
    if minutes == 0:
        return "in a few seconds" if seconds >= 0 else "a few seconds ago"
    if minutes >= 90:
        hours = round(minutes / 60)
        words = "an hour" if hours == 1 else f"{hours} hours"
    else:
        words = "a minute" if minutes == 1 else f"{minutes} minutes"
    return f"in {words}" if seconds >= 0 else f"{words} ago"


__all__ = ["DemoFailed", "check_options", "run_demo"]
