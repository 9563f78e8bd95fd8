"""``BrewBot``: the discord.py client, with its dependencies passed in.

Default intents only (no privileged ones): the bot needs guilds, voice states and interactions.
Mentions are off unless a message names who may be pinged (only ever the current speaker).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache
from typing import Any

import discord
from discord.ext import commands

from bot.config import Config
from bot.services import Services
from bot.shell import gc_policy
from bot.shell.errors import on_app_command_error
from bot.shell.runner import BrewRunner
from bot.shell.scheduling import Scheduling
from bot.shell.sharding import owned_guild_ids, syncs_global_commands
from bot.shell.timers import Timers
from bot.shell.ui.registry import PERSISTENT_ITEMS

__all__ = ["EXTENSIONS", "BrewBot", "Services", "bot_class", "make_bot"]

log = logging.getLogger(__name__)

#: The cogs Brew Host loads, in order. Explicit, so nothing is picked up by accident.
EXTENSIONS: tuple[str, ...] = ("cogs.brew", "cogs.reflections")


def intents() -> discord.Intents:
    """discord.py's defaults without the message, typing and reaction events: Brew Host never
    reads a message (its commands are slash commands, its buttons interactions), but with them
    Discord sends it every message posted where it can see, its own included: 160 rooms'
    prompts came back as 160 more events to decompress and parse while the next were going
    out."""
    chosen = discord.Intents.default()
    chosen.guild_messages = chosen.dm_messages = False
    chosen.guild_typing = chosen.dm_typing = False
    chosen.guild_reactions = chosen.dm_reactions = False
    return chosen


class BrewBot(commands.Bot):
    def __init__(
        self,
        services: Services,
        *,
        extensions: Sequence[str] = EXTENSIONS,
        sync_commands: bool = True,
        **client_options: Any,
    ) -> None:
        # Brew Host moves people between voice channels but never joins voice itself, so
        # discord.py's "voice will NOT be supported" warnings would only alarm whoever runs it.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            # No message cache: Brew Host never reads a cached message (interactions carry
            # their own), and discord.py's default keeps the last 1,000 messages of every
            # channel it can see, deleted rooms' included: several MiB for nothing.
            max_messages=None,
            max_ratelimit_timeout=services.config.discord.max_ratelimit_timeout,
            shard_id=services.config.discord.shard_id,
            shard_count=services.config.discord.shard_count,
            **client_options,
        )
        self.services = services
        self.extension_names = tuple(extensions)
        self.sync_on_start = sync_commands
        #: Timers and background tasks; cogs set their own repeating jobs here.
        self.timers = Timers()
        self.runner: BrewRunner | None = None
        #: Scheduled brews (:mod:`bot.shell.scheduling`); the card's buttons reach it here.
        self.scheduling: Scheduling | None = None
        self.tree.error(on_app_command_error)

    @property
    def config(self) -> Config:
        return self.services.config

    async def setup_hook(self) -> None:
        # Every persistent button, once, so presses on messages from before a restart work.
        self.add_dynamic_items(*PERSISTENT_ITEMS)
        self.runner = BrewRunner(self, self.services, self.timers)
        self.scheduling = Scheduling(self, self, self.timers)
        self.runner.ended_listeners.append(self.scheduling.brew_ended)
        for name in self.extension_names:
            await self.load_extension(name)
        await self.runner.start()
        if self.sync_on_start:
            # In the background: the gateway connects (and the brews are put back) meanwhile;
            # syncing one server after another took 0.2 s for 50 servers before it could.
            self.timers.spawn(self.sync_commands(), name="sync-commands")
        self.timers.spawn(self.scheduling.recover(), name="scheduling-recover")
        # Full garbage collections between bursts of presses, not in them (see gc_policy).
        gc_policy.attach(self)

    async def on_guild_available(self, guild: discord.Guild) -> None:
        """A server's state has arrived: its brews are put back now (see the runner)."""
        if self.runner is not None:
            self.runner.guild_available(guild.id)

    async def sync_commands(self) -> None:
        guild_ids = self.config.discord.guild_ids
        if guild_ids:
            # With several processes, each syncs only the servers its own shards carry.
            for guild_id in owned_guild_ids(self, guild_ids):
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
                log.info("synced %d commands to server %s", len(synced), guild_id)
        elif syncs_global_commands(self):
            synced = await self.tree.sync()
            log.info("synced %d global commands (they can take a while to appear)", len(synced))

    async def on_command_error(  # type: ignore[override]
        self, context: commands.Context[BrewBot], exception: commands.CommandError, /
    ) -> None:
        """Brew Host has no text commands; a message that mentions it is not an error."""
        if isinstance(exception, commands.CommandNotFound):
            return
        log.warning("text command error: %s", type(exception).__name__)

    async def on_ready(self) -> None:
        if self.is_closed():  # stopped while connecting: discord.py's ready wait still ends
            return
        user = self.user
        log.info(
            "connected as %s (%s) to %d servers", user, user.id if user else "?", len(self.guilds)
        )

    async def close(self) -> None:
        gc_policy.detach(self)
        if self.runner is not None:
            await self.runner.stop()
        else:
            await self.timers.stop()
        await super().close()


# ------------------------------------------------------------------ which bot class runs
def is_auto(services: Services) -> bool:
    return services.config.discord.shards is not None


@cache
def _auto_sharded_class() -> type[BrewBot]:
    class AutoShardedBrewBot(BrewBot, commands.AutoShardedBot):
        """BrewBot on discord.py's AutoShardedBot: every shard in this process."""

    return AutoShardedBrewBot


def bot_class(services: Services) -> type[BrewBot]:
    """BrewBot, or its AutoShardedBot variant with ``shards = "auto"``."""
    if is_auto(services):
        return _auto_sharded_class()
    return BrewBot


def make_bot(services: Services, **options: Any) -> BrewBot:
    """The bot for this process's configuration (see the module docstring)."""
    cls = bot_class(services)
    discord_cfg = services.config.discord
    if is_auto(services):
        log.info(
            "running every gateway shard in this process (%s)",
            f"{discord_cfg.shard_count} shards"
            if discord_cfg.shard_count
            else "the count Discord recommends",
        )
    elif discord_cfg.shard_id is not None:
        log.info("running gateway shard %s of %s", discord_cfg.shard_id, discord_cfg.shard_count)
    return cls(services, **options)
