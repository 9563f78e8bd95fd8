"""``brewhost demo``: a whole brew on a simulated Discord, on this computer, with no account.

It starts the package's local Discord simulator (:mod:`discordsim`, 127.0.0.1 only) and the
real :class:`~bot.shell.app.BrewBot` against it, with a temporary database, then plays every part
a person would:

* a server admin runs ``/brew settings``; most people sit in the Lounge voice channel;
* the facilitator runs ``/brew open``, people taking part by text press *Join (text only)* on the
  sign-up card, and the facilitator runs ``/brew start`` (with ``--scheduled``, the brew is
  planned ahead instead: answers on its card, a reminder by DM, the card opening and the brew
  starting by itself, see :mod:`bot.rehearsal.scheduled`);
* in each room people take their turns when the bot names them (text-only people type first),
  one person passes, one asks for help (the facilitator drops in), one asks for one more minute;
  the facilitator checks ``/brew status`` now and then;
* at Close people press *Leave a reflection* and fill in the form (some agree to be quoted), one
  uses ``/reflect`` after the brew; then an organiser runs ``/brew export`` and the report, chart,
  web page report and spreadsheet are written to ``--out``.

Everything the people do is decided by ``--seed`` (see :mod:`bot.rehearsal.people`); only timings
vary between runs. The transcript is printed as it happens: what each room's text channel
shows, who was moved where, what the facilitator was told privately. At the end the demo checks
the brew (every phase in every room, every person's turn exactly once, one pass, the help
request, no errors, no late answers to a button, the report) and exits 0, or 1 with the reason.

This module is the entry point and the run; the stage is :mod:`bot.rehearsal.stage`, the
people's parts :mod:`bot.rehearsal.script`, what is printed :mod:`bot.rehearsal.watcher` and
:mod:`bot.rehearsal.transcript`, and the checks :mod:`bot.rehearsal.checks`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.config import BrewDefaults
from bot.rehearsal.checks import EXIT_FAILED, check, summarise
from bot.rehearsal.people import Person, RoomLog, Stats, cast
from bot.rehearsal.scheduled import ScheduledStart
from bot.rehearsal.script import DemoFailed, Script
from bot.rehearsal.stage import Stage, open_stage
from bot.rehearsal.transcript import ErrorLog, Names, Transcript
from bot.rehearsal.watcher import Watcher
from discordsim import DEFAULT_BOT_PERMISSIONS, Permission, RateLimitPolicy

if TYPE_CHECKING:
    from bot.core.content import Content

SERVER = "Norfolk Network"
#: The server admin, the facilitator and the organiser, as the transcript names them.
STAFF = ("Ada (server admin)", "Fran (facilitator)", "Olu (organiser)")
#: The real defaults (a 30-minute brew), except that rooms are tidied away one minute after they
#: close rather than ten.
DEMO_BREW = replace(BrewDefaults(), cleanup_minutes=1)
MAX_PEOPLE = 60
#: How long the bot may take to connect, and then to sync its commands.
BOOT_TIMEOUT = 20.0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


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


# ---------------------------------------------------------------------------------- the run
class Demo:
    """One run of the demo: what the people, the watcher and the checks share."""

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
        self.rooms: dict[int, RoomLog] = {}
        self.people: dict[int, Person] = {}
        self.reflected: set[int] = set()
        self.epoch = time.time()
        #: ``--scheduled``: the brew is planned ahead and starts by itself.
        self.scheduled = bool(getattr(args, "scheduled", False))
        # Set in run(), once the stage is up:
        self.stage: Stage
        self.names: Names
        self.content: Content
        self.script: Script
        self.watch: Watcher

    def fail(self, reason: str) -> None:
        first = reason.split("\n")[0]
        self.failures.append(first)
        self.transcript.say("demo", f"PROBLEM: {first}")

    async def run(self) -> int:
        root = logging.getLogger()
        saved_handlers, saved_level = root.handlers[:], root.level
        root.handlers[:] = [self.errors]
        root.setLevel(logging.WARNING)
        # Discord's rate limits, run at the brew's speed like everything else: the bot meets
        # them as often per brew minute as in a real brew. (Unscaled, five posts per five real
        # seconds would be five per five brew *minutes* at speed 60, and a room's posts would
        # queue for whole turns.)
        limits = RateLimitPolicy.discord_like(time_scale=1.0 / self.speed)
        try:
            async with open_stage(
                self.db_url,
                people=[part.name for part in self.parts],
                brew=DEMO_BREW,
                speed=self.speed,
                rate_limits=limits,
                seed=self.seed,
                server=SERVER,
                staff=STAFF,
                max_ratelimit_timeout=20.0,
                boot_within=BOOT_TIMEOUT,
            ) as stage:
                self.stage = stage
                self.meet(stage)
                self.header()
                await self.perform(stage)
        except Exception as exc:  # the demo's own fault: still stop cleanly and say why
            self.fail(f"the demo itself failed: {type(exc).__name__}: {exc}")
        finally:
            root.handlers[:] = saved_handlers
            root.setLevel(saved_level)
        return summarise(self)

    def meet(self, stage: Stage) -> None:
        """Learn everyone's name and part, to print ids in words."""
        world = stage.world
        self.names = Names(stage.sim, self.speed, epoch=self.epoch)
        for part, member in zip(self.parts, world.people, strict=True):
            self.people[member.id] = Person(part, member)
        for user in (world.admin, world.facilitator, world.organiser, *world.people):
            self.names.people[user.id] = user.user.name
        self.names.people[stage.sim.bot_id] = "Brew Host"
        for role in (world.admins, world.facilitators, world.organisers):
            self.names.people[role.id] = role.name
        for channel in (world.hall, world.lounge):
            self.names.channels[channel.id] = channel.name or str(channel.id)

    async def perform(self, stage: Stage) -> None:
        """Boot the bot, play the story and check the brew; each problem is a failure."""
        watcher: asyncio.Task[None] | None = None
        scheduled: ScheduledStart | None = None
        try:
            if self.scheduled:
                # The Discord event needs Create Events, as a real server would grant it.
                stage.sim.set_bot_permissions(
                    stage.world.guild_id, DEFAULT_BOT_PERMISSIONS | int(Permission.CREATE_EVENTS)
                )
            bot = await stage.start()
            self.content = bot.services.content
            self.script = Script(self)
            if self.scheduled:
                scheduled = ScheduledStart(self.script)
                self.script.starter = scheduled
            self.watch = Watcher(self)
            watcher = asyncio.ensure_future(self.watch.run())
            await self.script.play()
            self.watch.scan()
            check(self)
            if scheduled is not None:
                scheduled.check()
        except DemoFailed as exc:
            self.fail(str(exc))
        except TimeoutError as exc:
            self.fail(f"timed out: {exc}" if str(exc) else "timed out waiting for the bot")
        except Exception as exc:  # the demo's own fault: still stop cleanly and say why
            self.fail(f"the demo itself failed: {type(exc).__name__}: {exc}")
        finally:
            if hasattr(self, "script"):
                await self.script.stop()
            if watcher is not None:
                self.watch.stop()
                await asyncio.gather(watcher, return_exceptions=True)

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
            f"A {DEMO_BREW.length_minutes}-minute brew at {self.speed:g} times normal speed: "
            f"one second here is {per_second} of a real brew (Discord's rate limits are sped "
            "up too)."
        )
        if self.scheduled:
            t.plain(
                "Scheduled: the brew is planned ahead; reminders, the sign-up card opening and "
                "the start happen by themselves."
            )
        t.plain(f"Seed {self.seed}; database: {self.args.db if self.args.db else 'temporary'}.")
        t.plain(
            "Times in [brackets] are real seconds since the start; times in messages are on "
            "the brew's clock."
        )
        t.plain()


__all__ = ["DemoFailed", "check_options", "run_demo"]
