"""``[reports] regional_servers``: which servers make up the region's report."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, parse_config


def test_regional_servers_are_read_as_server_ids() -> None:
    config = parse_config({"reports": {"regional_servers": [123456789012345678, 5]}})
    assert config.reports.regional_servers == (123456789012345678, 5)
    assert parse_config({}).reports.regional_servers == ()


@pytest.mark.parametrize("value", [["123"], [0], 123, [True]])
def test_anything_else_is_refused_in_one_plain_line(value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"reports": {"regional_servers": value}}, "config.toml")
    assert str(caught.value).startswith("config.toml: reports.regional_servers: expected a list")
