"""``brewhost export`` as whoever runs the server would use it: files written, exit codes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_config
from bot.core.content import load_content
from bot.db.export_records import ExportFilter
from bot.db.models import Reflection
from bot.db.session import create_engine, session_factory
from bot.export_cli import _export
from bot.export_files import output_names
from tests.builders import GUILD, NOW, add_brew, migrated


async def _seed(url: str, *, second_guild: bool = False) -> None:
    await migrated(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    brew_id = await add_brew(sessions, number=1, title="Summer brew", area="Suffolk")
    async with sessions() as session:
        # Three people said yes: fewer and the report would quote nobody (export_model.quotable).
        for answers in (
            {"missing": "More time together.", "feedback": "Warm"},
            {"missing": "Carers asked first."},
            {"next": "Meet again in spring."},
        ):
            session.add(
                Reflection(brew_id=brew_id, submitted_on=NOW.date(), consent=True, answers=answers)
            )
        await session.commit()
    if second_guild:
        await add_brew(sessions, guild_id=GUILD + 1, number=1, title="Other place")
    await engine.dispose()


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def make(*, seed: bool = True, second_guild: bool = False) -> Path:
        db = tmp_path / "brewhost.db"
        url = f"sqlite+aiosqlite:///{db}"
        if seed:
            asyncio.run(_seed(url, second_guild=second_guild))
        config = tmp_path / "config.toml"
        config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
        work = tmp_path / "work"
        work.mkdir()
        monkeypatch.chdir(work)
        return config

    return make


def test_csv_export_is_written_in_the_current_folder(setup, capsys) -> None:
    config = setup()
    assert main(["export", "--config", str(config), "--format", "csv"]) == 0
    written = Path("brew-reflections.csv")
    data = written.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "More time together." in text and "Suffolk" in text
    assert str(written.resolve()) in capsys.readouterr().out


def test_json_export_goes_where_asked(setup, tmp_path) -> None:
    config = setup()
    out = tmp_path / "exports" / "july.json"
    assert main(["export", "--config", str(config), "--format", "json", "--out", str(out)]) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["brews"][0]["title"] == "Summer brew"
    feedback = [r["answers"].get("feedback") for r in document["reflections"]]
    assert "Warm" in feedback


def test_markdown_report_has_its_chart_beside_it(setup) -> None:
    config = setup()
    assert main(["export", "--config", str(config), "--format", "markdown"]) == 0
    report = Path("brew-report.md").read_text(encoding="utf-8")
    assert "(brew-report-chart.svg)" in report and "More time together." in report
    assert Path("brew-report-chart.svg").read_bytes().startswith(b"<svg ")


def test_out_names_the_chart_after_the_report(setup, tmp_path) -> None:
    config = setup()
    out = tmp_path / "r" / "norfolk.md"
    assert main(["export", "--config", str(config), "--out", str(out)]) == 0
    assert "(norfolk-chart.svg)" in out.read_text(encoding="utf-8")
    assert (out.parent / "norfolk-chart.svg").exists()


def test_nothing_to_export_exits_1_with_a_message(setup, capsys) -> None:
    config = setup()
    assert main(["export", "--config", str(config), "--format", "csv", "--brew", "7"]) == 1
    assert "nothing to export" in capsys.readouterr().out
    assert not Path("brew-reflections.csv").exists()
    code = main(["export", "--config", str(config), "--since", "2099-01-01"])
    assert code == 1


def test_a_bad_date_is_one_line_and_exit_2(setup, capsys) -> None:
    config = setup()
    assert main(["export", "--config", str(config), "--since", "1st July"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "2024-07-01" in err and "Traceback" not in err


def test_a_missing_database_is_one_line_and_exit_2(setup, capsys) -> None:
    config = setup(seed=False)
    assert main(["export", "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no database" in err


def test_several_servers_get_one_file_each_unless_one_is_chosen(setup, capsys) -> None:
    config = setup(second_guild=True)
    assert main(["export", "--config", str(config), "--format", "csv"]) == 0
    assert Path(f"brew-reflections-{GUILD}.csv").exists()
    assert Path(f"brew-reflections-{GUILD + 1}.csv").exists()
    capsys.readouterr()
    code = main(["export", "--config", str(config), "--format", "csv", "--guild", str(GUILD)])
    assert code == 0
    assert Path("brew-reflections.csv").exists()


@pytest.mark.parametrize("fmt", ["csv", "json", "markdown"])
def test_a_sqlite_file_is_exported_without_loading_sqlalchemy(setup, fmt: str) -> None:
    """Streamed formats from a SQLite file use plain ``sqlite3`` (issue 12: SQLAlchemy and the
    models cost 0.3 s and 35 MiB before the first row), with the same file as the path through
    SQLAlchemy's plan (which also serves PostgreSQL)."""
    config = setup()
    code = (
        "import sys; from bot.cli import main; "
        f"rc = main(['export', '--config', {str(config)!r}, '--format', {fmt!r}]); "
        "print(rc, sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'aiosqlite'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "0 []"
    fast = Path(output_names(fmt)[0].name).read_bytes()
    Path(output_names(fmt)[0].name).unlink()
    loaded = load_config(str(config))
    flt = ExportFilter()
    assert asyncio.run(_export(loaded, load_content(None), fmt, flt, None)) == 0
    assert Path(output_names(fmt)[0].name).read_bytes() == fast
