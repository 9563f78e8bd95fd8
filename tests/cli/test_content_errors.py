"""A broken content file stops ``check-config`` and ``run`` with one line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _brewhost(tmp_path: Path, command: str, content: Path) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    db = tmp_path / "brewhost.db"
    config.write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{db}"\n[content]\npath = "{content}"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "BREWHOST_TOKEN": "MTIzNDU2Nzg5MDEyMzQ1Njc4.fake.token"}
    return subprocess.run(
        [sys.executable, "-m", "bot", command, "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
        timeout=60,
    )


def _bad_button(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "words.toml"
    path.write_text("[buttons]\ndone = 5\n", encoding="utf-8")
    return path, f"{path}: buttons.done: expected text in quotes, got 5"


def _folder(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "words"
    path.mkdir()
    return path, f"{path}: is a folder, not a content file"


def _latin1(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "words.toml"
    path.write_bytes(b'[turns]\ndone = "Merci \xe9"\n')
    return path, f"{path}: not UTF-8 text (byte 0xe9 on line 2); save the file as UTF-8"


def _stray_brace(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "words.toml"
    path.write_text('[turns]\nstart = "{mention, your turn"\n', encoding="utf-8")
    return path, (
        f"{path}: turns.start: expected '}}' before end of string "
        "(to show a brace, write it twice: {{ or }})"
    )


@pytest.mark.parametrize("command", ["check-config", "run"])
@pytest.mark.parametrize("make", [_bad_button, _folder, _latin1, _stray_brace])
def test_a_broken_content_file_is_one_line_and_exit_2(tmp_path, command, make):
    path, expected = make(tmp_path)
    result = _brewhost(tmp_path, command, path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == expected
    assert result.stdout == ""
