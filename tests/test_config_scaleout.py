"""Configuration for several processes: shards = "auto", pool settings, one plain line each."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, DatabaseConfig, load_config
from bot.db.session import pool_options

PG = "[database]\nurl = 'postgresql+asyncpg://x@h/db'\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("[discord]\nshards = 'many'\n", "discord.shards", '"auto"'),
        ("[discord]\nshards = 2\n", "discord.shards", "text in quotes"),
        (
            "[discord]\nshards = 'auto'\nshard_id = 0\nshard_count = 2\n" + PG,
            "discord.shard_id",
            "leave it out",
        ),
        ("[discord]\nshard_count = 2\n" + PG, "discord.shard_id", "together"),
        ("[database]\npool_size = 0\n", "database.pool_size", "from 1 to 100"),
        ("[database]\nmax_overflow = -1\n", "database.max_overflow", "from 0 to 100"),
        ("[database]\npool_timeout = 0\n", "database.pool_timeout", "from 1 to 600"),
        ("[database]\npool_pre_ping = 'yes'\n", "database.pool_pre_ping", "true or false"),
    ],
)
def test_mistakes_give_one_plain_line(tmp_path, text, key, expected):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={})
    message = str(info.value)
    assert info.value.key == key
    assert expected in message and "\n" not in message


def test_auto_shards_in_one_process_work_with_sqlite(tmp_path):
    config = load_config(write(tmp_path, "[discord]\nshards = 'Auto'\nshard_count = 4\n"), env={})
    assert config.discord.shards == "Auto" and config.discord.shard_count == 4
    assert config.discord.shard_id is None


def test_pool_settings_reach_the_engine_options(tmp_path):
    config = load_config(
        write(
            tmp_path,
            PG + "pool_size = 3\nmax_overflow = 2\npool_timeout = 12\npool_pre_ping = false\n"
            "pool_ping_idle = 0\npool_recycle = 600\n",
        ),
        env={},
    )
    assert config.database.pool_pre_ping is False and config.database.pool_ping_idle == 0
    options = pool_options(config.database)
    assert options["pool_size"] == 3 and options["max_overflow"] == 2
    assert options["pool_timeout"] == 12.0 and options["pool_recycle"] == 600.0
    # SQLAlchemy's own pre-ping (three round trips a checkout) is never asked for: the bot's
    # idle check replaces it (tests/db/test_pool_checks.py).
    assert "pool_pre_ping" not in options
    defaults = DatabaseConfig()
    assert (defaults.pool_size, defaults.max_overflow) == (15, 0)
    assert defaults.pool_pre_ping is True and defaults.pool_ping_idle == 5.0
    assert pool_options(defaults)["pool_recycle"] == 1800.0


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("pool_ping_idle = -1", "database.pool_ping_idle"),
        ("pool_recycle = 5", "database.pool_recycle"),
    ],
)
def test_pool_check_settings_out_of_range_are_refused(tmp_path, line, key):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, PG + line + "\n"), env={})
    assert info.value.key == key


async def test_postgres_engine_uses_the_pool_settings(postgres_url):
    from bot.db.session import create_engine

    engine = create_engine(
        postgres_url, DatabaseConfig(url=postgres_url, pool_size=2, max_overflow=1)
    )
    try:
        assert engine.pool.size() == 2  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 1  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
