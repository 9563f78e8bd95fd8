"""Promise: "Ask for help" calls a facilitator at most once per room every few minutes."""

from __future__ import annotations

from bot.core.help_calls import HELP_CALL_INTERVAL, help_call_due, help_call_interval_wall


def test_a_room_calls_once_then_waits_the_interval() -> None:
    interval = help_call_interval_wall(1.0)
    assert interval == HELP_CALL_INTERVAL
    assert help_call_due(None, 1000.0, interval)
    assert not help_call_due(1000.0, 1000.0 + interval - 1, interval)
    assert help_call_due(1000.0, 1000.0 + interval, interval)


def test_the_interval_follows_the_brew_speed() -> None:
    assert help_call_interval_wall(60.0) == HELP_CALL_INTERVAL / 60
