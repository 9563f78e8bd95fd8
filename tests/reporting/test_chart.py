from __future__ import annotations

import struct
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from bot.core.export import BrewSummary
from bot.reporting import chart_alt_text, participation_chart
from bot.reporting.chart import CHART_DPI

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

BREWS = [
    BrewSummary(1, "The value of co-production", "Essex", "q", date(2024, 7, 1), 12, 3),
    BrewSummary(2, "Direct Payments $5 & 50%", "Norfolk", "q", date(2024, 7, 3), 5, 1),
    BrewSummary(3, "Open brew", None, "q", date(2024, 7, 4), 4, 1),
    BrewSummary(4, "Essex again", "Essex", "q", date(2024, 7, 5), 7, 2),
]
PER_BREW = {1: 9, 2: 1, 4: 6}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(scope="module")
def brew_png() -> bytes:
    return participation_chart(BREWS, PER_BREW, by="brew")


def test_valid_png_with_fixed_dimensions(brew_png: bytes) -> None:
    width, height = png_size(brew_png)
    assert height == 6 * CHART_DPI
    assert width == 8 * CHART_DPI  # minimum width; grows only with many bars
    assert brew_png.endswith(b"IEND\xaeB`\x82")


def test_deterministic_bytes_and_no_software_or_time_metadata(brew_png: bytes) -> None:
    assert participation_chart(BREWS, PER_BREW, by="brew") == brew_png
    assert b"tIME" not in brew_png
    assert b"matplotlib" not in brew_png.lower()


def test_by_area_and_empty() -> None:
    area = participation_chart(BREWS, PER_BREW, by="area")
    assert png_size(area)[1] == 6 * CHART_DPI
    empty = participation_chart([], {}, by="brew")
    assert png_size(empty) == (8 * CHART_DPI, 6 * CHART_DPI)


def test_bad_grouping_refused() -> None:
    with pytest.raises(ValueError):
        participation_chart(BREWS, PER_BREW, by="room")  # type: ignore[arg-type]


def test_alt_text_mentions_every_number() -> None:
    text = chart_alt_text(BREWS, PER_BREW, by="brew")
    for brew in BREWS:
        assert f"Brew {brew.number}: {brew.title}: {brew.participants} participants, " in text
    for n in (9, 1, 0, 6):
        assert f"{n} reflection" in text
    area = chart_alt_text(BREWS, PER_BREW, by="area")
    assert "Essex (2 brews): 19 participants, 15 reflections." in area
    assert "Norfolk (1 brew): 5 participants, 1 reflection." in area
    assert "No area given (1 brew): 4 participants, 0 reflections." in area


def test_importing_reporting_does_not_import_matplotlib() -> None:
    code = "import sys, bot.reporting; print('matplotlib' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "False"
