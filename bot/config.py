"""Configuration: one TOML file, validated up front.

Volunteers set this bot up, so a mistake in the file must produce one plain line that names the
file, the key and what is expected, never a traceback. Every key has a default except the token,
which only ``brewhost run`` needs (and which the ``BREWHOST_TOKEN`` environment variable
overrides, so the token can stay out of the file).
"""

from __future__ import annotations

import functools
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_API_BASE_URL = "https://discord.com/api/v10"
TOKEN_ENV = "BREWHOST_TOKEN"  # noqa: S105 - the variable's name, not a secret
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: ``[runtime] event_loop``: see :class:`RuntimeConfig`.
EVENT_LOOPS = ("auto", "uvloop", "asyncio")


class ConfigError(Exception):
    """A problem with the configuration, phrased for the person who edits the file."""

    def __init__(self, source: str, key: str, expected: str) -> None:
        self.source = source
        self.key = key
        self.expected = expected
        super().__init__(f"{source}: {key}: {expected}")


@dataclass(frozen=True)
class DiscordConfig:
    token: str | None = field(default=None, repr=False)
    guild_ids: tuple[int, ...] = ()
    api_base_url: str = DEFAULT_API_BASE_URL
    gateway_url: str | None = None
    #: Longest time discord.py may wait on a rate limit before giving up with an error,
    #: so a brew never stalls silently for minutes.
    max_ratelimit_timeout: float = 30.0
    #: Gateway sharding across processes (with PostgreSQL): this process's shard and the total.
    shard_id: int | None = None
    shard_count: int | None = None
    #: "auto": one process runs every shard (discord.py's AutoShardedBot), with the count
    #: Discord recommends unless shard_count is set. Unset: one connection, or shard_id's.
    shards: str | None = None


SHARDS_AUTO = "auto"


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = "sqlite+aiosqlite:///brewhost.db"
    #: PostgreSQL only (SQLite ignores them). Connections each process keeps open, how many
    #: more it may open at a burst, how long a request waits for a free one (seconds).
    #: Every process may hold pool_size + max_overflow connections: keep
    #: processes x (pool_size + max_overflow) below PostgreSQL's max_connections.
    #: No overflow by default: a connection opened for a burst is closed again when it comes
    #: back, and the next burst pays for a new one (connecting and preparing every statement
    #: again); every room's deadline falls at the same moment, so bursts are the rule.
    pool_size: int = 15
    max_overflow: int = 0
    pool_timeout: float = 30.0
    #: Whether a connection that has been idle for longer than pool_ping_idle seconds is
    #: checked (one round trip) before use, so a restarted server or a connection cut while
    #: idle costs no request; 0 checks every time. Busy connections are not checked: a dead
    #: one fails one request, which is retried (see bot/db/session.py).
    pool_pre_ping: bool = True
    pool_ping_idle: float = 5.0
    #: Seconds after which a connection is replaced, whether idle or busy.
    pool_recycle: float = 1800.0


@dataclass(frozen=True)
class BrewDefaults:
    group_size: int = 4
    arrive_seconds: int = 120
    think_seconds: int = 60
    turn_seconds: int = 120
    nudge_seconds: int = 30
    length_minutes: int = 30
    still_seconds: int = 300
    min_reflect_seconds: int = 120
    close_seconds: int = 60
    cleanup_minutes: int = 10


@dataclass(frozen=True)
class TimingConfig:
    speed: float = 1.0
    #: The community's time zone: the calendar date stored with a reflection and shown in
    #: reports is the date there (a late-evening brew is not dated tomorrow).
    timezone: str = "Europe/London"

    def zone(self) -> tzinfo:
        return _zone(self.timezone)


@functools.lru_cache(maxsize=8)
def _zone(name: str) -> tzinfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class ScheduleConfig:
    """Scheduled brews (``/brew schedule``): when reminders go out and when the card opens.

    Both are minutes before the start and, like every duration, follow ``[timing] speed``.
    """

    #: Reminders to people who said they would come, furthest first (1 to 10080 each).
    reminder_minutes: tuple[int, ...] = (1440, 15)
    #: Default minutes before the start that the sign-up card opens (0 to 120).
    signup_minutes: int = 15


@dataclass(frozen=True)
class PrivacyConfig:
    reflection_window_days: int = 7
    retention_days: int = 90
    remember_brews: int = 10


@dataclass(frozen=True)
class ContentConfig:
    #: A TOML file that replaces the shipped wording (guide, principles, prompts).
    path: str | None = None


@dataclass(frozen=True)
class ReportsConfig:
    #: The servers whose brews make up the region's report (``/brew export scope: all``).
    #: Only organisers of a listed server can ask for it, and it covers only listed servers:
    #: every organiser of each of them sees the others' quotes, so list only servers of one
    #: region that have agreed to share. Empty: no server can ask for the regional report.
    regional_servers: tuple[int, ...] = ()


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "INFO"


