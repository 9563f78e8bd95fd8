"""``brewhost export`` writes the web page, the Word file, and the regional report."""

from __future__ import annotations

from pathlib import Path

import docx

from bot.cli import main
from tests.cli.test_export_cli import setup  # noqa: F401  (fixture)


def test_html_and_docx_formats(setup, capsys) -> None:  # noqa: F811
    config = setup()
    assert main(["export", "--config", str(config), "--format", "html"]) == 0
    page = Path("brew-report.html").read_text(encoding="utf-8")
    assert (
        '<html lang="en-GB">' in page and "<h1>Over A Brew in Suffolk: what we heard</h1>" in page
    )
    assert "More time together." in page and "data:image/svg+xml;base64," in page
    assert main(["export", "--config", str(config), "--format", "docx", "--out", "s.docx"]) == 0
    document = docx.Document("s.docx")
    assert document.paragraphs[0].style.name == "Heading 1"
    assert "Wrote" in capsys.readouterr().out


def test_regional_report_across_servers_with_filters(setup, capsys) -> None:  # noqa: F811
    config = setup(second_guild=True)
    assert main(["export", "--config", str(config), "--all-servers"]) == 0
    page = Path("brew-regional-report.html").read_text(encoding="utf-8")
    assert "<h2>Suffolk</h2>" in page and "<h2>No area given</h2>" in page
    assert "Across 2 brews in 2 areas" in page
    out = capsys.readouterr().out
    assert "regional report: 2 brews, 2 areas, 2 servers" in out
    assert (
        main(
            [
                "export",
                "--config",
                str(config),
                "--all-servers",
                "--area",
                "suffolk",
                "--format",
                "docx",
                "--out",
                "r.docx",
            ]
        )
        == 0
    )
    headings = [p.text for p in docx.Document("r.docx").paragraphs if p.style.name == "Heading 2"]
    assert "Suffolk" in headings and "No area given" not in headings
    assert main(["export", "--config", str(config), "--all-servers", "--until", "2000-01-01"]) == 1
    assert main(["export", "--config", str(config), "--all-servers", "--until", "1/1/24"]) == 2
    assert main(["export", "--config", str(config), "--all-servers", "--format", "csv"]) == 2
    err = capsys.readouterr().err
    assert "--until: expected a date like 2024-07-01" in err and "--format html" in err
