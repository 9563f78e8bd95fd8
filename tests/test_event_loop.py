"""Which event loop ``brewhost run`` picks (bot/event_loop.py), and the config's escape hatch.

``tests/cli/test_run.py`` starts ``brewhost run`` on each loop against the simulator; these
check the choice itself, including a machine without uvloop (Windows, say)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from bot import event_loop
from bot.cli import main
from bot.config import ConfigError, parse_config


def test_auto_picks_uvloop_where_installed_and_runs_on_it() -> None:
    pytest.importorskip("uvloop")
    choice = event_loop.choose("auto")
    assert choice.name == "uvloop"
    assert "uvloop" in choice.describe()

    async def which() -> str:
        return event_loop.loop_name()

    assert event_loop.run(which(), choice) == "uvloop"
    assert event_loop.run(which(), event_loop.choose("asyncio")) == "asyncio"


def test_without_uvloop_auto_falls_back_and_uvloop_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now fails
    choice = event_loop.choose("auto")
    assert (choice.name, choice.factory) == ("asyncio", None)
    assert "not installed" in choice.describe()
    with pytest.raises(event_loop.LoopUnavailable, match="not installed"):
        event_loop.choose("uvloop")


def test_brewhost_run_refuses_uvloop_it_cannot_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One plain line and exit code 2, before anything connects."""
    monkeypatch.setitem(sys.modules, "uvloop", None)
    monkeypatch.setenv("BREWHOST_TOKEN", "x.y.z")
    config = tmp_path / "config.toml"
    config.write_text('[runtime]\nevent_loop = "uvloop"\n', encoding="utf-8")
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "runtime.event_loop" in err and "uvloop is not installed" in err


def test_config_accepts_the_three_choices_and_refuses_others() -> None:
    for name in ("auto", "uvloop", "asyncio"):
        assert parse_config({"runtime": {"event_loop": name}}).runtime.event_loop == name
    assert parse_config({}).runtime.event_loop == "auto"
    with pytest.raises(ConfigError, match=r"runtime\.event_loop"):
        parse_config({"runtime": {"event_loop": "trio"}})


def test_importing_the_bot_installs_no_loop_policy() -> None:
    """Only ``brewhost run`` (and the benchmarks) choose uvloop; the tests, the demo and
    ``brewhost export`` keep the standard loop."""

    async def which() -> str:
        return event_loop.loop_name()

    assert asyncio.run(which()) == "asyncio"