@dataclass(frozen=True)
class RuntimeConfig:
    #: ``brewhost run``'s event loop: "auto" (uvloop where installed, else asyncio's own),
    #: "uvloop" (refuse to start without it) or "asyncio" (the standard loop: the escape hatch
    #: should a library misbehave on uvloop). See :mod:`bot.event_loop`.
    event_loop: str = "auto"


@dataclass(frozen=True)
class Config:
    discord: DiscordConfig = DiscordConfig()
    database: DatabaseConfig = DatabaseConfig()
    brew: BrewDefaults = BrewDefaults()
    timing: TimingConfig = TimingConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    content: ContentConfig = ContentConfig()
    reports: ReportsConfig = ReportsConfig()
    logging: LoggingConfig = LoggingConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    source: str = field(default="<defaults>", compare=False)

    def with_token(self, token: str | None) -> Config:
        return replace(self, discord=replace(self.discord, token=token))


# Allowed ranges: (minimum, maximum) inclusive. Anything outside is refused with the range stated.
_RANGES: dict[str, tuple[float, float]] = {
    "discord.max_ratelimit_timeout": (1, 600),
    "discord.shard_id": (0, 10000),
    "discord.shard_count": (1, 10000),
    "database.pool_size": (1, 100),
    "database.max_overflow": (0, 100),
    "database.pool_timeout": (1, 600),
    "database.pool_ping_idle": (0, 3600),
    "database.pool_recycle": (60, 86400),
    "brew.group_size": (2, 8),
    "brew.arrive_seconds": (0, 1800),
    "brew.think_seconds": (0, 600),
    "brew.turn_seconds": (30, 600),
    "brew.nudge_seconds": (0, 300),
    "brew.length_minutes": (10, 180),
    "brew.still_seconds": (0, 1800),
    "brew.min_reflect_seconds": (0, 1800),
    "brew.close_seconds": (10, 600),
    "brew.cleanup_minutes": (0, 1440),
    "timing.speed": (0.01, 10000),
    "schedule.signup_minutes": (0, 120),
    "privacy.reflection_window_days": (1, 365),
    "privacy.retention_days": (1, 3650),
    "privacy.remember_brews": (0, 100),
}

_SECTIONS: dict[str, type] = {
    "discord": DiscordConfig,
    "database": DatabaseConfig,
    "brew": BrewDefaults,
    "timing": TimingConfig,
    "schedule": ScheduleConfig,
    "privacy": PrivacyConfig,
    "content": ContentConfig,
    "reports": ReportsConfig,
    "logging": LoggingConfig,
    "runtime": RuntimeConfig,
}


def _describe(kind: Any) -> str:
    return {
        "int": "a whole number",
        "float": "a number",
        "str": "text in quotes",
        "str | None": "text in quotes",
        "int | None": "a whole number",
        "tuple[int, ...]": "a list of server ids, like [123456789012345678]",
        "bool": "true or false",
    }.get(str(kind), str(kind))


#: Longest reminder offset, in minutes: a week ahead (as :mod:`bot.core.schedule` allows).
_MAX_REMINDER_MINUTES = 7 * 24 * 60


def _reminder_minutes(source: str, key: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= _MAX_REMINDER_MINUTES
        for v in value
    ):
        raise ConfigError(
            source,
            key,
            f"expected a list of minutes before the start, each 1 to {_MAX_REMINDER_MINUTES}, "
            f"like [1440, 15]; got {value!r}",
        )
    return tuple(sorted(set(value), reverse=True))


def _coerce(source: str, key: str, kind: Any, value: Any) -> Any:
    if key == "schedule.reminder_minutes":
        return _reminder_minutes(source, key, value)
    kind = str(kind)
    if kind in ("int", "int | None"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(source, key, f"expected {_describe(kind)}, got {value!r}")
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(source, key, f"expected {_describe(kind)}, got {value!r}")
        value = float(value)
    elif kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(source, key, f"expected {_describe(kind)}, got {value!r}")
    elif kind in ("str", "str | None"):
        if not isinstance(value, str):
            raise ConfigError(source, key, f"expected {_describe(kind)}, got {value!r}")
    elif kind == "tuple[int, ...]":
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
        ):
            raise ConfigError(source, key, f"expected {_describe(kind)}, got {value!r}")
        value = tuple(value)
    if key in _RANGES:
        low, high = _RANGES[key]
        if not low <= value <= high:
            raise ConfigError(
                source, key, f"expected a value from {low:g} to {high:g}, got {value!r}"
            )
    return value


