"""The stage: a server on the local Discord simulator and the real BrewBot booted against it.

``brewhost demo``, the integration tests and the benchmarks all rehearse on this one stage, so
"boot BrewBot on the simulator" is written once: the same world (a server with admin,
facilitator and organiser roles, a brew hall and a Lounge voice channel), the same config built
from the simulator's URLs, the same services (:func:`bot.services.build_services`) and the same
start and stop, which points discord.py at the simulator only while the bot runs
(:func:`bot.shell.endpoints.endpoints`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.clock import Clock
from bot.config import BrewDefaults, Config, DatabaseConfig, DiscordConfig, TimingConfig
from bot.db.session import create_engine, session_factory
from bot.rehearsal.self_join import LinkClickers, SelfJoin
from bot.services import build_services
from bot.shell.app import BrewBot
from bot.shell.endpoints import endpoints
from discordsim import (
    GUILD_VOICE,
    Channel,
    DiscordSimulator,
    Guild,
    InteractionRecord,
    Member,
    Permission,
    RateLimitPolicy,
    Role,
)

log = logging.getLogger(__name__)

#: Who runs the server in a rehearsal: (server admin, facilitator, organiser).
STAFF = ("Ada Admin", "Fran Facilitator", "Olu Organiser")
SERVER = "Norfolk Network"
#: "Manage Server": what Discord asks of whoever changes a server's settings.
MANAGE_GUILD = int(Permission.MANAGE_GUILD)


def last_word(rec: InteractionRecord) -> str:
    """The bot's latest answer to ``rec`` (its original response or a followup), or ``""``
    while there is none or it still says "Opening rooms" (the progress the start edits)."""
    texts = [m.content for m in rec.followups if m.content]
    original = rec.original_message
    if original is not None and original.content and not original.loading:
        texts.insert(0, original.content)
    text = texts[-1] if texts else ""
    return "" if text.startswith("Opening rooms") else text


@dataclass
class World:
    """The simulated server: its roles, its staff, its two channels and the people."""

    guild: Guild
    admins: Role
    facilitators: Role
    organisers: Role
    admin: Member
    facilitator: Member
    organiser: Member
    hall: Channel
    lounge: Channel
    people: list[Member] = field(default_factory=list)

    @property
    def guild_id(self) -> int:
        return self.guild.id


def build_world(
    sim: DiscordSimulator,
    people: int | Sequence[str] = 11,
    *,
    server: str = SERVER,
    staff: tuple[str, str, str] = STAFF,
) -> World:
    """A server on ``sim``: Admins (Manage Server), Facilitators and Organisers roles with one
    member each, ``#brew-hall``, the ``Lounge`` voice channel, and ``people`` members (a
    number, named "Person 1" on, or their names)."""
    names = [f"Person {i + 1}" for i in range(people)] if isinstance(people, int) else people
    guild = sim.create_guild(server)
    admins = sim.create_role(guild.id, "Admins", permissions=MANAGE_GUILD)
    facilitators = sim.create_role(guild.id, "Facilitators")
    organisers = sim.create_role(guild.id, "Organisers")
    admin = sim.create_member(guild.id, staff[0], roles=[admins.id])
    facilitator = sim.create_member(guild.id, staff[1], roles=[facilitators.id])
    organiser = sim.create_member(guild.id, staff[2], roles=[organisers.id])
    hall = sim.create_channel(guild.id, "brew-hall")
    lounge = sim.create_channel(guild.id, "Lounge", type=GUILD_VOICE)
    members = [sim.create_member(guild.id, name) for name in names]
    staff_members = (admin, facilitator, organiser)
    return World(guild, admins, facilitators, organisers, *staff_members, hall, lounge, members)


def settings_options(world: World, area: str | None = None) -> dict[str, Any]:
    """``/brew settings`` as a server admin sets ``world`` up once: the roles, the Lounge as the
    main voice channel, and the area named in reports."""
    options: dict[str, Any] = {
        "facilitator_role": world.facilitators.id,
        "organiser_role": world.organisers.id,
        "main_voice_channel": world.lounge.id,
    }
    if area is not None:
        options["area"] = area
    return options


def stage_config(
    sim: DiscordSimulator,
    world: World,
    db_url: str,
    *,
    brew: BrewDefaults,
    speed: float,
    max_ratelimit_timeout: float = DiscordConfig.max_ratelimit_timeout,
) -> Config:
    """The bot's config for a rehearsal: the simulator's token and URLs, commands synced to
    the one server, the database at ``db_url``, the brew timings and the clock's speed."""
    return Config(
        discord=DiscordConfig(
            token=sim.bot_token,
            guild_ids=(world.guild_id,),
            api_base_url=sim.api_base_url,
            gateway_url=sim.gateway_url,
            max_ratelimit_timeout=max_ratelimit_timeout,
        ),
        database=DatabaseConfig(url=db_url),
        brew=brew,
        timing=TimingConfig(speed=speed),
    )


