"""Configuration: defaults, the token variable, and one plain line for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config, ConfigError, load_config, require_token

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_file_is_valid_and_matches_the_defaults():
    config = load_config(ROOT / "config.example.toml", env={})
    assert config == Config()
    assert config.brew.group_size == 4 and config.brew.turn_seconds == 120
    assert config.database.url == "sqlite+aiosqlite:///brewhost.db"
    assert config.discord.api_base_url == "https://discord.com/api/v10"


def test_every_key_in_the_example_is_documented_with_a_comment_above_it():
    lines = (ROOT / "config.example.toml").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        stripped = line.lstrip("# ").strip()
        if "=" in stripped and not stripped.startswith("[") and line and not line.startswith("#"):
            assert lines[i - 1].startswith("#"), f"undocumented key: {line}"


def test_environment_token_wins_and_is_not_in_the_repr(tmp_path):
    path = write(tmp_path, '[discord]\ntoken = "from-file"\n')
    config = load_config(path, env={"BREWHOST_TOKEN": "from-env"})
    assert require_token(config) == "from-env"
    assert "from-env" not in repr(config)


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("[brew]\ngroup_size = 12\n", "brew.group_size", "from 2 to 8"),
        ("[brew]\ngroup_size = '4'\n", "brew.group_size", "whole number"),
        ("[brew]\ngroup_sise = 4\n", "brew.group_sise", "unknown key"),
        ("[brewing]\nx = 1\n", "brewing", "unknown section"),
        ("[brew\n", "(syntax)", "not valid TOML"),
        ("[timing]\nspeed = 0\n", "timing.speed", "from 0.01"),
        ("[database]\nurl = 'mysql://x'\n", "database.url", "sqlite+aiosqlite"),
        ("[discord]\nguild_ids = ['abc']\n", "discord.guild_ids", "list of server ids"),
        ("[logging]\nlevel = 'LOUD'\n", "logging.level", "DEBUG"),
        ("[brew]\nnudge_seconds = 200\nturn_seconds = 120\n", "brew.nudge_seconds", "less than"),
        ("[discord]\nshard_id = 0\n", "discord.shard_id", "together"),
        ("[timing]\ntimezone = 'Mars/Olympus'\n", "timing.timezone", "Europe/London"),
        (
            "[discord]\nshard_id = 2\nshard_count = 2\n"
            "[database]\nurl = 'postgresql+asyncpg://x@h/db'\n",
            "discord.shard_id",
            "expected 0 to 1",
        ),
        ("[discord]\nshard_id = 0\nshard_count = 2\n", "discord.shard_count", "PostgreSQL"),
    ],
)
def test_mistakes_name_the_file_the_key_and_what_is_expected(tmp_path, text, key, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: ")
    assert expected in message
    assert "\n" not in message


def test_missing_file_and_missing_token(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match=r"discord\.token: no bot token"):
        require_token(load_config(None, env={}))


def test_sharding_with_postgresql_is_accepted(tmp_path):
    path = write(
        tmp_path,
        "[discord]\nshard_id = 1\nshard_count = 2\n"
        "[database]\nurl = 'postgresql+asyncpg://brewhost@db/brewhost'\n",
    )
    config = load_config(path, env={})
    assert (config.discord.shard_id, config.discord.shard_count) == (1, 2)