def parse_config(data: Mapping[str, Any], source: str = "<config>") -> Config:
    """Build a :class:`Config` from parsed TOML, refusing unknown keys and wrong types."""
    sections: dict[str, Any] = {}
    for name, value in data.items():
        if name not in _SECTIONS:
            raise ConfigError(
                source, name, f"unknown section; expected one of {', '.join(_SECTIONS)}"
            )
        if not isinstance(value, Mapping):
            raise ConfigError(source, name, "expected a [section] of keys")
        cls = _SECTIONS[name]
        known = {f.name: f.type for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, item in value.items():
            dotted = f"{name}.{key}"
            if key not in known:
                raise ConfigError(
                    source, dotted, f"unknown key; expected one of {', '.join(sorted(known))}"
                )
            kwargs[key] = _coerce(source, dotted, known[key], item)
        sections[name] = cls(**kwargs)
    config = Config(**sections, source=source)
    _check_consistency(config)
    return config


def _check_consistency(config: Config) -> None:
    level = config.logging.level.upper()
    if level not in LOG_LEVELS:
        raise ConfigError(
            config.source, "logging.level", f"expected one of {', '.join(LOG_LEVELS)}"
        )
    if config.runtime.event_loop not in EVENT_LOOPS:
        raise ConfigError(
            config.source, "runtime.event_loop", f"expected one of {', '.join(EVENT_LOOPS)}"
        )
    try:
        config.timing.zone()
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            config.source,
            "timing.timezone",
            f"unknown time zone {config.timing.timezone!r}; expected a name like Europe/London",
        ) from None
    brew = config.brew
    if brew.nudge_seconds >= brew.turn_seconds:
        raise ConfigError(
            config.source, "brew.nudge_seconds", "expected less than brew.turn_seconds"
        )
    for key, url in (
        ("discord.api_base_url", config.discord.api_base_url),
        ("discord.gateway_url", config.discord.gateway_url),
    ):
        if url is not None and not url.startswith(("http://", "https://", "ws://", "wss://")):
            raise ConfigError(
                config.source, key, "expected a URL starting with http(s):// or ws(s)://"
            )
    _check_sharding(config)
    db = config.database.url
    if not db.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ConfigError(
            config.source,
            "database.url",
            "expected sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB",
        )


def _check_sharding(config: Config) -> None:
    """One connection, one shard per process (shard_id + shard_count), or "auto"."""
    shard_id, shard_count = config.discord.shard_id, config.discord.shard_count
    shards = config.discord.shards
    if shards is not None:
        if shards.strip().lower() != SHARDS_AUTO:
            raise ConfigError(
                config.source,
                "discord.shards",
                f'expected "auto" (this process runs every shard), got {shards!r}',
            )
        if shard_id is not None:
            raise ConfigError(
                config.source,
                "discord.shard_id",
                'leave it out with shards = "auto" (one process runs every shard)',
            )
        return
    if (shard_id is None) != (shard_count is None):
        raise ConfigError(
            config.source, "discord.shard_id", "set shard_id and shard_count together, or neither"
        )
    if shard_id is not None and shard_count is not None and not 0 <= shard_id < shard_count:
        raise ConfigError(
            config.source, "discord.shard_id", f"expected 0 to {shard_count - 1} (shard_count - 1)"
        )
    if shard_count is not None and config.database.url.startswith("sqlite"):
        raise ConfigError(
            config.source,
            "discord.shard_count",
            "several processes need a shared PostgreSQL database (database.url)",
        )


def load_config(
    path: str | os.PathLike[str] | None, env: Mapping[str, str] | None = None
) -> Config:
    """Read the config file (or defaults when ``path`` is None) and apply the token variable."""
    env = os.environ if env is None else env
    if path is None:
        config = Config()
    else:
        source = str(path)
        try:
            raw = Path(path).read_bytes()
        except FileNotFoundError:
            raise ConfigError(
                source, "(file)", "file not found; copy config.example.toml to start"
            ) from None
        except OSError as exc:
            raise ConfigError(source, "(file)", f"cannot be read ({exc.strerror})") from None
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(source, "(syntax)", f"not valid TOML: {exc}") from None
        config = parse_config(data, source)
    token = env.get(TOKEN_ENV)
    if token:
        config = config.with_token(token.strip())
    return config


def require_token(config: Config) -> str:
    token = config.discord.token
    if not token or not token.strip() or token.strip() == "PASTE-YOUR-BOT-TOKEN-HERE":
        raise ConfigError(
            config.source,
            "discord.token",
            f"no bot token: set it here or in the {TOKEN_ENV} environment variable "
            "(Discord Developer Portal > your app > Bot > Reset Token)",
        )
    return token.strip()