class Stage:
    """Starts and stops the real BrewBot on ``sim``; what every rehearsal does most.

    The bot can be stopped and started again on the same database (a restart). Each start is a
    fresh client, engine and services, as a new process would have.
    """

    def __init__(
        self,
        sim: DiscordSimulator,
        world: World,
        config: Config,
        *,
        seed: int = 7,
        boot_within: float = 10.0,
    ) -> None:
        self.sim = sim
        self.world = world
        self.config = config
        self.seed = seed
        #: Longest wait for the bot to be ready, and then for its commands to be synced.
        self.boot_within = boot_within
        #: The bot's clock; None is the real one at the config's speed. A test may set a
        #: :class:`~bot.clock.ManualClock` before :meth:`start` to fix "now".
        self.clock: Clock | None = None
        self.bot: BrewBot | None = None
        self._connection: asyncio.Task[None] | None = None
        self._engine: Any = None
        self._pointed = contextlib.ExitStack()
        self._clickers: list[LinkClickers] = []

    @property
    def db_url(self) -> str:
        return self.config.database.url

    @property
    def sessions(self) -> Any:
        assert self.bot is not None, "start() the bot first"
        return self.bot.services.sessions

    async def start(self, seed: int | None = None) -> BrewBot:
        """Boot BrewBot (``seed`` fixes every brew's grouping) and wait until it is ready and
        its slash commands are synced."""
        discord_config = self.config.discord
        # discord.py points at the simulator until the bot has closed (see stop()), so nothing
        # it sends while stopping can ever reach discord.com.
        self._pointed.enter_context(
            endpoints(discord_config.api_base_url, discord_config.gateway_url)
        )
        self._engine = create_engine(self.db_url)
        services = build_services(
            self.config,
            session_factory(self._engine),
            clock=self.clock,
            seed=self.seed if seed is None else seed,
        )
        bot = BrewBot(services, guild_ready_timeout=0.05)
        self.bot = bot
        await bot.login(self.sim.bot_token)
        self._connection = asyncio.create_task(bot.connect())
        async with asyncio.timeout(self.boot_within):
            await bot.wait_until_ready()
        await self.sim.wait_for(lambda: self.sim.commands(self.world.guild_id), self.boot_within)
        return bot

    async def stop(self) -> None:
        """Close the bot, its connection and its database engine; safe to call twice."""
        while self._clickers:
            await self._clickers.pop().stop()
        try:
            if self.bot is not None:
                await self.bot.close()
            if self._connection is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await self._connection
        finally:
            self.bot = None
            self._connection = None
            try:
                if self._engine is not None:
                    # Let discord.py's own event-handler tasks that were mid-query finish first.
                    await asyncio.sleep(0.05)
                    await self._engine.dispose()
            finally:
                self._engine = None
                self._pointed.close()

    # ---------------------------------------------------------------- what people do
    def click_links(self, plan: SelfJoin, people: Sequence[int] | None = None) -> LinkClickers:
        """From now on, ``people`` (everyone by default) follow the link to their room when the
        bot pings them with it, each after their own delay (:mod:`bot.rehearsal.self_join`).
        Stopped with the stage."""
        who = list(people) if people is not None else [p.id for p in self.world.people]
        clickers = LinkClickers(self.sim, self.world.guild_id, who, plan)
        clickers.start()
        self._clickers.append(clickers)
        return clickers

    def settings_options(self, area: str | None = None) -> dict[str, Any]:
        """``/brew settings`` as the server admin sets it up once (see :func:`settings_options`)."""
        return settings_options(self.world, area)

    async def command(
        self,
        user: Member,
        name: str,
        channel: Channel | None = None,
        *,
        within: float = 10.0,
        **options: Any,
    ) -> InteractionRecord:
        """``user`` runs ``/name`` in ``channel`` (the brew hall by default); returns once the
        bot has answered (or deferred), within ``within`` seconds."""
        channel = channel or self.world.hall
        rec = await self.sim.invoke_command(
            self.world.guild_id, channel.id, user.id, name, **options
        )
        await rec.wait_response(timeout=within)
        return rec

    async def final_text(self, rec: InteractionRecord, within: float = 20.0) -> str:
        """The bot's last word on ``rec`` (edits and followups included) once it stops saying
        "Opening rooms"."""

        result: str = await self.sim.wait_for(lambda: last_word(rec), timeout=within)
        return result


@contextlib.asynccontextmanager
async def open_stage(
    db_url: str,
    *,
    people: int | Sequence[str],
    brew: BrewDefaults,
    speed: float,
    rate_limits: RateLimitPolicy,
    seed: int = 7,
    server: str = SERVER,
    staff: tuple[str, str, str] = STAFF,
    max_ratelimit_timeout: float = DiscordConfig.max_ratelimit_timeout,
    boot_within: float = 10.0,
) -> AsyncIterator[Stage]:
    """A started simulator with a world in it and a :class:`Stage` for the bot on it (not yet
    started: call ``await stage.start()``). Everything is stopped and closed on the way out,
    the bot first."""
    sim = DiscordSimulator(rate_limits=rate_limits)
    await sim.start()
    try:
        world = build_world(sim, people, server=server, staff=staff)
        config = stage_config(
            sim,
            world,
            db_url,
            brew=brew,
            speed=speed,
            max_ratelimit_timeout=max_ratelimit_timeout,
        )
        stage = Stage(sim, world, config, seed=seed, boot_within=boot_within)
        try:
            yield stage
        finally:
            await stage.stop()
    finally:
        await sim.close()


__all__ = [
    "MANAGE_GUILD",
    "STAFF",
    "Stage",
    "World",
    "build_world",
    "last_word",
    "open_stage",
    "stage_config",
]
