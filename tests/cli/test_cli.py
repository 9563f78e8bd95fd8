"""The ``brewhost`` command as a volunteer would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from bot.cli import main
from bot.permissions import ADMINISTRATOR, REQUIRED, client_id_from_token, permission_integer

ROOT = Path(__file__).resolve().parents[2]


def test_check_config_explains_the_missing_token_in_one_line(capsys, monkeypatch):
    monkeypatch.delenv("BREWHOST_TOKEN", raising=False)
    code = main(["check-config", "--config", str(ROOT / "config.example.toml")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "discord.token" in err and "BREWHOST_TOKEN" in err
    assert "Traceback" not in err


def test_check_config_passes_with_a_token_and_never_echoes_it(capsys, monkeypatch):
    monkeypatch.setenv("BREWHOST_TOKEN", "MTIz.secret-part.xyz")
    assert main(["check-config", "--config", str(ROOT / "config.example.toml")]) == 0
    out = capsys.readouterr()
    assert "secret-part" not in out.out + out.err


def test_invite_url_has_the_needed_permissions_and_never_administrator(capsys):
    assert main(["invite-url", "--client-id", "123456789012345678"]) == 0
    url = capsys.readouterr().out.strip().splitlines()[0]
    query = parse_qs(urlparse(url).query)
    assert query["client_id"] == ["123456789012345678"]
    assert query["scope"] == ["bot applications.commands"]
    permissions = int(query["permissions"][0])
    assert permissions == permission_integer()
    assert not permissions & ADMINISTRATOR
    for _, bit, _ in REQUIRED:
        assert permissions & bit


def test_invite_url_takes_the_client_id_from_the_token(capsys, monkeypatch):
    # A bot token starts with the base64 of the bot's id.
    monkeypatch.setenv("BREWHOST_TOKEN", "MTIzNDU2Nzg5MDEyMzQ1Njc4.abc.def")
    assert client_id_from_token("MTIzNDU2Nzg5MDEyMzQ1Njc4.abc.def") == 123456789012345678
    assert main(["invite-url", "--config", str(ROOT / "config.example.toml")]) == 0
    assert "client_id=123456789012345678" in capsys.readouterr().out


def test_bad_config_file_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_text("[brew]\ngroup_size = 99\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate", "--config", str(bad)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"{bad}: brew.group_size: expected a value from 2 to 8, got 99"


def test_run_without_a_token_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("BREWHOST_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 2
    assert "discord.token" in capsys.readouterr().err


def test_migrate_creates_the_database(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "b.db"}"\n', encoding="utf-8"
    )
    assert main(["migrate", "--config", str(config)]) == 0
    assert (tmp_path / "b.db").exists()
